//! The answer to one request: the checks in order (network, path, method, authentication),
//! then the exposition or the live page, rendered off the thread that accepts connections and
//! reads requests (see [`crate::offload`]): under one of `max_concurrent_scrapes` slots, shared
//! by the scrapes that ask for the same format at once, within the render deadline and the
//! budget of bytes held for clients. Every response says `X-Content-Type-Options: nosniff`.

use std::sync::Arc;
use std::time::Duration;

use crate::exposition::format::Format;
use crate::offload::{self, Late, Renderer, Sliced};
use crate::self_metrics::{SCRAPE_DURATION, SCRAPES};
use crate::serve::policy::Policy;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderName,
    HeaderValue, LOCATION, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

/// The renders of the built-in endpoint: the exposition by format and compression.
pub(crate) type Renders = Renderer<(Format, bool)>;

pub(crate) async fn respond(
    request: Request<Incoming>,
    policy: Arc<Policy>,
    renders: Arc<Renders>,
    allowed: bool,
) -> Response<Sliced> {
    let response = if !allowed {
        plain(
            StatusCode::FORBIDDEN,
            "forbidden: this client's network is not allowed\n",
        )
    } else if request.uri().path() != policy.path && !is_live(&request, &policy) {
        plain(
            StatusCode::NOT_FOUND,
            &format!("not found: metrics are served at {}\n", policy.path),
        )
    } else if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET or HEAD\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        response
    } else if !authorized(&request, &policy) {
        let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
        if let Some(authorization) = &policy.authorization {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(authorization.challenge),
            );
        }
        response
    } else if request.uri().path() != policy.path {
        live(&request, &policy, &renders).await
    } else {
        let gzip = accepts_gzip(&request);
        let format = Format::from_accept_headers(
            request
                .headers()
                .get_all(ACCEPT)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        let render = renders.shared((format, gzip), policy.render_timeout, move || {
            let _timer = SCRAPE_DURATION.start_timer();
            offload::encode(crate::render_as(format), gzip)
        });
        match render.await {
            Ok(body) => exposition_response(format, body),
            Err(late) => late_answer(&late, "the exposition", policy.render_timeout),
        }
    };
    if request.uri().path() == policy.path {
        SCRAPES.labels(response.status().as_str()).inc();
    }
    let mut response = response;
    response.headers_mut().insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The answer to a render that gave none.
fn late_answer(late: &Late, what: &str, deadline: Duration) -> Response<Sliced> {
    plain(
        StatusCode::from_u16(late.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &late.message(what, deadline),
    )
}

/// Whether the request is for the live page or its script or style sheet, or for the page's
/// path without its trailing slash (which redirects to it).
fn is_live(request: &Request<Incoming>, policy: &Policy) -> bool {
    let Some(page) = &policy.live_page else {
        return false;
    };
    let path = request.uri().path();
    matches!(
        path.strip_prefix(page.as_str()),
        Some("" | "live.js" | "live.css")
    ) || unslashed(path, page)
}

/// Whether `path` is the page's path without its trailing slash (`/status` for `/status/`).
fn unslashed(path: &str, page: &str) -> bool {
    page.len() > 1 && page.strip_suffix('/') == Some(path)
}

/// The live page, rendered as a scrape is (it reads the families), or its script or style.
async fn live(
    request: &Request<Incoming>,
    policy: &Policy,
    renders: &Arc<Renders>,
) -> Response<Sliced> {
    let page = policy.live_page.clone().unwrap_or_default();
    if unslashed(request.uri().path(), &page) {
        // The page's relative links to its script and style sheet need the slash.
        let location = match request.uri().query() {
            Some(query) => format!("{page}?{query}"),
            None => page,
        };
        let mut response = plain(
            StatusCode::PERMANENT_REDIRECT,
            &format!("the live page is at {location}\n"),
        );
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(LOCATION, location);
        }
        return response;
    }
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let metrics_path = policy.path.clone();
    let gzip = accepts_gzip(request);
    // Compressed on the blocking thread too: a page of many functions is megabytes.
    let render = renders.alone(policy.render_timeout, move || {
        crate::live::answer(&page, &path, query.as_deref(), &metrics_path).map(|answer| {
            let (body, gzipped) = offload::encode(answer.body.into_bytes(), gzip);
            ((answer.status, answer.content_type), body, gzipped)
        })
    });
    match render.await {
        Ok(Some(((status, content_type), body))) => live_response(status, content_type, body),
        Ok(None) => plain(StatusCode::NOT_FOUND, "not found\n"),
        Err(late) => late_answer(&late, "the page", policy.render_timeout),
    }
}

fn live_response(status: u16, content_type: &'static str, body: offload::Body) -> Response<Sliced> {
    let mut response = response_of(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in crate::live::HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

fn authorized(request: &Request<Incoming>, policy: &Policy) -> bool {
    let Some(authorization) = &policy.authorization else {
        return true;
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .map_or(&[][..], HeaderValue::as_bytes);
    authorization.accepts(given)
}

fn exposition_response(format: Format, body: offload::Body) -> Response<Sliced> {
    let mut response = response_of(body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    response
}

/// A 200 response with a rendered body, which holds its share of the byte budget until hyper
/// has written it (or the client is gone).
fn response_of(body: offload::Body) -> Response<Sliced> {
    let gzipped = body.gzipped;
    let mut response = Response::new(Sliced::new(body.bytes));
    if gzipped {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Whether `Accept-Encoding` accepts gzip: `gzip` (or its alias `x-gzip`) listed with a quality
/// above zero, or else `*` with one. A coding listed by name is not covered by `*` (RFC 9110,
/// 12.5.3), so `gzip;q=0, *` refuses it. Names and the `q` parameter are case-insensitive; a
/// quality that is not a number between 0 and 1 refuses (identity is always safe).
fn accepts_gzip(request: &Request<Incoming>) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let mut accepted = true;
        for parameter in parts {
            if let Some((key, value)) = parameter.split_once('=')
                && key.trim().eq_ignore_ascii_case("q")
            {
                accepted = value
                    .trim()
                    .parse::<f32>()
                    .is_ok_and(|q| (0.0..=1.0).contains(&q) && q > 0.0);
            }
        }
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.unwrap_or(false) || accepted);
        } else if name == "*" {
            any = Some(any.unwrap_or(false) || accepted);
        }
    }
    gzip.or(any).unwrap_or(false)
}

fn plain(status: StatusCode, body: &str) -> Response<Sliced> {
    let mut response = Response::new(Sliced::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

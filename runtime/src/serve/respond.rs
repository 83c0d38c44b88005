//! The answer to one request: the checks in order (network, path, method, authentication),
//! then the exposition or the live page, rendered off the thread that accepts connections and
//! reads requests (see [`crate::offload`]) under one of `max_concurrent_scrapes` slots and the
//! render deadline.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderName,
    HeaderValue, LOCATION, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Semaphore;

use crate::exposition::format::Format;
use crate::offload::{self, Late};
use crate::self_metrics::{SCRAPE_DURATION, SCRAPES};
use crate::serve::policy::Policy;

pub(crate) async fn respond(
    request: Request<Incoming>,
    policy: Arc<Policy>,
    renders: Arc<Semaphore>,
    allowed: bool,
) -> Response<Full<Bytes>> {
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
        if let Some((_, challenge)) = &policy.authorization {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    } else if request.uri().path() != policy.path {
        live(&request, &policy, renders).await
    } else if let Ok(slot) = renders.try_acquire_owned() {
        let gzip = accepts_gzip(&request);
        let format = Format::from_accept_headers(
            request
                .headers()
                .get_all(ACCEPT)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        let render = offload::render(slot, policy.render_timeout, move || {
            let _timer = SCRAPE_DURATION.start_timer();
            exposition_response(format, gzip)
        });
        match render.await {
            Ok(response) => response,
            Err(late) => late_answer(&late, "the exposition", policy.render_timeout),
        }
    } else {
        too_many()
    };
    if request.uri().path() == policy.path {
        SCRAPES.labels(response.status().as_str()).inc();
    }
    response
}

/// The answer to a render that gave none.
fn late_answer(late: &Late, what: &str, deadline: Duration) -> Response<Full<Bytes>> {
    plain(
        StatusCode::from_u16(late.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &late.message(what, deadline),
    )
}

fn too_many() -> Response<Full<Bytes>> {
    plain(StatusCode::SERVICE_UNAVAILABLE, offload::TOO_MANY)
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
    renders: Arc<Semaphore>,
) -> Response<Full<Bytes>> {
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
    let Ok(slot) = renders.try_acquire_owned() else {
        return too_many();
    };
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let metrics_path = policy.path.clone();
    let gzip = accepts_gzip(request);
    // Compressed on the blocking thread too: a page of many functions is megabytes.
    let render = offload::render(slot, policy.render_timeout, move || {
        crate::live::answer(&page, &path, query.as_deref(), &metrics_path)
            .map(|answer| live_response(answer, gzip))
    });
    match render.await {
        Ok(Some(response)) => response,
        Ok(None) => plain(StatusCode::NOT_FOUND, "not found\n"),
        Err(late) => late_answer(&late, "the page", policy.render_timeout),
    }
}

fn live_response(answer: crate::live::Answer, gzip: bool) -> Response<Full<Bytes>> {
    let mut response = body(answer.body.into_bytes(), gzip);
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
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
    let Some((expected, _)) = &policy.authorization else {
        return true;
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .map_or(&[][..], HeaderValue::as_bytes);
    constant_time_eq(given, expected.as_bytes())
}

/// Compares without stopping at the first difference, so timing does not leak the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0, |difference, (x, y)| difference | (x ^ y))
            == 0
}

fn exposition_response(format: Format, gzip: bool) -> Response<Full<Bytes>> {
    let mut response = body(crate::render_as(format), gzip);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    response
}

/// A 200 response with `content`, gzipped if `gzip` (and the encoder works).
fn body(content: Vec<u8>, gzip: bool) -> Response<Full<Bytes>> {
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if let Ok(compressed) = encoder.write_all(&content).and_then(|()| encoder.finish()) {
            let mut response = Response::new(Full::new(Bytes::from(compressed)));
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return response;
        }
    }
    Response::new(Full::new(Bytes::from(content)))
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
            if let Some((key, value)) = parameter.split_once('=') {
                if key.trim().eq_ignore_ascii_case("q") {
                    accepted = value
                        .trim()
                        .parse::<f32>()
                        .is_ok_and(|q| (0.0..=1.0).contains(&q) && q > 0.0);
                }
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

fn plain(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

//! The answer to one request: the checks in order (network, path, method, authentication),
//! then the exposition, rendered on a blocking thread under a render slot and a deadline.
//!
//! A render runs user functions (gauge callbacks) and may be slow, so it runs off the thread
//! that accepts connections and reads requests, which stays responsive. Its slot goes with it to
//! the blocking thread and is released when the render ends, not when the request does: a client
//! that hangs up, or a deadline that passes, cannot free a slot while its render still runs, so
//! at most `max_concurrent_scrapes` renders (and render threads) exist whatever clients do.

use std::io::Write as _;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY, VARY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Semaphore;

use crate::exposition::format::Format;
use crate::self_metrics::{SCRAPE_DURATION, SCRAPE_TIMEOUTS, SCRAPES};
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
        let format = Format::from_accept(Some(&joined(request.headers().get_all(ACCEPT))));
        let render = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let _timer = SCRAPE_DURATION.start_timer();
            exposition_response(format, gzip)
        });
        match tokio::time::timeout(policy.render_timeout, render).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => plain(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
            Err(_) => {
                SCRAPE_TIMEOUTS.inc();
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "the exposition took longer than {:?} to render: a gauge function is \
                         slow; try again\n",
                        policy.render_timeout
                    ),
                )
            }
        }
    } else {
        plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many scrapes at once: try again\n",
        )
    };
    SCRAPES.labels(response.status().as_str()).inc();
    response
}

/// Every value of a header, joined with commas as one, read leniently: a byte that is not
/// UTF-8 spoils its own media range, not the others.
fn joined(values: hyper::header::GetAll<'_, HeaderValue>) -> String {
    values
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the request is for the live page or its script or style sheet.
fn is_live(request: &Request<Incoming>, policy: &Policy) -> bool {
    let Some(page) = &policy.live_page else {
        return false;
    };
    matches!(
        request.uri().path().strip_prefix(page.as_str()),
        Some("" | "live.js" | "live.css")
    )
}

/// The live page, rendered as a scrape is (it reads the families), or its script or style.
async fn live(
    request: &Request<Incoming>,
    policy: &Policy,
    renders: Arc<Semaphore>,
) -> Response<Full<Bytes>> {
    let Ok(slot) = renders.try_acquire_owned() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many scrapes at once: try again\n",
        );
    };
    let page = policy.live_page.clone().unwrap_or_default();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let metrics_path = policy.path.clone();
    let render = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        crate::live::answer(&page, &path, query.as_deref(), &metrics_path)
    });
    match tokio::time::timeout(policy.render_timeout, render).await {
        Ok(Ok(Some(answer))) => {
            let mut response = Response::new(Full::new(Bytes::from(answer.body)));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(crate::live::page::CONTENT_SECURITY_POLICY),
            );
            headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(Ok(None)) => plain(StatusCode::NOT_FOUND, "not found\n"),
        Ok(Err(_)) => plain(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
        Err(_) => {
            SCRAPE_TIMEOUTS.inc();
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the page took too long to render: a gauge function is slow; try again\n",
            )
        }
    }
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
    let body = crate::render_as(format);
    let mut response = Response::new(Full::new(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if encoder.write_all(&body).is_ok() {
            if let Ok(compressed) = encoder.finish() {
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                *response.body_mut() = Full::new(Bytes::from(compressed));
                return response;
            }
        }
    }
    *response.body_mut() = Full::new(Bytes::from(body));
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

//! The HTTP endpoint: `GET` or `HEAD` on the configured path returns the exposition; any other
//! path is 404 and any other method 405, so a scrape misconfiguration shows up as an error
//! rather than as a page of metrics on every URL.
//!
//! Hardened for a port that other machines may reach: optional bearer or basic authentication
//! and client network allow-list, a bound on concurrent scrapes (503 beyond it), a deadline for
//! the request headers and one for the whole connection, gzip when the scraper accepts it, and
//! self-metrics (`track_metrics_scrapes_total{status}`, `track_metrics_scrape_duration_seconds`).

use std::convert::Infallible;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, VARY,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;

use crate::error::Error;
use crate::exposition;
use crate::self_metrics::{SCRAPE_DURATION, SCRAPES};

/// The endpoint's settings, as the builder collects them.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) path: String,
    pub(crate) bearer_token: Option<String>,
    pub(crate) basic_auth: Option<(String, String)>,
    pub(crate) allowed_networks: Vec<String>,
    pub(crate) max_concurrent_scrapes: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) connection_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            path: "/metrics".to_owned(),
            bearer_token: None,
            basic_auth: None,
            allowed_networks: Vec::new(),
            max_concurrent_scrapes: 4,
            header_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(60),
        }
    }
}

/// The settings, checked and ready for every request.
struct Policy {
    path: String,
    /// The whole `Authorization` header value that is accepted, and the challenge otherwise.
    authorization: Option<(String, &'static str)>,
    allowed: Vec<IpNet>,
    max_concurrent: usize,
    in_progress: AtomicUsize,
    header_timeout: Duration,
    connection_timeout: Duration,
}

impl Policy {
    fn new(settings: &Settings) -> Result<Self, Error> {
        let config = |message: String| Err(Error::setting("the endpoint", message));
        if !settings.path.starts_with('/') {
            return config(format!(
                "the endpoint path `{}` must start with `/`, such as `/metrics`",
                settings.path
            ));
        }
        if settings.max_concurrent_scrapes == 0 {
            return config("`max_concurrent_scrapes` must be at least 1".to_owned());
        }
        if settings.header_timeout.is_zero() || settings.connection_timeout.is_zero() {
            return config("the endpoint's timeouts must be longer than zero".to_owned());
        }
        let authorization = match (&settings.bearer_token, &settings.basic_auth) {
            (Some(_), Some(_)) => {
                return config("choose a bearer token or basic auth, not both".to_owned());
            }
            (Some(token), None) if token.is_empty() => {
                return config("the bearer token cannot be empty".to_owned());
            }
            (Some(token), None) => Some((format!("Bearer {token}"), "Bearer")),
            (None, Some((user, _))) if user.contains(':') => {
                return config("a basic-auth user name cannot contain `:`".to_owned());
            }
            (None, Some((user, password))) => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some((format!("Basic {encoded}"), "Basic realm=\"metrics\""))
            }
            (None, None) => None,
        };
        let allowed = settings
            .allowed_networks
            .iter()
            .map(|network| {
                network
                    .parse::<IpNet>()
                    .or_else(|_| network.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        Error::setting("allow_network", format!(
                            "`{network}` is not a network: expected an address or a CIDR block, such \
                             as `10.0.0.0/8` or `::1`"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            path: settings.path.clone(),
            authorization,
            allowed,
            max_concurrent: settings.max_concurrent_scrapes,
            in_progress: AtomicUsize::new(0),
            header_timeout: settings.header_timeout,
            connection_timeout: settings.connection_timeout,
        })
    }

    fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.is_empty() || self.allowed.iter().any(|network| network.contains(&peer))
    }
}

/// A bound, not yet serving, listener.
pub(crate) struct Listener {
    socket: TcpListener,
    pub(crate) local_addr: SocketAddr,
    policy: Arc<Policy>,
}

impl Listener {
    pub(crate) fn bind(
        value: &str,
        origin: &'static str,
        settings: &Settings,
    ) -> Result<Self, Error> {
        let policy = Arc::new(Policy::new(settings)?);
        let invalid = || Error::InvalidAddress {
            value: value.to_owned(),
            origin,
        };
        let addr = value
            .trim()
            .to_socket_addrs()
            .map_err(|_| invalid())?
            .next()
            .ok_or_else(invalid)?;
        let socket = TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        socket
            .set_nonblocking(true)
            .map_err(|source| Error::Bind { addr, source })?;
        Ok(Listener {
            socket,
            local_addr,
            policy,
        })
    }

    /// The endpoint's work for its thread: a small tokio runtime of its own, serving until the
    /// process ends.
    pub(crate) fn server(self) -> Result<impl FnOnce() + Send + 'static, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(Error::Runtime)?;
        Ok(move || runtime.block_on(self.serve()))
    }

    /// Accepts connections until the process ends.
    async fn serve(self) {
        let Ok(listener) = tokio::net::TcpListener::from_std(self.socket) else {
            return;
        };
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Out of file descriptors or a connection reset before accept: wait, go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let policy = Arc::clone(&self.policy);
            tokio::spawn(async move {
                let allowed = policy.allows(peer.ip());
                let service_policy = Arc::clone(&policy);
                let service = hyper::service::service_fn(move |request| {
                    let policy = Arc::clone(&service_policy);
                    async move { Ok::<_, Infallible>(respond(request, policy, allowed).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(policy.header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                // A client that hangs up, or overstays, is its own problem, not the server's.
                let _ = tokio::time::timeout(policy.connection_timeout, connection).await;
            });
        }
    }
}

/// Holds one of the endpoint's scrape slots until dropped.
struct ScrapeSlot<'a>(&'a AtomicUsize);

impl Drop for ScrapeSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn respond(
    request: Request<Incoming>,
    policy: Arc<Policy>,
    allowed: bool,
) -> Response<Full<Bytes>> {
    let response = if !allowed {
        plain(
            StatusCode::FORBIDDEN,
            "forbidden: this client's network is not allowed\n",
        )
    } else if request.uri().path() != policy.path {
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
    } else {
        let previous = policy.in_progress.fetch_add(1, Ordering::AcqRel);
        let _slot = ScrapeSlot(&policy.in_progress);
        if previous >= policy.max_concurrent {
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many scrapes at once: try again\n",
            )
        } else {
            // Rendering runs user functions (gauge callbacks) and may be slow: off the thread
            // that accepts connections and reads requests, which stays responsive.
            let gzip = accepts_gzip(&request);
            let rendered = tokio::task::spawn_blocking(move || {
                let _timer = SCRAPE_DURATION.start_timer();
                exposition_response(gzip)
            });
            rendered
                .await
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"))
        }
    };
    SCRAPES.labels(response.status().as_str()).inc();
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

fn exposition_response(gzip: bool) -> Response<Full<Bytes>> {
    let text = crate::render();
    let mut response = Response::new(Full::new(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(exposition::CONTENT_TYPE),
    );
    headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if encoder.write_all(text.as_bytes()).is_ok() {
            if let Ok(compressed) = encoder.finish() {
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                *response.body_mut() = Full::new(Bytes::from(compressed));
                return response;
            }
        }
    }
    *response.body_mut() = Full::new(Bytes::from(text));
    response
}

/// Whether `Accept-Encoding` lists gzip (or `*`) with a quality above zero. Coding names and
/// the `q` parameter are case-insensitive (RFC 9110, 12.4.2).
fn accepts_gzip(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter.split_once('=').is_some_and(|(key, value)| {
                    key.trim().eq_ignore_ascii_case("q")
                        && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                })
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
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

//! axum and tower: a [`MetricsLayer`] that records every request, and a [`metrics`](fn@metrics) handler that
//! serves the exposition from the application's own `Router` (feature `axum`).
//!
//! ```
//! use axum::{Router, routing::get};
//! use track_metrics::axum::{MetricsLayer, metrics};
//!
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "a user" }))
//!     .route("/metrics", get(metrics))
//!     .layer(MetricsLayer::new());
//! ```
//!
//! Each request counts in `http_requests_total{method, route, status}`, is timed in
//! `http_request_duration_seconds{method, route}`, and is in `http_requests_in_flight` while it
//! runs. `route` is the route template that matched (`/users/{id}`), never the raw path, or
//! `unmatched`; a method outside the standard nine is `other`: the number of series stays
//! bounded whatever clients send.
//!
//! The layer is a plain tower layer, so it also wraps a tonic gRPC server
//! (`Server::builder().layer(MetricsLayer::new())`). A gRPC request (`content-type:
//! application/grpc`) is counted as go-grpc-prometheus counts it instead:
//! `grpc_server_handled_total{grpc_service, grpc_method, grpc_code}` and
//! `grpc_server_handling_seconds{grpc_service, grpc_method}`, the code read from the reply's
//! `grpc-status`. The exporter's own routes are left out unless
//! [`MetricsLayer::record_exporter_routes`] says otherwise. The [guide](crate::guide::axum) has
//! a whole service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use axum::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header,
};
use axum::response::IntoResponse;
use std::sync::Arc;
use tower_layer::Layer;
use tower_service::Service;

use crate::Format;
use crate::offload::{Late, Renderer, Sliced};
use crate::self_metrics::{
    GRPC_HANDLED, GRPC_HANDLING, HTTP_REQUEST_DURATION, HTTP_REQUESTS, HTTP_REQUESTS_IN_FLIGHT,
    SCRAPE_DURATION, SCRAPES,
};
use crate::state;
use crate::storage::gauge::InProgress;

/// The axum handler of the exposition: `Router::new().route("/metrics", get(metrics))`.
///
/// The format is the one the request's `Accept` header asks for ([`Format::from_accept`]):
/// protobuf, OpenMetrics or text 0.0.4. Compression is the router's to add
/// (`tower_http::compression::CompressionLayer`).
///
/// The exposition renders as on the built-in endpoint: on tokio's blocking pool, so that a slow
/// gauge function never holds up the runtime's workers, at most four at once (with the live
/// page's), and within the render timeout
/// ([`ExporterBuilder::render_timeout`](crate::ExporterBuilder::render_timeout)); past it, or
/// past four, the answer is 503. It needs a tokio runtime with its timer, as any
/// `#[tokio::main]` has.
pub async fn metrics(headers: HeaderMap) -> axum::response::Response {
    let format = Format::from_accept_headers(
        headers
            .get_all(header::ACCEPT)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let render = RENDERS.shared(format, state::render_timeout(), move || {
        let _timer = SCRAPE_DURATION.start_timer();
        (crate::render_as(format), false)
    });
    let mut response = match render.await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                (header::VARY, "Accept"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            // In slices: a client that stops reading leaves the rest in the shared body.
            axum::body::Body::new(Sliced::new(body.bytes)),
        )
            .into_response(),
        Err(late) => late_answer(&late, "the exposition"),
    };
    response.extensions_mut().insert(ExporterRoute);
    SCRAPES.labels(response.status().as_str()).inc();
    response
}

/// Marks a response of the exporter's own routes (the exposition, the live page and its
/// assets), which [`MetricsLayer`] leaves out of the application's requests by default.
#[derive(Clone, Copy, Debug)]
struct ExporterRoute;

/// The handlers' renders, as the built-in endpoint's defaults: four at once (each may wait on
/// a slow gauge function on a blocking thread), shared by the scrapes of one format, within
/// 64 MiB of bodies held for clients.
static RENDERS: std::sync::LazyLock<Arc<Renderer<Format>>> =
    std::sync::LazyLock::new(|| Renderer::new(4, crate::offload::DEFAULT_RESPONSE_BYTES));

fn late_answer(late: &Late, what: &str) -> axum::response::Response {
    (
        StatusCode::from_u16(late.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        late.message(what, state::render_timeout()),
    )
        .into_response()
}

/// The live page (see [`ExporterBuilder::live_page`](crate::ExporterBuilder::live_page)) as an
/// axum `Router`: the page at `/` and its `live.js` and `live.css` beside it, under the same
/// Content-Security-Policy as on the built-in endpoint. Merge it at the root, or nest it under
/// a path and link to that path with its trailing slash (`/status/`), so that the page finds
/// its script. It reads the functions from the readings `install()` starts when the page is
/// on: call `.live_page(Some("/"))` on a builder `without_listener()`.
///
/// The page renders as [`metrics`](fn@metrics) does: on the blocking pool, within the render
/// timeout, sharing its four slots. Compression is the router's to add, as for `metrics`.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/metrics", get(track_metrics::axum::metrics))
///     .nest("/status/", track_metrics::axum::live_router());
/// ```
pub fn live_router() -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(|uri: Uri| live("", uri)))
        .route(
            "/live.js",
            axum::routing::get(|uri: Uri| live("live.js", uri)),
        )
        .route(
            "/live.css",
            axum::routing::get(|uri: Uri| live("live.css", uri)),
        )
}

async fn live(asset: &'static str, uri: Uri) -> axum::response::Response {
    let query = uri.query().map(str::to_owned);
    let render = RENDERS.alone(state::render_timeout(), move || {
        crate::live::answer("", asset, query.as_deref(), "/metrics").map(|answer| {
            (
                (answer.status, answer.content_type),
                answer.body.into_bytes(),
                false,
            )
        })
    });
    let ((status, content_type), body) = match render.await {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            let mut response = StatusCode::NOT_FOUND.into_response();
            response.extensions_mut().insert(ExporterRoute);
            return response;
        }
        Err(late) => {
            let mut response = late_answer(&late, "the page");
            response.extensions_mut().insert(ExporterRoute);
            return response;
        }
    };
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        axum::body::Body::new(Sliced::new(body.bytes)),
    )
        .into_response();
    for (name, value) in crate::live::HEADERS {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response.extensions_mut().insert(ExporterRoute);
    response
}

/// Records every request of the service it wraps. See the [module](self) documentation.
///
/// The exporter's own routes (the [`metrics`](fn@metrics) handler, and the [`live_router`]'s
/// page and assets) are left out by default: scrapes every few seconds are not the
/// application's traffic.
///
/// ```
/// use axum::{Router, routing::get};
/// use track_metrics::axum::{MetricsLayer, metrics};
///
/// // Scrapes counted too, as `route="/metrics"`.
/// let app: Router = Router::new()
///     .route("/metrics", get(metrics))
///     .layer(MetricsLayer::new().record_exporter_routes(true));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsLayer {
    record_exporter_routes: bool,
}

impl MetricsLayer {
    /// The layer, leaving the exporter's own routes out.
    pub fn new() -> Self {
        MetricsLayer::default()
    }

    /// Whether the exporter's own routes (the exposition, the live page and its assets) count
    /// as requests too: `false` by default.
    #[must_use]
    pub fn record_exporter_routes(mut self, record: bool) -> Self {
        self.record_exporter_routes = record;
        self
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // Its families exist from now on: the facade may no longer take their names.
        crate::self_metrics::claim_layer_families(|families| {
            crate::storage::facade::Facade::installed()
                .map_or(Ok(()), |facade| facade.claim(families))
        });
        MetricsService {
            inner,
            record_exporter_routes: self.record_exporter_routes,
        }
    }
}

/// The service [`MetricsLayer`] wraps around another.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    record_exporter_routes: bool,
}

impl<S, B, R> Service<Request<B>> for MetricsService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<MeteredBody<R>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = method_label(request.method());
        let route = match request.extensions().get::<MatchedPath>() {
            Some(matched) => Route::Template(matched.clone()),
            None if is_grpc(&request) => Route::Grpc(GrpcMethod::of(request.uri().path())),
            None => Route::Unmatched,
        };
        let clock = crate::storage::clock::clock();
        ResponseFuture {
            inner: self.inner.call(request),
            method,
            record_exporter_routes: self.record_exporter_routes,
            route: Some(route),
            start: clock.raw(),
            in_flight: Some(HTTP_REQUESTS_IN_FLIGHT.track_inprogress()),
            polling: false,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`MetricsService`]. Dropped before the response (the client went
    /// away, a deadline passed) the request still counts: `status="cancelled"` (gRPC:
    /// `grpc_code="Canceled"`), or `status="panic"` (gRPC: `Unknown`) when the handler panicked.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        method: &'static str,
        record_exporter_routes: bool,
        route: Option<Route>,
        start: u64,
        in_flight: Option<InProgress<'static>>,
        // Set around each poll of `inner`: still set if that poll panicked.
        polling: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(route) = this.route.take() {
                let panicked = *this.polling || std::thread::panicking();
                match route {
                    Route::Grpc(grpc) => {
                        grpc.record(*this.start, if panicked { UNKNOWN } else { CANCELED });
                    }
                    route => {
                        let status = if panicked { "panic" } else { "cancelled" };
                        record_http(this.method, &route, status, *this.start);
                    }
                }
            }
        }
    }
}

/// Counts and times an HTTP request that ended with `status`.
fn record_http(method: &'static str, route: &Route, status: &str, start: u64) {
    let route = match route {
        Route::Template(matched) => matched.as_str(),
        _ => "unmatched",
    };
    HTTP_REQUESTS.labels(method, route, status).inc();
    HTTP_REQUEST_DURATION
        .labels(method, route)
        .observe(seconds_since(start));
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<MeteredBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        *this.polling = true;
        let output = this.inner.poll(cx);
        *this.polling = false;
        let output = std::task::ready!(output);
        let start = *this.start;
        let in_flight = this.in_flight.take();
        let call = match this.route.take() {
            Some(Route::Grpc(grpc)) => match &output {
                // A reply with its status in the headers ("trailers-only"), or none at all.
                Ok(response) => match grpc_status(response.headers()) {
                    Some(code) => {
                        grpc.record(start, code);
                        None
                    }
                    None => Some(GrpcCall {
                        grpc,
                        start,
                        in_flight,
                    }),
                },
                Err(_) => {
                    grpc.record(start, UNKNOWN);
                    None
                }
            },
            // The exporter's own route: not the application's traffic.
            Some(_)
                if !*this.record_exporter_routes
                    && output.as_ref().is_ok_and(|response| {
                        response.extensions().get::<ExporterRoute>().is_some()
                    }) =>
            {
                None
            }
            Some(route) => {
                let code = output.as_ref().ok().map(Response::status);
                let status = code.as_ref().map_or("error", |code| code.as_str());
                record_http(this.method, &route, status, start);
                None
            }
            None => None,
        };
        Poll::Ready(output.map(|response| response.map(|inner| MeteredBody { inner, call })))
    }
}

fn seconds_since(start: u64) -> f64 {
    let clock = crate::storage::clock::clock();
    crate::storage::clock::seconds_between(clock, start, clock.raw())
}

/// The `route` label of a request.
#[derive(Debug)]
enum Route {
    /// The axum route template that matched.
    Template(MatchedPath),
    /// A gRPC call.
    Grpc(GrpcMethod),
    /// Neither: one value for all.
    Unmatched,
}

/// The service and method of a gRPC call, from its path `/package.Service/Method`.
#[derive(Debug)]
struct GrpcMethod {
    service: String,
    method: String,
}

/// The status of a gRPC reply that has none: what a gRPC client reports then.
const UNKNOWN: i32 = 2;
/// A call whose reply was dropped before its status: the client went away.
const CANCELED: i32 = 1;

impl GrpcMethod {
    fn of(path: &str) -> Self {
        let path = path.strip_prefix('/').unwrap_or(path);
        let (service, method) = path.rsplit_once('/').unwrap_or(("unknown", path));
        GrpcMethod {
            service: service.to_owned(),
            method: method.to_owned(),
        }
    }

    fn record(&self, start: u64, code: i32) {
        let code = crate::model::outcome::grpc_code_name(code);
        GRPC_HANDLED.labels(&self.service, &self.method, code).inc();
        GRPC_HANDLING
            .labels(&self.service, &self.method)
            .observe(seconds_since(start));
    }
}

/// The `grpc-status` of a header or trailer map, if it has one.
fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    let value = headers.get("grpc-status")?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(UNKNOWN),
    )
}

/// A gRPC call whose status comes in the reply's trailers.
struct GrpcCall {
    grpc: GrpcMethod,
    start: u64,
    in_flight: Option<InProgress<'static>>,
}

pin_project_lite::pin_project! {
    /// The body of a response of [`MetricsService`]: the inner body unchanged, watched for the
    /// `grpc-status` trailer of a gRPC reply, which ends the call.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<GrpcCall>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(call) = this.call.take() {
                call.grpc.record(call.start, CANCELED);
            }
        }
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for MeteredBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeteredBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: http_body::Body> http_body::Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(UNKNOWN)),
            Some(Err(_)) | None => Some(UNKNOWN),
        };
        if let Some(code) = code
            && let Some(call) = this.call.take()
        {
            call.grpc.record(call.start, code);
            drop(call.in_flight);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

/// The method as a label: the nine standard ones, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

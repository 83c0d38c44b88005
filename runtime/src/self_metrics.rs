//! Metrics about track-metrics' endpoint and axum layer, declared like any user's. (The counts of
//! overflow and refused facade keys are written by the scrape itself: see `crate::scrape`.)

use crate::model::kind::Kind;

crate::metrics! {
    /// Requests for the exposition (the endpoint's metrics path, or the axum handler), by HTTP status
    #[cfg(any(feature = "http", feature = "axum"))]
    pub(crate) counter SCRAPES: track_metrics_scrapes_total(status);
    /// Time to render and encode the exposition for a scrape
    #[cfg(any(feature = "http", feature = "axum"))]
    #[buckets(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1)]
    pub(crate) histogram SCRAPE_DURATION: track_metrics_scrape_duration_seconds;
    /// Scrapes and live pages answered 503 because rendering took longer than the render timeout
    #[cfg(any(feature = "http", feature = "axum"))]
    pub(crate) counter SCRAPE_TIMEOUTS: track_metrics_scrape_timeouts_total;
    /// Connections the endpoint closed to stay within its connection limit: `idle` ones to make room, `refused` new ones when every open one was busy
    #[cfg(feature = "http")]
    pub(crate) counter CONNECTIONS_DROPPED: track_metrics_connections_dropped_total(reason);
    /// HTTP requests by method, route template and status
    #[cfg(feature = "axum")]
    pub(crate) counter HTTP_REQUESTS: http_requests_total(method, route, status);
    /// HTTP request latency by method and route template
    #[cfg(feature = "axum")]
    pub(crate) histogram HTTP_REQUEST_DURATION: http_request_duration_seconds(method, route);
    /// HTTP requests in progress
    #[cfg(feature = "axum")]
    pub(crate) gauge HTTP_REQUESTS_IN_FLIGHT: http_requests_in_flight;
    /// gRPC calls completed by the server, by service, method and status code
    #[cfg(feature = "axum")]
    pub(crate) counter GRPC_HANDLED: grpc_server_handled_total(grpc_service, grpc_method, grpc_code);
    /// gRPC call latency by service and method, until the reply's status
    #[cfg(feature = "axum")]
    pub(crate) histogram GRPC_HANDLING: grpc_server_handling_seconds(grpc_service, grpc_method);
}

/// The families of the axum layer: they exist once a layer wraps a service, so that an
/// application that never uses the layer may name its own metrics `http_requests_total`.
#[cfg(feature = "axum")]
const ON_DEMAND: [(&str, Kind); 5] = [
    ("http_requests_total", Kind::Counter),
    ("http_request_duration_seconds", Kind::Histogram),
    ("http_requests_in_flight", Kind::Gauge),
    ("grpc_server_handled_total", Kind::Counter),
    ("grpc_server_handling_seconds", Kind::Histogram),
];
#[cfg(not(feature = "axum"))]
const ON_DEMAND: [(&str, Kind); 0] = [];

const UNCLAIMED: u8 = 0;
const CLAIMED: u8 = 1;
#[cfg(feature = "axum")]
const REFUSED: u8 = 2;

static LAYER: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(UNCLAIMED);

/// Whether the family `name` is served: every family but the layer's until a layer is used.
pub(crate) fn served(name: &str) -> bool {
    ON_DEMAND.iter().all(|(family, _)| *family != name)
        || LAYER.load(std::sync::atomic::Ordering::Acquire) == CLAIMED
}

/// Makes the layer's families exist, once: `check` says whether their names are free (the
/// application may record its own `http_requests_total` through the facade already). Where they
/// are not, the layer's families stay out of every scrape, and a warning says why.
#[cfg(feature = "axum")]
pub(crate) fn claim_layer_families(
    check: impl FnOnce(&[(&'static str, Kind)]) -> Result<(), String>,
) {
    use std::sync::atomic::Ordering;
    use std::sync::{Mutex, PoisonError};
    static CLAIMING: Mutex<()> = Mutex::new(());
    if LAYER.load(Ordering::Acquire) != UNCLAIMED {
        return;
    }
    let _one = CLAIMING.lock().unwrap_or_else(PoisonError::into_inner);
    if LAYER.load(Ordering::Acquire) != UNCLAIMED {
        return;
    }
    match check(&ON_DEMAND) {
        Ok(()) => LAYER.store(CLAIMED, Ordering::Release),
        Err(reason) => {
            LAYER.store(REFUSED, Ordering::Release);
            log::warn!(
                "the axum layer's families ({}) are not served: {reason}. Rename the \
                 application's metric, or leave the layer out",
                ON_DEMAND.map(|(name, _)| name).join(", ")
            );
        }
    }
}

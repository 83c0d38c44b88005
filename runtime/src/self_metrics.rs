//! Metrics about track-metrics' endpoint and axum layer, declared like any user's. (The counts of
//! overflow and refused facade keys are written by the scrape itself: see `crate::scrape`.)

crate::metrics! {
    /// Requests to the metrics endpoint's metrics path, by HTTP status
    #[cfg(feature = "http")]
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
}

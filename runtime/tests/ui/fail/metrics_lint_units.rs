// promtool's naming conventions: base units, no abbreviations, no type names, snake_case.
track_metrics::metrics! {
    /// Latency
    pub histogram LATENCY: request_latency_milliseconds;
    /// Size
    pub gauge SIZE: payload_kb;
    /// Depth
    pub gauge DEPTH: queue_depth_gauge;
    /// Requests
    pub counter REQUESTS: requestCount_total(httpMethod);
    /// Count
    pub gauge COUNT: items_count;
}

fn main() {}

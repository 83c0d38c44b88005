// Metric names starting with `__` belong to Prometheus.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: __requests_total;
}

fn main() {}

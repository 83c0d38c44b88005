// Label names starting with `__` belong to Prometheus.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(__tenant);
}

fn main() {}

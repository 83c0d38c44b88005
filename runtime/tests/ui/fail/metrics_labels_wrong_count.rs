// `labels(...)` takes exactly the declared labels, and the error names them.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method, endpoint);
}

fn main() {
    REQUESTS.labels("GET").inc();
}

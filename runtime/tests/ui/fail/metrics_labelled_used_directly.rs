// A family with labels is used through `labels(...)`.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method);
}

fn main() {
    REQUESTS.inc();
}

// A metric name declared twice in a block is reported at both places.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method);
    /// Requests again
    pub counter OTHER_REQUESTS: requests_total(endpoint);
}

fn main() {}

// A label declared twice is reported at both places.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method, endpoint, method);
}

fn main() {}

// A counter only goes up.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total;
}

fn main() {
    REQUESTS.dec();
}

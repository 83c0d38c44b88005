// A series limit needs labels to limit.
track_metrics::metrics! {
    /// Requests
    #[max_series(10)]
    pub counter REQUESTS: requests_total;
}

fn main() {}

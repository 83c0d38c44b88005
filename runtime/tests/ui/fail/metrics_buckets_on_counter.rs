// Buckets belong to histograms.
track_metrics::metrics! {
    /// Requests
    #[buckets(0.1, 1)]
    pub counter REQUESTS: requests_total;
}

fn main() {}

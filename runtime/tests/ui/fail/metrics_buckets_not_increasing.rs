// Buckets are strictly increasing.
track_metrics::metrics! {
    /// Latency
    #[buckets(0.1, 1, 0.5)]
    pub histogram LATENCY: latency_seconds;
}

fn main() {}

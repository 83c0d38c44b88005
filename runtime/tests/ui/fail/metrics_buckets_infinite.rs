// Buckets are finite: `+Inf` is always added.
track_metrics::metrics! {
    /// Latency
    #[buckets(0.1, 1e400)]
    pub histogram LATENCY: latency_seconds;
}

fn main() {}

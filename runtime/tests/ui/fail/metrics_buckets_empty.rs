// At least one bucket bound.
track_metrics::metrics! {
    /// Latency
    #[buckets()]
    pub histogram LATENCY: latency_seconds;
}

fn main() {}

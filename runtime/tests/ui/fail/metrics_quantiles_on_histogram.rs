// Quantiles belong to summaries.
track_metrics::metrics! {
    /// Latency
    #[quantiles(0.5)]
    pub histogram LATENCY: latency_seconds;
}

fn main() {}

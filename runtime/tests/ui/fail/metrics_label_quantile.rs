// `quantile` is the quantile of a summary.
track_metrics::metrics! {
    /// Latency
    pub summary LATENCY: latency_seconds(quantile);
}

fn main() {}

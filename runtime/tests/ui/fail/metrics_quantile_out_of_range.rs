// A quantile is between 0 and 1, in increasing order.
track_metrics::metrics! {
    /// Latency
    #[quantiles(0.5, 0.4, 99)]
    pub summary LATENCY: latency_seconds;
}

fn main() {}

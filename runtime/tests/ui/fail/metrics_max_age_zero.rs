// A summary window of zero seconds holds nothing.
track_metrics::metrics! {
    /// Latency
    #[max_age_seconds(0)]
    pub summary LATENCY: latency_seconds;
}

fn main() {}

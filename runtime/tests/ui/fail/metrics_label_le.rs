// `le` is the bucket bound of a histogram.
track_metrics::metrics! {
    /// Latency
    pub histogram LATENCY: latency_seconds(le);
}

fn main() {}

// Metric names are ASCII.
track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: réquests_total;
}

fn main() {}

// Only counters end in `_total`.
track_metrics::metrics! {
    /// Queue
    pub gauge QUEUE: queue_total;
}

fn main() {}

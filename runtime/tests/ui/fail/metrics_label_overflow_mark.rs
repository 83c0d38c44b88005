// `track_metrics_overflow` marks the overflow series of a family, so no family may declare it.
track_metrics::metrics! {
    /// Events by source
    pub counter EVENTS: events_total(source, track_metrics_overflow);
}

fn main() {}

// An enum metric names its states' type; only it has one; its states are its variants, and
// `#[exemplars]` is for counters and histograms.
#[derive(Clone, Copy, track_metrics::LabelValue)]
enum Phase {
    Idle,
    Busy,
}

track_metrics::metrics! {
    /// No state type
    enum NO_TYPE: worker_phase;
    /// A state type on a gauge
    gauge TYPED: queue_items<Phase>;
    /// A label named as the family, which labels the states
    enum CLASH: job_phase<Phase>(job_phase);
    /// Exemplars on a gauge
    #[exemplars]
    gauge WITH_EXEMPLARS: pool_connections;
}

fn main() {}

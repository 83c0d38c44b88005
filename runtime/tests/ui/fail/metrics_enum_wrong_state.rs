// `.state(...)` takes the declared state type, and a labelled enum family its labels first.
#[derive(Clone, Copy, track_metrics::LabelValue)]
enum Phase {
    Idle,
    Busy,
}

#[derive(Clone, Copy, track_metrics::LabelValue)]
enum Other {
    Idle,
}

track_metrics::metrics! {
    /// The phase of the worker
    enum PHASE: worker_phase<Phase>;
    /// The phase of each job
    enum JOB_PHASE: job_phase<Phase>(job);
}

fn main() {
    PHASE.state(Other::Idle);
    PHASE.state("Busy");
    JOB_PHASE.state(Phase::Busy);
}

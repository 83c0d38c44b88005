// An objective's targets are checked when the constant is evaluated.
use track_metrics::slo::Objective;

const TOO_HIGH: Objective = Objective::new("api").success_rate(100.0);
const NO_THRESHOLD: Objective = Objective::new("api").latency(0.0, 99.0);

#[track_metrics::track_metrics(objective = TOO_HIGH)]
fn handle() {}

#[track_metrics::track_metrics(objective = NO_THRESHOLD)]
fn fetch() {}

fn main() {
    handle();
    fetch();
}

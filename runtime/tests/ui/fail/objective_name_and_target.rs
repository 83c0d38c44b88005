// An objective's name is checked when the constant is evaluated, and an objective with no target
// is refused where a function names it.
use track_metrics::slo::Objective;

const LINE_BREAK: Objective = Objective::new("api\r\nX-Injected: 1").success_rate(99.9);
const NO_TARGET: Objective = Objective::new("api");

#[track_metrics::track_metrics(objective = LINE_BREAK)]
fn handle() {}

#[track_metrics::track_metrics(objective = NO_TARGET)]
fn fetch() {}

fn main() {
    handle();
    fetch();
}

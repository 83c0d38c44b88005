// A latency objective's threshold must be a bucket bound of the function's histogram, and the
// objective names the series with the `objective` label, which is then not the user's.
use track_metrics::slo::Objective;

const API: Objective = Objective::new("api").success_rate(99.9).latency(0.3, 99.0);

#[track_metrics::track_metrics(objective = API, buckets = [0.1, 0.25, 1.0])]
fn handle() {}

#[track_metrics::track_metrics(objective = API, labels(objective = "mine"))]
fn labelled() {}

fn main() {
    handle();
    labelled();
}

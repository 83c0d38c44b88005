// Colons are for recording rules, not for instrumented metrics.
#[track_metrics::track_metrics(calls = "job:queries_total")]
fn query() {}

fn main() {
    query();
}

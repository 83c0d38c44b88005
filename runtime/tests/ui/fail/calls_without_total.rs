// A counter name ends in `_total`.
#[track_metrics::track_metrics(calls = "db_queries")]
fn query() {}

fn main() {
    query();
}

// The duration histogram is in seconds, and its name says so.
#[track_metrics::track_metrics(duration = "db_query_duration_ms")]
fn query() {}

fn main() {
    query();
}

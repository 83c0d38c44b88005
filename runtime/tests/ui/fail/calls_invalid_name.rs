// Metric names follow the Prometheus regex.
#[track_metrics::track_metrics(calls = "db-queries_total")]
fn query() {}

fn main() {
    query();
}

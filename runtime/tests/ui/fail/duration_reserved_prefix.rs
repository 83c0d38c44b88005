// Metric names starting with `__` belong to Prometheus.
#[track_metrics::track_metrics(duration = "__query_seconds")]
fn query() {}

fn main() {
    query();
}

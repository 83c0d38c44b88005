// Label names starting with `__` belong to Prometheus.
#[track_metrics::track_metrics(labels(__tenant = "a"))]
fn query() {}

fn main() {
    query();
}

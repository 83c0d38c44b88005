// An empty label value is no label at all in Prometheus.
#[track_metrics::track_metrics(labels(endpoint = ""))]
fn query() {}

fn main() {
    query();
}

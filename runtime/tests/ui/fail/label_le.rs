// `le` is the bucket bound of a histogram.
#[track_metrics::track_metrics(labels(le = "0.1"))]
fn query() {}

fn main() {
    query();
}

// `quantile` is the quantile of a summary.
#[track_metrics::track_metrics(labels(quantile = "0.5"))]
fn query() {}

fn main() {
    query();
}

// Buckets are finite: `+Inf` is always added.
#[track_metrics::track_metrics(buckets = [0.1, 1e999])]
fn query() {}

fn main() {
    query();
}

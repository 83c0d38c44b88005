// A duration is never negative.
#[track_metrics::track_metrics(buckets = [-1.0, 1.0])]
fn query() {}

fn main() {
    query();
}

// Bucket bounds are number literals.
const LIMIT: f64 = 1.0;

#[track_metrics::track_metrics(buckets = [0.1, LIMIT])]
fn query() {}

fn main() {
    query();
}

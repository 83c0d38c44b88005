// At least one bucket bound.
#[track_metrics::track_metrics(buckets = [])]
fn query() {}

fn main() {
    query();
}

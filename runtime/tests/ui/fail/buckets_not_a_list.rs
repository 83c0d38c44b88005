// Buckets are a bracketed list.
#[track_metrics::track_metrics(buckets = 0.1)]
fn query() {}

fn main() {
    query();
}

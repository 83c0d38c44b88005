// Buckets are strictly increasing: the error is on the first bound out of order.
#[track_metrics::track_metrics(buckets = [0.1, 0.5, 0.5, 1.0])]
fn query() {}

fn main() {
    query();
}

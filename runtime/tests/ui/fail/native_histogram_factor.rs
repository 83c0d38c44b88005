// A native histogram's factor is how much wider each bucket is than the last: above 1.
#[track_metrics::track_metrics(native_histogram = 0.5)]
fn query() {}

#[track_metrics::track_metrics(native_histogram = "fine")]
fn fetch() {}

fn main() {
    query();
    fetch();
}

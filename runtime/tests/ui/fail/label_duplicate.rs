// A label given twice is reported at both places.
#[track_metrics::track_metrics(labels(endpoint = "/a", method = "GET", endpoint = "/b"))]
fn query() {}

fn main() {
    query();
}

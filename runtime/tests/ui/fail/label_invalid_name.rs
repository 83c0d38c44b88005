// Label names are ASCII identifiers.
#[track_metrics::track_metrics(labels(café = "a"))]
fn query() {}

fn main() {
    query();
}

// `module` is set by the macro itself.
#[track_metrics::track_metrics(labels(module = "other"))]
fn query() {}

fn main() {
    query();
}

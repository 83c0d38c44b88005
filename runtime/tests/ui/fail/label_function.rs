// `function` is set by the macro itself.
#[track_metrics::track_metrics(labels(function = "other"))]
fn query() {}

fn main() {
    query();
}

// The `function` label cannot be empty.
#[track_metrics::track_metrics(name = "")]
fn checkout() {}

fn main() {
    checkout();
}

// Option values are string literals.
#[track_metrics::track_metrics(name = checkout)]
fn checkout() {}

fn main() {
    checkout();
}

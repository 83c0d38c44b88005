// An option given twice is an error on the second one.
#[track_metrics::track_metrics(name = "a", name = "b")]
fn checkout() {}

fn main() {
    checkout();
}

// A type error in the body is reported on the user's line, not on the attribute.
#[track_metrics::track_metrics]
fn count() -> u32 {
    let total: u32 = "one";
    total
}

fn main() {
    count();
}

// A body that does not parse reaches rustc as written, so the error points into it.
#[track_metrics::track_metrics]
fn count() -> u32 {
    let total = ;
    total
}

fn main() {
    count();
}

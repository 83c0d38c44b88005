// The error counter is a counter: its name ends in `_total`.
#[track_metrics::track_metrics(errors = "db_errors")]
fn query() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = query();
}

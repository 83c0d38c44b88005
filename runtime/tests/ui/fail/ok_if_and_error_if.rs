// Each of `ok_if` and `error_if` alone decides which values are errors.
fn is_fine(_: &Result<u32, String>) -> bool {
    true
}

#[track_metrics::track_metrics(ok_if = is_fine, error_if = is_fine)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {
    let _ = fetch();
}

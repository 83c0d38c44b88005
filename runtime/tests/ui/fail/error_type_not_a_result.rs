// A classifier labels an `Err`: on a function that returns no `Result`, the type error points
// at the classifier.
fn classify(_: &std::io::Error) -> &'static str {
    "io"
}

#[track_metrics::track_metrics(error_type = classify)]
fn count() -> u32 {
    1
}

fn main() {
    let _ = count();
}

// A closure cannot be instrumented: the macro's error, and no cascade of errors about the
// closure's body after it.
fn main() {
    let double = #[track_metrics::track_metrics]
    |value: u32| -> u32 { value * 2 };
    let _ = double(2);
}

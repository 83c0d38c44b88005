// `#[track_metrics]` on `main` records nothing (it starts before `install()`): a warning on its
// name, made an error here to be seen.
#![deny(deprecated)]

#[track_metrics::track_metrics]
fn main() {}

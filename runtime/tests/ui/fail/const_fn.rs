// A `const fn` cannot read a clock: refused on the `const` keyword.
#[track_metrics::track_metrics]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}

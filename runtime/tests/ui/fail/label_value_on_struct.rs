// Only enums have a fixed set of values.
#[derive(track_metrics::LabelValue)]
struct Method {
    name: String,
}

fn main() {}

// A label value is a unit variant.
#[derive(track_metrics::LabelValue)]
enum Method {
    Get,
    Other(String),
}

fn main() {}

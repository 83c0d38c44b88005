// An empty label value is no label at all.
#[derive(track_metrics::LabelValue)]
enum Method {
    #[label = ""]
    Get,
}

fn main() {}

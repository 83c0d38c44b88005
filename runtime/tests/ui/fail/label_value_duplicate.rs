// Two variants cannot share a label value.
#[derive(track_metrics::LabelValue)]
enum Method {
    #[label = "GET"]
    Get,
    #[label = "GET"]
    Fetch,
}

fn main() {}

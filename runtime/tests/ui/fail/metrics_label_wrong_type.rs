// A typed label takes its type, not a string.
#[derive(track_metrics::LabelValue)]
enum Method {
    Get,
}

track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method: Method);
}

fn main() {
    REQUESTS.labels("GET").inc();
    let _ = Method::Get;
}

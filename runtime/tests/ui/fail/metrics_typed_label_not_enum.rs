// A family whose labels are all typed is pre-initialised, so its types list their values.
struct Method;

impl track_metrics::LabelValue for Method {
    fn label_value(&self) -> &str {
        "GET"
    }
}

track_metrics::metrics! {
    /// Requests
    pub counter REQUESTS: requests_total(method: Method);
}

fn main() {
    REQUESTS.labels(Method).inc();
}

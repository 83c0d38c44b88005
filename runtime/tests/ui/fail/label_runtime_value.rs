// Label values are literals: a runtime value could create unbounded series.
const ENDPOINT: &str = "/users";

#[track_metrics::track_metrics(labels(endpoint = ENDPOINT))]
fn query() {}

fn main() {
    query();
}

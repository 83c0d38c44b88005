// Every mistake of one attribute is reported at once.
#[track_metrics::track_metrics(calls = "queries", duration = "query_time", labels(le = "1"))]
const fn query() {}

fn main() {
    query();
}

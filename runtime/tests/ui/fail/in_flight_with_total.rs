// The in-flight gauge is not a counter.
#[track_metrics::track_metrics(in_flight = "queries_in_flight_total")]
fn query() {}

fn main() {
    query();
}

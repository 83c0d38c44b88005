// `labels()` with nothing inside is a mistake.
#[track_metrics::track_metrics(labels())]
fn query() {}

fn main() {
    query();
}

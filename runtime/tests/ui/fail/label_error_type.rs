// `error_type` labels the error counts `#[track_metrics]` keeps: it cannot be a constant label.
use track_metrics::track_metrics;

#[track_metrics(labels(error_type = "database"))]
fn query() -> Result<(), std::fmt::Error> {
    Ok(())
}

fn main() {}

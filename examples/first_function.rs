//! The README's first example: one instrumented function, `install()`, and the scrape printed.
//!
//! ```text
//! cargo run --example first_function
//! ```
//!
//! `main` returns `track_metrics::Error`, whose `Debug` form is its message: with the port
//! taken, it prints `Error: cannot listen on 127.0.0.1:9000: ...; ... TRACK_METRICS_ADDR=...`.

use track_metrics::track_metrics;

#[derive(Debug, track_metrics::ErrorType)]
enum FetchError {
    NotFound,
    Timeout,
}

#[track_metrics]
fn fetch_user(id: u32) -> Result<String, FetchError> {
    match id {
        0 => Err(FetchError::NotFound),
        1 => Err(FetchError::Timeout),
        _ => Ok(format!("user {id}")),
    }
}

fn main() -> Result<(), track_metrics::Error> {
    let exporter = track_metrics::install()?; // serves http://127.0.0.1:9000/metrics
    for id in 0..10 {
        let _ = fetch_user(id);
    }
    println!("{}", exporter.render());
    Ok(())
}

//! Writes the Prometheus rules of the quickstart's objectives: recording rules for each SLI and
//! the multi-window, multi-burn-rate alerts.
//!
//! ```text
//! cargo run --example slo_rules > rules.yml
//! promtool check rules rules.yml
//! ```

use std::process::ExitCode;

// The quickstart's functions and objectives, so that these are its rules.
#[allow(dead_code)]
#[path = "quickstart.rs"]
mod quickstart;

fn main() -> ExitCode {
    match track_metrics::slo::rules() {
        Ok(rules) => {
            print!("{rules}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

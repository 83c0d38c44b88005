//! A service whose `work` fails every other call: makes `CALLS` calls (default 200), says
//! `done`, then keeps serving its metrics until stopped. With `START_ON_INPUT` set it waits for
//! a line on its standard input before the first call. The end-to-end test runs three of them
//! under a real Prometheus.
//!
//! ```text
//! TRACK_METRICS_ADDR=127.0.0.1:0 CALLS=100 PAUSE_MS=10 cargo run --example flaky_service
//! cargo run --example flaky_service -- --slo-rules > rules.yml   # its objective's alert rules
//! ```

use std::time::Duration;

use track_metrics::slo::Objective;
use track_metrics::{ErrorType, track_metrics};

/// 99% of `work` calls succeed: far from its one in two.
const WORK: Objective = Objective::new("work").success_rate(99.0);

#[derive(Debug, ErrorType)]
enum WorkError {
    Unlucky,
}

/// Fails on odd inputs: an error ratio of exactly one half.
#[track_metrics(objective = WORK)]
fn work(input: u64) -> Result<u64, WorkError> {
    std::thread::sleep(Duration::from_millis(2 + input % 5));
    if input % 2 == 1 {
        Err(WorkError::Unlucky)
    } else {
        Ok(input / 2)
    }
}

/// The pause between calls, instrumented in a module of its own (the live page's filter).
mod backoff {
    #[track_metrics::track_metrics]
    pub fn pause(pause: std::time::Duration) {
        std::thread::sleep(pause);
    }
}

fn main() {
    if std::env::args().any(|argument| argument == "--slo-rules") {
        match track_metrics::slo::rules() {
            Ok(rules) => print!("{rules}"),
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(1);
            }
        }
        return;
    }
    let exporter = match track_metrics::install() {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    println!("Serving metrics at {}", exporter.url().expect("a listener"));
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let (calls, pause) = (
        setting("CALLS", 200),
        Duration::from_millis(setting("PAUSE_MS", 10)),
    );
    if std::env::var_os("START_ON_INPUT").is_some() {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    for input in 0..calls {
        let _ = work(input);
        backoff::pause(pause);
    }
    println!("done");
    loop {
        std::thread::park();
    }
}

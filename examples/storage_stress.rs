//! The storage under the loads that broke the exporter it replaced, with the figures the README
//! quotes. Run it in release mode:
//!
//! ```text
//! cargo run --release --example storage_stress
//! ```
//!
//! 1. 8 threads record 4,000,000 facade histogram observations each while another thread
//!    renders in a loop: the final `_count` is exact, and every scrape on the way has
//!    `_sum == _count` (every observation is 1.0) and `calls_total >= _count` for a function.
//! 2. 1,000,000 distinct label values through the facade: resident memory and render time.
//! 3. 50,000,000 facade histogram observations never scraped: resident memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use track_metrics::testing::Exposition;
use track_metrics::track_metrics;

#[track_metrics]
fn recorded(value: u64) -> u64 {
    value.wrapping_mul(7)
}

/// Resident memory of this process, in MB, from `/proc/self/statm`.
fn resident_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1e6
}

fn value(scrape: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape.value(name, labels).unwrap_or(0.0)
}

fn main() {
    track_metrics::Exporter::builder()
        .without_listener()
        .process_metrics(false)
        .install()
        .expect("install");
    println!("resident at start: {:.1} MB", resident_mb());

    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 4_000_000;
    let done = AtomicBool::new(false);
    let site = [("function", "recorded"), ("module", "storage_stress")];
    let started = Instant::now();
    let (scrapes, torn) = std::thread::scope(|scope| {
        let scraper = scope.spawn(|| {
            let (mut scrapes, mut torn) = (0_u64, 0_u64);
            while !done.load(Ordering::Acquire) {
                let scrape = Exposition::parse(&track_metrics::render()).expect("a valid scrape");
                let count = value(&scrape, "stress_seconds_count", &[]);
                let sum = value(&scrape, "stress_seconds_sum", &[]);
                let calls = value(&scrape, "function_calls_total", &site);
                let finished = value(&scrape, "function_duration_seconds_count", &site);
                if sum != count || calls < finished {
                    torn += 1;
                }
                scrapes += 1;
            }
            (scrapes, torn)
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let histogram = metrics::histogram!("stress_seconds");
                    for i in 0..PER_THREAD {
                        histogram.record(1.0);
                        if i % 8 == 0 {
                            std::hint::black_box(recorded(i));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a worker");
        }
        done.store(true, Ordering::Release);
        scraper.join().expect("the scraper")
    });
    let scrape = Exposition::parse(&track_metrics::render()).expect("a valid scrape");
    println!(
        "1. {THREADS} threads x {PER_THREAD} facade observations with a render loop: _count {} of \
         {}, {scrapes} scrapes, {torn} inconsistent, {:.1} s",
        value(&scrape, "stress_seconds_count", &[]),
        THREADS * PER_THREAD,
        started.elapsed().as_secs_f64()
    );

    let before = resident_mb();
    let started = Instant::now();
    for user in 0..1_000_000 {
        metrics::counter!("stress_users_total", "user" => format!("user-{user}")).increment(1);
    }
    let recorded_in = started.elapsed();
    let started = Instant::now();
    let text = track_metrics::render();
    let rendered_in = started.elapsed();
    let scrape = Exposition::parse(&text).expect("a valid scrape");
    let series = scrape
        .samples()
        .filter(|sample| sample.name == "stress_users_total")
        .count();
    println!(
        "2. 1,000,000 distinct facade label values: {series} series kept (the rest in the \
         overflow series: {}), resident {:+.1} MB, recorded in {:.2} s, render {:.1} ms",
        value(
            &scrape,
            "stress_users_total",
            &[("user", "__overflow__"), ("track_metrics_overflow", "true")]
        ),
        resident_mb() - before,
        recorded_in.as_secs_f64(),
        rendered_in.as_secs_f64() * 1e3
    );

    let before = resident_mb();
    let histogram = metrics::histogram!("stress_unscraped_seconds");
    for _ in 0..50_000_000 {
        histogram.record(0.25);
    }
    println!(
        "3. 50,000,000 unscraped facade observations: resident {:+.1} MB",
        resident_mb() - before
    );
}

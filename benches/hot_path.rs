//! What one call costs: a trivial function bare, instrumented by hand on the same storage and
//! clock, by the `metrics` macros, by `#[track_metrics]` in its variants, by `autometrics`; and
//! the operations of `metrics!` families. Everything records into the one installed exporter.
//!
//! `cargo bench --features bench`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use track_metrics::{LabelValue, track_metrics};

#[inline(never)]
fn bare(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[track_metrics]
#[inline(never)]
fn instrumented(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[track_metrics]
#[inline(never)]
fn instrumented_err(x: u64) -> Result<u64, std::fmt::Error> {
    if x == u64::MAX {
        Ok(x)
    } else {
        Err(std::fmt::Error)
    }
}

#[track_metrics(in_flight)]
#[inline(never)]
fn instrumented_in_flight(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[autometrics::autometrics]
#[inline(never)]
fn with_autometrics(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    #[allow(dead_code)]
    Post,
}

track_metrics::metrics! {
    /// Bench counter without labels
    counter PLAIN: bench_plain_total;
    /// Bench histogram without labels
    histogram PLAIN_LATENCY: bench_plain_latency_seconds;
    /// Bench counter with labels
    counter LABELLED: bench_labelled_total(method, endpoint);
    /// Bench counter with enum labels
    counter TYPED: bench_typed_total(method: Method);
    /// The hand-written floor's calls, on the storage `#[track_metrics]` uses
    counter FLOOR_CALLS: bench_floor_calls_total;
    /// The hand-written floor's durations, on the storage `#[track_metrics]` uses
    histogram FLOOR_DURATION: bench_floor_duration_seconds;
    /// Series for the render benchmark
    #[max_series(20000)]
    counter MANY: bench_many_total(user);
}

fn per_call(c: &mut Criterion) {
    let calls = metrics::counter!("hand_calls_total", "function" => "bare");
    let durations = metrics::histogram!("hand_duration_seconds", "function" => "bare");
    let mut group = c.benchmark_group("per_call");
    group.bench_function("bare function", |b| b.iter(|| bare(black_box(3))));
    group.bench_function("hand-written, std Instant", |b| {
        b.iter(|| {
            calls.increment(1);
            let start = std::time::Instant::now();
            let value = bare(black_box(3));
            durations.record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.bench_function("hand-written, quanta clock", |b| {
        b.iter(|| {
            calls.increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            durations.record(start.elapsed().as_secs_f64());
            value
        })
    });
    // The floor for `#[track_metrics]`: the same clock read the same way, the same atomics.
    let clock = quanta::Clock::new();
    group.bench_function("hand-written, raw quanta clock, own atomics", |b| {
        b.iter(|| {
            FLOOR_CALLS.inc();
            let start = clock.raw();
            let value = bare(black_box(3));
            FLOOR_DURATION.observe(clock.delta_as_nanos(start, clock.raw()) as f64 * 1e-9);
            value
        })
    });
    group.bench_function("metrics macros per call", |b| {
        b.iter(|| {
            metrics::counter!("macro_calls_total", "function" => "bare").increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            metrics::histogram!("macro_duration_seconds", "function" => "bare")
                .record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.bench_function("#[track_metrics]", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    group.bench_function("#[track_metrics] returning Err", |b| {
        b.iter(|| instrumented_err(black_box(3)))
    });
    group.bench_function("#[track_metrics(in_flight)]", |b| {
        b.iter(|| instrumented_in_flight(black_box(3)))
    });
    group.bench_function("autometrics 3", |b| {
        b.iter(|| with_autometrics(black_box(3)))
    });
    group.finish();
}

fn declared(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics!");
    group.bench_function("counter, no labels", |b| b.iter(|| PLAIN.inc()));
    group.bench_function("histogram, no labels", |b| {
        b.iter(|| PLAIN_LATENCY.observe(black_box(0.01)))
    });
    group.bench_function("counter, &'static str labels", |b| {
        b.iter(|| LABELLED.labels(black_box("GET"), black_box("/users")).inc())
    });
    group.bench_function("counter, enum label", |b| {
        b.iter(|| TYPED.labels(black_box(Method::Get)).inc())
    });
    let endpoint = String::from("/users");
    group.bench_function("counter, String labels", |b| {
        b.iter(|| {
            LABELLED
                .labels(black_box("GET"), black_box(&endpoint))
                .inc()
        })
    });
    group.finish();
}

/// Two threads on the same series: the time per call of each thread.
fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("2 threads, one series");
    let on_two_threads = |work: fn(u64)| {
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_custom(|iterations| {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..2 {
                        scope.spawn(move || {
                            for i in 0..iterations {
                                work(black_box(i));
                            }
                        });
                    }
                });
                start.elapsed()
            })
        }
    };
    group.bench_function(
        "#[track_metrics]",
        on_two_threads(|i| {
            black_box(instrumented(i));
        }),
    );
    group.bench_function(
        "metrics! counter, no labels",
        on_two_threads(|_| PLAIN.inc()),
    );
    group.bench_function(
        "metrics! counter, &'static str labels",
        on_two_threads(|_| {
            LABELLED.labels("GET", "/users").inc();
        }),
    );
    group.bench_function(
        "metrics::counter! per call (exporter)",
        on_two_threads(|_| {
            metrics::counter!("contended_calls_total").increment(1);
        }),
    );
    group.finish();
}

/// Rendering the whole exposition with 1,000 and 10,000 series in it.
fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for series in [1_000, 10_000] {
        for index in RENDERED.load(std::sync::atomic::Ordering::Relaxed)..series {
            MANY.labels(format!("user-{index}")).inc();
        }
        RENDERED.store(series, std::sync::atomic::Ordering::Relaxed);
        group.bench_function(format!("{series} series"), |b| {
            b.iter(track_metrics::render)
        });
    }
    group.finish();
}

static RENDERED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn clocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    group.bench_function("std::time::Instant::now", |b| {
        b.iter(std::time::Instant::now)
    });
    group.bench_function("quanta::Instant::now", |b| b.iter(quanta::Instant::now));
    group.finish();
}

fn config() -> Criterion {
    // Upkeep folds histogram samples every 100 ms, so memory stays small at millions of calls.
    track_metrics::Exporter::builder()
        .without_listener()
        .upkeep_interval(Duration::from_millis(100))
        .install()
        .expect("install");
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = clocks, per_call, declared, contended, render
}
criterion_main!(benches);

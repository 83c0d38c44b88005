//! What one call costs: a trivial function bare; the hand-written floors a call cannot go
//! below (two raw TSC reads, plain adds into a thread-local); `#[track_metrics]` in its
//! variants; the `metrics` facade; `autometrics`; the operations of `metrics!` families; each
//! single-threaded and with two threads on one series. Everything records into the one
//! installed exporter, and every ratio is within one run.
//!
//! `cargo bench --features bench`

use std::cell::Cell;
use std::hint::black_box;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Bencher, Criterion, criterion_group, criterion_main};
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

// In the same duration family as the others: a native histogram is this function's alone, and
// costs the other functions nothing (`benches/ecosystem.rs` has the plain call of a binary
// without one).
/// The Python tutorial's 14 bounds instead of the 19 of `FUNCTION_BUCKETS`: what the layout
/// costs a call.
#[track_metrics(
    duration = "tutorial_layout_seconds",
    buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
)]
#[inline(never)]
fn instrumented_tutorial_buckets(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[track_metrics(native_histogram)]
#[inline(never)]
fn instrumented_native(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[track_metrics(in_flight)]
#[inline(never)]
fn instrumented_in_flight(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
async fn bare_async(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[track_metrics]
#[inline(never)]
async fn instrumented_async(x: u64) -> u64 {
    x.wrapping_mul(31).rotate_left(7)
}

#[inline(never)]
fn bare_returned(x: u64) -> impl std::future::Future<Output = u64> {
    std::future::ready(x.wrapping_mul(31).rotate_left(7))
}

#[track_metrics]
#[inline(never)]
fn instrumented_returned(x: u64) -> impl std::future::Future<Output = u64> {
    std::future::ready(x.wrapping_mul(31).rotate_left(7))
}

/// Polls a future that is ready at its first poll, as an executor would.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(value) => value,
        std::task::Poll::Pending => unreachable!("every future here is ready at once"),
    }
}

fn futures(c: &mut Criterion) {
    let mut group = c.benchmark_group("futures, polled once to completion");
    group.bench_function("bare async fn", |b| {
        b.iter(|| ready(bare_async(black_box(3))))
    });
    group.bench_function("#[track_metrics] async fn", |b| {
        b.iter(|| ready(instrumented_async(black_box(3))));
    });
    group.bench_function("bare fn -> impl Future", |b| {
        b.iter(|| ready(bare_returned(black_box(3))));
    });
    group.bench_function("#[track_metrics] fn -> impl Future", |b| {
        b.iter(|| ready(instrumented_returned(black_box(3))));
    });
    group.finish();
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
    /// Series for the render benchmark
    #[max_series(20000)]
    counter MANY: bench_many_total(user);
}

fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// The bounds of a function's default layout, [`track_metrics::FUNCTION_BUCKETS`]: the floor
/// searches as many as `#[track_metrics]` does.
const BOUNDS: usize = 19;
const _: () = assert!(track_metrics::FUNCTION_BUCKETS.len() == BOUNDS);

/// The default bucket bounds converted to clock ticks once, as a floor may do at start-up.
fn tick_bounds() -> &'static [u64; BOUNDS] {
    static TICKS: OnceLock<[u64; BOUNDS]> = OnceLock::new();
    TICKS.get_or_init(|| {
        let clock = clock();
        let ticks_per_second = 1e9 / clock.delta_as_nanos(0, 1 << 40) as f64 * (1u64 << 40) as f64;
        let mut ticks = [0; BOUNDS];
        for (tick, bound) in ticks.iter_mut().zip(track_metrics::FUNCTION_BUCKETS) {
            *tick = (bound * ticks_per_second) as u64;
        }
        ticks
    })
}

/// The floor's storage: the count, the integer tick sum and the buckets of one function, in a
/// thread-local of plain cells.
struct FloorCells {
    calls: Cell<u64>,
    sum: Cell<u64>,
    buckets: [Cell<u64>; BOUNDS + 1],
}

thread_local! {
    static FLOOR: FloorCells = const {
        FloorCells {
            calls: Cell::new(0),
            sum: Cell::new(0),
            buckets: [const { Cell::new(0) }; BOUNDS + 1],
        }
    };
}

/// The hand-written floor: a call counted and timed into a thread-local with nothing shared.
#[inline(always)]
fn floor_call(x: u64, search: fn(&[u64; BOUNDS], u64) -> usize) -> u64 {
    let clock = clock();
    FLOOR.with(|cells| cells.calls.set(cells.calls.get() + 1));
    let start = clock.raw();
    let value = bare(black_box(x));
    let ticks = clock.raw().saturating_sub(start);
    let bucket = search(tick_bounds(), ticks);
    FLOOR.with(|cells| {
        cells.sum.set(cells.sum.get() + ticks);
        cells.buckets[bucket].set(cells.buckets[bucket].get() + 1);
    });
    value
}

fn branchless_count(bounds: &[u64; BOUNDS], ticks: u64) -> usize {
    bounds.iter().map(|bound| usize::from(*bound < ticks)).sum()
}

/// A scan from the smallest bound that stops at the call's bucket, as `#[track_metrics]` finds
/// it: one comparison for a call under the first bound.
fn first_above(bounds: &[u64; BOUNDS], ticks: u64) -> usize {
    bounds
        .iter()
        .position(|bound| *bound >= ticks)
        .unwrap_or(BOUNDS)
}

fn binary_search(bounds: &[u64; BOUNDS], ticks: u64) -> usize {
    bounds.partition_point(|bound| *bound < ticks)
}

/// Three shared atomic read-modify-writes per call (count, sum, bucket): the cost of one
/// series that every thread updates in place.
static SHARED: [AtomicU64; 17] = [const { AtomicU64::new(0) }; 17];

#[inline(always)]
fn shared_atomics_call(x: u64) -> u64 {
    let clock = clock();
    SHARED[0].fetch_add(1, Ordering::Relaxed);
    let start = clock.raw();
    let value = bare(black_box(x));
    let ticks = clock.raw().saturating_sub(start);
    let bucket = branchless_count(tick_bounds(), ticks);
    SHARED[1].fetch_add(ticks, Ordering::Relaxed);
    SHARED[2 + bucket].fetch_add(1, Ordering::Relaxed);
    value
}

/// The time per call of each of two threads running `work` at once.
fn two_threads(work: fn(u64)) -> impl FnMut(&mut Bencher<'_>) {
    move |b: &mut Bencher<'_>| {
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
}

fn per_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_call");
    group.bench_function("bare function", |b| b.iter(|| bare(black_box(3))));
    group.bench_function("floor: two raw TSC reads", |b| {
        let clock = clock();
        b.iter(|| {
            let start = clock.raw();
            let value = bare(black_box(3));
            black_box(clock.raw().saturating_sub(start));
            value
        })
    });
    group.bench_function("floor: thread-local adds, branchless bucket", |b| {
        b.iter(|| floor_call(3, branchless_count))
    });
    group.bench_function("floor: thread-local adds, binary search", |b| {
        b.iter(|| floor_call(3, binary_search))
    });
    group.bench_function("floor: thread-local adds, scan to the bucket", |b| {
        b.iter(|| floor_call(3, first_above))
    });
    group.bench_function("floor: three shared atomic RMWs", |b| {
        b.iter(|| shared_atomics_call(3))
    });
    group.bench_function("#[track_metrics]", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    group.bench_function("#[track_metrics], the tutorial's 14 buckets", |b| {
        b.iter(|| instrumented_tutorial_buckets(black_box(3)))
    });
    group.bench_function("#[track_metrics(native_histogram)]", |b| {
        b.iter(|| instrumented_native(black_box(3)))
    });
    group.bench_function("#[track_metrics] returning Err", |b| {
        b.iter(|| instrumented_err(black_box(3)))
    });
    group.bench_function("#[track_metrics(in_flight)]", |b| {
        b.iter(|| instrumented_in_flight(black_box(3)))
    });
    let calls = metrics::counter!("hand_calls_total", "function" => "bare");
    let durations = metrics::histogram!("hand_duration_seconds", "function" => "bare");
    group.bench_function("metrics facade, cached handles", |b| {
        b.iter(|| {
            calls.increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            durations.record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.bench_function("metrics facade, macros per call", |b| {
        b.iter(|| {
            metrics::counter!("macro_calls_total", "function" => "bare").increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            metrics::histogram!("macro_duration_seconds", "function" => "bare")
                .record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.bench_function("metrics facade counter, cached handle", |b| {
        b.iter(|| calls.increment(1))
    });
    group.bench_function("metrics::counter! per call", |b| {
        b.iter(|| metrics::counter!("contended_calls_total").increment(1))
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
    group.bench_function(
        "floor: thread-local adds, branchless bucket",
        two_threads(|i| {
            black_box(floor_call(i, branchless_count));
        }),
    );
    group.bench_function(
        "floor: three shared atomic RMWs",
        two_threads(|i| {
            black_box(shared_atomics_call(i));
        }),
    );
    group.bench_function(
        "#[track_metrics]",
        two_threads(|i| {
            black_box(instrumented(i));
        }),
    );
    group.bench_function(
        "#[track_metrics(native_histogram)]",
        two_threads(|i| {
            black_box(instrumented_native(i));
        }),
    );
    group.bench_function("metrics! counter, no labels", two_threads(|_| PLAIN.inc()));
    group.bench_function(
        "metrics! counter, &'static str labels",
        two_threads(|_| {
            LABELLED.labels(black_box("GET"), black_box("/users")).inc();
        }),
    );
    group.bench_function(
        "#[track_metrics] returning Err",
        two_threads(|i| {
            let _ = black_box(instrumented_err(i));
        }),
    );
    group.bench_function(
        "#[track_metrics], in a sampled span: records an exemplar",
        |b: &mut Bencher<'_>| {
            use opentelemetry::trace::{Tracer as _, TracerProvider as _};
            b.iter_custom(|iterations| {
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..2 {
                        scope.spawn(move || {
                            SAMPLED.with(|provider| {
                                // One span around the loop: its calls record exemplars.
                                provider.tracer("bench").in_span("calls", |_| {
                                    for i in 0..iterations {
                                        black_box(instrumented(black_box(i)));
                                    }
                                });
                            });
                        });
                    }
                });
                start.elapsed()
            })
        },
    );
    group.bench_function(
        "metrics facade counter, cached handle",
        two_threads(|_| {
            CACHED.with(|counter| counter.increment(1));
        }),
    );
    group.bench_function(
        "metrics::counter! per call",
        two_threads(|_| {
            metrics::counter!("contended_calls_total").increment(1);
        }),
    );
    group.finish();
}

thread_local! {
    /// Each bench thread's sampler, so that its calls run in sampled spans.
    static SAMPLED: opentelemetry_sdk::trace::SdkTracerProvider =
        opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            .build();
    /// Each bench thread's handle of the facade counter the per-call rows record into.
    static CACHED: metrics::Counter = metrics::counter!("contended_calls_total");
}

/// A call under each OpenTelemetry context: none (what `per_call` measures too), a span the
/// sampler dropped, and a sampled span, whose call records an exemplar.
fn exemplars(c: &mut Criterion) {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

    let mut group = c.benchmark_group("exemplars (feature otel)");
    group.bench_function("#[track_metrics], no span", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    for (name, sampler) in [
        ("#[track_metrics], in an unsampled span", Sampler::AlwaysOff),
        (
            "#[track_metrics], in a sampled span: records an exemplar",
            Sampler::AlwaysOn,
        ),
    ] {
        let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
        provider.tracer("bench").in_span("call", |_| {
            group.bench_function(name, |b| b.iter(|| instrumented(black_box(3))));
        });
    }
    group.finish();
}

/// Rendering the whole exposition with 1,000 and 10,000 series in it.
fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for series in [1_000, 10_000] {
        for index in RENDERED.load(Ordering::Relaxed)..series {
            MANY.labels(format!("user-{index}")).inc();
        }
        RENDERED.store(series, Ordering::Relaxed);
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
    track_metrics::Exporter::builder()
        .without_listener()
        .process_metrics(false)
        .install()
        .expect("install");
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = clocks, per_call, futures, declared, contended, exemplars, render
}
criterion_main!(benches);

//! What an instrumented function costs where track-metrics is not installed: with nothing
//! installed at all (a library whose users run no exporter), and through the application's own
//! `metrics` recorder (metrics-exporter-prometheus), beside the same work written by hand with
//! that recorder's handles; then installed, in a binary without native histograms. Every ratio
//! is within one run.
//!
//! `cargo bench --features bench --bench ecosystem`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use track_metrics::track_metrics;

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

/// Before any recorder: the instrumented function records nothing.
fn nothing_installed(c: &mut Criterion) {
    assert_eq!(
        track_metrics::recording(),
        track_metrics::Recording::Nothing
    );
    let mut group = c.benchmark_group("nothing installed");
    group.bench_function("bare function", |b| b.iter(|| bare(black_box(3))));
    group.bench_function("#[track_metrics]", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    group.bench_function("#[track_metrics] returning Err", |b| {
        b.iter(|| instrumented_err(black_box(3)))
    });
    group.finish();
}

/// With metrics-exporter-prometheus as the global recorder: the instrumented function against
/// the same counter and histogram written by hand, with cached handles and with the macros.
fn through_the_prometheus_exporter(c: &mut Criterion) {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the global recorder is free");
    assert_eq!(
        track_metrics::recording(),
        track_metrics::Recording::ApplicationRecorder
    );
    let mut group = c.benchmark_group("through metrics-exporter-prometheus");
    group.bench_function("bare function", |b| b.iter(|| bare(black_box(3))));
    group.bench_function("#[track_metrics]", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    let calls = metrics::counter!("hand_calls_total", "function" => "bare");
    let durations = metrics::histogram!("hand_duration_seconds", "function" => "bare");
    group.bench_function("by hand, cached handles", |b| {
        b.iter(|| {
            calls.increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            durations.record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.bench_function("by hand, macros per call", |b| {
        b.iter(|| {
            metrics::counter!("macro_calls_total", "function" => "bare").increment(1);
            let start = quanta::Instant::now();
            let value = bare(black_box(3));
            metrics::histogram!("macro_duration_seconds", "function" => "bare")
                .record(start.elapsed().as_secs_f64());
            value
        })
    });
    group.finish();
    // The exporter's histograms grow with every sample until rendered.
    black_box(handle.render());
}

/// track-metrics installed beside that exporter, in a binary where no function has a native
/// histogram: the plain call that `benches/hot_path.rs`'s, in a binary with one, is held to.
fn installed_without_native_histograms(c: &mut Criterion) {
    track_metrics::Exporter::builder()
        .without_listener()
        .without_global_recorder()
        .process_metrics(false)
        .install()
        .expect("install");
    let mut group = c.benchmark_group("installed, no native histogram in the binary");
    group.bench_function("bare function", |b| b.iter(|| bare(black_box(3))));
    group.bench_function("#[track_metrics]", |b| {
        b.iter(|| instrumented(black_box(3)))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = nothing_installed, through_the_prometheus_exporter, installed_without_native_histograms
}
criterion_main!(benches);

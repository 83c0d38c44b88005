//! A service whose calls run inside OpenTelemetry spans, with native histograms and exemplars:
//! makes `CALLS` calls (default 400) of `handle`, each in a span that the sampler keeps half of
//! the time, then prints the true p99 of the durations it measured, the trace ids of the sampled
//! calls, and `done`, and keeps serving until stopped. With `START_ON_INPUT` set it waits for a
//! line on its standard input first. The end-to-end test scrapes it with a real Prometheus.
//!
//! ```text
//! TRACK_METRICS_ADDR=127.0.0.1:9000 cargo run --example traced_service
//! curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:9000/metrics
//! ```
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) set, it also
//! exports the same series over OTLP every `OTEL_METRIC_EXPORT_INTERVAL` milliseconds, native
//! histograms as exponential ones, exemplars with their trace ids.

use std::time::{Duration, Instant};

use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use track_metrics::track_metrics;

/// Takes 1 to 20 ms, by its input; its durations also in a native histogram (9% buckets).
#[track_metrics(native_histogram = 1.1)]
fn handle(input: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(1 + input % 20));
    input
}

/// Quick, and classic only: a native histogram is one function's choice, the others of its
/// duration family stay classic (protobuf writes the two kinds as two messages).
#[track_metrics]
fn audit(input: u64) -> u64 {
    input.rotate_left(3)
}

fn main() {
    let exporter = match track_metrics::Exporter::builder().otlp_from_env().install() {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    println!("Serving metrics at {}", exporter.url().expect("a listener"));
    let calls: u64 = std::env::var("CALLS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(400);
    if std::env::var_os("START_ON_INPUT").is_some() {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    // No exporter of spans: the spans exist to give each call a trace id, as in a service that
    // sends them to a tracing backend.
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::TraceIdRatioBased(0.5))
        .build();
    let tracer = provider.tracer("traced_service");
    let mut durations = Vec::new();
    let mut sampled = Vec::new();
    for input in 0..calls {
        tracer.in_span("request", |context| {
            let span = context.span();
            let span = span.span_context();
            if span.is_sampled() {
                sampled.push(span.trace_id().to_string());
            }
            let start = Instant::now();
            handle(input);
            durations.push(start.elapsed().as_secs_f64());
            audit(input);
        });
    }
    durations.sort_by(f64::total_cmp);
    // The nearest-rank p99, as histogram_quantile estimates it.
    let rank = (durations.len() as f64 * 0.99).ceil() as usize;
    println!("p99 {}", durations[rank.saturating_sub(1)]);
    println!("sampled {}", sampled.join(","));
    println!("done");
    loop {
        std::thread::park();
    }
}

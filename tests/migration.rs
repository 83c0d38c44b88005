//! Moving from metrics-exporter-prometheus: the same facade workload rendered by that exporter
//! (the real crate) and by track-metrics, compared series by series. With the two compatibility
//! settings every series keeps its name, labels and type; with the defaults, exactly the
//! differences the README's migration table lists. Each comparison installs track-metrics its
//! own way, in a process of its own.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use metrics_exporter_prometheus::PrometheusBuilder;
use track_metrics::testing::Exposition;

/// A service's facade metrics, as the migration section of the README lists them.
fn workload() {
    metrics::describe_counter!("my_service_requests", "Requests served");
    metrics::counter!("my_service_requests").increment(3);
    metrics::counter!("jobs_processed", "queue" => "high").increment(2);
    metrics::counter!("http_requests_total", "path" => "/a").increment(1);
    metrics::counter!("http.server.requests", "http.method" => "GET").increment(4);
    metrics::counter!("cache_hits_total", "le" => "l1").increment(5);
    metrics::gauge!("queue_depth").set(7.0);
    metrics::gauge!("latency_target", "quantile" => "0.99").set(0.25);
    metrics::gauge!("pool.connections.used").increment(2.0);
    metrics::describe_histogram!("user_lookup_seconds", "Time to find a user");
    for value in [0.001, 0.002, 0.004, 0.008, 0.016] {
        metrics::histogram!("user_lookup_seconds").record(value);
        metrics::histogram!("db.query.duration", "table" => "users").record(value * 10.0);
    }
}

/// A rendered exposition as `sample name → (labels without le/quantile → value)` and the type
/// of each family.
struct Series {
    samples: BTreeMap<(String, BTreeSet<(String, String)>), f64>,
    types: BTreeMap<String, String>,
}

fn series(text: &str) -> Series {
    let exposition = Exposition::parse(text).unwrap_or_else(|error| panic!("{error} in:\n{text}"));
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for family in &exposition.families {
        // track-metrics' own counts are not the service's series.
        if family.name.starts_with("track_metrics_") {
            continue;
        }
        types.insert(family.name.clone(), family.kind.clone());
        for sample in &family.samples {
            let labels = sample.labels.iter().cloned().collect();
            samples.insert((sample.name.clone(), labels), sample.value);
        }
    }
    Series { samples, types }
}

/// The workload through metrics-exporter-prometheus, as a local recorder.
fn through_the_prometheus_exporter() -> Series {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, workload);
    handle.run_upkeep();
    series(&handle.render())
}

/// The workload through track-metrics, installed beside any other recorder.
fn through_track_metrics(builder: track_metrics::ExporterBuilder) -> Series {
    let exporter = builder
        .without_listener()
        .without_global_recorder()
        .process_metrics(false)
        .install()
        .unwrap();
    metrics::with_local_recorder(&exporter.recorder(), workload);
    series(&track_metrics::render())
}

fn names(series: &Series) -> BTreeSet<(String, BTreeSet<(String, String)>)> {
    series.samples.keys().cloned().collect()
}

#[test]
fn with_the_compatibility_settings_every_series_keeps_its_name_labels_and_type() {
    common::in_own_process(
        &test_name!(with_the_compatibility_settings_every_series_keeps_its_name_labels_and_type),
        || {
            let before = through_the_prometheus_exporter();
            let after = through_track_metrics(
                track_metrics::Exporter::builder()
                    .facade_counter_suffix(false)
                    .facade_summaries(true),
            );
            assert_eq!(names(&after), names(&before));
            assert_eq!(after.types, before.types);
            // Counters and gauges hold the same values; quantiles are estimates of each
            // exporter's own, so only their `_sum` and `_count` are compared.
            for (key, value) in &before.samples {
                let quantile = key.1.iter().any(|(label, _)| label == "quantile")
                    && before
                        .types
                        .get(&key.0)
                        .is_some_and(|kind| kind == "summary");
                if !quantile {
                    let ours = after.samples[key];
                    assert!(
                        (ours - value).abs() < 1e-9,
                        "{key:?}: {ours} against {value}"
                    );
                }
            }
        },
    );
}

#[test]
fn with_the_defaults_only_the_listed_series_change() {
    common::in_own_process(
        &test_name!(with_the_defaults_only_the_listed_series_change),
        || {
            let before = through_the_prometheus_exporter();
            let after = through_track_metrics(track_metrics::Exporter::builder());
            let before_names = names(&before);
            let after_names = names(&after);
            let gone: BTreeSet<String> = before_names
                .difference(&after_names)
                .map(|(name, _)| name.clone())
                .collect();
            let new: BTreeSet<String> = after_names
                .difference(&before_names)
                .map(|(name, _)| name.clone())
                .collect();
            // The README's table: counters without `_total` gain it; histograms without
            // buckets are histograms, not summaries (`{quantile}` series become `_bucket`s).
            let expected_gone: BTreeSet<String> = [
                "my_service_requests",
                "jobs_processed",
                "http_server_requests",
                "user_lookup_seconds",
                "db_query_duration",
            ]
            .map(str::to_owned)
            .into();
            let expected_new: BTreeSet<String> = [
                "my_service_requests_total",
                "jobs_processed_total",
                "http_server_requests_total",
                "user_lookup_seconds_bucket",
                "db_query_duration_bucket",
            ]
            .map(str::to_owned)
            .into();
            assert_eq!(gone, expected_gone);
            assert_eq!(new, expected_new);
            assert_eq!(after.types["user_lookup_seconds"], "histogram");
            assert_eq!(before.types["user_lookup_seconds"], "summary");
        },
    );
}

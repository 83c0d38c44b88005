//! The `metrics` facade records into the same storage and scrape as everything else; what it
//! is given is made valid or refused, never passed through, so that one bad key in any crate
//! cannot make the whole scrape unreadable.
//!
//! Refusals are counted process-wide, so the tests that cause them (here and elsewhere in this
//! binary) take turns and assert exact differences.

use std::sync::{Mutex, MutexGuard, PoisonError};

use track_metrics::testing::Exposition;

use crate::common::{self, scrape, value};

static TURN: Mutex<()> = Mutex::new(());

pub(crate) fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn refused(scrape: &Exposition, reason: &str) -> f64 {
    scrape
        .value("track_metrics_facade_refused_total", &[("reason", reason)])
        .unwrap_or(0.0)
}

#[test]
fn the_metrics_facade_records_into_the_same_scrape() {
    common::exporter();
    metrics::describe_counter!(
        "facade_events_total",
        "Events counted with the metrics macros"
    );
    metrics::counter!("facade_events_total", "kind" => "user").increment(4);
    metrics::describe_gauge!("facade_level", "A level set with the metrics macros");
    metrics::gauge!("facade_level").set(2.5);
    metrics::gauge!("facade_level").increment(1.0);
    metrics::gauge!("facade_level").decrement(0.5);
    let histogram = metrics::histogram!("facade_sizes", "kind" => "user");
    histogram.record(0.2);
    histogram.record_many(3.0, 4);
    let (text, scrape) = scrape();
    assert_eq!(
        value(&scrape, "facade_events_total", &[("kind", "user")]),
        4.0
    );
    assert_eq!(value(&scrape, "facade_level", &[]), 3.0);
    assert_eq!(
        scrape
            .family("facade_events_total")
            .unwrap()
            .help
            .as_deref(),
        Some("Events counted with the metrics macros")
    );
    assert_eq!(scrape.family("facade_sizes").unwrap().kind, "histogram");
    assert_eq!(
        value(&scrape, "facade_sizes_count", &[("kind", "user")]),
        5.0
    );
    assert_eq!(
        value(&scrape, "facade_sizes_sum", &[("kind", "user")]),
        12.2
    );
    // Not described: a HELP that says so, as promtool wants one.
    assert!(
        text.contains(
            "# HELP facade_sizes Recorded through the metrics facade, without a description\n"
        ),
        "{text}"
    );
    assert!(text.contains("# TYPE facade_sizes histogram\n"), "{text}");
}

#[test]
fn a_counter_can_be_raised_to_an_absolute_value() {
    common::exporter();
    let counter = metrics::counter!("facade_absolute_total");
    counter.increment(2);
    counter.absolute(10);
    counter.absolute(4);
    counter.increment(1);
    assert_eq!(
        value(&scrape().1, "facade_absolute_total", &[]),
        11.0,
        "never down"
    );
}

#[test]
fn names_and_label_names_are_sanitised_as_metrics_exporter_prometheus_does() {
    common::exporter();
    metrics::counter!("my-service.requests_total", "http.method" => "GET", "1st" => "x")
        .increment(3);
    let (text, scrape) = scrape();
    assert_eq!(
        value(
            &scrape,
            "my_service_requests_total",
            &[("http_method", "GET"), ("_st", "x")]
        ),
        3.0,
        "{text}"
    );
}

#[test]
fn keys_that_name_one_series_are_one_series() {
    common::exporter();
    metrics::counter!("facade_order_total", "a" => "1", "b" => "2").increment(1);
    metrics::counter!("facade_order_total", "b" => "2", "a" => "1").increment(1);
    metrics::counter!("facade_empty_total", "a" => "").increment(1);
    metrics::counter!("facade_empty_total").increment(1);
    let (text, scrape) = scrape();
    let series = |name: &str| scrape.samples().filter(|s| s.name == name).count();
    assert_eq!(series("facade_order_total"), 1, "{text}");
    assert_eq!(
        value(&scrape, "facade_order_total", &[("a", "1"), ("b", "2")]),
        2.0
    );
    assert_eq!(series("facade_empty_total"), 1, "{text}");
    assert_eq!(value(&scrape, "facade_empty_total", &[]), 2.0);
}

#[test]
fn invalid_keys_are_refused_counted_and_reported_once() {
    let _turn = turn();
    common::exporter();
    common::logged();
    let before = scrape().1;
    let refusals: [(&str, fn()); 8] = [
        ("reserved_name", || {
            // `function_calls_total` once sanitised: #[track_metrics]'s family.
            metrics::counter!("function-calls_total").increment(1);
        }),
        ("reserved_label", || {
            metrics::histogram!("refused_le_seconds", "le" => "1").record(1.0);
        }),
        ("reserved_label", || {
            metrics::counter!("refused_name_label_total", "__name__" => "x").increment(1);
        }),
        ("reserved_label", || {
            metrics::histogram!("refused_quantile_seconds", "quantile" => "0.5").record(1.0);
        }),
        ("reserved_label", || {
            metrics::gauge!("refused_empty_label", "" => "x").set(1.0);
        }),
        ("duplicate_label", || {
            metrics::counter!("refused_duplicate_total", "a-b" => "1", "a_b" => "2").increment(1);
        }),
        ("invalid_name", || {
            metrics::counter!("").increment(1);
        }),
        ("invalid_name", || {
            metrics::counter!("__reserved_total").increment(1);
        }),
    ];
    for (_, record) in &refusals {
        record();
        record();
    }
    let (text, after) = scrape();
    for reason in [
        "reserved_name",
        "reserved_label",
        "duplicate_label",
        "invalid_name",
    ] {
        let expected = 2 * refusals.iter().filter(|(r, _)| *r == reason).count();
        assert_eq!(
            refused(&after, reason) - refused(&before, reason),
            expected as f64,
            "{reason}"
        );
    }
    assert!(
        !text
            .lines()
            .any(|line| line.starts_with("refused_") || line.contains(" refused_")),
        "nothing of a refused key is written: {text}"
    );
    assert_eq!(
        text.matches("# TYPE function_calls_total ").count(),
        1,
        "{text}"
    );
    for name in [
        "function-calls_total",
        "refused_le_seconds",
        "refused_duplicate_total",
    ] {
        let warnings = common::warnings_about(&format!("key `{name}` records nothing"));
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
    }
}

#[test]
fn one_name_is_one_kind_and_one_spelling() {
    let _turn = turn();
    common::exporter();
    let before = scrape().1;
    metrics::counter!("facade_shared_total").increment(1);
    metrics::gauge!("facade_shared_total").set(5.0);
    metrics::histogram!("facade_shared_total").record(1.0);
    metrics::counter!("facade-spelled_total").increment(1);
    metrics::counter!("facade.spelled_total").increment(1);
    // A histogram's derived series name is taken too.
    metrics::histogram!("facade_timed_seconds").record(1.0);
    metrics::counter!("facade_timed_seconds_count").increment(1);
    let (text, after) = scrape();
    assert_eq!(
        text.matches("# TYPE facade_shared_total ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("# TYPE facade_shared_total counter\n"),
        "{text}"
    );
    assert_eq!(value(&after, "facade_shared_total", &[]), 1.0);
    assert_eq!(
        refused(&after, "kind_conflict") - refused(&before, "kind_conflict"),
        2.0
    );
    assert_eq!(value(&after, "facade_spelled_total", &[]), 1.0);
    assert_eq!(
        refused(&after, "name_clash") - refused(&before, "name_clash"),
        2.0
    );
    assert!(!text.contains("facade_timed_seconds_count{"), "{text}");
    assert!(
        !text.contains("# TYPE facade_timed_seconds_count"),
        "{text}"
    );
}

#[test]
fn the_facade_cannot_write_into_families_of_this_crate() {
    let _turn = turn();
    common::exporter();
    for name in [
        "function_calls_total",
        "function_errors_total",
        "function_calls_in_flight",
        "track_metrics_scrapes_total",
        "track_metrics_facade_refused_total",
        "process_cpu_seconds_total",
    ] {
        metrics::counter!(name, "function" => "by_hand").increment(7);
    }
    metrics::histogram!("function_duration_seconds", "function" => "by_hand").record(1.0);
    let (text, _) = scrape();
    for family in [
        "function_calls_total",
        "function_errors_total",
        "function_calls_in_flight",
        "function_duration_seconds",
        "process_cpu_seconds_total",
    ] {
        assert!(
            text.matches(&format!("# TYPE {family} ")).count() <= 1,
            "{family} twice: {text}"
        );
    }
    assert!(!text.contains("by_hand"), "{text}");
}

#[test]
fn a_family_keeps_at_most_its_limit_of_label_sets() {
    common::exporter();
    for user in 0..1500 {
        metrics::counter!("facade_users_total", "user" => format!("u{user}")).increment(1);
    }
    // A label set admitted before the limit keeps its own series.
    metrics::counter!("facade_users_total", "user" => "u0").increment(1);
    let (text, scrape) = scrape();
    let series = scrape
        .samples()
        .filter(|sample| sample.name == "facade_users_total")
        .count();
    assert_eq!(series, 1001, "1000 label sets and the overflow series");
    assert_eq!(value(&scrape, "facade_users_total", &[("user", "u0")]), 2.0);
    assert_eq!(
        value(
            &scrape,
            "facade_users_total",
            &[("user", "__overflow__"), ("track_metrics_overflow", "true")]
        ),
        500.0,
        "{}",
        common::family_text(&text, "track_metrics_cardinality_overflow_total")
    );
    assert_eq!(
        value(
            &scrape,
            "track_metrics_cardinality_overflow_total",
            &[("metric", "facade_users_total")]
        ),
        500.0
    );
}

#[test]
fn counters_and_gauges_keep_labels_named_le_and_quantile() {
    common::exporter();
    metrics::counter!("facade_le_total", "le" => "0.5").increment(2);
    metrics::gauge!("facade_quantile_ratio", "quantile" => "0.99").set(0.25);
    let (text, scrape) = scrape();
    assert_eq!(
        value(&scrape, "facade_le_total", &[("le", "0.5")]),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&scrape, "facade_quantile_ratio", &[("quantile", "0.99")]),
        0.25
    );
}

#[test]
fn zero_observations_of_an_infinite_value_leave_the_sum_valid() {
    common::exporter();
    let histogram = metrics::histogram!("facade_zero_many_seconds");
    histogram.record_many(f64::INFINITY, 0);
    histogram.record(0.5);
    let (text, scrape) = scrape();
    assert_eq!(value(&scrape, "facade_zero_many_seconds_count", &[]), 1.0);
    assert_eq!(
        value(&scrape, "facade_zero_many_seconds_sum", &[]),
        0.5,
        "{text}"
    );
    let open_metrics =
        String::from_utf8(track_metrics::render_as(track_metrics::Format::OPENMETRICS)).unwrap();
    assert!(
        open_metrics.contains("facade_zero_many_seconds_sum 0.5\n"),
        "{open_metrics}"
    );
}

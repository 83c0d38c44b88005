//! The integration tests that share one installed exporter, served on a free loopback port: one
//! binary, so that the many themes link once. Every test holds in any order and with any number
//! of test threads: each one records into functions and families of its own, or asserts exact
//! differences under a lock it shares with the tests that move the same series.
//!
//! Tests that need an external reader are `#[ignore]`d with the reason; `.ci/run` installs the
//! readers and runs them with `--include-ignored`.

#[path = "../common/mod.rs"]
mod common;

mod classifiers;
mod concurrency;
mod declared;
mod endpoint;
mod escaping;
mod facade;
mod formats;
mod functions;
mod golden_signals;
mod http_layer;
mod process;
mod returned_futures;

track_metrics::metrics! {
    /// Every kind of family, filled by the promtool test itself
    counter EVERY_COUNTER: promtool_events_total(kind);
    /// A gauge with a label
    gauge EVERY_GAUGE: promtool_level_items(kind);
    /// A histogram with a label
    histogram EVERY_HISTOGRAM: promtool_latency_seconds(kind);
    /// A summary with a label
    summary EVERY_SUMMARY: promtool_size_bytes(kind);
    /// An info family
    info EVERY_INFO: promtool_build_info(version);
    /// A family past its limit
    #[max_series(1)]
    counter EVERY_OVERFLOW: promtool_overflow_total(kind);
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn the_whole_scrape_passes_promtool() {
    // In a process of its own: the families the other tests fill with random help texts and
    // deliberately odd names are theirs to check.
    common::in_own_process(&test_name!(the_whole_scrape_passes_promtool), whole_scrape);
}

fn whole_scrape() {
    common::exporter();
    EVERY_COUNTER.labels("a\\b\"c\nd").inc();
    EVERY_GAUGE.labels("x").set(-1.5);
    EVERY_HISTOGRAM.labels("x").observe(0.2);
    EVERY_SUMMARY.labels("x").observe(3.0);
    EVERY_INFO.set("1.0");
    EVERY_OVERFLOW.labels("a").inc();
    EVERY_OVERFLOW.labels("b").inc();
    metrics::counter!("promtool_facade_total", "kind" => "x").increment(1);
    metrics::histogram!("promtool_facade_seconds").record(0.1);
    // A histogram may not carry `le` of its own: refused, and counted.
    metrics::histogram!("promtool_refused_seconds", "le" => "1").record(1.0);
    let (text, _) = common::scrape();
    for family in [
        "function_calls_total",
        "promtool_latency_seconds",
        "promtool_size_bytes",
        "promtool_build_info",
        "track_metrics_cardinality_overflow_total",
        "track_metrics_facade_refused_total",
        "process_cpu_seconds_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} in:\n{text}"
        );
    }
    common::assert_promtool_accepts(&text);
}

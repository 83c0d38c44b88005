//! A declared name that is the series of another family (`_count` of a histogram) makes
//! `install()` fail, naming both declarations.

mod common;

track_metrics::metrics! {
    /// Request latency
    pub histogram LATENCY: request_latency_seconds;
    /// A legacy gauge whose name is the histogram's `_count` series
    #[legacy_name]
    pub gauge LATENCY_COUNT: request_latency_seconds_count;
}

#[test]
fn a_name_clashing_with_derived_series_is_an_error_naming_both() {
    let text = common::install_error();
    assert!(
        text.contains("`request_latency_seconds` (tests/conflict_declared_series.rs:8)"),
        "{text}"
    );
    assert!(
        text.contains("`request_latency_seconds_count` (tests/conflict_declared_series.rs:11)"),
        "{text}"
    );
    assert!(
        text.contains("both write series named `request_latency_seconds_count`"),
        "{text}"
    );
    LATENCY.observe(1.0);
    LATENCY_COUNT.set(1.0);
}

//! A declared name that `#[track_metrics]` also uses makes `install()` fail, naming both.

mod common;

track_metrics::metrics! {
    /// Calls counted by hand
    pub counter CALLS: function_calls_total(function);
}

#[track_metrics::track_metrics]
fn checkout() {}

#[test]
fn a_declared_name_used_by_track_metrics_is_an_error_naming_both() {
    let text = common::install_error();
    assert!(
        text.contains("`#[track_metrics]` on `checkout` (tests/conflict_declared_site.rs:11)"),
        "{text}"
    );
    assert!(
        text.contains("`function_calls_total` (tests/conflict_declared_site.rs:7)"),
        "{text}"
    );
    assert!(
        text.contains("both write series named `function_calls_total`"),
        "{text}"
    );
    checkout();
    CALLS.labels("checkout").inc();
}

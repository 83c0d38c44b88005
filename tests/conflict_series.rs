//! Two functions that would record the same series make `install()` fail, naming both.

mod common;

mod first {
    #[track_metrics::track_metrics(name = "handler")]
    pub fn one() {}
}

mod second {
    #[track_metrics::track_metrics(name = "handler")]
    pub fn two() {}
}

mod distinct {
    // Same name, other module: a different series, no conflict.
    #[track_metrics::track_metrics(name = "handler")]
    pub fn three() {}
}

#[track_metrics::track_metrics(name = "handler")]
fn four() {}

#[track_metrics::track_metrics(name = "handler")]
fn five() {}

#[test]
fn the_same_series_from_two_functions_is_an_error_naming_both() {
    let text = common::install_error();
    assert!(
        text.contains("`handler` (tests/conflict_series.rs:22)"),
        "{text}"
    );
    assert!(
        text.contains("`handler` (tests/conflict_series.rs:25)"),
        "{text}"
    );
    assert!(
        text.contains(r#"both record the series `function_calls_total{function="handler",module="conflict_series"}`"#),
        "{text}"
    );
    assert!(
        text.contains("distinct `#[track_metrics(name = \"...\")]`"),
        "{text}"
    );
    let _ = (first::one, second::two, distinct::three, four, five);
}

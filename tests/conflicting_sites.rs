//! Two functions that would record the same series make `install()` fail with a typed error
//! naming both, through the call sites the linker gathers: the end-to-end path of the rule that
//! `install/checks.rs` tests case by case (buckets, declarations, derived series names).

use track_metrics::{Error, track_metrics};

mod first {
    #[track_metrics::track_metrics(name = "handler")]
    pub fn one() {}
}

mod distinct {
    // Same name, other module: a different series, no conflict.
    #[track_metrics::track_metrics(name = "handler")]
    pub fn two() {}
}

#[track_metrics(name = "handler")]
fn three() {}

#[track_metrics(name = "handler")]
fn four() {}

/// The line of the first source line containing `needle`.
fn line_of(needle: &str) -> usize {
    include_str!("conflicting_sites.rs")
        .lines()
        .position(|line| line.starts_with(needle))
        .unwrap()
        + 1
}

#[test]
fn the_same_series_from_two_functions_is_an_error_naming_both() {
    let error = track_metrics::Exporter::builder()
        .without_listener()
        .install()
        .unwrap_err();
    let Error::DuplicateSeries {
        series,
        first,
        second,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        series,
        r#"function_calls_total{function="handler",module="conflicting_sites"}"#
    );
    let mut places = [first.clone(), second.clone()];
    places.sort_unstable();
    assert_eq!(
        places,
        [
            format!(
                "`handler` (tests/conflicting_sites.rs:{})",
                line_of("fn three()")
            ),
            format!(
                "`handler` (tests/conflicting_sites.rs:{})",
                line_of("fn four()")
            ),
        ]
    );
    assert!(
        error
            .to_string()
            .ends_with("give one of them a distinct `#[track_metrics(name = \"...\")]`"),
        "{error}"
    );
    // Nothing was installed: the functions record nothing.
    let _ = (first::one, distinct::two, three, four);
    assert_eq!(track_metrics::render(), "");
}

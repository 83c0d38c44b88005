//! A declared name that `#[track_metrics]` also uses makes `install()` fail with a typed error
//! naming both, through the families and call sites the linker gathers.

use track_metrics::Error;

track_metrics::metrics! {
    /// Calls counted by hand
    pub counter CALLS: function_calls_total(function);
}

#[track_metrics::track_metrics]
fn checkout() {}

#[test]
fn a_declared_name_used_by_track_metrics_is_an_error_naming_both() {
    let error = track_metrics::Exporter::builder()
        .without_listener()
        .install()
        .unwrap_err();
    let Error::NameClash {
        sample,
        first,
        second,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(sample, "function_calls_total");
    assert_eq!(
        first,
        "`#[track_metrics]` on `checkout` (tests/conflicting_names.rs:12)"
    );
    assert_eq!(
        second,
        "`function_calls_total` (tests/conflicting_names.rs:8)"
    );
    checkout();
    CALLS.labels("checkout").inc();
}

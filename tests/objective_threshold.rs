//! A latency objective whose threshold is not a bucket bound of the function's histogram, where
//! the macro cannot see the buckets: `install()` and `slo::rules()` refuse it with an error that
//! names the function and says what to do, and the builder's buckets then make it right.

use track_metrics::slo::Objective;
use track_metrics::{Error, Exporter, track_metrics};

/// 300 ms: not one of the default buckets.
const API: Objective = Objective::new("api").latency(0.3, 99.0);

#[track_metrics(objective = API)]
fn handle() {}

#[test]
fn a_threshold_off_the_buckets_is_refused_until_the_builder_adds_it() {
    let refused = Exporter::builder()
        .without_listener()
        .install()
        .unwrap_err();
    assert!(matches!(refused, Error::Objective(_)), "{refused:?}");
    let message = refused.to_string();
    assert!(message.contains("objective `api`"), "{message}");
    assert!(message.contains("`handle`"), "{message}");
    assert!(message.contains("buckets_for"), "{message}");
    assert_eq!(
        track_metrics::slo::rules().unwrap_err().to_string(),
        message
    );

    Exporter::builder()
        .without_listener()
        .buckets_for("function_duration_seconds", &[0.1, 0.3, 1.0])
        .install()
        .unwrap();
    handle();
    let rules = track_metrics::slo::rules().unwrap();
    assert!(
        rules.contains(r#"function_duration_seconds_bucket{objective="api",le=~"0\\.3"}[5m]"#),
        "{rules}"
    );
    assert!(!rules.contains("sli: \"success\""), "{rules}");
}

//! Two functions that give one histogram family different buckets make `install()` fail,
//! naming both; the builder's per-metric buckets count as a declaration too.

mod common;

#[track_metrics::track_metrics(duration = "job_duration_seconds", buckets = [1.0, 2.0])]
fn short_job() {}

#[track_metrics(duration = "job_duration_seconds", buckets = [1.0, 60.0])]
fn long_job() {}

use track_metrics::track_metrics;

#[test]
fn different_buckets_for_one_family_are_an_error_naming_both() {
    let text = common::install_error();
    assert!(
        text.contains("`short_job` (tests/conflict_buckets.rs:7)"),
        "{text}"
    );
    assert!(
        text.contains("`long_job` (tests/conflict_buckets.rs:10)"),
        "{text}"
    );
    assert!(
        text.contains("give `job_duration_seconds` different buckets"),
        "{text}"
    );
    let _ = (short_job, long_job);
}

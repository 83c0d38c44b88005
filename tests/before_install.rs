//! Calls before `install()` are not recorded, and do not leave stale handles behind: every call
//! after `install()` is.

mod common;

use common::{scrape, value};
use track_metrics::track_metrics;

#[track_metrics]
fn early_bird() {}

#[track_metrics]
fn late_bird() {}

#[test]
fn calls_before_install_are_dropped_and_calls_after_are_all_recorded() {
    assert_eq!(
        track_metrics::render(),
        "",
        "nothing is rendered before install"
    );
    early_bird();
    early_bird();

    common::exporter();
    let labels = |function| [("function", function), ("module", "before_install")];
    let (_, first) = scrape();
    assert_eq!(
        value(&first, "function_calls_total", &labels("early_bird")),
        0.0
    );
    assert_eq!(
        value(&first, "function_calls_total", &labels("late_bird")),
        0.0
    );

    early_bird();
    early_bird();
    late_bird();
    let (_, second) = scrape();
    assert_eq!(
        value(&second, "function_calls_total", &labels("early_bird")),
        2.0
    );
    assert_eq!(
        value(
            &second,
            "function_duration_seconds_count",
            &labels("early_bird")
        ),
        2.0
    );
    assert_eq!(
        value(&second, "function_calls_total", &labels("late_bird")),
        1.0
    );
}

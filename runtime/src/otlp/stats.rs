//! What the OTLP exports did, served with the other families once an export is configured.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::model::kind::Kind;
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};

/// Exports by result: `success`, `partial` (the receiver rejected some points), `failed`.
pub(crate) const EXPORTS: &str = "track_metrics_otlp_exports_total";
/// Data points receivers said they rejected in partial successes.
pub(crate) const REJECTED: &str = "track_metrics_otlp_rejected_points_total";

/// The families, for the install-time name checks.
pub(crate) const FAMILIES: [(&str, Kind); 2] =
    [(EXPORTS, Kind::Counter), (REJECTED, Kind::Counter)];

static ACTIVE: AtomicBool = AtomicBool::new(false);
static SUCCESS: AtomicU64 = AtomicU64::new(0);
static PARTIAL: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static REJECTED_POINTS: AtomicU64 = AtomicU64::new(0);

/// How one export ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Result {
    Success,
    Partial { rejected: u64 },
    Failed,
}

pub(crate) fn activate() {
    ACTIVE.store(true, Ordering::Relaxed);
}

pub(crate) fn count(result: Result) {
    match result {
        Result::Success => SUCCESS.fetch_add(1, Ordering::Relaxed),
        Result::Partial { rejected } => {
            REJECTED_POINTS.fetch_add(rejected, Ordering::Relaxed);
            PARTIAL.fetch_add(1, Ordering::Relaxed)
        }
        Result::Failed => FAILED.fetch_add(1, Ordering::Relaxed),
    };
}

/// The families, when an export is configured.
pub(crate) fn collect(families: &mut Vec<FamilySnapshot>) {
    if !ACTIVE.load(Ordering::Relaxed) {
        return;
    }
    let series = [
        ("success", &SUCCESS),
        ("partial", &PARTIAL),
        ("failed", &FAILED),
    ]
    .into_iter()
    .map(|(result, count)| {
        SeriesSnapshot::new(
            vec![("result", Cow::Borrowed(result))],
            Value::Int(count.load(Ordering::Relaxed)),
        )
    })
    .collect();
    families.push(FamilySnapshot {
        name: EXPORTS,
        help: Some(Cow::Borrowed("OTLP exports, by result")),
        kind: Kind::Counter,
        created: None,
        counter_suffix: true,
        series,
    });
    families.push(FamilySnapshot {
        name: REJECTED,
        help: Some(Cow::Borrowed(
            "Data points OTLP receivers rejected in partial successes",
        )),
        kind: Kind::Counter,
        created: None,
        counter_suffix: true,
        series: vec![SeriesSnapshot::new(
            Vec::new(),
            Value::Int(REJECTED_POINTS.load(Ordering::Relaxed)),
        )],
    });
}

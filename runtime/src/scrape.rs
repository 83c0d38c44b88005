//! One scrape: every source read into snapshots (the call sites, the declared families, the
//! `metrics` facade, the process, and track-metrics' own counts), then written by a writer.
//!
//! User code runs during a scrape (a gauge's function), never under a lock of ours. A scrape
//! started from inside one, on the same thread, gets an empty exposition instead of recursing.

use std::borrow::Cow;
use std::cell::Cell;

use crate::exposition::format::{Escaping, Format, Protocol};
use crate::model::kind::Kind;
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};
use crate::state::{self, Settings};
use crate::storage::call_site;
use crate::storage::declared::{FAMILIES, Snapshots};
use crate::storage::facade::Facade;

/// Lookups of label sets beyond their family's series limit, by family.
pub(crate) const CARDINALITY_OVERFLOW: &str = "track_metrics_cardinality_overflow_total";
/// Keys of the `metrics` facade that recorded nothing, by reason.
pub(crate) const FACADE_REFUSED: &str = "track_metrics_facade_refused_total";
/// Scrapes that left a gauge out because its function was stuck, by family.
pub(crate) const GAUGES_SKIPPED: &str = "track_metrics_skipped_functions_total";
/// Operations dropped because they re-entered track-metrics on their own thread.
pub(crate) const REENTERED: &str = "track_metrics_reentered_operations_total";

/// The families a scrape adds of its own, for the install-time name checks.
pub(crate) const OWN_FAMILIES: [(&str, Kind); 4] = [
    (CARDINALITY_OVERFLOW, Kind::Counter),
    (FACADE_REFUSED, Kind::Counter),
    (GAUGES_SKIPPED, Kind::Counter),
    (REENTERED, Kind::Counter),
];

thread_local! {
    static SCRAPING: Cell<bool> = const { Cell::new(false) };
}

/// Every family of the program, or `None` when called from inside a scrape on this thread.
pub(crate) fn families(settings: &Settings) -> Option<Vec<FamilySnapshot>> {
    if SCRAPING.with(|scraping| scraping.replace(true)) {
        return None;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            SCRAPING.with(|scraping| scraping.set(false));
        }
    }
    let _done = Done;
    // Exemplar times follow the wall clock's adjustments from one scrape to the next.
    crate::storage::clock::anchor();
    let mut families = Vec::new();
    call_site::collect(&mut families);
    let mut declared = Snapshots::default();
    let mut overflowed: Vec<(&'static str, u64)> = Vec::new();
    let mut skipped: Vec<(&'static str, u64)> = Vec::new();
    for family in FAMILIES.iter() {
        let name = family.descriptor().name;
        if !crate::self_metrics::served(name) {
            continue;
        }
        family.collect(&mut declared);
        let count = family.overflowed();
        if count > 0 {
            overflowed.push((name, count));
        }
        let count = family.skipped();
        if count > 0 {
            skipped.push((name, count));
        }
    }
    families.append(&mut declared.0);
    if let Some(facade) = Facade::installed() {
        facade.collect(&mut families);
        overflowed.extend(facade.overflowed());
        let refused: Vec<_> = facade
            .refused()
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .collect();
        families.extend(counts(
            FACADE_REFUSED,
            "Keys of the metrics facade that recorded nothing, by reason",
            "reason",
            refused,
        ));
    }
    families.extend(counts(
        GAUGES_SKIPPED,
        "Scrapes that left a gauge out because its function was still running from an earlier one",
        "metric",
        skipped,
    ));
    families.extend(counts(
        CARDINALITY_OVERFLOW,
        "Lookups of label sets beyond their family's series limit, answered with its overflow series",
        "metric",
        overflowed,
    ));
    let reentered = crate::storage::reentry::dropped_count();
    if reentered > 0 {
        families.push(FamilySnapshot {
            name: REENTERED,
            help: Some(Cow::Borrowed(
                "Operations dropped because they came back into track-metrics from its own \
                 allocation on the same thread (a global allocator that records metrics)",
            )),
            kind: Kind::Counter,
            created: None,
            counter_suffix: true,
            series: vec![SeriesSnapshot::new(Vec::new(), Value::Int(reentered))],
        });
    }
    #[cfg(feature = "otlp")]
    crate::otlp::stats::collect(&mut families);
    #[cfg(feature = "process")]
    if settings.process_metrics {
        crate::process::collect(&mut families);
    }
    #[cfg(not(feature = "process"))]
    let _ = settings;
    Some(families)
}

/// A counter family with one series per `(label value, count)`, or none when there are none.
fn counts(
    name: &'static str,
    help: &'static str,
    label: &'static str,
    values: Vec<(&'static str, u64)>,
) -> Option<FamilySnapshot> {
    (!values.is_empty()).then(|| FamilySnapshot {
        name,
        help: Some(Cow::Borrowed(help)),
        kind: Kind::Counter,
        created: None,
        counter_suffix: true,
        series: values
            .into_iter()
            .map(|(value, count)| {
                SeriesSnapshot::new(vec![(label, Cow::Borrowed(value))], Value::Int(count))
            })
            .collect(),
    })
}

/// The exposition in text format 0.0.4; empty before `install()` and from inside a scrape.
pub(crate) fn text() -> String {
    let (mut families, settings) = current();
    let globals = settings.map_or(&[][..], |settings| &settings.global_labels);
    crate::exposition::text::write(&mut families, globals, Escaping::Underscores)
}

/// The exposition in `format`; empty before `install()` and from inside a scrape (an
/// OpenMetrics one still ends in `# EOF`).
pub(crate) fn exposition(format: Format) -> Vec<u8> {
    let (mut families, settings) = current();
    let globals = settings.map_or(&[][..], |settings| &settings.global_labels);
    let created = settings.map_or(0.0, |settings| settings.installed_at);
    let escaping = format.escaping();
    match format.protocol() {
        Protocol::PrometheusText0_0_4 | Protocol::PrometheusText1_0_0 => {
            crate::exposition::text::write(&mut families, globals, escaping).into_bytes()
        }
        Protocol::OpenMetricsText0_0_1 | Protocol::OpenMetricsText1_0_0 => {
            let options = crate::exposition::openmetrics::Options {
                globals,
                created: settings
                    .filter(|settings| settings.created_lines)
                    .map(|_| created),
                escaping,
            };
            crate::exposition::openmetrics::write(&mut families, &options).into_bytes()
        }
        #[cfg(feature = "protobuf")]
        Protocol::PrometheusProto => {
            crate::exposition::protobuf::write(&mut families, globals, created, escaping)
        }
    }
}

/// Every family now, and the settings: nothing before `install()` or from inside a scrape.
fn current() -> (Vec<FamilySnapshot>, Option<&'static Settings>) {
    let settings = state::settings();
    (settings.and_then(families).unwrap_or_default(), settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The families written by hand here pass `promtool check metrics`'s naming rules, as the
    /// ones declared with `metrics!` must to compile (a gauge-related name once said `gauge`).
    #[test]
    fn own_family_names_follow_promtools_rules() {
        for (name, kind) in OWN_FAMILIES {
            assert!(crate::model::names::is_metric_name(name), "{name}");
            assert_eq!(name.ends_with("_total"), kind == Kind::Counter, "{name}");
            for type_word in ["counter", "gauge", "histogram", "summary"] {
                assert!(
                    !name.split('_').any(|part| part == type_word),
                    "{name} names the type {type_word}"
                );
            }
        }
    }
}

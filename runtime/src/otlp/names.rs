//! The name and unit a family is sent under, chosen so that the Prometheus naming of OTLP
//! receivers gives the scrape's names back.
//!
//! Prometheus (`otlptranslator`, strategy `UnderscoreEscapingWithSuffixes`) and VictoriaMetrics
//! (`-opentelemetry.usePrometheusNaming`) split the name into words, add the unit's word unless
//! a word of the name already is it, and move or add `total` at the end of a monotonic sum.
//! So a counter goes without its `_total`, and the unit is taken from the name's last word:
//! `function_duration_seconds` with unit `s` stays itself, `function_calls` becomes
//! `function_calls_total`. An OTLP-native backend still gets a unit it knows.

use crate::model::kind::{Kind, counter_family};
use crate::model::snapshot::FamilySnapshot;

/// The Prometheus unit words and their UCUM units, as the receivers map them.
const UNITS: [(&str, &str); 25] = [
    ("days", "d"),
    ("hours", "h"),
    ("minutes", "min"),
    ("seconds", "s"),
    ("milliseconds", "ms"),
    ("microseconds", "us"),
    ("nanoseconds", "ns"),
    ("bytes", "By"),
    ("kibibytes", "KiBy"),
    ("mebibytes", "MiBy"),
    ("gibibytes", "GiBy"),
    ("tibibytes", "TiBy"),
    ("kilobytes", "KBy"),
    ("megabytes", "MBy"),
    ("gigabytes", "GBy"),
    ("terabytes", "TBy"),
    ("meters", "m"),
    ("volts", "V"),
    ("amperes", "A"),
    ("joules", "J"),
    ("watts", "W"),
    ("grams", "g"),
    ("celsius", "Cel"),
    ("hertz", "Hz"),
    ("percent", "%"),
];

/// The OTLP name and unit of `family`.
pub(crate) fn name_and_unit(family: &FamilySnapshot) -> (&'static str, &'static str) {
    let name = match family.kind {
        // The receivers add `_total` to a monotonic sum, whether or not it has it.
        Kind::Counter if family.counter_suffix => counter_family(family.name),
        _ => family.name,
    };
    let last = name.rsplit(['_', '.']).next().unwrap_or_default();
    let unit = match UNITS.iter().find(|(word, _)| *word == last) {
        Some((_, unit)) => unit,
        // Unit `1` on a gauge adds `_ratio`, which it has already; on anything else it would
        // add nothing, and `1` means nothing more than the name says.
        None if last == "ratio" && family.kind == Kind::Gauge => "1",
        None => "",
    };
    (name, unit)
}

/// The Prometheus kind OTLP has no word for, as the compatibility specification writes it in a
/// metric's metadata.
pub(crate) fn prometheus_type(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Info => Some("info"),
        Kind::StateSet => Some("stateset"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(name: &'static str, kind: Kind) -> FamilySnapshot {
        FamilySnapshot {
            name,
            help: None,
            kind,
            created: None,
            counter_suffix: true,
            series: Vec::new(),
        }
    }

    /// The receivers' naming (ported from otlptranslator's `normalizeName` for the cases that
    /// matter) gives back the names the scrape writes.
    #[test]
    fn the_receivers_naming_gives_back_the_scrape_names() {
        fn prometheus_naming(name: &str, unit: &str, kind: Kind) -> String {
            let mut words: Vec<&str> = name.split(['_', '.']).filter(|w| !w.is_empty()).collect();
            let unit_word = UNITS
                .iter()
                .find(|(_, ucum)| *ucum == unit)
                .map(|(word, _)| *word);
            if let Some(word) = unit_word
                && !words.contains(&word)
            {
                words.push(word);
            }
            if kind == Kind::Counter {
                words.retain(|word| *word != "total");
                words.push("total");
            }
            if unit == "1" && kind == Kind::Gauge {
                words.retain(|word| *word != "ratio");
                words.push("ratio");
            }
            words.join("_")
        }
        for (name, kind, scraped, unit) in [
            ("function_calls", Kind::Counter, "function_calls_total", ""),
            ("orders_total", Kind::Counter, "orders_total", ""),
            (
                "process_cpu_seconds_total",
                Kind::Counter,
                "process_cpu_seconds_total",
                "s",
            ),
            (
                "function_duration_seconds",
                Kind::Histogram,
                "function_duration_seconds",
                "s",
            ),
            ("payload_bytes", Kind::Summary, "payload_bytes", "By"),
            (
                "function_calls_in_flight",
                Kind::Gauge,
                "function_calls_in_flight",
                "",
            ),
            ("cache_hit_ratio", Kind::Gauge, "cache_hit_ratio", "1"),
            ("build_info", Kind::Info, "build_info", ""),
            (
                "http.server.duration",
                Kind::Histogram,
                "http_server_duration",
                "",
            ),
        ] {
            let family = family(name, kind);
            let (sent, sent_unit) = name_and_unit(&family);
            assert_eq!(sent_unit, unit, "{name}");
            let otlp_kind = if kind == Kind::Info {
                Kind::Gauge
            } else {
                kind
            };
            assert_eq!(
                prometheus_naming(sent, sent_unit, otlp_kind),
                scraped,
                "{name}"
            );
        }
    }
}

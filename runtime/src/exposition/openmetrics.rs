//! The OpenMetrics 1.0 text format.
//!
//! What differs from text 0.0.4: a counter's family is its name without `_total` and its
//! samples are `_total` (and `_created`, when asked for); histograms and summaries may have
//! `_created` too; `# UNIT` where the name ends in a base unit; `info` and `stateset` types;
//! exemplars after bucket and counter samples; double quotes escaped in HELP text; and `# EOF`
//! at the end.
//!
//! `_created` samples are left out unless the builder asks for them (as client_golang leaves
//! them out): Prometheus 3.5 without `--enable-feature=created-timestamp-zero-ingestion` stores
//! each as a series of its own, one more per counter, histogram and summary. Protobuf carries
//! the same start time as a field, which costs no series.

use crate::exposition::text::{Labels, Name, Number, push_escaped, push_float};
use crate::model::kind::{Kind, counter_family, counter_total};
use crate::model::names::Escaping;
use crate::model::snapshot::{Exemplar, FamilySnapshot, SeriesSnapshot, Value};

/// The units of the OpenMetrics specification that a name may end in, as `_<unit>`.
const UNITS: [&str; 9] = [
    "seconds", "bytes", "ratio", "joules", "grams", "meters", "volts", "amperes", "celsius",
];

/// How one OpenMetrics exposition writes what is not in the families.
pub(crate) struct Options<'a> {
    pub(crate) globals: &'a [(String, String)],
    /// The Unix time from which every count of this process counts, if `_created` samples are
    /// written.
    pub(crate) created: Option<f64>,
    pub(crate) escaping: Escaping,
}

/// The exposition of `families`.
pub(crate) fn write(families: &mut [FamilySnapshot], options: &Options<'_>) -> String {
    families.sort_by(|a, b| family_name(a).cmp(family_name(b)));
    let mut out = String::new();
    for family in families.iter_mut() {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let name = match family.kind {
            Kind::Counter => Name::counter(&counter_total(family.name), options.escaping),
            _ => Name::of(family_name(family), options.escaping),
        };
        out.push_str("# TYPE ");
        name.push(&mut out);
        out.push(' ');
        out.push_str(type_name(family));
        out.push('\n');
        if let Some(unit) = unit(family) {
            out.push_str("# UNIT ");
            name.push(&mut out);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
        if let Some(help) = &family.help {
            out.push_str("# HELP ");
            name.push(&mut out);
            out.push(' ');
            push_escaped(&mut out, help, true);
            out.push('\n');
        }
        let created = options
            .created
            .map(|created| family.created.unwrap_or(created));
        for series in &family.series {
            write_series(&mut out, &name, family, options, series, created);
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The family's name as OpenMetrics spells it: a counter's without `_total`, an info's
/// without `_info`.
fn family_name(family: &FamilySnapshot) -> &'static str {
    match family.kind {
        Kind::Counter => counter_family(family.name),
        Kind::Info => family
            .name
            .strip_suffix("_info")
            .filter(|name| !name.is_empty())
            .unwrap_or(family.name),
        _ => family.name,
    }
}

fn type_name(family: &FamilySnapshot) -> &'static str {
    match family.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
        // An info family whose name lacks the suffix cannot be written as one.
        Kind::Info if family_name(family) != family.name => "info",
        Kind::Info => "gauge",
        Kind::StateSet => "stateset",
    }
}

/// The unit the family's name ends in; info and state sets have none.
fn unit(family: &FamilySnapshot) -> Option<&'static str> {
    if matches!(family.kind, Kind::Info | Kind::StateSet) {
        return None;
    }
    let name = family_name(family);
    UNITS.into_iter().find(|unit| {
        name.strip_suffix(unit)
            .is_some_and(|stem| stem.len() > 1 && stem.ends_with('_'))
    })
}

fn write_series(
    out: &mut String,
    name: &Name<'_>,
    family: &FamilySnapshot,
    options: &Options<'_>,
    series: &SeriesSnapshot,
    created: Option<f64>,
) {
    let sample = |out: &mut String,
                  suffix: &str,
                  extra: Option<(&str, &str)>,
                  value: Number,
                  exemplar: Option<&Exemplar>| {
        let labels = Labels {
            globals: options.globals,
            series,
            extra,
        };
        name.push_sample(out, suffix, labels, options.escaping);
        out.push(' ');
        value.push(out);
        if let Some(exemplar) = exemplar {
            push_exemplar(out, exemplar);
        }
        out.push('\n');
    };
    let exemplar = |index: usize| series.exemplars.get(index).and_then(Option::as_ref);
    let mut bound_text = String::new();
    match (&series.value, family.kind) {
        (Value::Int(value), Kind::Counter) => {
            sample(out, "_total", None, Number::Int(*value), exemplar(0));
            if let Some(created) = created {
                sample(out, "_created", None, Number::Float(created), None);
            }
        }
        (Value::Float(value), Kind::Counter) => {
            sample(out, "_total", None, Number::Float(*value), exemplar(0));
            if let Some(created) = created {
                sample(out, "_created", None, Number::Float(created), None);
            }
        }
        (Value::Int(value), Kind::Info) if type_name(family) == "info" => {
            sample(out, "_info", None, Number::Int(*value), None);
        }
        (Value::Int(value), _) => sample(out, "", None, Number::Int(*value), None),
        (Value::Float(value), _) => sample(out, "", None, Number::Float(*value), None),
        (
            Value::Histogram {
                bounds,
                counts,
                sum,
                negative_seen,
                ..
            },
            _,
        ) => {
            let mut cumulative = 0_u64;
            for (index, (bound, count)) in bounds.iter().zip(counts).enumerate() {
                cumulative = cumulative.saturating_add(*count);
                bound_text.clear();
                push_canonical_float(&mut bound_text, *bound);
                sample(
                    out,
                    "_bucket",
                    Some(("le", &bound_text)),
                    Number::Int(cumulative),
                    exemplar(index),
                );
            }
            let count = Value::histogram_count(counts);
            sample(
                out,
                "_bucket",
                Some(("le", "+Inf")),
                Number::Int(count),
                exemplar(bounds.len()),
            );
            // OpenMetrics allows `_sum` (and with it `_count`) only where it cannot go down:
            // never once a value below zero (or NaN) was observed, nor with a negative bucket.
            if !negative_seen && bounds.first().is_none_or(|first| *first >= 0.0) {
                sample(out, "_count", None, Number::Int(count), None);
                sample(out, "_sum", None, Number::Float(*sum), None);
            }
            if let Some(created) = created {
                sample(out, "_created", None, Number::Float(created), None);
            }
        }
        (Value::StateSet { states, current }, _) => {
            for (index, state) in states.iter().enumerate() {
                let value = u64::from(index == *current);
                sample(
                    out,
                    "",
                    Some((family.name, state)),
                    Number::Int(value),
                    None,
                );
            }
        }
        (
            Value::Summary {
                quantiles,
                count,
                sum,
                negative_seen,
            },
            _,
        ) => {
            // OpenMetrics has no way to write a negative quantile or a sum that went down:
            // once a value below zero (or NaN) was observed, only `_created` is written.
            if !negative_seen {
                for (quantile, value) in quantiles {
                    bound_text.clear();
                    push_canonical_float(&mut bound_text, *quantile);
                    sample(
                        out,
                        "",
                        Some(("quantile", &bound_text)),
                        Number::Float(*value),
                        None,
                    );
                }
                sample(out, "_count", None, Number::Int(*count), None);
                sample(out, "_sum", None, Number::Float(*sum), None);
            }
            if let Some(created) = created {
                sample(out, "_created", None, Number::Float(created), None);
            }
        }
    }
}

/// A `le` or `quantile` value as OpenMetrics, client_python and Prometheus' protobuf parser
/// spell it (Go's shortest `%g`, with `.0` on integers: `1.0`, `0.005`, `1e+06`), so that a
/// series keeps its labels whichever of these formats Prometheus scrapes.
pub(crate) fn push_canonical_float(out: &mut String, value: f64) {
    if !value.is_finite() {
        push_float(out, value);
        return;
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if value != 0.0 && !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ =
            std::fmt::Write::write_fmt(out, format_args!("{mantissa}e{sign}{:02}", exponent.abs()));
    } else {
        let plain = format!("{value}");
        out.push_str(&plain);
        if !plain.contains('.') {
            out.push_str(".0");
        }
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp`: 32 + 16 hex digits and two names stay
/// under the 128 characters OpenMetrics allows an exemplar's labels.
fn push_exemplar(out: &mut String, exemplar: &Exemplar) {
    let (trace_id, span_id) = exemplar.trace.hex();
    out.push_str(" # {trace_id=\"");
    out.push_str(&trace_id);
    out.push_str("\",span_id=\"");
    out.push_str(&span_id);
    out.push_str("\"} ");
    push_float(out, exemplar.value);
    out.push(' ');
    push_float(out, exemplar.timestamp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_floats_as_go_spells_them() {
        for (value, text) in [
            (1.0, "1.0"),
            (0.005, "0.005"),
            (0.1, "0.1"),
            (10.0, "10.0"),
            (100_000.0, "100000.0"),
            (1e6, "1e+06"),
            (1.5e6, "1.5e+06"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.0, "0.0"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "+Inf"),
        ] {
            let mut out = String::new();
            push_canonical_float(&mut out, value);
            assert_eq!(out, text);
        }
    }
}

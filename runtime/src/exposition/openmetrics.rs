//! The OpenMetrics 1.0 text format.
//!
//! What differs from text 0.0.4: a counter's family is its name without `_total` and its
//! samples are `_total` and `_created`; histograms and summaries have `_created` too; `# UNIT`
//! where the name ends in a base unit; `info` and `stateset` types; exemplars after bucket and
//! counter samples; double quotes escaped in HELP text; and `# EOF` at the end.

use crate::exposition::text::{Number, push_escaped, push_float, push_labels};
use crate::model::kind::{Kind, counter_family};
use crate::model::snapshot::{Exemplar, FamilySnapshot, SeriesSnapshot, Value};

/// The `Content-Type` of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The units of the OpenMetrics specification that a name may end in, as `_<unit>`.
const UNITS: [&str; 9] = [
    "seconds", "bytes", "ratio", "joules", "grams", "meters", "volts", "amperes", "celsius",
];

/// The exposition of `families`, with `globals` first on every series; `created` is the Unix
/// time from which every count of this process counts.
pub(crate) fn write(
    families: &mut [FamilySnapshot],
    globals: &[(String, String)],
    created: f64,
) -> String {
    families.sort_by(|a, b| family_name(a).cmp(family_name(b)));
    let mut out = String::new();
    for family in families.iter_mut() {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let name = family_name(family);
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!("# TYPE {name} {}\n", type_name(family)),
        );
        if let Some(unit) = unit(family) {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("# UNIT {name} {unit}\n"));
        }
        if let Some(help) = &family.help {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            push_escaped(&mut out, help, true);
            out.push('\n');
        }
        let created = family.created.unwrap_or(created);
        for series in &family.series {
            write_series(&mut out, family, globals, series, created);
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
    family: &FamilySnapshot,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    created: f64,
) {
    let name = family_name(family);
    let sample = |out: &mut String,
                  suffix: &str,
                  extra: Option<(&str, &str)>,
                  value: Number,
                  exemplar: Option<&Exemplar>| {
        out.push_str(name);
        out.push_str(suffix);
        push_labels(out, globals, series, extra);
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
            sample(out, "_created", None, Number::Float(created), None);
        }
        (Value::Float(value), Kind::Counter) => {
            sample(out, "_total", None, Number::Float(*value), exemplar(0));
            sample(out, "_created", None, Number::Float(created), None);
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
            sample(out, "_created", None, Number::Float(created), None);
        }
        (Value::StateSet { states, current }, _) => {
            for (index, state) in states.iter().enumerate() {
                let value = u64::from(index == *current);
                sample(out, "", Some((name, state)), Number::Int(value), None);
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
            sample(out, "_created", None, Number::Float(created), None);
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

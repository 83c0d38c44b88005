//! The Prometheus text exposition format 0.0.4.
//!
//! Families are sorted by name and series by labels, so that two scrapes of the same state are
//! the same text and diffs between scrapes are readable. Escapes are exact: in label values a
//! backslash, a double quote and a line feed; in HELP text a backslash and a line feed.

use std::fmt::Write as _;

use crate::model::kind::{Kind, counter_total};
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};

/// The `Content-Type` of the Prometheus text exposition format that [`render`](crate::render)
/// produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition of `families`, with `globals` first on every series.
pub(crate) fn write(families: &mut [FamilySnapshot], globals: &[(String, String)]) -> String {
    families.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::new();
    for family in families.iter_mut() {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let name = written_name(family);
        if let Some(help) = &family.help {
            out.push_str("# HELP ");
            out.push_str(&name);
            out.push(' ');
            push_escaped(&mut out, help, false);
            out.push('\n');
        }
        let _ = writeln!(out, "# TYPE {name} {}", family.kind.type_name());
        for series in &family.series {
            write_series(&mut out, &name, globals, series);
        }
    }
    out
}

/// The family's name as text 0.0.4 and protobuf write it: a counter's always ends in `_total`,
/// as OpenMetrics requires, so that Prometheus stores one name whichever format it scrapes.
pub(crate) fn written_name(family: &FamilySnapshot) -> std::borrow::Cow<'static, str> {
    if family.kind == Kind::Counter && family.counter_suffix {
        counter_total(family.name)
    } else {
        std::borrow::Cow::Borrowed(family.name)
    }
}

fn write_series(
    out: &mut String,
    name: &str,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
) {
    let sample = |out: &mut String, suffix: &str, extra: Option<(&str, &str)>, value: Number| {
        out.push_str(name);
        out.push_str(suffix);
        push_labels(out, globals, series, extra);
        out.push(' ');
        value.push(out);
        out.push('\n');
    };
    let mut bound_text = String::new();
    match &series.value {
        Value::Int(value) => sample(out, "", None, Number::Int(*value)),
        Value::Float(value) => sample(out, "", None, Number::Float(*value)),
        Value::Histogram {
            bounds,
            counts,
            sum,
            ..
        } => {
            let mut cumulative = 0_u64;
            for (bound, count) in bounds.iter().zip(counts) {
                cumulative = cumulative.saturating_add(*count);
                bound_text.clear();
                push_float(&mut bound_text, *bound);
                sample(
                    out,
                    "_bucket",
                    Some(("le", &bound_text)),
                    Number::Int(cumulative),
                );
            }
            let count = Value::histogram_count(counts);
            sample(out, "_bucket", Some(("le", "+Inf")), Number::Int(count));
            sample(out, "_sum", None, Number::Float(*sum));
            sample(out, "_count", None, Number::Int(count));
        }
        Value::StateSet { states, current } => {
            for (index, state) in states.iter().enumerate() {
                let value = u64::from(index == *current);
                sample(out, "", Some((name, state)), Number::Int(value));
            }
        }
        Value::Summary {
            quantiles,
            count,
            sum,
            ..
        } => {
            for (quantile, value) in quantiles {
                bound_text.clear();
                push_float(&mut bound_text, *quantile);
                sample(
                    out,
                    "",
                    Some(("quantile", &bound_text)),
                    Number::Float(*value),
                );
            }
            sample(out, "_sum", None, Number::Float(*sum));
            sample(out, "_count", None, Number::Int(*count));
        }
    }
}

/// Appends `{globals,own,extra}` (nothing when all are empty), values escaped.
pub(crate) fn push_labels(
    out: &mut String,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    extra: Option<(&str, &str)>,
) {
    let globals = globals
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let own = series.labels.iter().map(|(name, value)| (*name, &**value));
    // An empty value is no label in Prometheus: leaving it out keeps one spelling per series.
    let mut pairs = globals
        .chain(own)
        .chain(extra)
        .filter(|(_, value)| !value.is_empty())
        .peekable();
    if pairs.peek().is_some() {
        out.push('{');
        for (index, (name, value)) in pairs.enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push_str("=\"");
            push_escaped(out, value, true);
            out.push('"');
        }
        out.push('}');
    }
}

/// A sample value: counts are written as integers, everything else as floats.
#[derive(Clone, Copy)]
pub(crate) enum Number {
    Int(u64),
    Float(f64),
}

impl Number {
    pub(crate) fn push(self, out: &mut String) {
        match self {
            Number::Int(value) => {
                let _ = write!(out, "{value}");
            }
            Number::Float(value) => push_float(out, value),
        }
    }
}

/// Appends `text` escaped: backslashes and line feeds always, double quotes in label values.
pub(crate) fn push_escaped(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quotes => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A float as the exposition format spells it: `+Inf`, `-Inf`, `NaN`, or the shortest decimal.
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value != 0.0 && !(1e-6..1e21).contains(&value.abs()) {
        // `1e300`, not three hundred digits; every Prometheus reader parses both.
        let _ = write!(out, "{value:e}");
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn series(labels: &[(&'static str, &'static str)], value: Value) -> SeriesSnapshot {
        SeriesSnapshot::new(
            labels
                .iter()
                .map(|(name, value)| (*name, Cow::Borrowed(*value)))
                .collect(),
            value,
        )
    }

    #[test]
    fn families_and_series_are_sorted_and_escaped() {
        let mut families = vec![
            FamilySnapshot {
                name: "b_total",
                help: Some(Cow::Borrowed("B\\s\nline")),
                kind: Kind::Counter,
                created: None,
                counter_suffix: true,
                series: vec![
                    series(&[("x", "2")], Value::Int(1)),
                    series(&[("x", "1\"\\\n")], Value::Int(2)),
                    series(&[("x", "")], Value::Int(3)),
                ],
            },
            FamilySnapshot {
                name: "a_seconds",
                help: None,
                kind: Kind::Histogram,
                created: None,
                counter_suffix: true,
                series: vec![series(
                    &[],
                    Value::Histogram {
                        bounds: &[0.5, 1.0],
                        counts: vec![1, 0, 2],
                        sum: 7.5,
                        native: None,
                        negative_seen: false,
                    },
                )],
            },
        ];
        let globals = [("service".to_owned(), "api".to_owned())];
        assert_eq!(
            write(&mut families, &globals),
            "# TYPE a_seconds histogram\n\
             a_seconds_bucket{service=\"api\",le=\"0.5\"} 1\n\
             a_seconds_bucket{service=\"api\",le=\"1\"} 1\n\
             a_seconds_bucket{service=\"api\",le=\"+Inf\"} 3\n\
             a_seconds_sum{service=\"api\"} 7.5\n\
             a_seconds_count{service=\"api\"} 3\n\
             # HELP b_total B\\\\s\\nline\n\
             # TYPE b_total counter\n\
             b_total{service=\"api\"} 3\n\
             b_total{service=\"api\",x=\"1\\\"\\\\\\n\"} 2\n\
             b_total{service=\"api\",x=\"2\"} 1\n"
        );
    }

    #[test]
    fn summaries_and_special_floats() {
        let mut families = vec![FamilySnapshot {
            name: "s",
            help: Some(Cow::Borrowed("S")),
            kind: Kind::Summary,
            created: None,
            counter_suffix: true,
            series: vec![series(
                &[],
                Value::Summary {
                    quantiles: vec![(0.5, f64::NAN), (0.99, f64::INFINITY)],
                    count: 0,
                    sum: f64::NEG_INFINITY,
                    negative_seen: true,
                },
            )],
        }];
        assert_eq!(
            write(&mut families, &[]),
            "# HELP s S\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns{quantile=\"0.99\"} +Inf\n\
             s_sum -Inf\ns_count 0\n"
        );
    }
}

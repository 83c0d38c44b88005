//! The Prometheus text exposition format, 0.0.4 and 1.0.0 (the same lines; 1.0.0 says how
//! names are escaped, and may carry names valid only as UTF-8, quoted).
//!
//! Families are sorted by name and series by labels, so that two scrapes of the same state are
//! the same text and diffs between scrapes are readable. Escapes are exact: in label values and
//! quoted names a backslash, a double quote and a line feed; in HELP text a backslash and a line
//! feed.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::model::kind::{Kind, counter_total};
use crate::model::names::{Escaping, escape, is_label_name, is_metric_name};
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};

/// The `Content-Type` of the Prometheus text exposition format that [`render`](crate::render)
/// produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

/// A metric name as one exposition writes it: escaped as its scheme says, or, where the scheme
/// allows UTF-8 and the name needs it, quoted inside the braces.
pub(crate) struct Name<'a> {
    text: Cow<'a, str>,
    quoted: bool,
}

impl<'a> Name<'a> {
    pub(crate) fn of(name: &'a str, escaping: Escaping) -> Self {
        Name {
            quoted: escaping == Escaping::AllowUtf8 && !is_metric_name(name),
            text: escape(name, escaping, false),
        }
    }

    /// A counter's family name as OpenMetrics writes it when its samples are `total_name`:
    /// escaped whole, suffix included, then without `_total`, as prometheus/common does, so
    /// that its samples are written as text and protobuf write them under every scheme.
    pub(crate) fn counter(total_name: &str, escaping: Escaping) -> Name<'static> {
        let escaped = escape(total_name, escaping, false);
        let family = escaped
            .strip_suffix("_total")
            .unwrap_or(&escaped)
            .to_owned();
        Name {
            quoted: escaping == Escaping::AllowUtf8 && !is_metric_name(total_name),
            text: Cow::Owned(family),
        }
    }

    /// The name alone, as HELP, TYPE and UNIT lines write it.
    pub(crate) fn push(&self, out: &mut String) {
        if self.quoted {
            push_quoted(out, &self.text);
        } else {
            out.push_str(&self.text);
        }
    }

    /// The start of a sample line: the name with `suffix` and its labels, as
    /// `name_suffix{labels}` or `{"name_suffix",labels}`.
    pub(crate) fn push_sample(
        &self,
        out: &mut String,
        suffix: &str,
        labels: Labels<'_>,
        escaping: Escaping,
    ) {
        if self.quoted {
            let mut name = String::with_capacity(self.text.len() + suffix.len());
            name.push_str(&self.text);
            name.push_str(suffix);
            push_labels(out, Some(&name), labels, escaping);
        } else {
            out.push_str(&self.text);
            out.push_str(suffix);
            push_labels(out, None, labels, escaping);
        }
    }
}

/// `"text"`, with a backslash, a double quote and a line feed escaped.
fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    push_escaped(out, text, true);
    out.push('"');
}

/// The labels of one sample: the global ones, the series' own, and one the format adds.
#[derive(Clone, Copy)]
pub(crate) struct Labels<'a> {
    pub(crate) globals: &'a [(String, String)],
    pub(crate) series: &'a SeriesSnapshot,
    pub(crate) extra: Option<(&'a str, &'a str)>,
}

/// The exposition of `families`, with `globals` first on every series, names written as
/// `escaping` says.
pub(crate) fn write(
    families: &mut [FamilySnapshot],
    globals: &[(String, String)],
    escaping: Escaping,
) -> String {
    families.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = String::new();
    for family in families.iter_mut() {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let written = written_name(family);
        let name = Name::of(&written, escaping);
        if let Some(help) = &family.help {
            out.push_str("# HELP ");
            name.push(&mut out);
            out.push(' ');
            push_escaped(&mut out, help, false);
            out.push('\n');
        }
        out.push_str("# TYPE ");
        name.push(&mut out);
        let _ = writeln!(out, " {}", family.kind.type_name());
        for series in &family.series {
            write_series(&mut out, &name, family.name, globals, series, escaping);
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
    name: &Name<'_>,
    family: &str,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    escaping: Escaping,
) {
    let sample = |out: &mut String, suffix: &str, extra: Option<(&str, &str)>, value: Number| {
        let labels = Labels {
            globals,
            series,
            extra,
        };
        name.push_sample(out, suffix, labels, escaping);
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
                sample(out, "", Some((family, state)), Number::Int(value));
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

/// Appends `{globals,own,extra}` (nothing when all are empty and no name is quoted), values
/// escaped, label names escaped or quoted as `escaping` says; a quoted metric name goes first
/// inside the braces.
pub(crate) fn push_labels(
    out: &mut String,
    quoted_name: Option<&str>,
    labels: Labels<'_>,
    escaping: Escaping,
) {
    let globals = labels
        .globals
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let own = labels
        .series
        .labels
        .iter()
        .map(|(name, value)| (*name, &**value));
    // An empty value is no label in Prometheus: leaving it out keeps one spelling per series.
    let mut pairs = globals
        .chain(own)
        .chain(labels.extra)
        .filter(|(_, value)| !value.is_empty())
        .peekable();
    if pairs.peek().is_none() && quoted_name.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    if let Some(name) = quoted_name {
        push_quoted(out, name);
        first = false;
    }
    for (name, value) in pairs {
        if !first {
            out.push(',');
        }
        first = false;
        push_label_name(out, name, escaping);
        out.push_str("=\"");
        push_escaped(out, value, true);
        out.push('"');
    }
    out.push('}');
}

/// A label name: as it is if legacy-valid, else escaped, or quoted where UTF-8 is allowed.
pub(crate) fn push_label_name(out: &mut String, name: &str, escaping: Escaping) {
    if escaping == Escaping::AllowUtf8 && !is_label_name(name) {
        push_quoted(out, name);
    } else {
        out.push_str(&escape(name, escaping, true));
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
            write(&mut families, &globals, Escaping::Underscores),
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
            write(&mut families, &[], Escaping::Underscores),
            "# HELP s S\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns{quantile=\"0.99\"} +Inf\n\
             s_sum -Inf\ns_count 0\n"
        );
    }
}

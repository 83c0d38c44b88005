//! The Prometheus naming rules as the runtime applies them: to the builder's settings, to the
//! names that reach the `metrics` facade from any crate, and to the strict test parser.
//!
//! Names written in `metrics!` and `#[track_metrics]` are checked by the macros at compile time
//! with the same rules (`track-metrics-macros`, `names.rs`).

use crate::model::kind::Kind;

/// The label value of the series that holds what did not fit under a family's series limit.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// The label that marks an overflow series, so that it never merges with a series whose real
/// label values happen to be [`OVERFLOW_LABEL_VALUE`]: `track_metrics_overflow="true"`.
pub const OVERFLOW_LABEL: &str = "track_metrics_overflow";

/// Labels this crate puts on series of its own, each with where: a global label of the same
/// name would appear twice on those series.
pub(crate) const CRATE_LABELS: [(&str, &str); 5] = [
    (
        "function",
        "`#[track_metrics]` sets `function` and `module` on its series itself",
    ),
    (
        "module",
        "`#[track_metrics]` sets `function` and `module` on its series itself",
    ),
    (
        "error_type",
        "`#[track_metrics]` labels its error counts with `error_type`",
    ),
    (
        "metric",
        "`track_metrics_cardinality_overflow_total` is labelled with `metric`",
    ),
    (
        "reason",
        "`track_metrics_facade_refused_total` is labelled with `reason`",
    ),
];

/// How names that are valid only as UTF-8 (from the `metrics` facade: `http.server.duration`)
/// are written; names of the legacy character set `[a-zA-Z_:][a-zA-Z0-9_:]*` are written as
/// they are in every scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Escaping {
    /// As they are, quoted in the text formats: `{"http.server.duration",le="0.1"} 3`.
    AllowUtf8,
    /// Every other character becomes `_`: `http_server_duration`. What a scraper that says
    /// nothing gets.
    Underscores,
    /// `.` becomes `_dot_`, `_` becomes `__`, any other character `__`:
    /// `http_dot_server_dot_duration`.
    Dots,
    /// `U__` then the name with `_` doubled and any other character as its code point in hex
    /// between underscores: `U__http_2e_server_2e_duration`.
    Values,
}

impl Escaping {
    /// The scheme an `escaping` parameter names.
    pub(crate) fn parse(value: &str) -> Option<Escaping> {
        match value {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    pub(crate) const ALL: [Escaping; 4] = [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ];
}

/// A metric or label name as `escaping` writes it, before quoting: unchanged when it is of the
/// legacy character set (`[a-zA-Z_:][a-zA-Z0-9_:]*` for a metric, without `:` for a label) or
/// the scheme allows UTF-8; else escaped as prometheus/common's `EscapeName` does.
pub(crate) fn escape(name: &str, escaping: Escaping, label: bool) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let legacy = if label {
        is_label_name(name)
    } else {
        is_metric_name(name)
    };
    if legacy || name.is_empty() || escaping == Escaping::AllowUtf8 {
        return Cow::Borrowed(name);
    }
    // The characters each scheme keeps: a label name never keeps `:`.
    let keeps = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (c == ':' && !label)
            || (!first && c.is_ascii_digit())
    };
    let mut out = String::with_capacity(name.len() + 8);
    match escaping {
        Escaping::Underscores => {
            for (index, c) in name.chars().enumerate() {
                out.push(if keeps(c, index == 0) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (index, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if keeps(c, index == 0) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values => {
            out.push_str("U__");
            for (index, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if keeps(c, index == 0) => out.push(c),
                    c => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
        }
        Escaping::AllowUtf8 => unreachable!("returned above"),
    }
    Cow::Owned(out)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: a label name, and a metric name without the colons that only
/// recording rules use.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: any name the exposition format accepts for a metric.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Why a label name cannot be used on a series, or `None`: the syntax, and the names that the
/// exposition format or this crate give a meaning of their own.
pub(crate) fn reserved_label_problem(name: &str) -> Option<&'static str> {
    if !is_label_name(name) {
        Some("a label name must match `[a-zA-Z_][a-zA-Z0-9_]*`")
    } else if name.starts_with("__") {
        Some("label names starting with `__` are reserved for Prometheus")
    } else if name == "le" || name == "quantile" {
        Some("`le` and `quantile` are reserved for histogram buckets and summary quantiles")
    } else if name == OVERFLOW_LABEL {
        Some("`track_metrics_overflow` marks the overflow series of a family")
    } else {
        None
    }
}

/// Why a label name cannot be used on a series of a family of `kind`, or `None`: as
/// [`reserved_label_problem`], except that `le` and `quantile` are reserved only on the
/// histograms and summaries whose samples the format labels with them (a counter labelled `le`
/// is valid, and metrics-exporter-prometheus keeps it).
pub(crate) fn label_problem_for(kind: Kind, name: &str) -> Option<&'static str> {
    match (kind, name) {
        (Kind::Histogram | Kind::Summary, _) => reserved_label_problem(name),
        (_, "le" | "quantile") => None,
        _ => reserved_label_problem(name),
    }
}

/// The names of every sample a family of `kind` named `name` writes under `escaping`, as the
/// writers write them: a counter's escaped with its `_total` (then its OpenMetrics family name
/// is that without `_total`), any other family's escaped before its suffixes are added.
pub(crate) fn escaped_sample_names(kind: Kind, name: &str, escaping: Escaping) -> Vec<String> {
    match kind {
        Kind::Counter => {
            let family = crate::model::kind::counter_family(name);
            let total = escape(&format!("{family}_total"), escaping, false).into_owned();
            let stem = total.strip_suffix("_total").unwrap_or(&total).to_owned();
            vec![total.clone(), stem.clone(), format!("{stem}_created")]
        }
        _ => kind.sample_names(&escape(name, escaping, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_as_metrics_exporter_prometheus_does() {
        // The cases of that crate's own tests (formatting.rs, `test_sanitize_metric_name_known_cases`).
        for (input, expected) in [
            ("*", "_"),
            ("\"", "_"),
            ("foo_bar", "foo_bar"),
            ("foo1_bar", "foo1_bar"),
            ("1foobar", "_foobar"),
            ("foo1:bar2", "foo1:bar2"),
            ("123", "_23"),
            ("function-calls_total", "function_calls_total"),
            ("héllo", "h_llo"),
            ("", ""),
        ] {
            // Escaped to underscores, as the scrapes of Prometheus 2 and of tools that say
            // nothing get them.
            assert_eq!(
                escape(input, Escaping::Underscores, false),
                expected,
                "{input}"
            );
        }
        for (input, expected) in [
            ("*", "_"),
            ("foo_bar", "foo_bar"),
            ("1foobar", "_foobar"),
            (":", "_"),
            ("__foobar", "__foobar"),
            ("foo1:bar2", "foo1_bar2"),
            ("123", "_23"),
            ("a-b", "a_b"),
        ] {
            // metrics-exporter-prometheus's `sanitize_label_key` cases: the same as escaping.
            assert_eq!(
                escape(input, Escaping::Underscores, true),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn escaping_as_prometheus_common_does() {
        // The cases of common's `TestEscapeName` and the escaping-schemes specification.
        for (name, underscores, dots, values) in [
            (
                "no:escaping_required",
                "no:escaping_required",
                "no:escaping_required",
                "no:escaping_required",
            ),
            (
                "mysystem.prod.west.cpu.load_total",
                "mysystem_prod_west_cpu_load_total",
                "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total",
                "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total",
            ),
            (
                "http.status:sum",
                "http_status:sum",
                "http_dot_status:sum",
                "U__http_2e_status:sum",
            ),
            (
                "label with 😱",
                "label_with__",
                "label__with____",
                "U__label_20_with_20__1f631_",
            ),
            ("花火", "__", "____", "U___82b1__706b_"),
            ("1foo", "_foo", "__foo", "U___31_foo"),
            ("a..b", "a__b", "a_dot__dot_b", "U__a_2e__2e_b"),
        ] {
            assert_eq!(
                escape(name, Escaping::Underscores, false),
                underscores,
                "{name}"
            );
            assert_eq!(escape(name, Escaping::Dots, false), dots, "{name}");
            assert_eq!(escape(name, Escaping::Values, false), values, "{name}");
            assert_eq!(escape(name, Escaping::AllowUtf8, false), name);
        }
        // A label name keeps no colon.
        assert_eq!(escape("a:b", Escaping::Underscores, true), "a_b");
        assert_eq!(escape("a:b", Escaping::Underscores, false), "a:b");
    }

    #[test]
    fn reserved_labels() {
        for name in ["le", "quantile", "__name__", "", "a-b", OVERFLOW_LABEL] {
            assert!(reserved_label_problem(name).is_some(), "{name}");
        }
        for name in ["method", "_private", "le2"] {
            assert_eq!(reserved_label_problem(name), None, "{name}");
        }
        assert_eq!(label_problem_for(Kind::Counter, "le"), None);
        assert_eq!(label_problem_for(Kind::Gauge, "quantile"), None);
        assert!(label_problem_for(Kind::Histogram, "le").is_some());
        assert!(label_problem_for(Kind::Histogram, "quantile").is_some());
        assert!(label_problem_for(Kind::Summary, "quantile").is_some());
        assert!(label_problem_for(Kind::Counter, "__name__").is_some());
        assert!(is_metric_name("job:requests:rate5m"));
        assert!(!is_label_name("job:requests"));
    }
}

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

/// A metric name made valid the way metrics-exporter-prometheus 0.18 does it
/// (`formatting::sanitize_metric_name`): every character outside `[a-zA-Z0-9_:]`, and a leading
/// digit, becomes `_`. A service moving from that exporter keeps its series names.
pub(crate) fn sanitize_metric_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(index, c)| {
            let valid = c.is_ascii_alphabetic()
                || c == '_'
                || c == ':'
                || (index > 0 && c.is_ascii_digit());
            if valid { c } else { '_' }
        })
        .collect()
}

/// A label name made valid the way metrics-exporter-prometheus 0.18 does it
/// (`formatting::sanitize_label_key`): as for metric names, without the colon.
pub(crate) fn sanitize_label_key(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(index, c)| {
            let valid = c.is_ascii_alphabetic() || c == '_' || (index > 0 && c.is_ascii_digit());
            if valid { c } else { '_' }
        })
        .collect()
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
            assert_eq!(sanitize_metric_name(input), expected, "{input}");
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
            assert_eq!(sanitize_label_key(input), expected, "{input}");
        }
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

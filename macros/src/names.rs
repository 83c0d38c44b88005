//! The Prometheus naming rules, shared by every macro that takes a metric or label name.
//!
//! Each check returns the message to show on the user's token, or `None` when the name is fine:
//! the callers decide which span the message lands on.

/// Label names the exposition format gives a meaning of its own, on every metric type.
const RESERVED_LABELS: &[(&str, &str)] = &[
    ("le", "the bucket bound of a histogram"),
    ("quantile", "the quantile of a summary"),
];

/// A metric name: `[a-zA-Z_][a-zA-Z0-9_]*`.
///
/// Colons are valid in the exposition format but reserved for recording rules, so a name written
/// by hand may not hold one.
pub fn metric_name_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a metric name cannot be empty".to_owned());
    }
    if name.contains(':') {
        return Some(format!(
            "invalid metric name `{name}`: colons are reserved for recording rules"
        ));
    }
    if !is_identifier(name) {
        return Some(format!(
            "invalid metric name `{name}`: a metric name matches `[a-zA-Z_][a-zA-Z0-9_]*`"
        ));
    }
    if name.starts_with("__") {
        return Some(format!(
            "invalid metric name `{name}`: names starting with `__` are reserved for Prometheus"
        ));
    }
    None
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not reserved, not one the caller adds itself.
pub fn label_name_error(name: &str, automatic: &[&str]) -> Option<String> {
    if !is_identifier(name) {
        return Some(format!(
            "invalid label name `{name}`: a label name matches `[a-zA-Z_][a-zA-Z0-9_]*`"
        ));
    }
    if name.starts_with("__") {
        return Some(format!(
            "invalid label name `{name}`: label names starting with `__` are reserved for Prometheus"
        ));
    }
    if let Some((_, meaning)) = RESERVED_LABELS
        .iter()
        .find(|(reserved, _)| *reserved == name)
    {
        return Some(format!(
            "label name `{name}` is reserved: it is {meaning} in the exposition format"
        ));
    }
    if automatic.contains(&name) {
        return Some(format!(
            "label name `{name}` is set by `track_metrics` itself; choose another name"
        ));
    }
    None
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Histogram buckets: at least one, each finite, strictly increasing.
///
/// Returns the index of the offending bound with the message, so the error lands on it.
pub fn buckets_error(bounds: &[f64]) -> Option<(usize, String)> {
    if let Some(index) = bounds.iter().position(|bound| !bound.is_finite()) {
        return Some((
            index,
            "a bucket bound must be finite: `+Inf` is always added as the last bucket".to_owned(),
        ));
    }
    bounds
        .windows(2)
        .position(|pair| pair[0] >= pair[1])
        .map(|index| {
            (
                index + 1,
                format!(
                    "buckets must be strictly increasing: `{}` does not come after `{}`",
                    bounds[index + 1],
                    bounds[index]
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert_eq!(metric_name_error("function_calls_total"), None);
        assert_eq!(metric_name_error("_private_seconds"), None);
        assert!(metric_name_error("").is_some());
        assert!(metric_name_error("1st_total").is_some());
        assert!(metric_name_error("db-queries_total").is_some());
        assert!(
            metric_name_error("job:calls_total")
                .unwrap()
                .contains("recording rules")
        );
        assert!(metric_name_error("__calls_total").is_some());
        assert!(metric_name_error("caf\u{e9}_total").is_some());
    }

    #[test]
    fn label_names() {
        assert_eq!(label_name_error("endpoint", &["function"]), None);
        assert!(label_name_error("le", &[]).unwrap().contains("histogram"));
        assert!(
            label_name_error("quantile", &[])
                .unwrap()
                .contains("summary")
        );
        assert!(label_name_error("__name__", &[]).is_some());
        assert!(label_name_error("function", &["function"]).is_some());
        assert!(label_name_error("9lives", &[]).is_some());
    }

    #[test]
    fn buckets() {
        assert_eq!(buckets_error(&[0.1, 0.2]), None);
        assert_eq!(buckets_error(&[0.1, 0.1]).map(|(i, _)| i), Some(1));
        assert_eq!(
            buckets_error(&[0.1, f64::INFINITY]).map(|(i, _)| i),
            Some(1)
        );
        assert_eq!(buckets_error(&[0.3, 0.2, 0.5]).map(|(i, _)| i), Some(1));
    }
}

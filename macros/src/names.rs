//! The Prometheus naming rules, shared by every macro that takes a metric or label name.
//!
//! Each check returns the message to show on the user's token, or `None` when the name is fine:
//! the callers decide which span the message lands on.

/// Label names the exposition format gives a meaning of its own, on every metric type.
const RESERVED_LABELS: &[(&str, &str)] = &[
    ("le", "the bucket bound of a histogram"),
    ("quantile", "the quantile of a summary"),
    (
        "track_metrics_overflow",
        "the mark track-metrics puts on a family's overflow series",
    ),
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

/// Units `promtool check metrics` knows, each with its base unit.
const UNITS: &[(&str, &str)] = &[
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

const UNIT_ABBREVIATIONS: &[&str] = &[
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

const TYPE_NAMES: &[&str] = &[
    "counter",
    "gauge",
    "histogram",
    "summary",
    "gauge_histogram",
];

/// The naming conventions of `promtool check metrics` that the name of a metric of `kind`
/// (`counter`, `gauge`, `histogram`, `summary` or `info`) decides alone: one message each.
pub fn naming_lints(name: &str, kind: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if kind == "counter" && !name.ends_with("_total") {
        problems.push("a counter's name ends in `_total`".to_owned());
    }
    if kind != "counter" && name.ends_with("_total") {
        problems.push(format!(
            "only counters end in `_total`, and this is a {kind}"
        ));
    }
    if kind == "info" && !name.ends_with("_info") {
        problems.push("an info metric's name ends in `_info`".to_owned());
    }
    if let Some(suffix) = ["_bucket", "_count", "_sum"]
        .iter()
        .find(|suffix| name.ends_with(*suffix))
    {
        problems.push(format!(
            "`{suffix}` is what Prometheus appends to histogram and summary series; end the name \
             with its unit instead"
        ));
    }
    if is_camel_case(name) {
        problems.push("metric names are written in snake_case, not camelCase".to_owned());
    }
    let parts: Vec<&str> = name.split('_').collect();
    if let Some((unit, base)) = parts.iter().find_map(|part| unit_of(part))
        && unit != base
    {
        problems.push(format!("use the base unit `{base}` instead of `{unit}`"));
    }
    if let Some(short) = parts
        .iter()
        .skip(1)
        .find(|part| UNIT_ABBREVIATIONS.contains(&part.to_ascii_lowercase().as_str()))
    {
        problems.push(format!("`{short}` is an abbreviated unit; spell the base unit out, such as `seconds` or `bytes`"));
    }
    let lower = name.to_ascii_lowercase();
    for type_name in TYPE_NAMES {
        if lower.contains(&format!("_{type_name}_")) || lower.ends_with(&format!("_{type_name}")) {
            problems.push(format!(
                "the metric type `{type_name}` does not belong in the name"
            ));
        }
    }
    problems
}

/// A label name in camelCase, which `promtool check metrics` refuses.
pub fn label_lint(name: &str) -> Option<String> {
    is_camel_case(name)
        .then(|| format!("label `{name}` is camelCase; label names are written in snake_case"))
}

fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_lowercase() && pair[1].is_ascii_uppercase())
}

/// The unit a part of a name is, with its base unit.
fn unit_of(part: &str) -> Option<(String, &'static str)> {
    if let Some((_, base)) = UNITS.iter().find(|(unit, _)| *unit == part) {
        return Some((part.to_owned(), base));
    }
    UNIT_PREFIXES.iter().find_map(|prefix| {
        let rest = part.strip_prefix(prefix)?;
        UNITS
            .iter()
            .find(|(unit, _)| *unit == rest)
            .map(|(_, base)| (part.to_owned(), *base))
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
    fn naming_lints_follow_promtool() {
        assert!(naming_lints("requests_total", "counter").is_empty());
        assert!(naming_lints("request_duration_seconds", "histogram").is_empty());
        assert!(naming_lints("build_info", "info").is_empty());
        let lint = |name, kind| naming_lints(name, kind).join("; ");
        assert!(lint("requests", "counter").contains("`_total`"));
        assert!(lint("queue_total", "gauge").contains("only counters"));
        assert!(
            lint("request_duration_milliseconds", "histogram")
                .contains("`seconds` instead of `milliseconds`")
        );
        assert!(lint("payload_kilobytes", "gauge").contains("`bytes` instead of `kilobytes`"));
        assert!(lint("latency_ms", "histogram").contains("`ms` is an abbreviated unit"));
        assert!(lint("requests_counter_total", "counter").contains("`counter`"));
        assert!(lint("queue_gauge", "gauge").contains("`gauge`"));
        assert!(lint("requestCount_total", "counter").contains("snake_case"));
        assert!(lint("latency_count", "gauge").contains("`_count`"));
        assert!(lint("build", "info").contains("`_info`"));
        assert!(label_lint("httpMethod").is_some());
        assert_eq!(label_lint("http_method"), None);
    }

    /// Where promtool is: `$PROMTOOL`, else where `.ci/run` unpacks it, else `PATH`.
    fn promtool() -> std::path::PathBuf {
        if let Some(path) = std::env::var_os("PROMTOOL") {
            return path.into();
        }
        let unpacked = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/ci-tools/usr/bin/promtool");
        if unpacked.exists() {
            return unpacked;
        }
        "promtool".into()
    }

    /// What promtool says of a family of one series, of this name and kind.
    fn promtool_says(name: &str, kind: &str) -> String {
        use std::io::Write as _;
        let mut text = format!("# HELP {name} Some help\n# TYPE {name} {kind}\n");
        match kind {
            "histogram" => text.push_str(&format!(
                "{name}_bucket{{le=\"+Inf\"}} 1\n{name}_sum 1\n{name}_count 1\n"
            )),
            "summary" => text.push_str(&format!("{name}_sum 1\n{name}_count 1\n")),
            _ => text.push_str(&format!("{name} 1\n")),
        }
        let mut child = std::process::Command::new(promtool())
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool: apt-get install prometheus, set PROMTOOL, or run .ci/run");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(!report.contains("error"), "{report} for {text}");
        report.trim().to_owned()
    }

    #[test]
    #[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
    fn naming_lints_agree_with_promtool_check_metrics() {
        let stems = [
            "requests",
            "request_duration",
            "payload",
            "httpRequests",
            "db_queries",
        ];
        let suffixes = [
            "",
            "_total",
            "_seconds",
            "_milliseconds",
            "_ms",
            "_bytes",
            "_kilobytes",
            "_kb",
            "_hours",
            "_count",
            "_sum",
            "_bucket",
            "_counter",
            "_gauge",
            "_histogram",
            "_seconds_total",
            "_bytes_total",
            "_celsius",
            "_fahrenheit",
            "_info",
        ];
        let names: Vec<String> = stems
            .iter()
            .flat_map(|stem| suffixes.iter().map(move |suffix| format!("{stem}{suffix}")))
            .collect();
        let mut disagreements = Vec::new();
        for kind in ["counter", "gauge", "histogram", "summary"] {
            for name in &names {
                let ours = naming_lints(name, kind);
                let theirs = promtool_says(name, kind);
                // Deliberately stricter: promtool lets a histogram or summary be named
                // `x_count`, whose series would then be `x_count_count`.
                let stricter = matches!(kind, "histogram" | "summary")
                    && ["_count", "_sum", "_bucket"]
                        .iter()
                        .any(|suffix| name.ends_with(suffix))
                    && theirs.is_empty()
                    && ours.len() == 1;
                if ours.is_empty() != theirs.is_empty() && !stricter {
                    disagreements
                        .push(format!("{kind} {name}: promtool {theirs:?}, ours {ours:?}"));
                }
            }
        }
        assert!(
            disagreements.is_empty(),
            "{} of {} verdicts differ:\n{}",
            disagreements.len(),
            names.len() * 4,
            disagreements.join("\n")
        );
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

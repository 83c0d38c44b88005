//! Label values and HELP texts reach the exposition escaped exactly: read back by a strict parser,
//! by prometheus_client's parser and checked by promtool, they are the strings that went in.
//! (metrics-exporter-prometheus, which once held the facade's metrics, lost backslashes: `a\\b`
//! came out as `a\b`.)

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use track_metrics::track_metrics;

use crate::common;

const MODULE: &str = module_path!();

const TRICKY: &[&str] = &[
    r"\",
    r"\\",
    r#"""#,
    r#"\""#,
    "\n",
    r"\n",
    "a\\\nb",
    r"C:\Program Files\x",
    "ends with \\",
    "日本語 ✓ — ünïcödé",
    "\u{FDD0}\u{FDD1}\\\u{FDD1}",
    "tab\tcr\r",
    "",
];

#[track_metrics(labels(path = r#"C:\dir\"quoted"\\end\"#))]
fn constant_label_with_escapes() {}

/// Records every tricky value once, and returns the scrape.
fn record_tricky_values() -> (String, track_metrics::testing::Exposition) {
    common::exporter();
    constant_label_with_escapes();
    for (index, value) in TRICKY.iter().enumerate() {
        let name = format!("escape_case_{index}_total");
        metrics::describe_counter!(name.clone(), format!("help {value} end"));
        metrics::counter!(name, "value" => value.to_string()).increment(1);
    }
    common::scrape()
}

const CONSTANT: &str = r#"C:\dir\"quoted"\\end\"#;

#[test]
fn tricky_values_round_trip_through_the_strict_parser() {
    let (_, scrape) = record_tricky_values();
    let constant = [
        ("function", "constant_label_with_escapes"),
        ("module", MODULE),
        ("path", CONSTANT),
    ];
    assert!(common::value(&scrape, "function_calls_total", &constant) >= 1.0);
    for (index, value) in TRICKY.iter().enumerate() {
        let name = format!("escape_case_{index}_total");
        // An empty label value is the same as no label in the format.
        let labels: &[(&str, &str)] = if value.is_empty() {
            &[]
        } else {
            &[("value", value)]
        };
        assert!(common::value(&scrape, &name, labels) >= 1.0, "{value:?}");
        let help = scrape.family(&name).unwrap().help.clone();
        assert_eq!(
            help.as_deref(),
            Some(format!("help {value} end").as_str()),
            "{value:?}"
        );
    }
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn tricky_values_pass_promtool() {
    let (text, _) = record_tricky_values();
    // This test's families only: other tests of this binary record, on purpose, series that
    // promtool's lint refuses (a counter with an `le` label, as metrics-exporter-prometheus
    // kept them), and whether they exist yet depends on the order tests run in.
    let ours = |line: &str| {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        name.starts_with("escape_case_") || name.starts_with("function_")
    };
    let text: String = text
        .lines()
        .filter(|line| ours(line))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(text.contains("escape_case_0_total"), "{text}");
    common::assert_promtool_accepts(&text);
}

#[test]
#[ignore = "needs python3 with prometheus_client (Debian package python3-prometheus-client); .ci/run installs it"]
fn tricky_values_round_trip_through_prometheus_client() {
    let (text, _) = record_tricky_values();
    let read_back = prometheus_client_read(&text);
    for (index, value) in TRICKY
        .iter()
        .enumerate()
        .filter(|(_, value)| !value.is_empty())
    {
        let expected = format!("escape_case_{index}_total\u{1}value\u{2}{value}");
        assert!(
            read_back.contains(&expected),
            "prometheus_client read {value:?} differently"
        );
    }
    let expected = format!(
        "function_calls_total\u{1}function\u{2}constant_label_with_escapes\u{1}module\u{2}{MODULE}\u{1}path\u{2}{CONSTANT}"
    );
    assert!(
        read_back.contains(&expected),
        "prometheus_client read the constant label differently"
    );
}

/// Each sample as `name␁label␂value␁...`, labels sorted, as prometheus_client's parser reads it.
pub fn prometheus_client_read(text: &str) -> Vec<String> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        parts = [sample.name] + [k + "\x02" + v for k, v in sorted(sample.labels.items())]
        sys.stdout.write("\x01".join(parts) + "\x00")
"#;
    let output = common::pipe(common::python(), &["-c", SCRIPT], text);
    assert!(
        output.status.success(),
        "prometheus_client could not parse the exposition (is python3-prometheus-client \
         installed?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = String::from_utf8(output.stdout).unwrap();
    samples.split('\0').map(str::to_owned).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_label_value_and_help_text_round_trip(value in "(\\PC|[\\\\\"\n\r\t\u{FDD0}\u{FDD1}]){1,24}") {
        static CASE: AtomicUsize = AtomicUsize::new(0);
        common::exporter();
        let name = format!("property_case_{}_total", CASE.fetch_add(1, Ordering::Relaxed));
        metrics::describe_counter!(name.clone(), value.clone());
        metrics::counter!(name.clone(), "value" => value.clone()).increment(1);
        let (_, scrape) = common::scrape();
        prop_assert_eq!(scrape.value(&name, &[("value", &value)]), Some(1.0));
        prop_assert_eq!(scrape.family(&name).unwrap().help.as_deref(), Some(value.as_str()));
    }
}

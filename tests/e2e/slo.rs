//! The rules `track_metrics::slo::rules()` writes, proven with the real tools: `promtool check
//! rules` accepts them, `promtool test rules` shows the alerts firing at the burn rates and
//! times the SRE workbook gives and not at half the budget, and a real Prometheus loading them
//! over the flaky example service (half its calls fail) reports the page alert firing.

use std::process::Command;

use track_metrics::slo::Objective;
use track_metrics::track_metrics;

use crate::common;
use crate::prometheus::{TempDirectory, scrape_config, start_prometheus, wait_for};

/// 99.9% of checkouts succeed; 99% take at most 250 ms.
const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(99.9)
    .latency(0.25, 99.0);

#[derive(Debug, track_metrics::ErrorType)]
enum CheckoutError {
    Declined,
}

#[track_metrics(objective = CHECKOUT, buckets = [0.1, 0.25, 1.0])]
fn checkout(card: u64) -> Result<u64, CheckoutError> {
    if card == 0 {
        Err(CheckoutError::Declined)
    } else {
        Ok(card)
    }
}

/// The same objective with an error counter of its own, which has no series in the unit tests:
/// the SLI must still count `checkout`'s errors (an empty side empties a PromQL sum).
#[track_metrics(objective = CHECKOUT, errors = "refund_errors_total", buckets = [0.1, 0.25, 1.0])]
fn refund(card: u64) -> Result<u64, CheckoutError> {
    checkout(card)
}

/// A name with Go template actions, quotes and a backslash: alerts must show it as written.
const ODD: Objective = Objective::new(r#"we{{ .Value }}ird "q" \ {{{"#).success_rate(99.0);

#[track_metrics(objective = ODD, name = "f{{ $labels }}")]
fn odd(card: u64) -> Result<u64, CheckoutError> {
    checkout(card)
}

/// A name with the characters PromQL's lexer and YAML treat apart: the replacement character
/// (which PromQL refuses in a string), and two non-characters.
const REPLACED: Objective = Objective::new("odd\u{fffd}\u{fffe}\u{ffff}name").success_rate(99.0);

#[track_metrics(objective = REPLACED)]
fn replaced(card: u64) -> Result<u64, CheckoutError> {
    checkout(card)
}

/// `promtool <args>` in `directory`, with every promtool there is (2.42 and 3.5); panics with
/// its output unless each succeeds.
fn promtool(directory: &TempDirectory, args: &[&str]) -> String {
    let mut reports = String::new();
    for tool in common::promtools() {
        reports.push_str(&promtool_with(&tool, directory, args));
    }
    reports
}

fn promtool_with(tool: &std::path::Path, directory: &TempDirectory, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(&directory.0)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{report}",
        tool.display()
    );
    report
}

/// The labels of one series of the function, as the exposition writes them.
fn series(name: &str, extra: &str) -> String {
    format!(
        "{name}{{function=\"checkout\",module=\"{}\",objective=\"checkout\"{extra}}}",
        module_path!()
    )
}

/// The rules file the README shows is what `cargo run --example slo_rules` writes today.
#[test]
fn the_quickstarts_rules_in_the_repository_are_what_slo_rules_writes() {
    let output = Command::new(common::example_binary("slo_rules"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed = include_str!("../../examples/quickstart_rules.yml");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed,
        "examples/quickstart_rules.yml is stale: cargo run --example slo_rules > examples/quickstart_rules.yml"
    );
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn the_rules_pass_promtool_and_page_at_the_workbooks_burn_rates_and_times() {
    let _ = refund(1);
    let _ = odd(1);
    let _ = replaced(1);
    let rules = track_metrics::slo::rules().unwrap();
    let directory = TempDirectory::new("slo-rules");
    std::fs::write(directory.0.join("rules.yml"), &rules).unwrap();
    let checked = promtool(&directory, &["check", "rules", "rules.yml"]);
    assert!(checked.contains("SUCCESS: 36 rules found"), "{checked}");

    let annotations = |sli: &str, severity: &str| {
        let (target, windows) = match (sli, severity) {
            ("success", "page") => (
                "99.9% of calls succeed",
                "14.4x over 1h and 5m, or 6x over 6h and 30m",
            ),
            ("success", _) => (
                "99.9% of calls succeed",
                "3x over 1d and 2h, or 1x over 3d and 6h",
            ),
            (_, "page") => (
                "99% of calls take at most 0.25 s",
                "14.4x over 1h and 5m, or 6x over 6h and 30m",
            ),
            _ => (
                "99% of calls take at most 0.25 s",
                "3x over 1d and 2h, or 1x over 3d and 6h",
            ),
        };
        format!(
            "            exp_annotations:\n              summary: \"Objective checkout ({target}) is burning its {sli} error budget: {windows}\"\n              description: \"The {sli} SLI of objective checkout ({target}) spends its error budget too fast; at this pace a {severity} is due. Functions: checkout, refund.\"\n"
        )
    };
    let alert = |sli: &str, severity: &str| {
        format!(
            "          - exp_labels:\n              objective: checkout\n              sli: {sli}\n              severity: {severity}\n{}",
            annotations(sli, severity)
        )
    };
    let test = |name: &str, at: &str, alerts: &[(&str, &str)]| {
        let expected: String = alerts
            .iter()
            .map(|(sli, severity)| alert(sli, severity))
            .collect();
        let expected = if expected.is_empty() {
            "        exp_alerts: []\n".to_owned()
        } else {
            format!("        exp_alerts:\n{expected}")
        };
        format!("      - eval_time: {at}\n        alertname: {name}\n{expected}")
    };
    let calls = series("function_calls_total", "");
    let errors = series("function_errors_total", ",error_type=\"Declined\"");
    let fast = series("function_duration_seconds_bucket", ",le=\"0.25\"");
    let count = series("function_duration_seconds_count", "");
    let mut tests = String::from("rule_files:\n  - rules.yml\nevaluation_interval: 1m\ntests:\n");
    // 1. Six healthy hours, then 2% of calls fail: a 20x burn of a 0.1% budget. The 1 h window
    // passes 14.4x after 43.2 minutes (2k / 6000 > 0.0144); the ticket's 6 h window passes 1x
    // after 18.
    tests.push_str(&format!(
        "  - interval: 1m\n    input_series:\n      - series: '{calls}'\n        values: '0+100x660'\n      - series: '{errors}'\n        values: '0x360 2+2x299'\n      - series: '{fast}'\n        values: '0+100x660'\n      - series: '{count}'\n        values: '0+100x660'\n    alert_rule_test:\n{}{}{}{}{}",
        test("SLOBudgetBurnErrors", "6h", &[]),
        test("SLOBudgetBurnErrors", "6h10m", &[]),
        test("SLOBudgetBurnErrors", "6h35m", &[("success", "ticket")]),
        test("SLOBudgetBurnErrors", "6h50m", &[("success", "page"), ("success", "ticket")]),
        test("SLOBudgetBurnLatency", "6h50m", &[]),
    ));
    // 2. Six healthy hours, then 25% of calls slower than 250 ms: a 25x burn of a 1% budget.
    // The 1 h window passes 14.4x after 34.6 minutes (25k / 6000 > 0.144).
    tests.push_str(&format!(
        "  - interval: 1m\n    input_series:\n      - series: '{calls}'\n        values: '0+100x660'\n      - series: '{fast}'\n        values: '0+100x360 36075+75x299'\n      - series: '{count}'\n        values: '0+100x660'\n    alert_rule_test:\n{}{}{}",
        test("SLOBudgetBurnLatency", "6h30m", &[("latency", "ticket")]),
        test("SLOBudgetBurnLatency", "6h45m", &[("latency", "page"), ("latency", "ticket")]),
        test("SLOBudgetBurnErrors", "6h45m", &[]),
    ));
    // 3. Half the budget, for two days: 0.05% of calls fail, 0.5% are slow. Nothing fires.
    tests.push_str(&format!(
        "  - interval: 5m\n    input_series:\n      - series: '{calls}'\n        values: '0+2000x576'\n      - series: '{errors}'\n        values: '0+1x576'\n      - series: '{fast}'\n        values: '0+1990x576'\n      - series: '{count}'\n        values: '0+2000x576'\n    alert_rule_test:\n{}{}{}{}",
        test("SLOBudgetBurnErrors", "1h", &[]),
        test("SLOBudgetBurnErrors", "47h", &[]),
        test("SLOBudgetBurnLatency", "1h", &[]),
        test("SLOBudgetBurnLatency", "47h", &[]),
    ));
    // 4. Names with template actions, quotes and a backslash: half of `odd`'s calls fail, and
    // the alerts carry the objective's and the function's names as written.
    let odd_series = |name: &str, extra: &str| {
        format!(
            r#"{name}{{function="f{{{{ $labels }}}}",module="{}",objective="we{{{{ .Value }}}}ird \"q\" \\ {{{{{{"{extra}}}"#,
            module_path!()
        )
    };
    let odd_alert = |severity: &str, windows: &str| {
        format!(
            "          - exp_labels:\n              objective: 'we{{{{ .Value }}}}ird \"q\" \\ {{{{{{'\n              sli: success\n              severity: {severity}\n            exp_annotations:\n              summary: 'Objective we{{{{ .Value }}}}ird \"q\" \\ {{{{{{ (99% of calls succeed) is burning its success error budget: {windows}'\n              description: 'The success SLI of objective we{{{{ .Value }}}}ird \"q\" \\ {{{{{{ (99% of calls succeed) spends its error budget too fast; at this pace a {severity} is due. Functions: f{{{{ $labels }}}}.'\n"
        )
    };
    tests.push_str(&format!(
        "  - interval: 1m\n    input_series:\n      - series: '{}'\n        values: '0+100x60'\n      - series: '{}'\n        values: '0+50x60'\n    alert_rule_test:\n      - eval_time: 30m\n        alertname: SLOBudgetBurnErrors\n        exp_alerts:\n{}{}",
        odd_series("function_calls_total", ""),
        odd_series("function_errors_total", r#",error_type="Declined""#),
        odd_alert("page", "14.4x over 1h and 5m, or 6x over 6h and 30m"),
        odd_alert("ticket", "3x over 1d and 2h, or 1x over 3d and 6h"),
    ));
    // 5. A name PromQL cannot hold in a string: the rules still evaluate, and fire.
    let replaced_series = |name: &str, extra: &str| {
        format!(
            r#"{name}{{function="replaced",module="{}",objective="odd\ufffd\ufffe\uffffname"{extra}}}"#,
            module_path!()
        )
    };
    tests.push_str(&format!(
        "  - interval: 1m\n    input_series:\n      - series: '{}'\n        values: '0+100x60'\n      - series: '{}'\n        values: '0+50x60'\n    promql_expr_test:\n      - expr: 'count(ALERTS{{alertname=\"SLOBudgetBurnErrors\",severity=\"page\",alertstate=\"firing\"}})'\n        eval_time: 30m\n        exp_samples:\n          - labels: '{{}}'\n            value: 1\n",
        replaced_series("function_calls_total", ""),
        replaced_series("function_errors_total", r#",error_type="Declined""#),
    ));
    std::fs::write(directory.0.join("tests.yml"), &tests).unwrap();
    let report = promtool(&directory, &["test", "rules", "tests.yml"]);
    assert!(report.contains("SUCCESS"), "{report}\n{tests}");
}

#[test]
#[ignore = "needs the Prometheus server (Debian package prometheus); .ci/run installs it"]
fn prometheus_fires_the_page_alert_over_the_flaky_service() {
    let service = common::example_binary("flaky_service");
    let rules = Command::new(&service).arg("--slo-rules").output().unwrap();
    assert!(rules.status.success());
    let (_service, _, target) = common::serving(
        Command::new(&service)
            .env("CALLS", "100000")
            .env("PAUSE_MS", "20"),
    );
    let rules_directory = TempDirectory::new("slo-alerts");
    let rules_path = rules_directory.0.join("rules.yml");
    std::fs::write(&rules_path, &rules.stdout).unwrap();
    let (_prometheus, web, _directory) =
        start_prometheus(&scrape_config("flaky", &[target], &[&rules_path]), &[]);
    wait_for(
        web,
        "count(ALERTS{alertname=\"SLOBudgetBurnErrors\",objective=\"work\",severity=\"page\",alertstate=\"firing\"})",
        |count| count == 1.0,
    );
    let alerts = common::request(web, "GET", "/api/v1/alerts");
    let json: serde_json::Value = serde_json::from_str(&alerts.body).unwrap();
    let page = json["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["labels"]["severity"] == "page")
        .unwrap_or_else(|| panic!("no page alert in {}", alerts.body));
    assert_eq!(page["state"], "firing");
    assert_eq!(page["labels"]["objective"], "work");
    assert!(
        page["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("Functions: work."),
        "{page}"
    );
}

//! `#[track_metrics]` adds a `# Metrics` section to the function's rustdoc, with its series and
//! ready PromQL, read here from the HTML that `cargo rustdoc` renders for the quickstart.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_rendered_docs_list_the_series_and_the_queries() {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let status = Command::new(env!("CARGO"))
        .args([
            "rustdoc",
            "--quiet",
            "--example",
            "quickstart",
            "--",
            "--document-private-items",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo rustdoc");
    assert!(status.success());
    let page =
        std::fs::read_to_string(target.join("doc/quickstart/fn.slow_operation.html")).unwrap();
    let text = page
        .replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<");
    let selector = r#"{function="slow_operation",module="quickstart"}"#;
    for expected in [
        format!("function_calls_total{selector}"),
        format!("sum(rate(function_calls_total{selector}[5m]))"),
        format!(
            "histogram_quantile(0.5, sum by (le) (rate(function_duration_seconds_bucket{selector}[5m])))"
        ),
        format!(
            "histogram_quantile(0.99, sum by (le) (rate(function_duration_seconds_bucket{selector}[5m])))"
        ),
        // The tests build the runtime with `otel`, whose exemplars the docs show how to query.
        format!("/api/v1/query_exemplars)\nfunction_duration_seconds_bucket{selector}"),
    ] {
        assert!(
            text.contains(&expected),
            "{expected} not in the rendered docs"
        );
    }
}

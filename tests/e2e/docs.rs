//! `#[track_metrics]` adds a `# Metrics` section to the function's rustdoc, with its series and
//! ready PromQL, read here from the HTML that `cargo rustdoc` renders for the quickstart.

use std::path::PathBuf;
use std::process::Command;

/// Where cargo writes the docs: `CARGO_TARGET_DIR`, else the workspace's `target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    )
}

#[test]
fn the_rendered_docs_list_the_series_and_the_queries() {
    let target = target_dir();
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

/// The crate's own pages, as docs.rs renders them: every option of the attribute and every kind
/// and attribute of `metrics!` on its page, and no page that sends the reader to itself.
#[test]
fn the_reference_pages_document_every_option_and_never_point_to_themselves() {
    let target = target_dir();
    let status = Command::new(env!("CARGO"))
        .args(["doc", "--quiet", "--no-deps", "-p", "track-metrics"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo doc");
    assert!(status.success());
    let page = |name: &str| {
        std::fs::read_to_string(target.join("doc/track_metrics").join(name))
            .unwrap()
            .replace("&quot;", "\"")
    };
    let attribute = page("attr.track_metrics.html");
    for option in [
        "name = ",
        "calls = ",
        "duration = ",
        "errors = ",
        "labels(",
        "buckets = ",
        "in_flight",
        "native_histogram",
        "objective = ",
        "error_type = ",
        "ok_if = ",
        "error_if = ",
        "future",
        "self_type = ",
        "skip",
        "no_docs",
    ] {
        assert!(
            attribute.contains(&format!("<code>{option}")),
            "the attribute's page does not list `{option}`"
        );
    }
    let declarations = page("macro.metrics.html");
    for kind in [
        "counter",
        "gauge",
        "histogram",
        "summary",
        "info",
        "enum",
        "#[buckets(",
        "#[quantiles(",
        "#[max_age_seconds(",
        "#[max_series(",
        "#[exemplars]",
        "#[legacy_name]",
    ] {
        assert!(
            declarations.contains(&format!("<code>{kind}")),
            "the page of `metrics!` does not list `{kind}`"
        );
    }
    for name in [
        "attr.track_metrics.html",
        "macro.metrics.html",
        "derive.LabelValue.html",
        "derive.ErrorType.html",
    ] {
        assert!(
            !page(name).contains("for the documentation"),
            "{name} sends the reader elsewhere for its own documentation"
        );
    }
}

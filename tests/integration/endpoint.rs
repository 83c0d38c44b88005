//! The HTTP endpoint over real TCP: status codes, headers, methods.

use track_metrics::testing::Exposition;

use crate::common::{self, exporter, request};

#[test]
fn get_serves_the_exposition_with_the_text_format_content_type() {
    let addr = exporter().local_addr().unwrap();
    metrics::describe_counter!("endpoint_hits_total", "Hits");
    metrics::counter!("endpoint_hits_total").increment(1);
    let response = request(addr, "GET", "/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let scrape = Exposition::parse(&response.body).unwrap();
    assert_eq!(scrape.value("endpoint_hits_total", &[]), Some(1.0));
    // What `render()` returns, for a family that the request itself does not move.
    let family = |text: &str| common::family_text(text, "endpoint_hits_total");
    assert_eq!(family(&response.body), family(&track_metrics::render()));
}

#[test]
fn a_query_string_does_not_change_the_path() {
    let response = request(exporter().local_addr().unwrap(), "GET", "/metrics?name[]=x");
    assert_eq!(response.status, 200);
}

#[test]
fn head_answers_without_a_body() {
    let response = request(exporter().local_addr().unwrap(), "HEAD", "/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some(track_metrics::CONTENT_TYPE)
    );
    assert_eq!(response.body, "");
}

#[test]
fn other_paths_are_not_found() {
    let addr = exporter().local_addr().unwrap();
    for path in [
        "/metrics/",
        "/metricsx",
        "/favicon.ico",
        "/live.jsx",
        "/x/live.js",
    ] {
        let response = request(addr, "GET", path);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.body, "not found: metrics are served at /metrics\n");
    }
}

/// The live page is at `/` by default, with its script and style sheet beside it, each under a
/// Content-Security-Policy that allows nothing inline and nothing from elsewhere.
#[test]
fn the_live_page_and_its_assets_are_served_beside_the_metrics() {
    let addr = exporter().local_addr().unwrap();
    for (path, content_type, starts) in [
        ("/", "text/html; charset=utf-8", "<!doctype html>"),
        (
            "/?fragment=1&module=integration",
            "text/html; charset=utf-8",
            "<table id=\"functions\">",
        ),
        (
            "/live.js",
            "text/javascript; charset=utf-8",
            "// The live page's script",
        ),
        ("/live.css", "text/css; charset=utf-8", "body {"),
    ] {
        let response = request(addr, "GET", path);
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{path}"
        );
        assert!(
            response.body.starts_with(starts),
            "{path}: {}",
            response.body
        );
        let policy = response.header("content-security-policy").unwrap();
        assert!(
            policy.starts_with("default-src 'none'; script-src 'self';"),
            "{policy}"
        );
        assert!(!policy.contains("unsafe"), "{policy}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
    let head = request(addr, "HEAD", "/");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
}

#[test]
fn other_methods_are_not_allowed() {
    let addr = exporter().local_addr().unwrap();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let response = request(addr, method, "/metrics");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
    }
}

#[test]
fn the_exporter_reports_its_bound_address_and_url() {
    let exporter = exporter();
    let addr = exporter.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    assert_ne!(
        addr.port(),
        0,
        "port 0 is replaced by the port the system picked"
    );
    assert_eq!(exporter.url().unwrap(), format!("http://{addr}/metrics"));
}

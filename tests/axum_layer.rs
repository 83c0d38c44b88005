//! The tower layer on a real axum server over TCP: requests counted by method, route template
//! and status, timed, in flight while they run; the `/metrics` handler serves the exposition.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::{Response, request_with};
use track_metrics::axum::{MetricsLayer, metrics};
use track_metrics::testing::Exposition;

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "slow"
}

fn app() -> Router {
    Router::new()
        .route(
            "/users",
            get(|| async { "users" }).post(|| async { "created" }),
        )
        .route("/users/{id}", get(|| async { "a user" }))
        .route("/slow", get(slow))
        .route("/metrics", get(metrics))
        .layer(MetricsLayer::new())
}

fn send(addr: SocketAddr, method: &str, path: &str) -> Response {
    request_with(TcpStream::connect(addr).unwrap(), addr, method, path, &[])
}

#[test]
fn requests_are_counted_by_method_route_template_and_status() {
    track_metrics::Exporter::builder()
        .without_listener()
        .install()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app()).await });

    assert_eq!(send(addr, "GET", "/users/42").status, 200);
    assert_eq!(send(addr, "GET", "/users/7").status, 200);
    assert_eq!(send(addr, "POST", "/users").status, 200);
    assert_eq!(send(addr, "DELETE", "/users").status, 405);
    assert_eq!(send(addr, "GET", "/no/such/page").status, 404);
    assert_eq!(send(addr, "BREW", "/users").status, 405);
    for id in 0..50 {
        // Many raw paths, one route template: one series.
        assert_eq!(
            send(addr, "GET", &format!("/users/{id}-{}", id * 7)).status,
            200
        );
    }
    let slow = std::thread::spawn(move || send(addr, "GET", "/slow"));
    std::thread::sleep(Duration::from_millis(150));
    let during = send(addr, "GET", "/metrics");
    assert_eq!(
        during.header("content-type"),
        Some(track_metrics::CONTENT_TYPE)
    );
    let during = Exposition::parse(&during.body).unwrap();
    // The scrape itself and the slow request.
    assert_eq!(during.value("http_requests_in_flight", &[]), Some(2.0));
    assert_eq!(slow.join().unwrap().status, 200);

    let response = send(addr, "GET", "/metrics");
    let scrape = Exposition::parse(&response.body).unwrap();
    let count = |method: &str, route: &str, status: &str| {
        scrape.value(
            "http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert_eq!(count("GET", "/users/{id}", "200"), Some(52.0));
    assert_eq!(count("POST", "/users", "200"), Some(1.0));
    assert_eq!(count("DELETE", "/users", "405"), Some(1.0));
    assert_eq!(count("GET", "unmatched", "404"), Some(1.0));
    assert_eq!(count("other", "/users", "405"), Some(1.0));
    assert_eq!(count("GET", "/slow", "200"), Some(1.0));
    let slow_count = scrape.value(
        "http_request_duration_seconds_count",
        &[("method", "GET"), ("route", "/slow")],
    );
    assert_eq!(slow_count, Some(1.0));
    let slow_sum = scrape
        .value(
            "http_request_duration_seconds_sum",
            &[("method", "GET"), ("route", "/slow")],
        )
        .unwrap();
    assert!((0.3..2.0).contains(&slow_sum), "{slow_sum}");
    assert_eq!(
        scrape.value("http_requests_in_flight", &[]),
        Some(1.0),
        "only this scrape"
    );
    assert!(
        !response.body.contains("/users/42"),
        "raw paths never become labels"
    );
    common::assert_promtool_accepts(&response.body);
}

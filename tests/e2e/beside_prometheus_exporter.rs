//! `cargo run --example beside_prometheus_exporter`: a service that keeps
//! metrics-exporter-prometheus gets its `#[track_metrics]` handlers and its `metrics!` family in
//! that exporter's scrape, beside its own facade metric, in one valid exposition.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;

use crate::common;

#[test]
fn the_prometheus_exporters_scrape_has_the_functions_and_the_family() {
    let (_child, _stdout, target) = common::serving(
        Command::new(common::example_binary("beside_prometheus_exporter")).stderr(Stdio::piped()),
    );
    let addr: SocketAddr = target.parse().unwrap();
    let module = [("module", "beside_prometheus_exporter")];
    let with = |function: &'static str| [("function", function), module[0]];
    let deadline = Instant::now() + Duration::from_secs(60);
    let (text, scrape) = loop {
        let response = common::request(addr, "GET", "/metrics");
        assert_eq!(response.status, 200);
        let scrape = Exposition::parse(&response.body)
            .unwrap_or_else(|error| panic!("{error} in:\n{}", response.body));
        // One order in seven fails: wait until one has.
        let failed = scrape.value(
            "function_errors_total",
            &[with("place_order")[0], module[0], ("error_type", "503")],
        );
        if failed.is_some()
            && scrape
                .value("function_calls_total", &with("get_user"))
                .is_some()
        {
            break (response.body, scrape);
        }
        assert!(
            Instant::now() < deadline,
            "no failed order in 60 s:\n{}",
            response.body
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let calls = |function| common::value(&scrape, "function_calls_total", &with(function));
    let (users, orders) = (calls("get_user"), calls("place_order"));
    assert!(users >= 1.0 && orders >= 1.0, "{text}");
    // Histograms in that exporter too, since the example gives the family buckets; a call is
    // counted when it starts, its duration when it ends.
    let timed = common::value(
        &scrape,
        "function_duration_seconds_count",
        &with("place_order"),
    );
    assert!(
        timed <= orders && timed >= orders - 1.0,
        "{timed} of {orders}"
    );
    assert!(
        text.contains("# TYPE function_duration_seconds histogram\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP function_calls_total Total function calls\n"),
        "{text}"
    );
    // 404s are the client's: not errors.
    assert_eq!(
        scrape.value(
            "function_errors_total",
            &[with("get_user")[0], module[0], ("error_type", "404")]
        ),
        None,
        "{text}"
    );
    // The `metrics!` family, with its HELP, and the service's own facade counter as it was.
    let placed = common::value(&scrape, "shop_orders_total", &[("payment", "card")])
        + common::value(&scrape, "shop_orders_total", &[("payment", "invoice")]);
    assert!(placed >= 1.0);
    assert!(
        text.contains("# HELP shop_orders_total Orders placed, by payment method\n"),
        "{text}"
    );
    assert!(common::value(&scrape, "user_lookups", &[]) >= 1.0);
}

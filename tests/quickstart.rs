//! `cargo run --example quickstart` as a user runs it: it prints where it serves, the scrape is
//! the tutorial's metrics and passes promtool, and Ctrl-C stops it cleanly.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;

fn start(addr: &str) -> Command {
    let mut command = Command::new(common::example_binary("quickstart"));
    command
        .env("TRACK_METRICS_ADDR", addr)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Sends SIGINT, as Ctrl-C in a terminal does.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the quickstart did not stop within {limit:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_quickstart_serves_the_tutorial_metrics_and_stops_on_ctrl_c() {
    let mut child = start("127.0.0.1:0").spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("Serving metrics at ")
        .expect(&first)
        .to_owned();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    assert_eq!(second.trim(), format!("See them with: curl {url}"));

    // Scrape until the loop has gone round a few times.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (text, scrape) = loop {
        let response = common::request(addr, "GET", "/metrics");
        assert_eq!(response.status, 200);
        let scrape = Exposition::parse(&response.body).unwrap();
        let done = scrape.value(
            "requests_total",
            &[("method", "POST"), ("endpoint", "/orders")],
        );
        if done.is_some_and(|count| count >= 1.0) || Instant::now() > deadline {
            break (response.body, scrape);
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    let slow = [("function", "slow_operation"), ("module", "quickstart")];
    assert!(common::value(&scrape, "function_calls_total", &slow) >= 1.0);
    assert!(common::value(&scrape, "function_duration_seconds_sum", &slow) >= 0.5);
    let users = common::value(
        &scrape,
        "requests_total",
        &[("method", "GET"), ("endpoint", "/users")],
    );
    assert!(users >= 1.0);
    assert!(
        common::value(
            &scrape,
            "request_duration_seconds_count",
            &[("endpoint", "/users")]
        ) >= 1.0
    );
    assert_eq!(common::value(&scrape, "active_connections", &[]), 5.0);
    let query = [("function", "query_database"), ("module", "quickstart")];
    assert!(common::value(&scrape, "db_queries_total", &query) >= 2.0);
    let pool = common::value(&scrape, "db_pool_connections_used", &[]);
    assert!(pool == 0.0 || pool == 1.0, "{pool}");
    for family in [
        "requests_total",
        "request_duration_seconds",
        "active_connections",
        "db_pool_connections_used",
    ] {
        assert!(
            scrape.family(family).unwrap().help.is_some(),
            "{family} has HELP"
        );
    }
    common::assert_promtool_accepts(&text);

    interrupt(&child);
    let output = wait_with_timeout(child, Duration::from_secs(10));
    assert!(output.status.success(), "{output:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("Stopped after"), "{rest}");
}

#[test]
fn an_invalid_address_is_reported_without_a_panic() {
    let output = start("nonsense").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid listen address `nonsense` (from TRACK_METRICS_ADDR)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

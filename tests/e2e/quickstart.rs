//! `cargo run --example quickstart` as a user runs it: it prints where it serves, the scrape is
//! the tutorial's metrics (and passes promtool), and Ctrl-C stops it cleanly.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use track_metrics::testing::Exposition;

use crate::common::{self, Running};

/// The quickstart, started on a free port, and where it serves.
fn start() -> (Running, BufReader<ChildStdout>, SocketAddr) {
    let (child, mut stdout, target) =
        common::serving(Command::new(common::example_binary("quickstart")).stderr(Stdio::piped()));
    let url = format!("http://{target}/metrics");
    let addr: SocketAddr = target.parse().unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    assert_eq!(second.trim(), format!("See them with: curl {url}"));
    (child, stdout, addr)
}

/// Scrapes until the quickstart's loop has served a `POST /orders`.
fn scrape_after_a_round(addr: SocketAddr) -> (String, Exposition) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = common::request(addr, "GET", "/metrics");
        assert_eq!(response.status, 200);
        let scrape = Exposition::parse(&response.body).unwrap();
        let done = scrape.value(
            "requests_total",
            &[("method", "POST"), ("endpoint", "/orders")],
        );
        if done.is_some_and(|count| count >= 1.0) {
            return (response.body, scrape);
        }
        assert!(Instant::now() < deadline, "no request served in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_quickstart_serves_the_tutorial_metrics_and_stops_on_ctrl_c() {
    let (child, mut stdout, addr) = start();
    let (_, scrape) = scrape_after_a_round(addr);

    // Each function counts towards an objective, which labels its series.
    let slow = [
        ("function", "slow_operation"),
        ("module", "quickstart"),
        ("objective", "operations"),
    ];
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
    let query = [
        ("function", "query_database"),
        ("module", "quickstart"),
        ("objective", "database"),
    ];
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

    // Ctrl-C in a terminal sends SIGINT.
    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    // SAFETY: `kill` with a live child's pid and a standard signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the quickstart did not stop within 10 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("Stopped after"), "{rest}");
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn the_quickstart_scrape_passes_promtool() {
    let (_child, _stdout, addr) = start();
    let (text, _) = scrape_after_a_round(addr);
    common::assert_promtool_accepts(&text);
}

#[test]
fn an_invalid_address_is_reported_without_a_panic() {
    let output = Command::new(common::example_binary("quickstart"))
        .env("TRACK_METRICS_ADDR", "nonsense")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid listen address `nonsense` (from TRACK_METRICS_ADDR)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `fn main() -> Result<(), track_metrics::Error>` prints the error's `Debug` form: the message
/// that says what to do, not the variant's fields.
#[test]
fn a_main_that_returns_the_error_prints_what_to_do_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let output = Command::new(common::example_binary("first_function"))
        .env(
            "TRACK_METRICS_ADDR",
            taken.local_addr().unwrap().to_string(),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("Error: cannot listen on 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("TRACK_METRICS_ADDR=host:port"), "{stderr}");
    assert!(!stderr.contains("Bind {"), "{stderr}");
}

#[test]
fn the_readmes_first_example_prints_what_the_readme_shows() {
    let output = Command::new(common::example_binary("first_function"))
        .env("TRACK_METRICS_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let scrape = Exposition::parse(&stdout).unwrap();
    let labels = [("function", "fetch_user"), ("module", "first_function")];
    assert_eq!(scrape.value("function_calls_total", &labels), Some(10.0));
    assert_eq!(
        scrape.value("function_duration_seconds_count", &labels),
        Some(10.0)
    );
    for error_type in ["NotFound", "Timeout"] {
        let [function, module] = labels;
        assert_eq!(
            scrape.value(
                "function_errors_total",
                &[function, module, ("error_type", error_type)]
            ),
            Some(1.0),
            "{stdout}"
        );
    }
    // The README shows the first bucket of the Rust functions' layout.
    assert!(
        stdout.contains(
            "function_duration_seconds_bucket{function=\"fetch_user\",module=\"first_function\",le=\"0.00001\"}"
        ),
        "{stdout}"
    );
}

//! Three real Prometheus servers scrape one `examples/traced_service.rs`, whose calls run in
//! OpenTelemetry spans with native histograms on, and each gets what its features ask for, with
//! Debian bookworm's Prometheus 2.42 as with Prometheus 3.5 LTS:
//! - with `exemplar-storage,native-histograms` (protobuf): the native histogram, whose count
//!   and p99 the query API answers within its resolution, and the sampled calls' trace ids as
//!   exemplars;
//! - with `exemplar-storage` (OpenMetrics): classic buckets and the exemplars;
//! - with no feature (OpenMetrics): classic buckets.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

use crate::common;
use crate::common::Running;
use crate::prometheus::{
    TempDirectory, query, scrape_config, start_prometheus, start_prometheus_3, wait_for,
};

const CALLS: u64 = 400;
/// Bucket growth at schema 3 (factor 1.1): `2^(1/8)`.
const GROWTH: f64 = 1.090_507_732_665_257_7;

fn get_json(prometheus: SocketAddr, path: &str) -> serde_json::Value {
    let response = common::request_with(
        TcpStream::connect(prometheus).unwrap(),
        prometheus,
        "GET",
        path,
        &[],
    );
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

/// The target's health and last error, as Prometheus reports them.
fn target_health(prometheus: SocketAddr) -> (String, String) {
    let targets = get_json(prometheus, "/api/v1/targets");
    let target = &targets["data"]["activeTargets"][0];
    (
        target["health"].as_str().unwrap_or_default().to_owned(),
        target["lastError"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The trace ids of the exemplars Prometheus stored for `selector` over the last hour.
fn exemplar_trace_ids(prometheus: SocketAddr, selector: &str) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let encoded: String = selector
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let json = get_json(
        prometheus,
        &format!(
            "/api/v1/query_exemplars?query={encoded}&start={}&end={}",
            now - 3600,
            now + 60
        ),
    );
    json["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|series| series["exemplars"].as_array().unwrap().clone())
        .map(|exemplar| exemplar["labels"]["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[ignore = "needs the Prometheus server (Debian package prometheus); .ci/run installs it"]
fn prometheus_2_gets_native_histograms_exemplars_or_classic_buckets_as_its_features_ask() {
    features_ask(start_prometheus);
}

#[test]
#[ignore = "needs Prometheus 3.5 (Debian sid's package prometheus); .ci/run unpacks it"]
fn prometheus_3_gets_native_histograms_exemplars_or_classic_buckets_as_its_features_ask() {
    features_ask(start_prometheus_3);
}

fn features_ask(start_prometheus: fn(&str, &[&str]) -> (Running, SocketAddr, TempDirectory)) {
    let (mut service, mut stdout, target) = common::serving(
        Command::new(common::example_binary("traced_service"))
            .env("CALLS", CALLS.to_string())
            .env("START_ON_INPUT", "1")
            .stdin(Stdio::piped()),
    );
    let config = scrape_config("traced", &[target], &[]);
    let (_native, native, _d1) = start_prometheus(
        &config,
        &["--enable-feature=exemplar-storage,native-histograms"],
    );
    let (_exemplars, exemplars, _d2) =
        start_prometheus(&config, &["--enable-feature=exemplar-storage"]);
    let (_plain, plain, _d3) = start_prometheus(&config, &[]);
    let servers = [native, exemplars, plain];

    // Every server has scraped the service at zero before it works, so the whole workload is
    // inside the rate windows.
    for server in servers {
        wait_for(server, "up{job=\"traced\"}", |up| up == 1.0);
        wait_for(
            server,
            "function_calls_total{function=\"handle\"}",
            |calls| calls == 0.0,
        );
    }
    writeln!(service.0.stdin.as_mut().unwrap(), "go").unwrap();
    let mut line = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        line.trim().to_owned()
    };
    let true_p99: f64 = line().strip_prefix("p99 ").unwrap().parse().unwrap();
    let sampled: HashSet<String> = line()
        .strip_prefix("sampled ")
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(line(), "done");
    assert!(sampled.len() > CALLS as usize / 4, "{}", sampled.len());

    // (a, b) The native histogram, from protobuf.
    wait_for(
        native,
        "histogram_count(function_duration_seconds{function=\"handle\"})",
        |count| count == CALLS as f64,
    );
    let rate = query(
        native,
        "histogram_count(rate(function_duration_seconds{function=\"handle\"}[1m]))",
    );
    assert!(rate[0].1 > 0.0 && rate[0].1.is_finite(), "{rate:?}");
    let p99 = query(
        native,
        "histogram_quantile(0.99, rate(function_duration_seconds{function=\"handle\"}[1m]))",
    )[0]
    .1;
    eprintln!("native p99 {p99:.6} s, the workload's {true_p99:.6} s");
    // The estimate lies in the bucket of the true p99, (l, l * GROWTH]; 1% more for the
    // microseconds between the example's clock and the function's.
    assert!(
        p99 <= true_p99 * GROWTH * 1.01 && p99 >= true_p99 / GROWTH / 1.01,
        "native p99 {p99} vs the workload's {true_p99}"
    );
    // A function without native buckets in the same family is read as classic: protobuf
    // sends it in a message of its own, since Prometheus before 2.45 reads a family by its
    // first series.
    wait_for(
        native,
        "function_duration_seconds_bucket{function=\"audit\",le=\"+Inf\"}",
        |count| count == CALLS as f64,
    );
    // Prometheus keeps the native histogram only: no classic series from this server.
    assert!(
        query(
            native,
            "function_duration_seconds_bucket{function=\"handle\"}"
        )
        .is_empty()
    );
    // The exemplars are calls made in sampled spans.
    let traces = exemplar_trace_ids(native, "{function=\"handle\"}");
    assert!(!traces.is_empty(), "no exemplar stored");
    assert!(
        traces.iter().all(|trace| sampled.contains(trace)),
        "{traces:?}"
    );

    // (c) Classic buckets over OpenMetrics, with exemplars where they are stored.
    for server in [exemplars, plain] {
        wait_for(
            server,
            "function_duration_seconds_bucket{function=\"handle\",le=\"+Inf\"}",
            |count| count == CALLS as f64,
        );
        let classic = query(
            server,
            "histogram_quantile(0.99, sum by (le) (rate(function_duration_seconds_bucket{function=\"handle\"}[1m])))",
        );
        assert!(
            classic[0].1.is_finite() && classic[0].1 > 0.0,
            "{classic:?}"
        );
        // No `_created` series: OpenMetrics carries none by default (`created_lines`).
        assert!(query(server, "function_calls_created{function=\"handle\"}").is_empty());
    }
    let traces = exemplar_trace_ids(
        exemplars,
        "function_duration_seconds_bucket{function=\"handle\"}",
    );
    assert!(!traces.is_empty(), "no exemplar stored over OpenMetrics");
    assert!(
        traces.iter().all(|trace| sampled.contains(trace)),
        "{traces:?}"
    );
    assert!(exemplar_trace_ids(plain, "{function=\"handle\"}").is_empty());

    for server in servers {
        assert_eq!(query(server, "up{job=\"traced\"}")[0].1, 1.0);
        assert_eq!(target_health(server), ("up".to_owned(), String::new()));
    }
}

//! The OTLP export into the receivers fleets run, compared with the scrape of the same process:
//! - VictoriaMetrics 1.145 receives OTLP from `traced_service` (native histograms as
//!   exponential ones, which it keeps as `vmrange` buckets) and scrapes it too: MetricsQL gives
//!   the exact call count by both paths, and a p99 within a bucket's width of the workload's;
//! - vmagent receives it (classic buckets, as a pipeline into Prometheus wants them) and
//!   remote-writes into Prometheus 3.5, which scrapes the service too (native histograms):
//!   PromQL gives the exact count by both paths, and p99s within a classic bucket of each other.
//!
//! Exemplars: VictoriaMetrics keeps none (it stores no exemplars), and vmagent forwards none to
//! Prometheus, whereas Prometheus keeps the scrape's. The scripted receiver of
//! `tests/install/otlp.rs` checks the exemplars that are sent.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use crate::common::{self, Running};
use crate::prometheus::{TempDirectory, free_port, query, start_prometheus_with, wait_for};

const CALLS: u64 = 400;

/// vmagent with `flags` on a free port (`{dir}` in a flag is a fresh directory); returns it
/// and its address.
fn start_vmagent(flags: &[String]) -> (Running, SocketAddr, TempDirectory) {
    let binary = common::required_tool_3("vmagent", "VMAGENT");
    let directory = TempDirectory::new("vmagent");
    let address = free_port();
    let running = Running(
        Command::new(binary)
            .arg(format!("-httpListenAddr={address}"))
            .arg("-loggerLevel=ERROR")
            .args(
                flags
                    .iter()
                    .map(|flag| flag.replace("{dir}", &directory.0.display().to_string())),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (running, address, directory)
}

/// Starts `traced_service` exporting OTLP to `endpoint` every second as `traced_service`, with
/// `extra` variables; returns it, where it serves, the workload's true p99, and its stdout.
fn traced_service(endpoint: &str, extra: &[(&str, &str)]) -> (Running, String, f64) {
    let mut command = Command::new(common::example_binary("traced_service"));
    command
        .env("CALLS", CALLS.to_string())
        .env("START_ON_INPUT", "1")
        .env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint)
        .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        .env("OTEL_SERVICE_NAME", "traced_service")
        .stdin(Stdio::piped());
    for (name, value) in extra {
        command.env(name, value);
    }
    let (mut service, mut stdout, target) = common::serving(&mut command);
    use std::io::Write as _;
    writeln!(service.0.stdin.as_mut().unwrap(), "go").unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let p99: f64 = line.trim().strip_prefix("p99 ").unwrap().parse().unwrap();
    std::thread::spawn(move || {
        // The rest of its output, read so that it never blocks on a full pipe.
        let mut rest = String::new();
        while stdout.read_line(&mut rest).unwrap_or(0) > 0 {}
    });
    (service, target, p99)
}

/// A Prometheus-style scrape configuration for one target.
fn scrape(job: &str, target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: {job}\n    static_configs: [{{targets: [\"{target}\"]}}]\n"
    )
}

#[test]
#[ignore = "needs VictoriaMetrics (Debian sid's package victoria-metrics); .ci/run unpacks it"]
fn victoria_metrics_gets_the_same_counts_and_p99_by_otlp_and_by_scrape() {
    // The service first, on its port; then VictoriaMetrics, scraping it.
    let victoria_port = free_port();
    let endpoint = format!("http://{victoria_port}/opentelemetry/v1/metrics");
    let (_service, target, true_p99) = traced_service(&endpoint, &[]);
    let config = TempDirectory::new("victoria-scrape");
    let config_file = config.0.join("scrape.yml");
    std::fs::write(&config_file, scrape("traced", &target)).unwrap();
    let binary = common::required_tool_3("victoria-metrics", "VICTORIA_METRICS");
    let data = TempDirectory::new("victoria-data");
    let _victoria = Running(
        Command::new(binary)
            .arg(format!("-httpListenAddr={victoria_port}"))
            .arg(format!("-storageDataPath={}", data.0.display()))
            .arg(format!("-promscrape.config={}", config_file.display()))
            .arg("-opentelemetry.usePrometheusNaming")
            // VictoriaMetrics hides the newest 30 s of data by default.
            .arg("-search.latencyOffset=1s")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let web = victoria_port;
    let calls = CALLS as f64;
    // By both paths: the scrape's series have `job`, the OTLP ones the resource's service name.
    wait_for(
        web,
        "sum(function_calls_total{function=\"handle\",job=\"traced\"})",
        |n| n == calls,
    );
    wait_for(
        web,
        "sum(function_calls_total{function=\"handle\",service_name=\"traced_service\"})",
        |n| n == calls,
    );
    let otlp = query(
        web,
        "function_calls_total{function=\"handle\",service_name=\"traced_service\"}",
    );
    assert_eq!(otlp.len(), 1, "{otlp:?}");
    assert_eq!(otlp[0].0["function"], "handle");
    assert_eq!(otlp[0].0["module"], "traced_service");
    assert!(otlp[0].0["service_instance_id"].as_str().unwrap().len() == 36);

    // The scrape's classic buckets and the export's exponential ones, which VictoriaMetrics
    // keeps as `vmrange` buckets (9% wide at schema 3).
    let classic = wait_for(
        web,
        "histogram_quantile(0.99, sum by (le) (function_duration_seconds_bucket{function=\"handle\",job=\"traced\"}))",
        f64::is_finite,
    );
    let exponential = wait_for(
        web,
        "histogram_quantile(0.99, sum by (vmrange) (function_duration_seconds_bucket{function=\"handle\",service_name=\"traced_service\"}))",
        f64::is_finite,
    );
    eprintln!("p99: workload {true_p99:.6}, scrape {classic:.6}, OTLP {exponential:.6}");
    // The p99 lies in the default bucket (0.01, 0.025] (the workload sleeps 1 to 20 ms).
    assert!(classic > 0.01 && classic <= 0.025, "{classic}");
    assert!(
        (exponential - true_p99).abs() <= true_p99 * 0.1,
        "OTLP p99 {exponential} vs the workload's {true_p99}"
    );
    assert!(
        (exponential - classic).abs() <= 0.015,
        "within the classic bucket's width"
    );
}

#[test]
#[ignore = "needs vmagent and Prometheus 3.5 (Debian sid's packages); .ci/run unpacks them"]
fn vmagent_forwards_otlp_to_prometheus_3_with_the_scrapes_counts_and_p99() {
    let prometheus_port = free_port();
    let (_vmagent, vmagent, _vmagent_directory) = start_vmagent(&[
        format!("-remoteWrite.url=http://{prometheus_port}/api/v1/write"),
        "-remoteWrite.tmpDataPath={dir}".to_owned(),
        "-remoteWrite.flushInterval=1s".to_owned(),
        "-opentelemetry.usePrometheusNaming".to_owned(),
    ]);
    let endpoint = format!("http://{vmagent}/opentelemetry/v1/metrics");
    // Classic buckets over OTLP: VictoriaMetrics' `vmrange` buckets mean nothing to PromQL.
    let (_service, target, true_p99) = traced_service(
        &endpoint,
        &[(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "explicit_bucket_histogram",
        )],
    );
    let (_prometheus, web, _directory) = start_prometheus_with(
        &common::required_tool_3("prometheus", "PROMETHEUS_3"),
        prometheus_port,
        &scrape("traced", &target),
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms,exemplar-storage",
        ],
    );
    let calls = CALLS as f64;
    wait_for(
        web,
        "sum(function_calls_total{function=\"handle\",job=\"traced\"})",
        |n| n == calls,
    );
    wait_for(
        web,
        "sum(function_calls_total{function=\"handle\",service_name=\"traced_service\"})",
        |n| n == calls,
    );
    // The scrape's native histogram and the export's classic buckets.
    let native = wait_for(
        web,
        "histogram_quantile(0.99, sum(function_duration_seconds{function=\"handle\",job=\"traced\"}))",
        f64::is_finite,
    );
    let classic = wait_for(
        web,
        "histogram_quantile(0.99, sum by (le) (function_duration_seconds_bucket{function=\"handle\",service_name=\"traced_service\"}))",
        f64::is_finite,
    );
    eprintln!("p99: workload {true_p99:.6}, scrape {native:.6}, OTLP {classic:.6}");
    assert!(classic > 0.01 && classic <= 0.025, "{classic}");
    assert!(
        (native - classic).abs() <= 0.015,
        "within the classic bucket's width"
    );
    assert!((native - true_p99).abs() <= true_p99 * 0.1);
    // Exemplars: the scrape's are kept, vmagent forwards none of the export's.
    let exemplars = |selector: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let path = format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            selector
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (byte as char).to_string(),
                    other => format!("%{other:02X}"),
                })
                .collect::<String>(),
            now - 3600,
            now + 60
        );
        let json: serde_json::Value =
            serde_json::from_str(&common::request(web, "GET", &path).body).unwrap();
        json["data"].as_array().map_or(0, Vec::len)
    };
    assert!(exemplars("{job=\"traced\"}") > 0);
    assert_eq!(exemplars("{service_name=\"traced_service\"}"), 0);
}

#[test]
#[ignore = "needs VictoriaMetrics (Debian sid's package victoria-metrics) and openssl; .ci/run \
            installs them"]
fn exports_reach_an_https_receiver_that_a_private_authority_vouches_for() {
    let directory = TempDirectory::new("otlp-tls");
    crate::pushgateway::certificates(&directory.0);
    let file = |name: &str| directory.0.join(name).display().to_string();
    let (plain, secure) = (free_port(), free_port());
    let binary = common::required_tool_3("victoria-metrics", "VICTORIA_METRICS");
    let _victoria = Running(
        Command::new(binary)
            .arg(format!("-storageDataPath={}", file("data")))
            // Queries in plain HTTP, OTLP over TLS.
            .args([format!("-httpListenAddr={plain}"), "-tls=false".to_owned()])
            .args([format!("-httpListenAddr={secure}"), "-tls=true".to_owned()])
            .arg(format!("-tlsCertFile=,{}", file("server.pem")))
            .arg(format!("-tlsKeyFile=,{}", file("server.key")))
            .arg("-opentelemetry.usePrometheusNaming")
            .arg("-search.latencyOffset=1s")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let endpoint = format!("https://{secure}/opentelemetry/v1/metrics");
    // Trusting the private authority: every call arrives.
    let (_trusting, _, _) = traced_service(
        &endpoint,
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &file("ca.pem")),
            ("OTEL_SERVICE_NAME", "trusting"),
        ],
    );
    wait_for(
        plain,
        "sum(function_calls_total{function=\"handle\",service_name=\"trusting\"})",
        |n| n == CALLS as f64,
    );
    // With Mozilla's roots only, the receiver is not trusted: the exports fail, and say so.
    let (_doubting, target, _) = traced_service(&endpoint, &[("OTEL_SERVICE_NAME", "doubting")]);
    let addr: SocketAddr = target.parse().unwrap();
    common::eventually("a failed export is counted", || {
        let scrape = common::request(addr, "GET", "/metrics").body;
        scrape.lines().any(|line| {
            line.starts_with("track_metrics_otlp_exports_total{result=\"failed\"} ")
                && !line.ends_with(" 0")
        })
    });
    assert!(query(plain, "function_calls_total{service_name=\"doubting\"}").is_empty());
}

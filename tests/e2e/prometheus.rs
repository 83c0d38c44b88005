//! A real Prometheus server scrapes three instances of `examples/flaky_service.rs` every second;
//! its query API then agrees with what the instances did: every call, a rate, a p99 in the
//! bucket the workload's durations fall in, and an error ratio of one half.

use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Running};

const INSTANCES: usize = 3;
const CALLS: u64 = 300;

/// A query's result vector, as (labels, value) pairs.
pub fn query(prometheus: SocketAddr, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let response = ask(prometheus, promql);
    assert_eq!(response.status, 200, "{promql}: {}", response.body);
    result(&response.body)
}

/// The query API's answer to `promql`, whatever its status.
fn ask(prometheus: SocketAddr, promql: &str) -> common::Response {
    let encoded: String = promql
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    let path = format!("/api/v1/query?query={encoded}");
    common::request_with(
        TcpStream::connect(prometheus).unwrap(),
        prometheus,
        "GET",
        &path,
        &[],
    )
}

/// The (labels, value) pairs of a query API answer.
fn result(body: &str) -> Vec<(serde_json::Value, f64)> {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sample| {
            let value = sample["value"][1].as_str().unwrap().parse::<f64>().unwrap();
            (sample["metric"].clone(), value)
        })
        .collect()
}

pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits until `promql` gives one sample whose value satisfies `ready`, and returns it.
pub fn wait_for(prometheus: SocketAddr, promql: &str, ready: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if TcpStream::connect(prometheus).is_ok() {
            let response = ask(prometheus, promql);
            // 503 while the server starts (its storage not open yet): ask again.
            if response.status == 503 {
                assert!(
                    Instant::now() < deadline,
                    "Prometheus never became ready: {}",
                    response.body
                );
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            assert_eq!(response.status, 200, "{promql}: {}", response.body);
            let result = result(&response.body);
            if let [(_, value)] = result.as_slice()
                && ready(*value)
            {
                return *value;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never answered {promql} as expected: {result:?}"
            );
        }
        assert!(Instant::now() < deadline, "Prometheus never started");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A Prometheus configuration that scrapes `targets` (`host:port`) as `job` every second and
/// evaluates `rule_files` every second.
pub fn scrape_config(job: &str, targets: &[String], rule_files: &[&std::path::Path]) -> String {
    let targets: Vec<String> = targets
        .iter()
        .map(|target| format!("\"{target}\""))
        .collect();
    let rules: String = rule_files
        .iter()
        .map(|path| format!("  - {}\n", path.display()))
        .collect();
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{}scrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
        if rules.is_empty() {
            String::new()
        } else {
            format!("rule_files:\n{rules}")
        },
        targets.join(", ")
    )
}

/// Starts Debian bookworm's Prometheus (2.42) with `config` (YAML) in a fresh directory;
/// returns it and its address.
pub fn start_prometheus(config: &str, flags: &[&str]) -> (Running, SocketAddr, TempDirectory) {
    let binary = common::required_tool("prometheus", "PROMETHEUS", "prometheus");
    start_prometheus_with(&binary, free_port(), config, flags)
}

/// Starts Prometheus 3.5 LTS (Debian sid's) as [`start_prometheus`] does.
pub fn start_prometheus_3(config: &str, flags: &[&str]) -> (Running, SocketAddr, TempDirectory) {
    let binary = common::required_tool_3("prometheus", "PROMETHEUS_3");
    start_prometheus_with(&binary, free_port(), config, flags)
}

/// Starts the Prometheus `binary` on `web` with `config` (YAML) in a fresh directory.
pub fn start_prometheus_with(
    binary: &std::path::Path,
    web: SocketAddr,
    config: &str,
    flags: &[&str],
) -> (Running, SocketAddr, TempDirectory) {
    let directory = TempDirectory::new("prometheus");
    let config_path = directory.0.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let prometheus = Running(
        Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                directory.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (prometheus, web, directory)
}

/// A directory removed when dropped.
pub struct TempDirectory(pub std::path::PathBuf);

impl TempDirectory {
    pub fn new(what: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let directory = std::env::temp_dir().join(format!(
            "track-metrics-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        TempDirectory(directory)
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs the Prometheus server (Debian package prometheus); .ci/run installs it"]
fn prometheus_sees_every_call_rate_latency_and_error_ratio() {
    let service = common::example_binary("flaky_service");
    let mut instances = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..INSTANCES {
        let (instance, stdout, target) = common::serving(
            Command::new(&service)
                .env("CALLS", CALLS.to_string())
                .env("PAUSE_MS", "20")
                .env("START_ON_INPUT", "1")
                .stdin(Stdio::piped()),
        );
        targets.push(target);
        instances.push((instance, stdout));
    }
    let (_prometheus, web, _directory) =
        start_prometheus(&scrape_config("flaky", &targets, &[]), &[]);
    // Every instance scraped at zero before it works, so that the whole increase is in range.
    wait_for(web, "sum(up{job=\"flaky\"})", |up| up == INSTANCES as f64);
    wait_for(
        web,
        "count(function_calls_total{function=\"work\"} == 0)",
        |zero| zero == INSTANCES as f64,
    );
    for (child, _) in &mut instances {
        writeln!(child.0.stdin.as_mut().unwrap(), "go").unwrap();
    }
    for (_, stdout) in &mut instances {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done");
    }

    let calls = "sum by (function) (function_calls_total{function=\"work\"})";
    let total = (CALLS * INSTANCES as u64) as f64;
    wait_for(web, calls, |sum| sum == total);
    let by_function = query(web, calls);
    assert_eq!(by_function.len(), 1);
    assert_eq!(by_function[0].0["function"], "work");
    assert_eq!(query(web, "sum(up{job=\"flaky\"})")[0].1, 3.0);

    // The instances keep serving: the calls are inside the last minute of samples.
    let rates = query(web, "rate(function_calls_total{function=\"work\"}[1m])");
    assert_eq!(rates.len(), INSTANCES, "{rates:?}");
    assert!(
        rates
            .iter()
            .all(|(_, rate)| rate.is_finite() && *rate > 0.0),
        "{rates:?}"
    );
    // `work` sleeps 2 to 6 ms, so more than 1% of the durations are above 0.005 and the p99 is
    // too. No upper bound: a loaded machine oversleeps (a shuffled CI run saw 24 ms).
    let p99 = query(
        web,
        "histogram_quantile(0.99, sum by (le) (increase(function_duration_seconds_bucket{function=\"work\"}[1m])))",
    );
    assert!(p99[0].1 > 0.005 && p99[0].1.is_finite(), "{p99:?}");
    // A call is counted when it starts and its error when it ends: the last scrape may fall
    // between the two.
    wait_for(
        web,
        "sum(function_errors_total{function=\"work\"})",
        |errors| errors == total / 2.0,
    );
    let ratio = query(
        web,
        "sum(function_errors_total{function=\"work\"}) / sum(function_calls_total{function=\"work\"})",
    );
    assert_eq!(ratio[0].1, 0.5, "error ratio {ratio:?}");
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn the_shipped_prometheus_yml_is_a_valid_config() {
    let promtool = common::required_tool("promtool", "PROMTOOL", "prometheus");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus.yml");
    let output = Command::new(promtool)
        .args(["check", "config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

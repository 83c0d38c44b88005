//! A real Prometheus server scrapes three instances of `examples/flaky_service.rs` every second;
//! its query API then agrees with what the instances did.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Running;

const INSTANCES: usize = 3;
const CALLS: u64 = 300;

/// A query's result vector, as (labels, value) pairs.
fn query(prometheus: SocketAddr, promql: &str) -> Vec<(serde_json::Value, f64)> {
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
    let response = common::request_with(
        TcpStream::connect(prometheus).unwrap(),
        prometheus,
        "GET",
        &path,
        &[],
    );
    assert_eq!(response.status, 200, "{promql}: {}", response.body);
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
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

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn prometheus_sees_every_call_rate_latency_and_error_ratio() {
    let Some(prometheus_binary) = common::prometheus_tool("prometheus", "PROMETHEUS") else {
        common::missing_tool(
            "prometheus",
            "apt-get install prometheus, or set PROMETHEUS",
        );
        return;
    };
    let service = common::example_binary("flaky_service");
    let mut instances = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..INSTANCES {
        let mut child = Command::new(&service)
            .env("TRACK_METRICS_ADDR", "127.0.0.1:0")
            .env("CALLS", CALLS.to_string())
            .env("PAUSE_MS", "20")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("Serving metrics at http://")
            .expect(&first)
            .to_owned();
        targets.push(url.trim_end_matches("/metrics").to_owned());
        instances.push((Running(child), stdout));
    }

    let directory =
        std::env::temp_dir().join(format!("track-metrics-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let config = directory.join("prometheus.yml");
    let target_list: Vec<String> = targets
        .iter()
        .map(|target| format!("\"{target}\""))
        .collect();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: flaky\n    static_configs:\n      - targets: [{}]\n",
            target_list.join(", ")
        ),
    )
    .unwrap();
    let web = free_port();
    let _prometheus = Running(
        Command::new(&prometheus_binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                directory.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    for (_, stdout) in &mut instances {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done");
    }

    let calls = "sum by (function) (function_calls_total{function=\"work\"})";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = TcpStream::connect(web).is_ok()
            && query(web, calls)
                .first()
                .is_some_and(|(_, value)| *value == (CALLS * INSTANCES as u64) as f64);
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw every call: {:?}",
            TcpStream::connect(web).map(|_| query(web, calls))
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let by_function = query(web, calls);
    assert_eq!(by_function.len(), 1);
    assert_eq!(by_function[0].0["function"], "work");
    assert_eq!(by_function[0].1, 900.0);
    assert_eq!(query(web, "sum(up{job=\"flaky\"})")[0].1, 3.0);

    let rates = query(web, "rate(function_calls_total{function=\"work\"}[1m])");
    assert_eq!(rates.len(), INSTANCES, "{rates:?}");
    assert!(
        rates
            .iter()
            .all(|(_, rate)| rate.is_finite() && *rate > 0.0),
        "{rates:?}"
    );

    let p99 = query(
        web,
        "histogram_quantile(0.99, sum by (le) (rate(function_duration_seconds_bucket{function=\"work\"}[1m])))",
    );
    assert!(p99[0].1.is_finite() && p99[0].1 > 0.0, "{p99:?}");

    let ratio = query(
        web,
        "sum(increase(function_errors_total{function=\"work\"}[1m])) / sum(increase(function_calls_total{function=\"work\"}[1m]))",
    );
    assert!((ratio[0].1 - 0.5).abs() < 0.05, "error ratio {ratio:?}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn the_shipped_prometheus_yml_is_a_valid_config() {
    let Some(promtool) = common::prometheus_tool("promtool", "PROMTOOL") else {
        common::missing_tool("promtool", "apt-get install prometheus, or set PROMTOOL");
        return;
    };
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

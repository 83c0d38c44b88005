//! Prometheus 3.5 LTS (Debian sid's build) scrapes the quickstart in every protocol it speaks,
//! one job per protocol, and with its default `Accept`: every target up without error, the same
//! series with the same values in each, the facade's dotted names kept where Prometheus asks for
//! UTF-8 names and underscored where it does not. With `created-timestamp-zero-ingestion`, the
//! start times protobuf carries become the zero samples Prometheus inserts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;

use crate::common;
use crate::prometheus::{query, start_prometheus_3, wait_for};

/// The jobs, each with its `scrape_protocols` (none: the default) and whether the names come
/// with their dots.
const JOBS: [(&str, Option<&str>, bool); 7] = [
    ("default", None, true),
    ("proto", Some("PrometheusProto"), false),
    ("om1", Some("OpenMetricsText1.0.0"), true),
    ("om0", Some("OpenMetricsText0.0.1"), false),
    ("text1", Some("PrometheusText1.0.0"), true),
    ("text0", Some("PrometheusText0.0.4"), false),
    ("underscores", None, false),
];

fn config(target: &str) -> String {
    let mut config = "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_owned();
    for (job, protocol, _) in JOBS {
        config.push_str(&format!("  - job_name: {job}\n"));
        if let Some(protocol) = protocol {
            config.push_str(&format!("    scrape_protocols: [{protocol}]\n"));
        }
        if job == "underscores" {
            // A fleet that keeps Prometheus 2's names: Prometheus asks for underscores.
            config.push_str(
                "    metric_name_validation_scheme: legacy\n    metric_name_escaping_scheme: underscores\n",
            );
        }
        config.push_str(&format!(
            "    static_configs: [{{targets: [\"{target}\"]}}]\n"
        ));
    }
    config
}

/// Every series of `job` but Prometheus's own and the process's (read at other moments), by
/// name and labels without `job`, with its value.
fn series(prometheus: SocketAddr, job: &str) -> BTreeMap<String, f64> {
    query(
        prometheus,
        &format!("{{job=\"{job}\", __name__!~\"up|scrape_.*|process_.*|track_metrics_.*\"}}"),
    )
    .into_iter()
    .map(|(labels, value)| {
        let mut labels = labels.as_object().unwrap().clone();
        labels.remove("job");
        (serde_json::Value::Object(labels).to_string(), value)
    })
    .collect()
}

#[test]
#[ignore = "needs Prometheus 3.5 (Debian sid's package prometheus); .ci/run unpacks it"]
fn prometheus_3_reads_the_same_series_in_every_protocol() {
    let (_quickstart, _stdout, target) =
        common::serving(Command::new(common::example_binary("quickstart")).env("REQUESTS", "12"));
    let (_prometheus, web, _directory) = start_prometheus_3(&config(&target), &[]);
    // The workload is done once 12 requests are counted; then every job scrapes it again.
    for (job, _, _) in JOBS {
        wait_for(
            web,
            &format!("sum(requests_total{{job=\"{job}\"}})"),
            |count| count == 12.0,
        );
    }
    std::thread::sleep(std::time::Duration::from_secs(2));

    let targets: serde_json::Value =
        serde_json::from_str(&common::request(web, "GET", "/api/v1/targets").body).unwrap();
    let targets = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(targets.len(), JOBS.len());
    for target in targets {
        assert_eq!(target["health"], "up", "{target}");
        assert_eq!(target["lastError"], "", "{target}");
    }

    let reference = series(web, "text0");
    assert!(reference.len() > 50, "{}", reference.len());
    for (job, _, dotted) in JOBS {
        let mut got = series(web, job);
        // The facade's histogram, under the name this job's scrapes ask for.
        let (expected, other) = if dotted {
            (
                "http.server.response.body.size_count",
                "http_server_response_body_size_count",
            )
        } else {
            (
                "http_server_response_body_size_count",
                "http.server.response.body.size_count",
            )
        };
        let label = if dotted { "http.route" } else { "http_route" };
        let count = query(
            web,
            &format!("{{__name__=\"{expected}\", job=\"{job}\", \"{label}\"=\"/users\"}}"),
        );
        assert_eq!(count.len(), 1, "{job}: {count:?}");
        assert_eq!(count[0].1, 6.0, "{job}");
        assert!(
            query(web, &format!("{{__name__=\"{other}\", job=\"{job}\"}}")).is_empty(),
            "{job} has {other}"
        );
        // Apart from those names, the same series and values as over text 0.0.4.
        if dotted {
            got = got
                .into_iter()
                .map(|(key, value)| {
                    (
                        key.replace(
                            "http.server.response.body.size",
                            "http_server_response_body_size",
                        )
                        .replace("http.route", "http_route"),
                        value,
                    )
                })
                .collect();
        }
        assert_eq!(got, reference, "{job} differs from text0");
    }
}

#[test]
#[ignore = "needs Prometheus 3.5 (Debian sid's package prometheus); .ci/run unpacks it"]
fn prometheus_3_takes_protobuf_start_times_as_zero_samples() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (_quickstart, _stdout, target) =
        common::serving(Command::new(common::example_binary("quickstart")).env("REQUESTS", "4"));
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: proto\n    scrape_protocols: [PrometheusProto]\n    static_configs: [{{targets: [\"{target}\"]}}]\n"
    );
    let (_prometheus, web, _directory) = start_prometheus_3(
        &config,
        &["--enable-feature=created-timestamp-zero-ingestion"],
    );
    wait_for(web, "sum(requests_total)", |count| count == 4.0);
    // The raw samples of one counter: the first is the zero Prometheus inserted at the start
    // time the scrape carried, when `install()` ran, before the first scrape.
    let samples = common::request(
        web,
        "GET",
        "/api/v1/query?query=requests_total%7Bmethod%3D%22GET%22%2Cendpoint%3D%22%2Fusers%22%7D%5B10m%5D",
    );
    let json: serde_json::Value = serde_json::from_str(&samples.body).unwrap();
    let values = json["data"]["result"][0]["values"].as_array().unwrap();
    let (time, value) = (
        values[0][0].as_f64().unwrap(),
        values[0][1].as_str().unwrap(),
    );
    assert_eq!(value, "0", "{values:?}");
    assert!(
        time >= before - 1.0 && time < values[1][0].as_f64().unwrap(),
        "{values:?}"
    );
    // No `_created` series: protobuf carries the time as a field.
    assert!(query(web, "{__name__=~\".+_created\"}").is_empty());
}

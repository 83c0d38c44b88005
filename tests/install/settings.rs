//! The builder's settings reach the exposition: global labels on every series, default and
//! per-family buckets (the facade's included), in-flight gauges for every function, process
//! metrics off; and the endpoint outlives the `Exporter` value.

use track_metrics::testing::Exposition;
use track_metrics::track_metrics;

use crate::common::{self, in_own_process};
use crate::test_name;

const MODULE: &str = module_path!();

#[track_metrics]
fn with_defaults() {}

#[track_metrics(duration = "declared_duration_seconds", buckets = [0.1, 1.0])]
fn with_declared_buckets() {}

fn les(scrape: &Exposition, bucket_name: &str, function: &str) -> Vec<String> {
    scrape
        .samples()
        .filter(|sample| sample.name == bucket_name && sample.label("function") == Some(function))
        .map(|sample| sample.label("le").unwrap().to_owned())
        .collect()
}

/// Installs with every setting of this scenario, records, and returns the scrape's text.
fn install_and_scrape() -> String {
    let exporter = track_metrics::Exporter::builder()
        .listen_address("127.0.0.1:0")
        .global_label("service", "checkout")
        .global_label("region", "eu\\west")
        .default_buckets(&[0.5, 1.0])
        .function_buckets(&[0.5, 1.0])
        .buckets_for("facade_duration_seconds", &[0.25])
        // Facade names as OpenTelemetry writes them, given as recorded or underscored.
        .buckets_for("facade.body.size", &[64.0])
        .buckets_for("facade_dotted_seconds", &[0.125])
        .in_flight(true)
        .process_metrics(false)
        .install()
        .unwrap();
    let addr = exporter.local_addr().unwrap();
    drop(exporter);

    with_defaults();
    with_declared_buckets();
    metrics::describe_histogram!(
        "facade_duration_seconds",
        "A facade histogram with own buckets"
    );
    metrics::describe_histogram!("other_facade_seconds", "A facade histogram");
    metrics::histogram!("facade_duration_seconds").record(0.2);
    metrics::histogram!("facade.body.size").record(32.0);
    metrics::histogram!("facade.dotted.seconds").record(0.1);
    metrics::histogram!("other_facade_seconds").record(0.7);
    metrics::counter!("facade_with_global_total", "service" => "x").increment(1);

    let response = common::request(addr, "GET", "/metrics");
    assert_eq!(
        response.status, 200,
        "the endpoint serves after the Exporter is dropped"
    );
    response.body
}

#[test]
fn settings_reach_the_exposition_and_the_endpoint_outlives_the_exporter() {
    in_own_process(
        &test_name!(settings_reach_the_exposition_and_the_endpoint_outlives_the_exporter),
        || {
            let text = install_and_scrape();
            let scrape = Exposition::parse(&text).unwrap();
            for sample in scrape.samples() {
                assert_eq!(sample.label("service"), Some("checkout"), "{sample:?}");
                assert_eq!(sample.label("region"), Some("eu\\west"), "{sample:?}");
            }
            let globals = [("service", "checkout"), ("region", "eu\\west")];
            let calls = [
                ("function", "with_defaults"),
                ("module", MODULE),
                globals[0],
                globals[1],
            ];
            assert_eq!(scrape.value("function_calls_total", &calls), Some(1.0));
            assert_eq!(
                scrape.value("function_calls_in_flight", &calls),
                Some(0.0),
                "every function has its in-flight gauge"
            );
            assert!(scrape.family("function_calls_in_flight").is_some());

            assert_eq!(
                les(&scrape, "function_duration_seconds_bucket", "with_defaults"),
                ["0.5", "1", "+Inf"]
            );
            assert_eq!(
                les(
                    &scrape,
                    "declared_duration_seconds_bucket",
                    "with_declared_buckets"
                ),
                ["0.1", "1", "+Inf"]
            );
            let buckets = |name: &str| -> Vec<(String, f64)> {
                scrape
                    .samples()
                    .filter(|sample| sample.name == name)
                    .map(|sample| (sample.label("le").unwrap().to_owned(), sample.value))
                    .collect()
            };
            assert_eq!(
                buckets("facade_duration_seconds_bucket"),
                [("0.25".to_owned(), 1.0), ("+Inf".to_owned(), 1.0)]
            );
            assert_eq!(
                buckets("facade_body_size_bucket"),
                [("64".to_owned(), 1.0), ("+Inf".to_owned(), 1.0)]
            );
            assert_eq!(
                buckets("facade_dotted_seconds_bucket"),
                [("0.125".to_owned(), 1.0), ("+Inf".to_owned(), 1.0)]
            );
            assert_eq!(
                buckets("other_facade_seconds_bucket"),
                [
                    ("0.5".to_owned(), 0.0),
                    ("1".to_owned(), 1.0),
                    ("+Inf".to_owned(), 1.0)
                ]
            );
            assert!(
                !text.contains("facade_with_global_total{"),
                "a facade label that is a global label is refused: {text}"
            );
            assert_eq!(
                scrape.value(
                    "track_metrics_facade_refused_total",
                    &[("reason", "global_label"), globals[0], globals[1]]
                ),
                Some(1.0)
            );
            assert!(
                !text.contains("process_"),
                "process metrics are off: {text}"
            );
        },
    );
}

#[test]
#[ignore = "needs promtool (Debian package prometheus); .ci/run installs it"]
fn the_scrape_with_global_labels_passes_promtool() {
    in_own_process(
        &test_name!(the_scrape_with_global_labels_passes_promtool),
        || {
            common::assert_promtool_accepts(&install_and_scrape());
        },
    );
}

#[test]
fn two_scrapes_of_one_state_are_the_same_text() {
    in_own_process(
        &test_name!(two_scrapes_of_one_state_are_the_same_text),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .process_metrics(false)
                .install()
                .unwrap();
            // Series created in an order that is not the sorted one, by every path.
            for user in ["zoe", "adam", "mia", "bob"] {
                metrics::counter!("facade_logins_total", "user" => user).increment(1);
                metrics::histogram!("facade_login_seconds", "user" => user).record(0.1);
            }
            for name in ["zeta_total", "alpha_total", "mid_total"] {
                metrics::counter!(name).increment(2);
            }
            with_defaults();
            with_declared_buckets();
            let first = track_metrics::render();
            let second = track_metrics::render();
            assert_eq!(first, second);
            let families: Vec<&str> = first
                .lines()
                .filter_map(|line| line.strip_prefix("# TYPE "))
                .map(|line| line.split(' ').next().unwrap())
                .collect();
            let mut sorted = families.clone();
            sorted.sort_unstable();
            assert_eq!(families, sorted, "families in name order");
            let users: Vec<_> = first
                .lines()
                .filter(|line| line.starts_with("facade_logins_total{"))
                .collect();
            assert_eq!(
                users,
                [
                    "facade_logins_total{user=\"adam\"} 1",
                    "facade_logins_total{user=\"bob\"} 1",
                    "facade_logins_total{user=\"mia\"} 1",
                    "facade_logins_total{user=\"zoe\"} 1",
                ]
            );
        },
    );
}

#[track_metrics]
fn counted_since_install() {}

#[test]
#[ignore = "needs prometheus_client for Python (Debian package python3-prometheus-client); .ci/run installs it"]
fn created_lines_when_asked_for_are_read_by_prometheus_clients_parser() {
    in_own_process(
        &test_name!(created_lines_when_asked_for_are_read_by_prometheus_clients_parser),
        || {
            track_metrics::Exporter::builder()
                .without_listener()
                .created_lines(true)
                .install()
                .unwrap();
            counted_since_install();
            let body =
                String::from_utf8(track_metrics::render_as(track_metrics::Format::OPENMETRICS))
                    .unwrap();
            const READ: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        if sample.name.endswith("_created") and sample.labels.get("function") == "counted_since_install":
            print(sample.name, sample.value)
"#;
            let output = common::pipe(common::python(), &["-c", READ], &body);
            assert!(
                output.status.success(),
                "the OpenMetrics parser refused the exposition: {}\n{body}",
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8(output.stdout).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            let mut names = Vec::new();
            for line in stdout.lines() {
                let (name, value) = line.split_once(' ').unwrap();
                let created: f64 = value.parse().unwrap();
                assert!(created > now - 3600.0 && created <= now, "{line}");
                names.push(name.to_owned());
            }
            names.sort();
            assert_eq!(
                names,
                [
                    "function_calls_created",
                    "function_duration_seconds_created"
                ],
                "{body}"
            );
        },
    );
}

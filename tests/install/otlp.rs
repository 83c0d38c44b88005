//! The OTLP export against a receiver scripted here (what it answers, and when) that decodes
//! every request with the OpenTelemetry project's own protobuf types (`opentelemetry-proto`):
//! the values are the scrape's, the retries follow the specification, nothing is lost while
//! the receiver is down, and no receiver can hang `shutdown()`. The real receivers
//! (VictoriaMetrics, vmagent into Prometheus 3.5) are in `tests/e2e/otlp.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data, number_data_point};
use prost::Message as _;
use track_metrics::testing::Exposition;
use track_metrics::{Otlp, Temporality, track_metrics};

use crate::common::in_own_process;
use crate::test_name;

/// What the receiver answers to one request.
enum Answer {
    Status(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Takes the request and never answers.
    Silent,
}

fn ok() -> Answer {
    Answer::Status(200, Vec::new(), Vec::new())
}

/// One request as the receiver read it.
struct Received {
    headers: Vec<(String, String)>,
    request: ExportMetricsServiceRequest,
    at: Instant,
}

type Script = Box<dyn FnMut(usize) -> Answer + Send>;

/// An OTLP/HTTP receiver on a free port, answering request `n` (from 0) as `script` says.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: impl FnMut(usize) -> Answer + Send + 'static) -> Self {
        Self::start_keeping(true, script)
    }

    fn start_keeping(keep_all: bool, script: impl FnMut(usize) -> Answer + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/metrics", listener.local_addr().unwrap());
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<Script>> = Arc::new(Mutex::new(Box::new(script)));
        let shared = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (received, script) = (Arc::clone(&shared), Arc::clone(&script));
                std::thread::spawn(move || serve(stream, &received, &script, keep_all));
            }
        });
        Receiver { url, received }
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits (a long watchdog, not a timing assertion) until `n` requests came.
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.count() < n {
            assert!(
                Instant::now() < deadline,
                "only {} requests came",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn last(&self) -> ExportMetricsServiceRequest {
        self.received
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .request
            .clone()
    }
}

fn serve(
    stream: TcpStream,
    received: &Mutex<Vec<Received>>,
    script: &Mutex<Script>,
    keep_all: bool,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut headers = Vec::new();
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        assert!(line.starts_with("POST /v1/metrics "), "{line}");
        loop {
            line.clear();
            // The exporter gives up on a request past its timeouts: a connection may end
            // anywhere, and the receiver just stops serving it (a panic here would print a
            // backtrace, whose symbol loading is memory the tests of memory would count).
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let mut body = vec![0; header("content-length").unwrap().parse().unwrap()];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if header("content-encoding").as_deref() == Some("gzip") {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .unwrap();
            body = plain;
        }
        let request = ExportMetricsServiceRequest::decode(&body[..]).expect("a valid request");
        let answer = {
            let mut received = received.lock().unwrap();
            let n = received.len();
            // A receiver that keeps only the last request leaves the process's memory to the
            // exporter, for a test that measures it.
            if !keep_all && let Some(last) = received.last_mut() {
                last.request = ExportMetricsServiceRequest::default();
                last.headers = Vec::new();
            }
            received.push(Received {
                headers: headers.clone(),
                request,
                at: Instant::now(),
            });
            (script.lock().unwrap())(n)
        };
        match answer {
            Answer::Silent => {
                // Held open, never answered.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            Answer::Status(status, extra, body) => {
                let mut head = format!(
                    "HTTP/1.1 {status} Status\r\ncontent-length: {}\r\n",
                    body.len()
                );
                for (name, value) in extra {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
                    return;
                }
            }
        }
    }
}

/// Every metric of a request.
fn metrics(request: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    request
        .resource_metrics
        .iter()
        .flat_map(|resource| &resource.scope_metrics)
        .flat_map(|scope| &scope.metrics)
        .collect()
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    metrics(request)
        .into_iter()
        .find(|metric| metric.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn attributes(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|attribute| {
            let value = match attribute
                .value
                .as_ref()
                .and_then(|value| value.value.as_ref())
            {
                Some(any_value::Value::StringValue(value)) => value.clone(),
                other => panic!("{other:?}"),
            };
            (attribute.key.clone(), value)
        })
        .collect()
}

/// The value of the point of a Sum or Gauge whose attributes include `labels`.
fn number(request: &ExportMetricsServiceRequest, name: &str, labels: &[(&str, &str)]) -> f64 {
    let points = match &metric(request, name).data {
        Some(Data::Sum(sum)) => &sum.data_points,
        Some(Data::Gauge(gauge)) => &gauge.data_points,
        other => panic!("{name}: {other:?}"),
    };
    let point = points
        .iter()
        .find(|point| {
            let attributes = attributes(&point.attributes);
            labels
                .iter()
                .all(|(key, value)| attributes.get(*key).map(String::as_str) == Some(*value))
        })
        .unwrap_or_else(|| panic!("{name} has no point {labels:?}"));
    match point.value {
        Some(number_data_point::Value::AsInt(value)) => value as f64,
        Some(number_data_point::Value::AsDouble(value)) => value,
        None => panic!("no value"),
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

track_metrics::metrics! {
    /// Orders taken
    counter OTLP_ORDERS: otlp_orders_total(channel);
    /// Items waiting
    gauge OTLP_WAITING: otlp_waiting_items;
    /// Payload sizes
    #[buckets(100.0, 1000.0)]
    histogram OTLP_PAYLOAD: otlp_payload_bytes;
    /// Time spent per step
    summary OTLP_STEP: otlp_step_seconds;
    /// Version of the build
    info OTLP_BUILD: otlp_build_info(version);
}

#[derive(Debug)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

impl track_metrics::ErrorType for Declined {
    fn error_type(&self) -> &'static str {
        "declined"
    }
}

#[track_metrics]
fn charge(amount: u32) -> Result<u32, Declined> {
    if amount.is_multiple_of(4) {
        Err(Declined)
    } else {
        Ok(amount)
    }
}

#[track_metrics(native_histogram = 1.1)]
fn render_page() {}

fn in_trace() -> Option<track_metrics::Trace> {
    Some(track_metrics::Trace {
        trace_id: [0xab; 16],
        span_id: [0xcd; 8],
    })
}

#[test]
fn an_export_carries_the_scrapes_series_values_and_start_times() {
    in_own_process(
        &test_name!(an_export_carries_the_scrapes_series_values_and_start_times),
        || {
            let receiver = Receiver::start(|_| ok());
            let before_install = unix_nanos();
            let exporter = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .global_label("region", "eu")
                .exemplar_source(Some(in_trace))
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .service_name("shop")
                        .service_instance_id("shop-1")
                        .resource_attribute("deployment.environment.name", "test")
                        .interval(Duration::from_secs(3600)),
                )
                .install()
                .unwrap();
            for amount in 1..=10 {
                let _ = charge(amount);
            }
            render_page();
            OTLP_ORDERS.labels("web").inc_by(3);
            OTLP_WAITING.set(7.5);
            OTLP_PAYLOAD.observe(50.0);
            OTLP_PAYLOAD.observe(500.0);
            OTLP_STEP.observe(0.25);
            OTLP_BUILD.set("1.2.3");
            metrics::counter!("http.server.requests", "http.route" => "/a").increment(2);

            exporter.flush().unwrap();
            assert_eq!(receiver.count(), 1);
            let request = receiver.last();
            {
                let received = receiver.received.lock().unwrap();
                let headers = &received[0].headers;
                let header = |name: &str| &headers.iter().find(|(k, _)| k == name).unwrap().1;
                assert_eq!(header("content-type"), "application/x-protobuf");
                assert!(header("user-agent").starts_with("track-metrics/"));
            }

            // The resource.
            let resource = attributes(
                &request.resource_metrics[0]
                    .resource
                    .as_ref()
                    .unwrap()
                    .attributes,
            );
            assert_eq!(resource["service.name"], "shop");
            assert_eq!(resource["service.instance.id"], "shop-1");
            assert_eq!(resource["deployment.environment.name"], "test");
            assert!(request.resource_metrics[0].scope_metrics[0].scope.is_none());

            // Every counter and gauge has the value the scrape shows, under the name the
            // receivers' Prometheus naming turns back into the scrape's.
            let scrape = Exposition::parse(&track_metrics::render()).unwrap();
            let site = [("function", "charge"), ("region", "eu")];
            assert_eq!(number(&request, "function_calls", &site), 10.0);
            assert_eq!(
                number(
                    &request,
                    "function_errors",
                    &[("function", "charge"), ("error_type", "declined")]
                ),
                2.0
            );
            for family in &scrape.families {
                for sample in &family.samples {
                    let name = match family.kind.as_str() {
                        "counter" => sample.name.strip_suffix("_total").unwrap(),
                        "gauge" => sample.name.as_str(),
                        _ => continue,
                    };
                    if name.starts_with("process_") || name.starts_with("track_metrics_") {
                        continue; // read at another moment
                    }
                    if name.starts_with("http_") {
                        continue; // the dotted facade name, checked below
                    }
                    let labels: Vec<(&str, &str)> = sample
                        .labels
                        .iter()
                        .map(|(key, value)| (key.as_str(), value.as_str()))
                        .collect();
                    assert_eq!(
                        number(&request, name, &labels),
                        sample.value,
                        "{} {labels:?}",
                        sample.name
                    );
                }
            }
            assert_eq!(number(&request, "otlp_waiting_items", &[]), 7.5);
            // A UTF-8 facade name goes as written; the receivers underscore it as the scrape.
            assert_eq!(
                number(&request, "http.server.requests", &[("http.route", "/a")]),
                2.0
            );

            // Counters: monotonic cumulative sums from install() on.
            let calls = metric(&request, "function_calls");
            let Some(Data::Sum(sum)) = &calls.data else {
                panic!()
            };
            assert!(sum.is_monotonic);
            assert_eq!(sum.aggregation_temporality, 2);
            for point in &sum.data_points {
                assert!(point.start_time_unix_nano >= before_install - 1_000_000_000);
                assert!(point.start_time_unix_nano <= point.time_unix_nano);
            }
            // A classic histogram with the same bounds and per-bucket counts.
            let payload = metric(&request, "otlp_payload_bytes");
            assert_eq!(payload.unit, "By");
            let Some(Data::Histogram(histogram)) = &payload.data else {
                panic!()
            };
            let point = &histogram.data_points[0];
            assert_eq!(point.explicit_bounds, [100.0, 1000.0]);
            assert_eq!(point.bucket_counts, [1, 1, 0]);
            assert_eq!((point.count, point.sum), (2, Some(550.0)));
            // A native histogram is its function's: that series goes as an exponential
            // histogram (the scale its schema), the family's classic ones as a metric of the
            // same name with explicit buckets.
            let durations: Vec<&Metric> = metrics(&request)
                .into_iter()
                .filter(|metric| metric.name == "function_duration_seconds")
                .collect();
            assert_eq!(durations.len(), 2);
            assert!(durations.iter().all(|metric| metric.unit == "s"));
            let exponential = durations
                .iter()
                .find_map(|metric| match &metric.data {
                    Some(Data::ExponentialHistogram(histogram)) => Some(histogram),
                    _ => None,
                })
                .unwrap();
            assert_eq!(exponential.data_points.len(), 1);
            let render = &exponential.data_points[0];
            assert_eq!(attributes(&render.attributes)["function"], "render_page");
            assert_eq!(render.scale, 3, "factor 1.1 is schema 3");
            assert_eq!(render.count, 1);
            let buckets: u64 = render.positive.iter().flat_map(|b| &b.bucket_counts).sum();
            assert_eq!(render.zero_count + buckets, 1);
            assert!(render.start_time_unix_nano >= before_install - 1_000_000_000);
            let classic = durations
                .iter()
                .find_map(|metric| match &metric.data {
                    Some(Data::Histogram(histogram)) => Some(histogram),
                    _ => None,
                })
                .unwrap();
            // The exemplar of the last traced call of each bucket, with its ids.
            let charged = classic
                .data_points
                .iter()
                .find(|point| attributes(&point.attributes)["function"] == "charge")
                .unwrap();
            assert_eq!(charged.count, 10);
            let exemplar = charged.exemplars.first().expect("an exemplar");
            assert_eq!(exemplar.trace_id, [0xab; 16]);
            assert_eq!(exemplar.span_id, [0xcd; 8]);
            assert!(exemplar.time_unix_nano >= before_install);
            check_rest(&request, &exporter, &receiver);
        },
    );
}

fn check_rest(
    request: &ExportMetricsServiceRequest,
    exporter: &track_metrics::Exporter,
    receiver: &Receiver,
) {
    let Some(Data::Summary(summary)) = &metric(request, "otlp_step_seconds").data else {
        panic!()
    };
    let point = &summary.data_points[0];
    assert_eq!((point.count, point.sum), (1, 0.25));
    // The scrape's quantiles: the same sketch read the same way.
    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    let median = point
        .quantile_values
        .iter()
        .find(|q| q.quantile == 0.5)
        .unwrap();
    assert_eq!(
        Some(median.value),
        scrape.value(
            "otlp_step_seconds",
            &[("quantile", "0.5"), ("region", "eu")]
        )
    );
    assert!((median.value - 0.25).abs() < 0.0025, "{}", median.value);
    let build = metric(request, "otlp_build_info");
    assert_eq!(
        build.metadata[0].key, "prometheus.type",
        "an info family says so in its metadata"
    );
    assert_eq!(
        number(request, "otlp_build_info", &[("version", "1.2.3")]),
        1.0
    );

    // A second export sends no exemplar twice, and counts what came since.
    let _ = charge(5);
    exporter.flush().unwrap();
    let second = receiver.last();
    assert_eq!(
        number(&second, "function_calls", &[("function", "charge")]),
        11.0
    );
    let exemplars: usize = metrics(&second)
        .into_iter()
        .filter_map(|metric| match &metric.data {
            Some(Data::Histogram(histogram)) if metric.name == "function_duration_seconds" => Some(
                histogram
                    .data_points
                    .iter()
                    .map(|point| point.exemplars.len())
                    .sum::<usize>(),
            ),
            _ => None,
        })
        .sum();
    assert_eq!(exemplars, 1, "only the call made since the first export");
    // The export's own counts, on the scrape too.
    let scrape = Exposition::parse(&track_metrics::render()).unwrap();
    assert_eq!(
        scrape.value(
            "track_metrics_otlp_exports_total",
            &[("result", "success"), ("region", "eu")]
        ),
        Some(2.0)
    );
    // The last export, then no more.
    exporter.shutdown().unwrap();
    assert_eq!(receiver.count(), 3);
    let error = exporter.flush().unwrap_err();
    assert!(error.to_string().contains("shut down"), "{error}");
    exporter.shutdown().unwrap();
}

#[test]
fn retries_wait_as_the_receiver_asks_and_stop_at_a_final_answer() {
    in_own_process(
        &test_name!(retries_wait_as_the_receiver_asks_and_stop_at_a_final_answer),
        || {
            let receiver = Receiver::start(|n| match n {
                0 => Answer::Status(503, vec![("retry-after", "1".to_owned())], b"busy".to_vec()),
                1 => Answer::Status(429, Vec::new(), b"slow down".to_vec()),
                2 => ok(),
                3 => Answer::Status(400, Vec::new(), b"bad data".to_vec()),
                4 => Answer::Status(500, Vec::new(), b"broken".to_vec()),
                _ => ok(),
            });
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600))
                        .gzip(true),
                )
                .install()
                .unwrap();
            let _ = charge(1);
            exporter.flush().unwrap();
            assert_eq!(receiver.count(), 3, "503, 429, then accepted");
            let received = receiver.received.lock().unwrap();
            assert!(
                received[1].at - received[0].at >= Duration::from_secs(1),
                "Retry-After: 1 was honoured"
            );
            assert!(received.iter().all(|r| {
                r.headers
                    .iter()
                    .any(|(k, v)| k == "content-encoding" && v == "gzip")
            }));
            drop(received);
            // 400 and 500 are final: one request each.
            let error = exporter.flush().unwrap_err();
            assert!(error.to_string().contains("400: bad data"), "{error}");
            assert_eq!(receiver.count(), 4);
            let error = exporter.flush().unwrap_err();
            assert!(error.to_string().contains("500"), "{error}");
            assert_eq!(receiver.count(), 5);
            let scrape = Exposition::parse(&track_metrics::render()).unwrap();
            assert_eq!(
                scrape.value("track_metrics_otlp_exports_total", &[("result", "failed")]),
                Some(2.0)
            );
            assert_eq!(
                scrape.value("track_metrics_otlp_exports_total", &[("result", "success")]),
                Some(1.0)
            );
        },
    );
}

#[test]
fn a_partial_success_is_counted_and_not_sent_again() {
    in_own_process(
        &test_name!(a_partial_success_is_counted_and_not_sent_again),
        || {
            let answer = ExportMetricsServiceResponse {
                partial_success: Some(ExportMetricsPartialSuccess {
                    rejected_data_points: 3,
                    error_message: "3 points too old".to_owned(),
                }),
            }
            .encode_to_vec();
            let receiver =
                Receiver::start(move |_| Answer::Status(200, Vec::new(), answer.clone()));
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600)),
                )
                .install()
                .unwrap();
            let _ = charge(1);
            exporter.flush().unwrap();
            assert_eq!(receiver.count(), 1);
            let scrape = Exposition::parse(&track_metrics::render()).unwrap();
            assert_eq!(
                scrape.value("track_metrics_otlp_exports_total", &[("result", "partial")]),
                Some(1.0)
            );
            assert_eq!(
                scrape.value("track_metrics_otlp_rejected_points_total", &[]),
                Some(3.0)
            );
        },
    );
}

/// Statm's resident pages, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split(' ').nth(1).unwrap().parse::<u64>().unwrap() * 4096
}

#[test]
fn a_receiver_that_is_down_loses_nothing_and_costs_no_memory() {
    in_own_process(
        &test_name!(a_receiver_that_is_down_loses_nothing_and_costs_no_memory),
        || {
            let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let open = Arc::clone(&up);
            let receiver = Receiver::start_keeping(false, move |_| {
                if open.load(std::sync::atomic::Ordering::SeqCst) {
                    ok()
                } else {
                    Answer::Status(503, Vec::new(), b"down".to_vec())
                }
            });
            track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_millis(20))
                        .export_timeout(Duration::from_millis(10)),
                )
                .install()
                .unwrap();
            let mut calls = 0;
            receiver.wait_for(20);
            let resident = resident_bytes();
            while receiver.count() < 300 {
                for amount in 1..=100 {
                    let _ = charge(amount);
                    calls += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            let grown = resident_bytes().saturating_sub(resident);
            assert!(
                grown < 2 << 20,
                "{grown} bytes more after 280 failed exports"
            );
            up.store(true, std::sync::atomic::Ordering::SeqCst);
            // The next accepted export has every call.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let last = receiver.received.lock().unwrap().len();
                receiver.wait_for(last + 2);
                let request = receiver.last();
                if number(&request, "function_calls", &[("function", "charge")]) == calls as f64 {
                    break;
                }
                assert!(Instant::now() < deadline, "the count never came back whole");
            }
        },
    );
}

#[test]
fn delta_temporality_sends_every_call_once_across_failures() {
    in_own_process(
        &test_name!(delta_temporality_sends_every_call_once_across_failures),
        || {
            // Every third export fails for good: its counts must go with the next.
            let receiver = Receiver::start(|n| {
                if n % 3 == 1 {
                    Answer::Status(400, Vec::new(), b"no".to_vec())
                } else {
                    ok()
                }
            });
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600))
                        .temporality(Temporality::Delta),
                )
                .install()
                .unwrap();
            let mut calls = 0;
            for round in 0..9 {
                for amount in 1..=round + 1 {
                    let _ = charge(amount);
                    calls += 1;
                }
                let _ = exporter.flush();
            }
            let received = receiver.received.lock().unwrap();
            let mut sent = 0.0;
            for (n, received) in received.iter().enumerate() {
                let Some(Data::Sum(sum)) = &metric(&received.request, "function_calls").data else {
                    panic!()
                };
                assert_eq!(sum.aggregation_temporality, 1, "delta");
                if n % 3 != 1 {
                    sent += number(
                        &received.request,
                        "function_calls",
                        &[("function", "charge")],
                    );
                }
            }
            assert_eq!(sent, calls as f64);
        },
    );
}

#[test]
fn a_receiver_that_never_answers_cannot_hang_shutdown() {
    in_own_process(
        &test_name!(a_receiver_that_never_answers_cannot_hang_shutdown),
        || {
            let receiver = Receiver::start(|_| Answer::Silent);
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_millis(50))
                        .request_timeout(Duration::from_millis(200))
                        .export_timeout(Duration::from_millis(500)),
                )
                .install()
                .unwrap();
            let _ = charge(1);
            receiver.wait_for(1);
            // An export is under way and hangs; shutdown ends it and tries a last one, each
            // bounded by the export timeout (the child's watchdog catches a hang).
            let error = exporter.shutdown().unwrap_err();
            assert!(error.to_string().contains("no answer"), "{error}");
        },
    );
}

#[test]
fn a_gauge_function_that_blocks_holds_up_one_export() {
    in_own_process(
        &test_name!(a_gauge_function_that_blocks_holds_up_one_export),
        || {
            let receiver = Receiver::start(|_| ok());
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .render_timeout(Duration::from_millis(200))
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600))
                        .export_timeout(Duration::from_millis(500)),
                )
                .install()
                .unwrap();
            OTLP_WAITING.set_function(|| {
                std::thread::sleep(Duration::from_secs(3600));
                0.0
            });
            let _ = charge(1);
            let error = exporter.flush().unwrap_err();
            assert!(error.to_string().contains("gauge function"), "{error}");
            // The next export leaves the stuck function out and goes.
            exporter.flush().unwrap();
            let request = receiver.last();
            assert_eq!(
                number(&request, "function_calls", &[("function", "charge")]),
                1.0
            );
            assert!(
                metrics(&request)
                    .iter()
                    .all(|m| m.name != "otlp_waiting_items")
            );
        },
    );
}

#[test]
fn big_exports_go_in_several_requests() {
    in_own_process(&test_name!(big_exports_go_in_several_requests), || {
        let receiver = Receiver::start(|_| ok());
        let exporter = track_metrics::Exporter::builder()
            .without_listener()
            .otlp(
                Otlp::new(&receiver.url)
                    .unwrap()
                    .interval(Duration::from_secs(3600))
                    .max_request_bytes(4096),
            )
            .install()
            .unwrap();
        for channel in 0..200 {
            OTLP_ORDERS
                .labels(format!("channel-{channel}"))
                .inc_by(channel);
        }
        exporter.flush().unwrap();
        let received = receiver.received.lock().unwrap();
        assert!(received.len() > 3, "{}", received.len());
        let mut seen = BTreeMap::new();
        for received in received.iter() {
            assert!(received.request.encoded_len() <= 4096);
            for metric in metrics(&received.request) {
                if let (true, Some(Data::Sum(sum))) = (metric.name == "otlp_orders", &metric.data) {
                    for point in &sum.data_points {
                        let Some(number_data_point::Value::AsInt(value)) = point.value else {
                            panic!()
                        };
                        seen.insert(attributes(&point.attributes)["channel"].clone(), value);
                    }
                }
            }
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(seen["channel-199"], 199);
    });
}

#[test]
fn the_environment_configures_the_export() {
    in_own_process(&test_name!(the_environment_configures_the_export), || {
        let receiver = Receiver::start(|_| ok());
        let base = receiver.url.strip_suffix("/v1/metrics").unwrap().to_owned();
        // SAFETY: the child process runs this one test, before any thread reads the
        // environment.
        unsafe {
            std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &base);
            std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s%3Dcret");
            std::env::set_var("OTEL_SERVICE_NAME", "from-env");
            std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "team=payments");
            std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "100");
        }
        track_metrics::Exporter::builder()
            .without_listener()
            .otlp_from_env()
            .install()
            .unwrap();
        let _ = charge(1);
        receiver.wait_for(2);
        let received = receiver.received.lock().unwrap();
        let first = &received[0];
        assert!(
            first
                .headers
                .iter()
                .any(|(key, value)| key == "x-api-key" && value == "s=cret")
        );
        let resource = attributes(
            &first.request.resource_metrics[0]
                .resource
                .as_ref()
                .unwrap()
                .attributes,
        );
        assert_eq!(resource["service.name"], "from-env");
        assert_eq!(resource["team"], "payments");
        assert_eq!(resource["service.instance.id"].len(), 36);
    });
}

#[test]
fn a_malformed_variable_fails_install_by_name() {
    in_own_process(
        &test_name!(a_malformed_variable_fails_install_by_name),
        || {
            // SAFETY: as above.
            unsafe {
                std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
                std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
            }
            let error = track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .otlp_from_env()
                .install()
                .unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
                "{message}"
            );
            assert!(message.contains("http/protobuf"), "{message}");
            // Nothing was left running: a corrected install works.
            unsafe { std::env::remove_var("OTEL_EXPORTER_OTLP_PROTOCOL") };
            track_metrics::Exporter::builder()
                .listen_address("127.0.0.1:0")
                .otlp_from_env()
                .install()
                .unwrap();
        },
    );
}

#[test]
fn a_retry_after_of_zero_waits_the_backoff_and_a_redirect_is_reported() {
    in_own_process(
        &test_name!(a_retry_after_of_zero_waits_the_backoff_and_a_redirect_is_reported),
        || {
            let target = Receiver::start(|_| ok());
            let location = target.url.clone();
            let receiver = Receiver::start(move |n| match n {
                // A date gone by, then zero: neither may make a tight loop.
                0 => Answer::Status(
                    503,
                    vec![("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".to_owned())],
                    Vec::new(),
                ),
                1..=3 => Answer::Status(429, vec![("retry-after", "0".to_owned())], Vec::new()),
                _ => Answer::Status(302, vec![("location", location.clone())], Vec::new()),
            });
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600))
                        .export_timeout(Duration::from_secs(3)),
                )
                .install()
                .unwrap();
            let _ = charge(1);
            let error = exporter.flush().unwrap_err().to_string();
            // The backoff (0.5 s, then 1 s, then 2 s, each at least halved) bounds the retries
            // within the 3 s export: a tight loop would have made thousands.
            let requests = receiver.count();
            assert!(requests <= 5, "{requests} requests in 3 s");
            assert!(requests >= 2, "{requests}");
            assert!(
                error.contains("redirect") || error.contains("429"),
                "{error}"
            );
            // Redirects are not followed: they would drop the body and count a success.
            let error = exporter.flush().unwrap_err().to_string();
            assert!(error.contains("302, a redirect to"), "{error}");
            assert_eq!(
                target.count(),
                0,
                "nothing was sent to the redirect's target"
            );
        },
    );
}

#[test]
fn concurrent_shutdowns_both_wait_for_the_last_export() {
    in_own_process(
        &test_name!(concurrent_shutdowns_both_wait_for_the_last_export),
        || {
            let receiver = Receiver::start(|_| {
                std::thread::sleep(Duration::from_millis(300));
                ok()
            });
            let exporter = track_metrics::Exporter::builder()
                .without_listener()
                .otlp(
                    Otlp::new(&receiver.url)
                        .unwrap()
                        .interval(Duration::from_secs(3600)),
                )
                .install()
                .unwrap();
            let _ = charge(1);
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        exporter.shutdown().unwrap();
                        // Whoever returns, the last export has been answered.
                        assert_eq!(receiver.count(), 1);
                    });
                }
            });
        },
    );
}

//! The formats of the exposition, as scrapers negotiate them on the real endpoint: OpenMetrics
//! read by prometheus_client's OpenMetrics parser, protobuf decoded message by message, text
//! 0.0.4 by default, each gzipped on request; and exemplars from real OpenTelemetry spans.

use std::io::Read as _;
use std::net::TcpStream;

use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use prost::Message as _;
use track_metrics::testing::protobuf::{MetricFamily, MetricType};
use track_metrics::track_metrics;

use crate::common;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";
const PROTOBUF: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

#[derive(Clone, Copy, track_metrics::LabelValue)]
enum Phase {
    #[label = "idle"]
    Idle,
    #[label = "busy"]
    Busy,
    Draining,
}

track_metrics::metrics! {
    /// The phase of each worker
    enum FORMATS_PHASE: formats_worker_phase<Phase>(worker);
    /// Bytes sent, with the trace of the last send
    #[exemplars]
    counter FORMATS_SENT: formats_sent_bytes_total;
    /// Latency, with the trace of each bucket's last observation
    #[exemplars]
    #[buckets(0.1, 1.0)]
    histogram FORMATS_LATENCY: formats_latency_seconds(route);
    /// Bytes read, with "quotes" and \ backslashes in its help
    counter FORMATS_READ: formats_read_bytes_total(source);
    /// Observations that can be negative
    #[buckets(-1.0, 0.0, 1.0)]
    histogram FORMATS_SIGNED: formats_signed_offset_ratio;
}

#[track_metrics(name = "formats_traced")]
fn traced() {}

#[track_metrics(name = "formats_untraced")]
fn untraced() {}

#[track_metrics(
    name = "formats_native",
    duration = "formats_native_duration_seconds",
    native_histogram = 1.05
)]
fn native(seconds: f64) {
    std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
}

/// Runs `work` inside a sampled OpenTelemetry span; returns its trace and span ids in hex.
fn in_sampled_span(work: impl FnOnce()) -> (String, String) {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .build();
    provider.tracer("formats").in_span("call", |context| {
        work();
        let span = context.span();
        let span = span.span_context();
        (span.trace_id().to_string(), span.span_id().to_string())
    })
}

fn get(accept: Option<&str>, gzip: bool) -> common::Response {
    let addr = common::exporter().local_addr().unwrap();
    let mut headers = Vec::new();
    if let Some(accept) = accept {
        headers.push(("Accept", accept));
    }
    if gzip {
        headers.push(("Accept-Encoding", "gzip"));
    }
    common::request_with(
        TcpStream::connect(addr).unwrap(),
        addr,
        "GET",
        "/metrics",
        &headers,
    )
}

/// What Prometheus 3.5 sends by default.
const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
    application/openmetrics-text;version=0.0.1;q=0.5,\
    text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

#[test]
fn the_accept_header_picks_the_format_and_gzip_works_with_each() {
    common::exporter();
    for (accept, content_type, starts) in [
        (
            None,
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            &b"# "[..],
        ),
        (
            Some("*/*"),
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            b"# ",
        ),
        (
            Some(OPENMETRICS),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
            b"# ",
        ),
        (
            Some(PROMETHEUS_3),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            b"# ",
        ),
        (
            Some("text/plain;version=1.0.0;escaping=dots"),
            "text/plain; version=1.0.0; charset=utf-8; escaping=dots",
            b"# ",
        ),
        (
            Some(PROTOBUF),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; \
             encoding=delimited; escaping=underscores",
            b"",
        ),
    ] {
        let plain = get(accept, false);
        assert_eq!(plain.status, 200);
        assert_eq!(
            plain.header("content-type"),
            Some(content_type),
            "{accept:?}"
        );
        assert!(plain.bytes.starts_with(starts));
        let zipped = get(accept, true);
        assert_eq!(zipped.header("content-encoding"), Some("gzip"));
        assert_eq!(zipped.header("content-type"), Some(content_type));
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(&zipped.bytes[..])
            .read_to_end(&mut body)
            .unwrap();
        if content_type.starts_with("application/openmetrics-text") {
            assert!(body.ends_with(b"# EOF\n"));
        }
        if content_type.starts_with("application/vnd.google.protobuf") {
            assert!(!decode(&body).is_empty());
        }
    }
}

#[test]
fn an_enum_family_is_one_series_per_state_in_text_and_protobuf() {
    common::exporter();
    FORMATS_PHASE.labels("a").state(Phase::Busy);
    FORMATS_PHASE.labels("b").state(Phase::Draining);
    FORMATS_PHASE.labels("b").state(Phase::Idle);
    assert_eq!(FORMATS_PHASE.labels("b").get(), "idle");
    let (_, scrape) = common::scrape();
    for (worker, state, value) in [
        ("a", "idle", 0.0),
        ("a", "busy", 1.0),
        ("a", "Draining", 0.0),
        ("b", "idle", 1.0),
        ("b", "busy", 0.0),
    ] {
        let labels = [("worker", worker), ("formats_worker_phase", state)];
        assert_eq!(
            common::value(&scrape, "formats_worker_phase", &labels),
            value
        );
    }
    let families = decode(&get(Some(PROTOBUF), false).bytes);
    let family = families
        .iter()
        .find(|family| family.name.as_deref() == Some("formats_worker_phase"))
        .unwrap();
    assert_eq!(family.r#type, Some(MetricType::Gauge as i32));
    // Worker `c` is the OpenMetrics test's.
    let ours: Vec<_> = family
        .metric
        .iter()
        .filter(|metric| {
            !metric
                .label
                .iter()
                .any(|pair| pair.name() == "worker" && pair.value() == "c")
        })
        .collect();
    assert_eq!(ours.len(), 6);
    let current: Vec<_> = ours
        .iter()
        .filter(|metric| metric.gauge.as_ref().unwrap().value() == 1.0)
        .map(|metric| {
            metric
                .label
                .iter()
                .map(|pair| format!("{}={}", pair.name(), pair.value()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(
        current,
        [
            "worker=a,formats_worker_phase=busy",
            "worker=b,formats_worker_phase=idle"
        ]
    );
}

fn decode(mut bytes: &[u8]) -> Vec<MetricFamily> {
    let mut families = Vec::new();
    while !bytes.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut bytes).expect("a MetricFamily"));
    }
    families
}

#[test]
fn protobuf_carries_classic_and_native_buckets_of_the_same_observations() {
    common::exporter();
    // Each call lasts at least its sleep and at most the time measured around it (a loaded
    // machine oversleeps): its bucket must meet that interval.
    let mut durations = Vec::new();
    let (trace_id, _) = in_sampled_span(|| {
        for seconds in [0.001, 0.002, 0.004, 0.03] {
            let start = std::time::Instant::now();
            native(seconds);
            durations.push((seconds, start.elapsed().as_secs_f64()));
        }
    });
    let body = get(Some(PROTOBUF), false).bytes;
    let families = decode(&body);
    let family = families
        .iter()
        .find(|family| family.name.as_deref() == Some("formats_native_duration_seconds"))
        .expect("the family");
    assert_eq!(family.r#type, Some(MetricType::Histogram as i32));
    let histogram = family.metric[0].histogram.as_ref().unwrap();
    assert_eq!(histogram.sample_count, Some(4));
    // schema 4: buckets at most 5% wide (2^(1/16) = 1.044).
    assert_eq!(histogram.schema, Some(4));
    assert!(histogram.zero_threshold.unwrap() > 0.0);
    // Spans and deltas back into (key, count): every duration is in the bucket of its key.
    let mut buckets = Vec::new();
    let (mut key, mut count) = (0_i32, 0_i64);
    let mut deltas = histogram.positive_delta.iter();
    for (index, span) in histogram.positive_span.iter().enumerate() {
        key = if index == 0 {
            span.offset()
        } else {
            key + 1 + span.offset()
        };
        for step in 0..span.length() {
            if step > 0 {
                key += 1;
            }
            count += deltas.next().unwrap();
            if count > 0 {
                buckets.push((key, count));
            }
        }
    }
    assert_eq!(buckets.iter().map(|(_, count)| count).sum::<i64>(), 4);
    let base = 2_f64.powf(2_f64.powi(-4));
    for (key, _) in &buckets {
        let (lower, upper) = (base.powi(key - 1), base.powi(*key));
        assert!(
            durations
                .iter()
                .any(|(slept, measured)| *slept <= upper && *measured > lower),
            "bucket ({lower}, {upper}] meets no call's duration in {durations:?}"
        );
    }
    // Classic buckets from the same observations, with the call's exemplar on one of them.
    let last = histogram.bucket.iter().map(|b| b.cumulative_count()).max();
    assert!(last <= Some(4));
    let exemplar = histogram
        .bucket
        .iter()
        .find_map(|bucket| bucket.exemplar.as_ref())
        .expect("an exemplar");
    assert!(
        exemplar
            .label
            .iter()
            .any(|pair| pair.name() == "trace_id" && pair.value() == trace_id)
    );
}

/// The whole exposition of this binary (with the hostile label values of the escaping tests)
/// through prometheus_client's OpenMetrics parser, which refuses anything the specification
/// does not allow; then what it read, checked.
#[test]
#[ignore = "needs prometheus_client for Python (Debian package python3-prometheus-client); .ci/run installs it"]
fn openmetrics_is_read_by_prometheus_clients_openmetrics_parser() {
    common::exporter();
    FORMATS_READ
        .labels("a \"quoted\" \\ source\nwith a line feed")
        .inc_by(3);
    FORMATS_SIGNED.observe(-0.5);
    untraced();
    FORMATS_PHASE.labels("c").state(Phase::Draining);
    let (trace_id, span_id) = in_sampled_span(|| {
        traced();
        FORMATS_SENT.inc_by(512);
        FORMATS_LATENCY.labels("/users").observe(0.25);
    });
    let response = get(Some(OPENMETRICS), false);
    assert_eq!(response.status, 200);
    const READ: &str = r#"
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        exemplar = sample.exemplar and [sample.exemplar.labels, sample.exemplar.value]
        value = sample.value if math.isfinite(sample.value) else str(sample.value)
        samples.append([family.name, family.type, family.unit, sample.name, sample.labels,
                        value, exemplar])
print(json.dumps(samples))
"#;
    let output = common::pipe(common::python(), &["-c", READ], &response.body);
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the exposition: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        response.body
    );
    let samples: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let find = |name: &str, function: &str| {
        samples
            .iter()
            .find(|s| s[3] == name && (function.is_empty() || s[4]["function"] == function))
            .unwrap_or_else(|| panic!("no {name} for {function:?} in {}", response.body))
    };
    let calls = find("function_calls_total", "formats_traced");
    assert_eq!(
        (calls[0].as_str(), calls[1].as_str()),
        (Some("function_calls"), Some("counter"))
    );
    assert_eq!(calls[5], 1.0);
    // No `_created` samples by default (`ExporterBuilder::created_lines`): Prometheus 3 would
    // store each as a series of its own. `tests/install/settings.rs` reads them when asked for.
    assert!(
        samples
            .iter()
            .all(|s| !s[3].as_str().unwrap().ends_with("_created")),
        "{}",
        response.body
    );

    // The traced call's exemplar, in the bucket its duration fell in; none for the other.
    let with_exemplar: Vec<_> = samples
        .iter()
        .filter(|s| {
            s[3] == "function_duration_seconds_bucket" && s[4]["function"] == "formats_traced"
        })
        .filter(|s| !s[6].is_null())
        .collect();
    assert_eq!(with_exemplar.len(), 1, "{}", response.body);
    let bucket = with_exemplar[0];
    assert_eq!(bucket[2], "seconds");
    assert_eq!(bucket[6][0]["trace_id"], trace_id.as_str());
    assert_eq!(bucket[6][0]["span_id"], span_id.as_str());
    let value = bucket[6][1].as_f64().unwrap();
    let le: f64 = bucket[4]["le"].as_str().unwrap().parse().unwrap();
    assert!(value <= le && value > 0.0, "{value} above le={le}");
    assert!(
        samples
            .iter()
            .all(|s| s[4]["function"] != "formats_untraced" || s[6].is_null())
    );

    // The hostile value came through unchanged; a counter's family drops `_total`.
    let read = find("formats_read_bytes_total", "");
    assert_eq!(read[0], "formats_read_bytes");
    assert_eq!(read[2], "bytes");
    assert_eq!(
        read[4]["source"],
        "a \"quoted\" \\ source\nwith a line feed"
    );
    assert_eq!(read[5], 3.0);
    // A histogram that saw a negative value keeps its buckets but, as OpenMetrics requires,
    // writes no sum.
    assert!(
        samples
            .iter()
            .any(|s| s[3] == "formats_signed_offset_ratio_bucket")
    );
    assert!(
        !samples
            .iter()
            .any(|s| s[3] == "formats_signed_offset_ratio_sum")
    );

    // A state set, and the exemplars of declared families that opted in.
    let phase: Vec<_> = samples
        .iter()
        .filter(|s| s[0] == "formats_worker_phase" && s[4]["worker"] == "c")
        .map(|s| {
            (
                s[1].as_str().unwrap(),
                s[4]["formats_worker_phase"].as_str().unwrap(),
                s[5].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phase,
        [
            ("stateset", "idle", 0.0),
            ("stateset", "busy", 0.0),
            ("stateset", "Draining", 1.0)
        ]
    );
    let sent = find("formats_sent_bytes_total", "");
    assert_eq!(sent[6][0]["trace_id"], trace_id.as_str());
    assert_eq!(sent[6][1], 512.0);
    let latency = samples
        .iter()
        .find(|s| s[3] == "formats_latency_seconds_bucket" && s[4]["le"] == "1.0")
        .unwrap();
    assert_eq!(latency[6][0]["trace_id"], trace_id.as_str());
    assert_eq!(latency[6][1], 0.25);
}

/// Facade names that are valid only as UTF-8 reach each scraper as it asks: quoted with their
/// dots where it allows UTF-8, escaped by the scheme it names otherwise, underscored when it
/// names none; in the text formats as in protobuf.
#[test]
fn utf8_facade_names_are_quoted_or_escaped_as_the_scraper_asks() {
    common::exporter();
    metrics::counter!("formats.utf8.requests", "http.route" => "/a").increment(3);
    metrics::histogram!("formats.utf8.duration").record(0.5);

    let read = |accept: &str| {
        let response = get(Some(accept), false);
        assert_eq!(response.status, 200);
        let scrape = track_metrics::testing::Exposition::parse(&response.body)
            .unwrap_or_else(|error| panic!("{accept}: {error}\n{}", response.body));
        (response.header("content-type").unwrap().to_owned(), scrape)
    };
    for (accept, counter, route, duration_count) in [
        (
            "text/plain;version=1.0.0;escaping=allow-utf-8",
            "formats.utf8.requests_total",
            "http.route",
            "formats.utf8.duration_count",
        ),
        (
            "text/plain;version=1.0.0;escaping=underscores",
            "formats_utf8_requests_total",
            "http_route",
            "formats_utf8_duration_count",
        ),
        (
            "text/plain;version=0.0.4",
            "formats_utf8_requests_total",
            "http_route",
            "formats_utf8_duration_count",
        ),
        (
            "text/plain;version=1.0.0;escaping=dots",
            "formats_dot_utf8_dot_requests__total",
            "http_dot_route",
            "formats_dot_utf8_dot_duration_count",
        ),
        (
            "text/plain;version=1.0.0;escaping=values",
            "U__formats_2e_utf8_2e_requests__total",
            "U__http_2e_route",
            "U__formats_2e_utf8_2e_duration_count",
        ),
    ] {
        let (content_type, scrape) = read(accept);
        assert_eq!(
            scrape.value(counter, &[(route, "/a")]),
            Some(3.0),
            "{accept} → {content_type}"
        );
        assert_eq!(scrape.value(duration_count, &[]), Some(1.0), "{accept}");
    }

    // The text itself: the quoted form Prometheus 3 reads, in both formats that carry it.
    let text = get(Some("text/plain;version=1.0.0;escaping=allow-utf-8"), false).body;
    assert!(
        text.contains("{\"formats.utf8.requests_total\",\"http.route\"=\"/a\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE \"formats.utf8.duration\" histogram\n"),
        "{text}"
    );
    let open_metrics = get(
        Some("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8"),
        false,
    )
    .body;
    for line in [
        "# TYPE \"formats.utf8.requests\" counter\n",
        "{\"formats.utf8.requests_total\",\"http.route\"=\"/a\"} 3\n",
        "{\"formats.utf8.duration_count\"} 1\n",
    ] {
        assert!(open_metrics.contains(line), "{line} in {open_metrics}");
    }

    // Protobuf quotes nothing: the names go as they are, or escaped.
    for (accept, counter, route) in [
        (
            format!("{PROTOBUF};escaping=allow-utf-8"),
            "formats.utf8.requests_total",
            "http.route",
        ),
        (
            PROTOBUF.to_owned(),
            "formats_utf8_requests_total",
            "http_route",
        ),
    ] {
        let families = decode(&get(Some(&accept), false).bytes);
        let family = families
            .iter()
            .find(|family| family.name.as_deref() == Some(counter))
            .unwrap_or_else(|| panic!("{accept}: no {counter}"));
        let metric = &family.metric[0];
        assert_eq!(metric.label[0].name(), route, "{accept}");
        assert_eq!(metric.counter.as_ref().unwrap().value(), 3.0);
    }
}

/// A counter's samples have one name per escaping scheme whatever the format (escaped with
/// `_total`, as prometheus/common does), and facade label names that one scheme writes alike are
/// one series.
#[test]
fn counters_are_named_alike_in_every_format_and_label_spellings_merge() {
    common::exporter();
    metrics::counter!("formats.escaped.requests").increment(2);
    metrics::counter!("formats_merged_total", "queue.name" => "x").increment(1);
    metrics::counter!("formats_merged_total", "queue_name" => "x").increment(1);
    for (escaping, name) in [
        ("dots", "formats_dot_escaped_dot_requests__total"),
        ("values", "U__formats_2e_escaped_2e_requests__total"),
        ("underscores", "formats_escaped_requests_total"),
    ] {
        let text = get(
            Some(&format!("text/plain;version=1.0.0;escaping={escaping}")),
            false,
        )
        .body;
        let open_metrics = get(
            Some(&format!(
                "application/openmetrics-text;version=1.0.0;escaping={escaping}"
            )),
            false,
        )
        .body;
        for body in [&text, &open_metrics] {
            assert!(
                body.contains(&format!("\n{name} 2\n")),
                "{escaping}: {body}"
            );
        }
        let families = decode(&get(Some(&format!("{PROTOBUF};escaping={escaping}")), false).bytes);
        assert!(
            families
                .iter()
                .any(|family| family.name.as_deref() == Some(name)),
            "{escaping}: protobuf"
        );
    }
    let text = get(None, false).body;
    assert!(
        text.contains("\nformats_merged_total{queue_name=\"x\"} 2\n"),
        "{text}"
    );
    assert_eq!(text.matches("formats_merged_total{").count(), 1, "{text}");
}

#[track_metrics(duration = "formats_mixed_seconds", native_histogram)]
fn mixed_native() {}

#[track_metrics(duration = "formats_mixed_seconds")]
fn mixed_classic() {}

/// A native histogram is one function's: the family's other functions stay classic, and
/// protobuf sends the two kinds as two messages, the native ones first, since Prometheus
/// before 2.45 reads a message as native or classic by its first series.
#[test]
fn a_family_with_native_and_classic_series_is_two_protobuf_messages() {
    common::exporter();
    mixed_native();
    mixed_classic();
    mixed_classic();
    let families = decode(&get(Some(PROTOBUF), false).bytes);
    let messages: Vec<_> = families
        .iter()
        .filter(|family| family.name.as_deref() == Some("formats_mixed_seconds"))
        .collect();
    assert_eq!(messages.len(), 2);
    let function = |metric: &track_metrics::testing::protobuf::Metric| {
        metric
            .label
            .iter()
            .find(|pair| pair.name() == "function")
            .unwrap()
            .value()
            .to_owned()
    };
    let native = &messages[0].metric;
    assert_eq!(native.len(), 1);
    assert_eq!(function(&native[0]), "mixed_native");
    assert!(native[0].histogram.as_ref().unwrap().schema.is_some());
    let classic = &messages[1].metric;
    assert_eq!(classic.len(), 1);
    assert_eq!(function(&classic[0]), "mixed_classic");
    let histogram = classic[0].histogram.as_ref().unwrap();
    assert!(histogram.schema.is_none());
    assert_eq!(histogram.sample_count, Some(2));
}

//! The Prometheus protobuf format: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the only format that carries native histograms.
//!
//! The messages are those of prometheus/client_model's `metrics.proto` (proto2), written as
//! Rust types for `prost` so that no `protoc` runs at build time.

use std::time::Duration;

use prost::Message as _;

use crate::model::kind::Kind;
use crate::model::names::{Escaping, escape};
use crate::model::snapshot::{Exemplar, FamilySnapshot, NativeBuckets, SeriesSnapshot, Value};

/// The exposition of `families`, with `globals` first on every series, names escaped as
/// `escaping` says (protobuf quotes nothing: with UTF-8 allowed, names go as they are);
/// `created` is the Unix time from which every count of this process counts.
pub(crate) fn write(
    families: &mut [FamilySnapshot],
    globals: &[(String, String)],
    created: f64,
    escaping: Escaping,
) -> Vec<u8> {
    families.sort_by(|a, b| a.name.cmp(b.name));
    let mut out = Vec::new();
    for family in families.iter_mut() {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let written = crate::exposition::text::written_name(family);
        let message = |series: &mut dyn Iterator<Item = &SeriesSnapshot>| wire::MetricFamily {
            name: Some(escape(&written, escaping, false).into_owned()),
            help: family.help.as_ref().map(|help| help.to_string()),
            r#type: Some(metric_type(family.kind) as i32),
            metric: series
                .flat_map(|series| {
                    metrics(family.name, family.kind, globals, series, created, escaping)
                })
                .collect(),
            unit: None,
        };
        // Prometheus before 2.45 reads a family as native or classic by its first series: a
        // family whose functions do not all keep native buckets goes as two messages, the
        // native series in one and the classic ones in the other.
        let natives = family
            .series
            .iter()
            .filter(|series| is_native(series))
            .count();
        let groups: &[Option<bool>] = if natives == 0 || natives == family.series.len() {
            &[None]
        } else {
            &[Some(true), Some(false)]
        };
        for group in groups {
            let mut series = family
                .series
                .iter()
                .filter(|series| group.is_none_or(|native| is_native(series) == native));
            // Encoding into a `Vec` cannot fail: it grows as needed.
            let _ = message(&mut series).encode_length_delimited(&mut out);
        }
    }
    out
}

fn is_native(series: &SeriesSnapshot) -> bool {
    matches!(
        &series.value,
        Value::Histogram {
            native: Some(_),
            ..
        }
    )
}

fn metric_type(kind: Kind) -> wire::MetricType {
    match kind {
        Kind::Counter => wire::MetricType::Counter,
        Kind::Gauge | Kind::Info | Kind::StateSet => wire::MetricType::Gauge,
        Kind::Histogram => wire::MetricType::Histogram,
        Kind::Summary => wire::MetricType::Summary,
    }
}

/// The messages of one series: one, or one per state of a state set.
fn metrics(
    name: &'static str,
    kind: Kind,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    created: f64,
    escaping: Escaping,
) -> Vec<wire::Metric> {
    let Value::StateSet { states, current } = series.value else {
        return vec![metric(kind, globals, series, created, escaping)];
    };
    states
        .iter()
        .enumerate()
        .map(|(index, state)| {
            let mut metric = metric(kind, globals, series, created, escaping);
            metric
                .label
                .push(pair(&escape(name, escaping, true), state));
            metric.gauge = Some(wire::Gauge {
                value: Some(if index == current { 1.0 } else { 0.0 }),
            });
            metric
        })
        .collect()
}

fn metric(
    kind: Kind,
    globals: &[(String, String)],
    series: &SeriesSnapshot,
    created: f64,
    escaping: Escaping,
) -> wire::Metric {
    let label = globals
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(series.labels.iter().map(|(name, value)| (*name, &**value)))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| pair(&escape(name, escaping, true), value))
        .collect();
    let exemplar = |index: usize| {
        series
            .exemplars
            .get(index)
            .and_then(Option::as_ref)
            .map(exemplar)
    };
    let mut metric = wire::Metric {
        label,
        ..Default::default()
    };
    let number = match series.value {
        Value::Int(value) => Some(value as f64),
        Value::Float(value) => Some(value),
        _ => None,
    };
    match (&series.value, kind) {
        (_, Kind::Counter) => {
            metric.counter = Some(wire::Counter {
                value: number,
                exemplar: exemplar(0),
                created_timestamp: Some(timestamp(created)),
            });
        }
        (
            Value::Histogram {
                bounds,
                counts,
                sum,
                native,
                ..
            },
            _,
        ) => {
            let mut cumulative = 0_u64;
            let bucket = bounds
                .iter()
                .zip(counts)
                .enumerate()
                .map(|(index, (bound, count))| {
                    cumulative = cumulative.saturating_add(*count);
                    wire::Bucket {
                        cumulative_count: Some(cumulative),
                        upper_bound: Some(*bound),
                        exemplar: exemplar(index),
                        ..Default::default()
                    }
                })
                .collect();
            let mut histogram = wire::Histogram {
                sample_count: Some(Value::histogram_count(counts)),
                sample_sum: Some(*sum),
                bucket,
                created_timestamp: Some(timestamp(created)),
                ..Default::default()
            };
            if let Some(native) = native {
                add_native(&mut histogram, native);
            }
            // The `+Inf` bucket is implicit in this format: written only to carry an exemplar,
            // as client_golang does.
            if let Some(exemplar) = exemplar(bounds.len()) {
                histogram.bucket.push(wire::Bucket {
                    cumulative_count: histogram.sample_count,
                    upper_bound: Some(f64::INFINITY),
                    exemplar: Some(exemplar),
                    ..Default::default()
                });
            }
            metric.histogram = Some(histogram);
        }
        (
            Value::Summary {
                quantiles,
                count,
                sum,
                ..
            },
            _,
        ) => {
            metric.summary = Some(wire::Summary {
                sample_count: Some(*count),
                sample_sum: Some(*sum),
                quantile: quantiles
                    .iter()
                    .map(|(quantile, value)| wire::Quantile {
                        quantile: Some(*quantile),
                        value: Some(*value),
                    })
                    .collect(),
                created_timestamp: Some(timestamp(created)),
            });
        }
        _ => metric.gauge = Some(wire::Gauge { value: number }),
    }
    metric
}

/// The native buckets as spans of consecutive keys and deltas between neighbouring counts,
/// as `metrics.proto` wants them. Gaps of one or two empty buckets are written as zero counts
/// rather than a new span, as client_golang does: it is the shorter encoding.
fn add_native(histogram: &mut wire::Histogram, native: &NativeBuckets) {
    histogram.schema = Some(native.schema);
    histogram.zero_threshold = Some(native.zero_threshold);
    histogram.zero_count = Some(native.zero_count);
    let (span, delta) = spans(&native.positive);
    histogram.positive_span = span;
    histogram.positive_delta = delta;
    let (span, delta) = spans(&native.negative);
    histogram.negative_span = span;
    histogram.negative_delta = delta;
    // Prometheus tells a native histogram by a span or a zero bucket: an empty one gets a
    // span of no bucket, as client_golang writes it, so it is not taken for a classic one.
    if histogram.positive_span.is_empty()
        && histogram.negative_span.is_empty()
        && native.zero_count == 0
        && native.zero_threshold == 0.0
    {
        histogram.positive_span.push(wire::BucketSpan {
            offset: Some(0),
            length: Some(0),
        });
    }
}

/// `(key, count)` pairs in increasing key order as spans and deltas.
pub(crate) fn spans(buckets: &[(i32, u64)]) -> (Vec<wire::BucketSpan>, Vec<i64>) {
    let mut spans: Vec<wire::BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut previous_key = 0_i32;
    let mut previous_count = 0_i64;
    for (index, (key, count)) in buckets.iter().enumerate() {
        let count = i64::try_from(*count).unwrap_or(i64::MAX);
        let gap = key - previous_key - 1;
        if index == 0 || gap > 2 {
            let offset = if index == 0 { *key } else { gap };
            spans.push(wire::BucketSpan {
                offset: Some(offset),
                length: Some(0),
            });
        } else {
            // Fill the gap with empty buckets in the current span.
            for _ in 0..gap {
                deltas.push(-previous_count);
                previous_count = 0;
                if let Some(span) = spans.last_mut() {
                    span.length = Some(span.length.unwrap_or(0) + 1);
                }
            }
        }
        deltas.push(count - previous_count);
        previous_count = count;
        previous_key = *key;
        if let Some(span) = spans.last_mut() {
            span.length = Some(span.length.unwrap_or(0) + 1);
        }
    }
    (spans, deltas)
}

fn pair(name: &str, value: &str) -> wire::LabelPair {
    wire::LabelPair {
        name: Some(name.to_owned()),
        value: Some(value.to_owned()),
    }
}

fn exemplar(exemplar: &Exemplar) -> wire::Exemplar {
    let (trace_id, span_id) = exemplar.trace.hex();
    wire::Exemplar {
        label: vec![pair("trace_id", &trace_id), pair("span_id", &span_id)],
        value: Some(exemplar.value),
        timestamp: Some(timestamp(exemplar.timestamp)),
    }
}

fn timestamp(seconds: f64) -> wire::Timestamp {
    let duration = Duration::try_from_secs_f64(seconds).unwrap_or_default();
    wire::Timestamp {
        seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(duration.subsec_nanos()).unwrap_or(0),
    }
}

/// The messages of `io.prometheus.client` (client_model `metrics.proto`) and the one of
/// `google.protobuf` they use.
#[allow(missing_docs, clippy::doc_markdown)]
pub mod wire {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LabelPair {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub value: Option<String>,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        Counter = 0,
        Gauge = 1,
        Summary = 2,
        Untyped = 3,
        Histogram = 4,
        GaugeHistogram = 5,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Gauge {
        #[prost(double, optional, tag = "1")]
        pub value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Counter {
        #[prost(double, optional, tag = "1")]
        pub value: Option<f64>,
        #[prost(message, optional, tag = "2")]
        pub exemplar: Option<Exemplar>,
        #[prost(message, optional, tag = "3")]
        pub created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Quantile {
        #[prost(double, optional, tag = "1")]
        pub quantile: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Summary {
        #[prost(uint64, optional, tag = "1")]
        pub sample_count: Option<u64>,
        #[prost(double, optional, tag = "2")]
        pub sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub quantile: Vec<Quantile>,
        #[prost(message, optional, tag = "4")]
        pub created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Untyped {
        #[prost(double, optional, tag = "1")]
        pub value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Histogram {
        #[prost(uint64, optional, tag = "1")]
        pub sample_count: Option<u64>,
        #[prost(double, optional, tag = "4")]
        pub sample_count_float: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub bucket: Vec<Bucket>,
        #[prost(message, optional, tag = "15")]
        pub created_timestamp: Option<Timestamp>,
        #[prost(sint32, optional, tag = "5")]
        pub schema: Option<i32>,
        #[prost(double, optional, tag = "6")]
        pub zero_threshold: Option<f64>,
        #[prost(uint64, optional, tag = "7")]
        pub zero_count: Option<u64>,
        #[prost(double, optional, tag = "8")]
        pub zero_count_float: Option<f64>,
        #[prost(message, repeated, tag = "9")]
        pub negative_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "10")]
        pub negative_delta: Vec<i64>,
        #[prost(double, repeated, packed = "false", tag = "11")]
        pub negative_count: Vec<f64>,
        #[prost(message, repeated, tag = "12")]
        pub positive_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "13")]
        pub positive_delta: Vec<i64>,
        #[prost(double, repeated, packed = "false", tag = "14")]
        pub positive_count: Vec<f64>,
        #[prost(message, repeated, tag = "16")]
        pub exemplars: Vec<Exemplar>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Bucket {
        #[prost(uint64, optional, tag = "1")]
        pub cumulative_count: Option<u64>,
        #[prost(double, optional, tag = "4")]
        pub cumulative_count_float: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub upper_bound: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub exemplar: Option<Exemplar>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BucketSpan {
        #[prost(sint32, optional, tag = "1")]
        pub offset: Option<i32>,
        #[prost(uint32, optional, tag = "2")]
        pub length: Option<u32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        #[prost(message, repeated, tag = "1")]
        pub label: Vec<LabelPair>,
        #[prost(double, optional, tag = "2")]
        pub value: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Metric {
        #[prost(message, repeated, tag = "1")]
        pub label: Vec<LabelPair>,
        #[prost(message, optional, tag = "2")]
        pub gauge: Option<Gauge>,
        #[prost(message, optional, tag = "3")]
        pub counter: Option<Counter>,
        #[prost(message, optional, tag = "4")]
        pub summary: Option<Summary>,
        #[prost(message, optional, tag = "5")]
        pub untyped: Option<Untyped>,
        #[prost(message, optional, tag = "7")]
        pub histogram: Option<Histogram>,
        #[prost(int64, optional, tag = "6")]
        pub timestamp_ms: Option<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricFamily {
        #[prost(string, optional, tag = "1")]
        pub name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub help: Option<String>,
        #[prost(enumeration = "MetricType", optional, tag = "3")]
        pub r#type: Option<i32>,
        #[prost(message, repeated, tag = "4")]
        pub metric: Vec<Metric>,
        #[prost(string, optional, tag = "5")]
        pub unit: Option<String>,
    }

    /// `google.protobuf.Timestamp` (proto3).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Timestamp {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }
}

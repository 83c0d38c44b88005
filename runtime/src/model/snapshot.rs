//! What a scrape reads from the storage: families of series with plain values, in no particular
//! order. The storage builds them; the writers of each format turn them into bytes and know
//! nothing of how they were recorded.

use std::borrow::Cow;

use crate::model::kind::Kind;

/// One family as a scrape sees it.
#[derive(Clone, Debug)]
pub(crate) struct FamilySnapshot {
    pub(crate) name: &'static str,
    /// The HELP text; `None` writes no HELP line (a `metrics` facade metric never described).
    pub(crate) help: Option<Cow<'static, str>>,
    pub(crate) kind: Kind,
    /// When its counts started, in seconds since the Unix epoch, for OpenMetrics' `_created`;
    /// `None` for when `install()` ran.
    pub(crate) created: Option<f64>,
    /// A counter is written `name_total` in text and protobuf when its name lacks the suffix;
    /// `false` keeps the name as recorded (a facade counter, when the builder says so).
    pub(crate) counter_suffix: bool,
    pub(crate) series: Vec<SeriesSnapshot>,
}

/// One series: its own labels, in the order they are written, and its value.
#[derive(Clone, Debug)]
pub(crate) struct SeriesSnapshot {
    pub(crate) labels: Vec<(&'static str, Cow<'static, str>)>,
    pub(crate) value: Value,
    /// The exemplars of a histogram by bucket (one per bound, then `+Inf`), or of a counter
    /// (one); empty when none was recorded.
    pub(crate) exemplars: Vec<Option<Exemplar>>,
}

impl SeriesSnapshot {
    /// A series without exemplars.
    pub(crate) fn new(labels: Vec<(&'static str, Cow<'static, str>)>, value: Value) -> Self {
        SeriesSnapshot {
            labels,
            value,
            exemplars: Vec::new(),
        }
    }
}

/// One observation made inside a sampled trace, kept to link a bucket or a counter to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    /// The observed value (a histogram) or the increment (a counter).
    pub(crate) value: f64,
    /// When it was observed, in seconds since the Unix epoch.
    pub(crate) timestamp: f64,
    pub(crate) trace: Trace,
}

/// The trace and span an observation was made in, as OpenTelemetry identifies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The 16-byte trace id; written as 32 lowercase hex digits.
    pub trace_id: [u8; 16],
    /// The 8-byte span id; written as 16 lowercase hex digits.
    pub span_id: [u8; 8],
}

impl Trace {
    /// The ids in lowercase hex, as OpenTelemetry and Prometheus spell them.
    pub(crate) fn hex(&self) -> (String, String) {
        fn hex(bytes: &[u8]) -> String {
            use std::fmt::Write as _;
            bytes.iter().fold(String::new(), |mut out, byte| {
                let _ = write!(out, "{byte:02x}");
                out
            })
        }
        (hex(&self.trace_id), hex(&self.span_id))
    }
}

/// The sparse exponential buckets of a native histogram, as Prometheus reads them: bucket `k`
/// of schema `s` holds the observations in `(2^((k-1)/2^s), 2^(k/2^s)]`, negative ones mirrored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NativeBuckets {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero_count: u64,
    /// `(key, count)` in increasing key order, empty buckets left out.
    pub(crate) positive: Vec<(i32, u64)>,
    pub(crate) negative: Vec<(i32, u64)>,
}

/// The value of a series, read consistently: a histogram's buckets, count and sum come from the
/// same observations, as do a summary's quantiles, count and sum.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A count, written as an integer.
    Int(u64),
    /// Any other number.
    Float(f64),
    /// Bucket counts (not cumulative), one per bound and one for `+Inf`, and their sum.
    Histogram {
        bounds: &'static [f64],
        counts: Vec<u64>,
        sum: f64,
        /// The same observations in native buckets, when the series keeps them.
        native: Option<Box<NativeBuckets>>,
        /// A value below zero (or NaN) was observed once: the sum can go down, and OpenMetrics
        /// then writes neither it nor the count.
        negative_seen: bool,
    },
    /// The states of a state set, in order, and the index of the current one: written as one
    /// sample per state, labelled by the family's name, 1 for the current one and 0 otherwise.
    StateSet {
        states: &'static [&'static str],
        current: usize,
    },
    /// `(quantile, value)` pairs over the summary's window; count and sum over its life.
    Summary {
        quantiles: Vec<(f64, f64)>,
        count: u64,
        sum: f64,
        /// As for a histogram: OpenMetrics then writes no sum, count or quantile.
        negative_seen: bool,
    },
}

impl Value {
    /// The number of observations of a histogram.
    pub(crate) fn histogram_count(counts: &[u64]) -> u64 {
        counts
            .iter()
            .fold(0, |total, count| total.saturating_add(*count))
    }
}

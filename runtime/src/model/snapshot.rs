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
    pub(crate) series: Vec<SeriesSnapshot>,
}

/// One series: its own labels, in the order they are written, and its value.
#[derive(Clone, Debug)]
pub(crate) struct SeriesSnapshot {
    pub(crate) labels: Vec<(&'static str, Cow<'static, str>)>,
    pub(crate) value: Value,
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
    },
    /// `(quantile, value)` pairs over the summary's window; count and sum over its life.
    Summary {
        quantiles: Vec<(f64, f64)>,
        count: u64,
        sum: f64,
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

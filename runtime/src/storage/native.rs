//! Native histograms: the classic buckets of a series and the same observations in sparse
//! exponential buckets, as Prometheus reads them over protobuf.
//!
//! Bucket `k` of schema `s` holds `(2^((k-1)/2^s), 2^(k/2^s)]`, negative values mirrored, and
//! values of magnitude up to the zero threshold go in a zero bucket. The schema is chosen from
//! a resolution factor as client_golang's `NativeHistogramBucketFactor` does: the largest
//! schema whose buckets grow by no more than the factor.
//!
//! Memory is bounded: past `max_buckets` buckets, a series halves its resolution (schema minus
//! one, each bucket merged with its neighbour) until it fits, down to schema -4 (buckets 65536
//! times wider than the last). Nothing is reset or lost: counts only move into wider buckets.
//!
//! Writes go to one of a few shards, each under a mutex that one thread at a time mostly
//! takes, so that two threads recording into the same function do not wait on each other; a
//! read merges the shards at the lowest schema among them. A shard keeps the classic buckets,
//! count and sum with the native buckets, so a scrape sees all of them from the same
//! observations. NaN counts in `_count` and `_sum` but in no bucket, as client_golang does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use hashbrown::HashMap;

use crate::model::snapshot::{NativeBuckets, Value};

/// The schema of the widest buckets Prometheus knows.
const MIN_SCHEMA: i32 = -4;
/// The schema of the narrowest.
const MAX_SCHEMA: i32 = 8;
/// client_golang's default zero threshold.
pub(crate) const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39; // 2^-128
/// The resolution factor `#[track_metrics(native_histogram)]` uses when the builder sets none.
pub const DEFAULT_NATIVE_FACTOR: f64 = 1.1;
/// How many native buckets a series keeps before it halves its resolution: client_golang's
/// usual setting.
pub const DEFAULT_NATIVE_MAX_BUCKETS: usize = 160;

/// How a native histogram buckets: its starting schema, its bucket limit, its zero bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NativeLayout {
    pub(crate) schema: i32,
    pub(crate) max_buckets: usize,
    pub(crate) zero_threshold: f64,
}

impl NativeLayout {
    /// The layout for a resolution factor (> 1) and a bucket limit.
    pub(crate) fn new(factor: f64, max_buckets: usize) -> Self {
        NativeLayout {
            schema: schema_for(factor),
            max_buckets: max_buckets.max(1),
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
        }
    }
}

/// The largest schema whose buckets grow by at most `factor`, between -4 and 8.
pub(crate) fn schema_for(factor: f64) -> i32 {
    let floor = factor.log2().log2().floor();
    if floor.is_nan() || floor <= -8.0 {
        MAX_SCHEMA
    } else if floor >= 4.0 {
        MIN_SCHEMA
    } else {
        -(floor as i32)
    }
}

/// The native histogram of one series, with its classic buckets.
pub(crate) struct NativeHistogram {
    bounds: &'static [f64],
    layout: NativeLayout,
    shards: Box<[Shard]>,
}

#[repr(align(64))]
struct Shard(Mutex<State>);

#[derive(Clone)]
struct State {
    schema: i32,
    /// Classic bucket counts, one per bound and one for `+Inf`.
    classic: Vec<u64>,
    count: u64,
    sum: f64,
    zero: u64,
    positive: HashMap<i32, u64>,
    negative: HashMap<i32, u64>,
}

impl NativeHistogram {
    pub(crate) fn new(bounds: &'static [f64], layout: NativeLayout) -> Self {
        let state = State {
            schema: layout.schema,
            classic: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
            zero: 0,
            positive: HashMap::new(),
            negative: HashMap::new(),
        };
        NativeHistogram {
            bounds,
            layout,
            shards: (0..shard_count())
                .map(|_| Shard(Mutex::new(state.clone())))
                .collect(),
        }
    }

    /// Records `value`, which falls in classic bucket `classic`.
    pub(crate) fn observe(&self, classic: usize, value: f64) {
        let mut state = self.shards[this_threads_shard() % self.shards.len()]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.classic[classic] = state.classic[classic].saturating_add(1);
        state.count = state.count.saturating_add(1);
        state.sum += value;
        if value.is_nan() {
            return;
        }
        if value.abs() <= self.layout.zero_threshold {
            state.zero = state.zero.saturating_add(1);
            return;
        }
        let key = key(value.abs(), state.schema);
        let buckets = if value > 0.0 {
            &mut state.positive
        } else {
            &mut state.negative
        };
        let count = buckets.entry(key).or_insert(0);
        *count = count.saturating_add(1);
        if buckets.len() > self.layout.max_buckets / 2
            && state.positive.len() + state.negative.len() > self.layout.max_buckets
        {
            state.fit(self.layout.max_buckets);
        }
    }

    /// Classic buckets, sum and native buckets, from the same observations.
    pub(crate) fn value(&self) -> Value {
        let mut total = State {
            schema: MAX_SCHEMA,
            classic: vec![0; self.bounds.len() + 1],
            count: 0,
            sum: 0.0,
            zero: 0,
            positive: HashMap::new(),
            negative: HashMap::new(),
        };
        let states: Vec<State> = self
            .shards
            .iter()
            .map(|shard| {
                shard
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .collect();
        total.schema = states
            .iter()
            .map(|state| state.schema)
            .min()
            .unwrap_or(self.layout.schema);
        for state in states {
            for (total, count) in total.classic.iter_mut().zip(&state.classic) {
                *total = total.saturating_add(*count);
            }
            total.count = total.count.saturating_add(state.count);
            total.sum += state.sum;
            total.zero = total.zero.saturating_add(state.zero);
            let halvings = state.schema - total.schema;
            for (from, to) in [
                (&state.positive, &mut total.positive),
                (&state.negative, &mut total.negative),
            ] {
                for (key, count) in from {
                    let slot = to.entry(halve(*key, halvings)).or_insert(0);
                    *slot = slot.saturating_add(*count);
                }
            }
        }
        total.fit(self.layout.max_buckets);
        let sorted = |buckets: &HashMap<i32, u64>| {
            let mut sorted: Vec<(i32, u64)> = buckets.iter().map(|(k, c)| (*k, *c)).collect();
            sorted.sort_unstable();
            sorted
        };
        Value::Histogram {
            bounds: self.bounds,
            native: Some(Box::new(NativeBuckets {
                schema: total.schema,
                zero_threshold: self.layout.zero_threshold,
                zero_count: total.zero,
                positive: sorted(&total.positive),
                negative: sorted(&total.negative),
            })),
            negative_seen: !total.negative.is_empty() || total.sum.is_nan(),
            counts: total.classic,
            sum: total.sum,
        }
    }
}

impl State {
    /// Halves the resolution until the buckets fit in `max_buckets`, or the schema is -4.
    fn fit(&mut self, max_buckets: usize) {
        while self.positive.len() + self.negative.len() > max_buckets && self.schema > MIN_SCHEMA {
            self.schema -= 1;
            for buckets in [&mut self.positive, &mut self.negative] {
                let old = std::mem::take(buckets);
                for (key, count) in old {
                    let slot = buckets.entry(halve(key, 1)).or_insert(0);
                    *slot = slot.saturating_add(count);
                }
            }
        }
    }
}

/// The key of bucket `key` once the schema is lower by `halvings`: bucket `k` and `k - 1`
/// (for odd `k`) merge into `ceil(k / 2)`.
fn halve(key: i32, halvings: i32) -> i32 {
    (0..halvings).fold(key, |key, _| (key + 1).div_euclid(2))
}

/// The bucket of a positive `value` (not NaN) at `schema`; `+Inf` goes above every finite one.
pub(crate) fn key(value: f64, schema: i32) -> i32 {
    if value.is_infinite() {
        // The largest finite value's bucket, plus one: still ordered, still halvable.
        return key(f64::MAX, schema).saturating_add(1);
    }
    let (fraction, exponent) = frexp(value);
    if schema > 0 {
        let bounds = bounds(schema);
        let index = bounds.partition_point(|bound| *bound < fraction);
        index as i32 + (exponent - 1) * bounds.len() as i32
    } else {
        let key = if fraction == 0.5 {
            exponent - 1
        } else {
            exponent
        };
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    }
}

/// `value = fraction * 2^exponent` with `fraction` in `[0.5, 1)`, for a positive finite value.
fn frexp(value: f64) -> (f64, i32) {
    let bits = value.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (fraction, exponent) = frexp(value * 2f64.powi(64));
        return (fraction, exponent - 64);
    }
    let fraction = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (fraction, biased - 1022)
}

/// The lower fractions of each bucket within one power of two, at a positive schema:
/// `2^(i/2^schema - 1)` for `i` in `0..2^schema`.
fn bounds(schema: i32) -> &'static [f64] {
    static TABLES: [OnceLock<Box<[f64]>>; MAX_SCHEMA as usize] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize];
    TABLES[(schema - 1) as usize].get_or_init(|| {
        let size = 1_u32 << schema;
        (0..size)
            .map(|i| (f64::from(i) / f64::from(size) - 1.0).exp2())
            .collect()
    })
}

/// How many shards a native histogram has: enough that the threads of this machine seldom
/// share one, without many per series.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, usize::from)
            .clamp(2, 16)
    })
}

fn this_threads_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SHARD.try_with(|shard| *shard).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_from_factors_as_client_golang() {
        assert_eq!(schema_for(1.1), 3);
        assert_eq!(schema_for(1.09), 4); // 2^(1/8) = 1.0905 is too wide
        assert_eq!(schema_for(1.0001), 8);
        assert_eq!(schema_for(2.0), 0);
        assert_eq!(schema_for(4.0), -1);
        assert_eq!(schema_for(1e300), -4);
    }

    #[test]
    fn keys_put_each_value_in_its_bucket() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let base = 2f64.powf(2f64.powi(-schema));
            for value in [
                1e-300, 1e-9, 0.001, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 1024.0, 1e12,
            ] {
                let key = key(value, schema);
                let upper = base.powi(key);
                let lower = base.powi(key - 1);
                // Within a rounding of the exact bounds.
                assert!(
                    value <= upper * (1.0 + 1e-12) && value > lower * (1.0 - 1e-12),
                    "schema {schema} value {value} key {key} ({lower}, {upper}]"
                );
            }
        }
        // Powers of two are upper bounds.
        assert_eq!(key(1.0, 3), 0);
        assert_eq!(key(2.0, 3), 8);
        assert_eq!(key(2.0, 0), 1);
        assert_eq!(key(4.0, -1), 1);
        assert_eq!(key(4.000_001, -1), 2);
    }

    #[test]
    fn halving_merges_neighbours() {
        // At schema 0, buckets 1 and 2 are (1,2] and (2,4]: at -1 they are both (1,4], key 1.
        assert_eq!(halve(1, 1), 1);
        assert_eq!(halve(2, 1), 1);
        assert_eq!(halve(0, 1), 0);
        assert_eq!(halve(-1, 1), 0);
        assert_eq!(halve(-2, 1), -1);
        for key in -50..50 {
            assert_eq!(halve(key, 3), (f64::from(key) / 8.0).ceil() as i32);
        }
    }

    #[test]
    fn too_many_buckets_halve_the_resolution_and_keep_every_count() {
        static BOUNDS: &[f64] = &[1.0];
        let histogram = NativeHistogram::new(BOUNDS, NativeLayout::new(1.01, 10));
        let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 0.37).collect();
        for value in &values {
            histogram.observe(usize::from(*value > 1.0), *value);
        }
        for value in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            histogram.observe(1, value);
        }
        let Value::Histogram { native, counts, .. } = histogram.value() else {
            unreachable!()
        };
        let native = native.unwrap();
        assert!(
            native.positive.len() + native.negative.len() <= 10,
            "{native:?}"
        );
        assert!(native.schema < 7, "{native:?}");
        let positive: u64 = native.positive.iter().map(|(_, count)| count).sum();
        assert_eq!(positive, 1001);
        assert_eq!(native.negative.len(), 1);
        assert_eq!(native.zero_count, 1);
        assert_eq!(counts.iter().sum::<u64>(), 1004);
        // Each value lies in its bucket at the final schema.
        for value in &values {
            let key = key(*value, native.schema);
            assert!(native.positive.iter().any(|(k, _)| *k == key));
        }
    }
}

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
//! Writes are per-thread cells like the classic buckets' ([`crate::storage::cells`]): a thread's
//! block keeps the count, the sum, the classic buckets, the zero bucket and a window of
//! consecutive native buckets around where its first observation fell, written together under
//! the block's sequence number with plain loads and stores, no lock. An observation outside
//! the window (or below zero) goes with its classic bucket, count and sum to one state under a
//! mutex, where the blocks of exited threads are folded too; so every observation is in exactly
//! one place, whole, and a scrape sees classic and native buckets from the same observations.
//! When a scrape finds more buckets than allowed, it lowers the series' schema; each thread
//! halves its window at its next write.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use hashbrown::HashMap;

use crate::model::snapshot::{NativeBuckets, Value};
use crate::storage::cells::{self, Cells, Fold};
use crate::storage::reentry;

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
    /// The schema threads record at: lowered by a scrape that finds too many buckets.
    schema: &'static AtomicI32,
    /// How many native buckets a block's window holds.
    window: usize,
    /// The bounds table of the layout's schema, when positive: most windows stay at it.
    table: Option<&'static Table>,
    cells: &'static Cells,
    /// Observations outside the windows, and the blocks of exited threads.
    rest: &'static Mutex<State>,
}

/// The words of a block: the sequence number, then these, then the classic buckets, then the
/// window of native buckets.
const SUM: usize = 1;
const COUNT: usize = 2;
const ZERO: usize = 3;
/// The schema of the block's window, as an `i64`'s bits.
const SCHEMA: usize = 4;
/// The key of the window's first bucket, as an `i64`'s bits; `WINDOW_SET` says it is set.
const BASE: usize = 5;
const WINDOW_SET: usize = 6;
/// Observations that fell outside the window since it was last placed (not read by scrapes).
const MISSES: usize = 7;
const FIRST_CLASSIC: usize = 8;
/// Misses after which a thread looks whether its window is in the wrong place: when most of its
/// observations miss it (the first one, which placed it, was an outlier), it moves.
const RECENTER_AFTER: u64 = 32;

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
    /// The calls of the function, from the blocks of exited threads.
    calls: u64,
}

impl State {
    fn new(schema: i32, classic: usize) -> Self {
        State {
            schema,
            calls: 0,
            classic: vec![0; classic],
            count: 0,
            sum: 0.0,
            zero: 0,
            positive: HashMap::new(),
            negative: HashMap::new(),
        }
    }

    /// One observation, in classic bucket `classic`.
    fn observe(&mut self, classic: usize, value: f64, zero_threshold: f64) {
        self.classic[classic] = self.classic[classic].saturating_add(1);
        self.count = self.count.saturating_add(1);
        self.sum += value;
        if value.is_nan() {
            return;
        }
        if value.abs() <= zero_threshold {
            self.zero = self.zero.saturating_add(1);
            return;
        }
        let key = key(value.abs(), self.schema);
        let buckets = if value > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        let count = buckets.entry(key).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Adds a block's copy (words `1..`): its counts, and its window at the block's schema.
    fn add_block(&mut self, copy: &[u64], classic: usize, window: usize) {
        let word = |index: usize| copy[index - 1];
        self.count = self.count.saturating_add(word(COUNT));
        self.sum += f64::from_bits(word(SUM));
        self.zero = self.zero.saturating_add(word(ZERO));
        for (total, count) in self.classic.iter_mut().zip(&copy[FIRST_CLASSIC - 1..]) {
            *total = total.saturating_add(*count);
        }
        if word(WINDOW_SET) == 0 {
            return;
        }
        let schema = word(SCHEMA) as i64 as i32;
        let base = word(BASE) as i64;
        let halvings = (schema - self.schema).max(0);
        if schema < self.schema {
            self.lower_to(schema);
        }
        let window = &copy[FIRST_CLASSIC - 1 + classic..][..window];
        for (offset, count) in window.iter().enumerate() {
            if *count > 0 {
                let key = i32::try_from(base + offset as i64).unwrap_or(i32::MAX);
                let slot = self.positive.entry(halve(key, halvings)).or_insert(0);
                *slot = slot.saturating_add(*count);
            }
        }
    }

    /// Adds another state.
    fn add(&mut self, other: &State) {
        if other.schema < self.schema {
            self.lower_to(other.schema);
        }
        let halvings = other.schema - self.schema;
        for (total, count) in self.classic.iter_mut().zip(&other.classic) {
            *total = total.saturating_add(*count);
        }
        self.count = self.count.saturating_add(other.count);
        self.sum += other.sum;
        self.zero = self.zero.saturating_add(other.zero);
        for (from, to) in [
            (&other.positive, &mut self.positive),
            (&other.negative, &mut self.negative),
        ] {
            for (key, count) in from {
                let slot = to.entry(halve(*key, halvings)).or_insert(0);
                *slot = slot.saturating_add(*count);
            }
        }
    }

    /// Adds another state's native buckets only.
    fn add_buckets(&mut self, other: &State) {
        if other.schema < self.schema {
            self.lower_to(other.schema);
        }
        let halvings = other.schema - self.schema;
        for (key, count) in &other.positive {
            let slot = self.positive.entry(halve(*key, halvings)).or_insert(0);
            *slot = slot.saturating_add(*count);
        }
    }

    /// Lowers the schema to `schema`, merging buckets.
    fn lower_to(&mut self, schema: i32) {
        while self.schema > schema {
            self.halve_once();
        }
    }

    fn halve_once(&mut self) {
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

impl NativeHistogram {
    pub(crate) fn new(bounds: &'static [f64], layout: NativeLayout) -> Self {
        let classic = bounds.len() + 1;
        let window = window_for(layout.schema);
        let rest: &'static Mutex<State> =
            Box::leak(Box::new(Mutex::new(State::new(layout.schema, classic))));
        let fold: &'static (dyn Fn(&[u64]) + Sync) = Box::leak(Box::new(move |words: &[u64]| {
            // Folding allocates: an allocator that records, re-entering, must not wait on it.
            let _ = reentry::guarded(|| {
                let mut rest = rest.lock().unwrap_or_else(PoisonError::into_inner);
                rest.add_block(&words[1..], classic, window);
                rest.calls = rest.calls.saturating_add(words[words.len() - 1]);
            });
        }));
        NativeHistogram {
            bounds,
            layout,
            schema: &Box::leak(Box::new(Padded(AtomicI32::new(layout.schema)))).0,
            window,
            table: (layout.schema > 0).then(|| table(layout.schema)),
            // The last word counts the function's calls: one block for the whole call.
            cells: Cells::new(FIRST_CLASSIC + classic + window + 1, Fold::Custom(fold)),
            rest,
        }
    }

    /// Counts a call of the function, in this thread's block.
    #[inline]
    pub(crate) fn count_call(&self) {
        let calls = FIRST_CLASSIC + self.bounds.len() + 1 + self.window;
        self.cells.write(|words| cells::add(&words[calls], 1));
    }

    /// The calls counted, to read after the histogram (so never fewer than its observations).
    pub(crate) fn calls(&self) -> u64 {
        let calls = FIRST_CLASSIC + self.bounds.len() + 1 + self.window;
        let reading = self.cells.reading();
        let mut total = 0_u64;
        reading.for_each_block(|words| {
            total = total.saturating_add(words[calls].load(Ordering::Acquire));
        });
        let rest = self
            .rest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .calls;
        total.saturating_add(rest)
    }

    /// Records `value`, which falls in classic bucket `classic`.
    #[inline]
    pub(crate) fn observe(&self, classic: usize, value: f64) {
        let schema = self.schema.load(Ordering::Relaxed);
        let in_window = self.cells.write(|words| {
            let slot = match self.slot(words, schema, value) {
                Some(slot) => slot,
                None => {
                    self.missed(words, value);
                    self.slot(words, schema, value)?
                }
            };
            cells::together(words, |words| {
                cells::add_float(&words[SUM], value);
                cells::add(&words[COUNT], 1);
                cells::add(&words[FIRST_CLASSIC + classic], 1);
                match slot {
                    Slot::Zero => cells::add(&words[ZERO], 1),
                    Slot::Bucket(index) => cells::add(&words[index], 1),
                    Slot::CountOnly => {}
                }
            });
            Some(())
        });
        if in_window.is_none() {
            self.observe_elsewhere(classic, value);
        }
    }

    /// An observation of `value` missed this thread's window: slides the window to take it
    /// when its buckets and the new one fit together; otherwise counts the miss, and past
    /// [`RECENTER_AFTER`] of them, when the window holds fewer observations than missed it
    /// (the observation that placed it was an outlier), moves its buckets to the rest and
    /// places it around `value`.
    #[cold]
    #[inline(never)]
    fn missed(&self, words: &[AtomicU64], value: f64) {
        if value < 0.0 || !value.is_finite() {
            return;
        }
        let first = FIRST_CLASSIC + self.bounds.len() + 1;
        let load = |index: usize| words[index].load(Ordering::Relaxed);
        let schema = load(SCHEMA) as i64 as i32;
        let base = load(BASE) as i64;
        let key = i64::from(key(value, schema));
        // On the stack: this runs inside a write, where allocating could re-enter it.
        let mut counts = [0_u64; MAX_WINDOW];
        let (mut low, mut high) = (None, None);
        for (offset, count) in counts.iter_mut().take(self.window).enumerate() {
            *count = load(first + offset);
            if *count > 0 {
                low = low.or(Some(offset as i64));
                high = Some(offset as i64);
            }
        }
        let (low, high) = match (low, high) {
            (Some(low), Some(high)) => ((base + low).min(key), (base + high).max(key)),
            _ => (key, key),
        };
        let width = self.window as i64;
        if high - low < width {
            // Centred on what it holds and the new bucket, nothing leaves it.
            let new_base = low - (width - (high - low + 1)) / 2;
            cells::together(words, |words| {
                for offset in 0..self.window {
                    words[first + offset].store(0, Ordering::Relaxed);
                }
                for (offset, count) in counts.iter().take(self.window).enumerate() {
                    if *count > 0 {
                        let index = (base + offset as i64 - new_base) as usize;
                        words[first + index].store(*count, Ordering::Relaxed);
                    }
                }
                words[BASE].store(new_base as u64, Ordering::Relaxed);
            });
            return;
        }
        let misses = load(MISSES) + 1;
        words[MISSES].store(misses, Ordering::Relaxed);
        if misses < RECENTER_AFTER {
            return;
        }
        words[MISSES].store(0, Ordering::Relaxed);
        let held: u64 = counts.iter().take(self.window).sum();
        if held >= misses {
            return;
        }
        // Readers must see the buckets in the window or in the rest, never in both or neither:
        // they read both under the cells' lock, taken here before the block changes. Making
        // the rest's buckets allocates: an allocator that re-enters drops its observation.
        let _ = reentry::guarded(|| {
            let _readers = self.cells.reading();
            {
                let mut rest = self.rest.lock().unwrap_or_else(PoisonError::into_inner);
                let mut window = State::new(schema, 0);
                for (offset, count) in counts.iter().take(self.window).enumerate() {
                    if *count > 0 {
                        let key = i32::try_from(base + offset as i64).unwrap_or(i32::MAX);
                        window.positive.insert(key, *count);
                    }
                }
                rest.add_buckets(&window);
            }
            cells::together(words, |words| {
                for (offset, count) in counts.iter().take(self.window).enumerate() {
                    // What this thread added meanwhile (re-entered) stays.
                    let word = &words[first + offset];
                    word.store(word.load(Ordering::Relaxed) - count, Ordering::Relaxed);
                }
                words[BASE].store((key - width / 2) as u64, Ordering::Relaxed);
            });
        });
    }

    /// Where `value` goes in the block `words`, which this thread writes: `None` when outside
    /// its window. Sets the window at the first bucket, and halves it when the series' schema
    /// went down.
    #[inline(always)]
    fn slot(&self, words: &[AtomicU64], schema: i32, value: f64) -> Option<Slot> {
        if value.is_nan() {
            return Some(Slot::CountOnly);
        }
        if value.abs() <= self.layout.zero_threshold {
            return Some(Slot::Zero);
        }
        if value < 0.0 {
            return None;
        }
        let load = |index: usize| words[index].load(Ordering::Relaxed);
        let first = FIRST_CLASSIC + self.bounds.len() + 1;
        if load(WINDOW_SET) == 0 {
            let key = i64::from(key(value, schema));
            let base = key - (self.window / 2) as i64;
            cells::together(words, |words| {
                words[SCHEMA].store(i64::from(schema) as u64, Ordering::Relaxed);
                words[BASE].store(base as u64, Ordering::Relaxed);
                words[WINDOW_SET].store(1, Ordering::Relaxed);
            });
        } else if (load(SCHEMA) as i64 as i32) > schema {
            self.halve_window(words, schema, first);
        }
        let block_schema = load(SCHEMA) as i64 as i32;
        let key = match self.table {
            Some(table) if block_schema == self.layout.schema && value.is_finite() => {
                key_in(table, value)
            }
            _ => key(value, block_schema),
        };
        let offset = i64::from(key) - load(BASE) as i64;
        usize::try_from(offset)
            .ok()
            .filter(|offset| *offset < self.window)
            .map(|offset| Slot::Bucket(first + offset))
    }

    /// Lowers this thread's window to `schema`, merging neighbours, as one change for readers.
    #[cold]
    fn halve_window(&self, words: &[AtomicU64], schema: i32, first: usize) {
        let load = |index: usize| words[index].load(Ordering::Relaxed);
        let from = load(SCHEMA) as i64 as i32;
        let halvings = from - schema;
        let base = load(BASE) as i64;
        // On the stack: this runs inside a write, where allocating could re-enter it.
        let mut counts = [0_u64; MAX_WINDOW];
        for (offset, count) in counts.iter_mut().take(self.window).enumerate() {
            *count = load(first + offset);
        }
        let new_base = i64::from(halve(i32::try_from(base).unwrap_or(i32::MIN), halvings))
            - (self.window / 4) as i64;
        cells::together(words, |words| {
            for offset in 0..self.window {
                words[first + offset].store(0, Ordering::Relaxed);
            }
            for (offset, count) in counts.iter().take(self.window).enumerate() {
                let key = i32::try_from(base + offset as i64).unwrap_or(i32::MAX);
                let index = i64::from(halve(key, halvings)) - new_base;
                // Halving narrows the range: every bucket fits the new window.
                let index = usize::try_from(index).unwrap_or(0).min(self.window - 1);
                cells::add(&words[first + index], *count);
            }
            words[SCHEMA].store(i64::from(schema) as u64, Ordering::Relaxed);
            words[BASE].store(new_base as u64, Ordering::Relaxed);
        });
    }

    /// An observation outside this thread's window, or below zero: with its counts, under the
    /// mutex of the rest. Dropped (and counted) if it re-entered from work that holds it.
    #[cold]
    #[inline(never)]
    fn observe_elsewhere(&self, classic: usize, value: f64) {
        let (zero_threshold, max_buckets) = (self.layout.zero_threshold, self.layout.max_buckets);
        let schema = self.schema.load(Ordering::Relaxed);
        let _ = reentry::guarded(|| {
            let mut rest = self.rest.lock().unwrap_or_else(PoisonError::into_inner);
            rest.lower_to(schema);
            rest.observe(classic, value, zero_threshold);
            // Bounded, as the whole is: the rest alone never keeps more buckets than allowed.
            if rest.positive.len() + rest.negative.len() > max_buckets {
                rest.fit(max_buckets);
            }
        });
    }

    /// Classic buckets, sum and native buckets, from the same observations.
    pub(crate) fn value(&self) -> Value {
        let classic = self.bounds.len() + 1;
        let mut total = State::new(self.schema.load(Ordering::Relaxed), classic);
        {
            // No block is folded into the rest while they are read.
            let reading = self.cells.reading();
            let mut copy = vec![0_u64; FIRST_CLASSIC - 1 + classic + self.window + 1];
            reading.for_each_block(|words| {
                cells::read(words, &mut copy);
                total.add_block(&copy, classic, self.window);
            });
            let rest = self
                .rest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            total.add(&rest);
        }
        total.fit(self.layout.max_buckets);
        // Threads record at the schema the buckets fit in from now on.
        self.schema.fetch_min(total.schema, Ordering::Relaxed);
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

/// Where one observation goes in a block.
#[derive(Clone, Copy)]
enum Slot {
    /// NaN: counted and summed, in no bucket.
    CountOnly,
    Zero,
    /// The word of its native bucket.
    Bucket(usize),
}

/// A value alone on its cache line: read at every observation, next to nothing that is written.
#[repr(align(64))]
struct Padded<T>(T);

/// The largest window.
const MAX_WINDOW: usize = 256;

/// A block's window: eight octaves of buckets at its schema, within 32..=256.
fn window_for(schema: i32) -> usize {
    (8_usize << schema.clamp(0, 5)).clamp(32, MAX_WINDOW)
}

impl State {
    /// Halves the resolution until the buckets fit in `max_buckets`, or the schema is -4.
    fn fit(&mut self, max_buckets: usize) {
        while self.positive.len() + self.negative.len() > max_buckets && self.schema > MIN_SCHEMA {
            self.halve_once();
        }
    }
}

/// The key of bucket `key` once the schema is lower by `halvings`: bucket `k` and `k - 1`
/// (for odd `k`) merge into `ceil(k / 2)`.
fn halve(key: i32, halvings: i32) -> i32 {
    (0..halvings).fold(key, |key, _| (key + 1).div_euclid(2))
}

/// The bucket of a positive `value` (not NaN) at `schema`; `+Inf` goes above every finite one.
#[inline]
pub(crate) fn key(value: f64, schema: i32) -> i32 {
    if value.is_infinite() {
        // The largest finite value's bucket, plus one: still ordered, still halvable.
        return key(f64::MAX, schema).saturating_add(1);
    }
    if schema > 0 {
        key_in(table(schema), value)
    } else {
        let (fraction, exponent) = frexp(value);
        let key = if fraction == 0.5 {
            exponent - 1
        } else {
            exponent
        };
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    }
}

/// The bucket of a positive finite `value` at the positive schema of `table`.
#[inline(always)]
fn key_in(table: &Table, value: f64) -> i32 {
    let (fraction, exponent) = frexp(value);
    {
        let bounds = &table.bounds;
        // The bounds below the start of the mantissa's region, then the one or none left
        // between it and the fraction: the same count as a search of all the bounds.
        let region = (fraction.to_bits() >> (52 - table.region_bits)) as usize
            & ((1 << table.region_bits) - 1);
        let mut index = usize::from(table.below[region]);
        while index < bounds.len() && bounds[index] < fraction {
            index += 1;
        }
        index as i32 + (exponent - 1) * bounds.len() as i32
    }
}

/// `value = fraction * 2^exponent` with `fraction` in `[0.5, 1)`, for a positive finite value.
#[inline(always)]
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

/// The buckets of one power of two at a positive schema, and where to start counting them.
struct Table {
    /// The lower fractions of each bucket: `2^(i/2^schema - 1)` for `i` in `0..2^schema`.
    bounds: Box<[f64]>,
    /// How many leading bits of the mantissa name a region: regions narrower than the gap
    /// between two bounds, so that at most one bound lies inside each.
    region_bits: u32,
    /// For each region, how many bounds lie below its first fraction.
    below: Box<[u16]>,
}

fn table(schema: i32) -> &'static Table {
    static TABLES: [OnceLock<Table>; MAX_SCHEMA as usize] =
        [const { OnceLock::new() }; MAX_SCHEMA as usize];
    TABLES[(schema - 1) as usize].get_or_init(|| {
        let size = 1_u32 << schema;
        let bounds: Box<[f64]> = (0..size)
            .map(|i| (f64::from(i) / f64::from(size) - 1.0).exp2())
            .collect();
        // Bounds are at least 0.69/2^schema of a fraction apart in [0.5, 1), regions of
        // 2^-(schema+2) of the mantissa are half that.
        let region_bits = schema as u32 + 2;
        let below = (0..1_u32 << region_bits)
            .map(|region| {
                let start =
                    f64::from_bits((1022_u64 << 52) | (u64::from(region) << (52 - region_bits)));
                bounds.iter().filter(|bound| **bound < start).count() as u16
            })
            .collect();
        Table {
            bounds,
            region_bits,
            below,
        }
    })
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
        // The regions find what a full search finds, at every schema.
        for schema in 1..=MAX_SCHEMA {
            let bounds = &table(schema).bounds;
            for i in 0..20_000 {
                let value = 0.5 + f64::from(i) / 40_000.0;
                let (fraction, exponent) = frexp(value);
                let searched = bounds.partition_point(|bound| *bound < fraction) as i32
                    + (exponent - 1) * bounds.len() as i32;
                assert_eq!(
                    key(value, schema),
                    searched,
                    "schema {schema} value {value}"
                );
            }
            for bound in bounds.iter() {
                for value in [
                    *bound,
                    f64::from_bits(bound.to_bits() + 1),
                    f64::from_bits(bound.to_bits() - 1),
                ] {
                    let (fraction, exponent) = frexp(value);
                    let searched = bounds.partition_point(|b| *b < fraction) as i32
                        + (exponent - 1) * bounds.len() as i32;
                    assert_eq!(
                        key(value, schema),
                        searched,
                        "schema {schema} value {value}"
                    );
                }
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

    #[test]
    fn threads_scrapes_and_exits_keep_every_observation_whole() {
        static BOUNDS: &[f64] = &[0.001, 0.1];
        let histogram: &'static NativeHistogram = Box::leak(Box::new(NativeHistogram::new(
            BOUNDS,
            NativeLayout::new(1.01, 40),
        )));
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..6_u32)
                .map(|thread| {
                    scope.spawn(move || {
                        // Each thread its own range, some far outside its window.
                        for i in 0..3000_u32 {
                            let value = f64::from(1 + (i * 7 + thread * 13) % 500)
                                * 1e-4
                                * if i % 50 == 0 { 1e4 } else { 1.0 };
                            histogram.observe(crate::model::buckets::index(BOUNDS, value), value);
                        }
                    })
                })
                .collect();
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let Value::Histogram { native, counts, .. } = histogram.value() else {
                        unreachable!()
                    };
                    let native = native.unwrap();
                    let in_buckets: u64 = native.positive.iter().map(|(_, c)| c).sum();
                    // Classic and native counts from the same observations, at any moment.
                    assert_eq!(in_buckets + native.zero_count, counts.iter().sum::<u64>());
                    assert!(native.positive.len() <= 40);
                }
            });
            for writer in writers {
                writer.join().unwrap();
            }
            done.store(true, Ordering::Relaxed);
        });
        let Value::Histogram {
            native,
            counts,
            sum,
            ..
        } = histogram.value()
        else {
            unreachable!()
        };
        let native = native.unwrap();
        assert_eq!(counts.iter().sum::<u64>(), 18_000);
        assert_eq!(native.positive.iter().map(|(_, c)| c).sum::<u64>(), 18_000);
        assert!(
            native.schema < 6,
            "lowered to fit 40 buckets: {}",
            native.schema
        );
        assert!(sum > 0.0);
    }
}

//! A quantile sketch with a relative accuracy guarantee over the whole range of `f64` and
//! bounded memory: DDSketch (Masson, Rim and Lee, VLDB 2019) with uniform collapsing
//! (UDDSketch, Epicoco et al., 2020) and 32-bit bin counts.
//!
//! A value `v` counts in bin `ceil(log_γ |v|)`, with `γ = (1 + α) / (1 - α)`; a bin answers with
//! the value within `α` of every value it holds. Positive and negative values have bins of
//! their own, magnitudes below the smallest normal `f64` (about 2.2e-308) count as zero, and
//! the two infinities are counted apart. A store keeps the bins between its smallest and
//! largest value, at most [`MAX_BINS`] of them (a range of 10^17.8 between the smallest and
//! the largest magnitude at `α` = 0.5%). Past that, every pair of neighbouring bins is merged,
//! which squares `γ`: the accuracy halves (1% up to a range of 10^35.6, 2% up to 10^71, 4% up to
//! 10^142, 8% up to 10^284, 16% up to 10^569, 31% for the whole range of `f64`) but holds for
//! every quantile, low and high alike. A sketch's counts take at most
//! `(MAX_BINS + MAX_NEGATIVE_BINS) * 4` bytes, 20 KB, and as little as the range it sees needs.

/// Relative accuracy of every quantile while the range allows it; see [`Sketch::accuracy`].
pub(crate) const ACCURACY: f64 = 0.005;
/// Magnitudes below this count as zero: the subnormal numbers.
const MIN_VALUE: f64 = f64::MIN_POSITIVE;
/// Bins of the store of positive values.
pub(crate) const MAX_BINS: usize = 4096;
/// Bins of the store of negative values, which summaries rarely see.
const MAX_NEGATIVE_BINS: usize = 1024;

/// `ln γ` at level 0.
fn ln_gamma_0() -> f64 {
    ((1.0 + ACCURACY) / (1.0 - ACCURACY)).ln()
}

/// The key of a bin at the next level: `ceil(key / 2)`.
fn coarser(key: i32) -> i32 {
    (key + 1).div_euclid(2)
}

#[derive(Clone, Debug, Default)]
struct Store {
    /// The key of `counts[0]`.
    offset: i32,
    counts: Vec<u32>,
}

impl Store {
    const fn new() -> Self {
        Store {
            offset: 0,
            counts: Vec::new(),
        }
    }

    /// Whether `key` fits with the bins there are, within `max_bins`.
    fn fits(&self, key: i32, max_bins: usize) -> bool {
        if self.counts.is_empty() {
            return true;
        }
        let highest = self.offset + self.counts.len() as i32 - 1;
        let low = self.offset.min(key);
        let high = highest.max(key);
        ((high - low) as usize) < max_bins
    }

    /// Adds `amount` to bin `key`, which [`Store::fits`].
    fn add(&mut self, key: i32, amount: u32) {
        if self.counts.is_empty() {
            self.offset = key;
            self.counts = vec![amount];
            return;
        }
        let highest = self.offset + self.counts.len() as i32 - 1;
        if key < self.offset || key > highest {
            // Reallocated to the exact new range, so a store holds no spare capacity.
            let low = self.offset.min(key);
            let high = highest.max(key);
            let mut counts = Vec::with_capacity((high - low) as usize + 1);
            counts.resize((self.offset - low) as usize, 0);
            counts.extend_from_slice(&self.counts);
            counts.resize((high - low) as usize + 1, 0);
            self.counts = counts;
            self.offset = low;
        }
        let bin = &mut self.counts[(key - self.offset) as usize];
        *bin = bin.saturating_add(amount);
    }

    /// Merges every pair of neighbouring bins: the store at the next level.
    fn collapse(&mut self) {
        if self.counts.is_empty() {
            return;
        }
        let mut next = Store::new();
        for (key, count) in self.bins() {
            next.add(coarser(key), count);
        }
        *self = next;
    }

    fn total(&self) -> u64 {
        self.counts.iter().map(|count| u64::from(*count)).sum()
    }

    fn bins(&self) -> impl DoubleEndedIterator<Item = (i32, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(index, count)| (self.offset + index as i32, *count))
    }
}

/// A sketch of the observations of one window period.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sketch {
    /// How many times pairs of bins were merged: `γ` is `γ₀^(2^level)`.
    level: u32,
    positive: Store,
    negative: Store,
    zero: u64,
    positive_infinity: u64,
    negative_infinity: u64,
}

impl Sketch {
    /// An empty sketch, made without allocating.
    pub(crate) const fn new() -> Self {
        Sketch {
            level: 0,
            positive: Store::new(),
            negative: Store::new(),
            zero: 0,
            positive_infinity: 0,
            negative_infinity: 0,
        }
    }

    /// `ln γ` at this sketch's level.
    fn ln_gamma(&self) -> f64 {
        ln_gamma_0() * f64::from(1_u32 << self.level.min(31))
    }

    /// The relative accuracy of every quantile the sketch answers now.
    #[cfg(test)]
    pub(crate) fn accuracy(&self) -> f64 {
        let gamma = self.ln_gamma().exp();
        (gamma - 1.0) / (gamma + 1.0)
    }

    fn key(&self, magnitude: f64) -> i32 {
        (magnitude.ln() / self.ln_gamma()).ceil() as i32
    }

    /// Merges every pair of neighbouring bins of both stores.
    fn collapse(&mut self) {
        self.level += 1;
        self.positive.collapse();
        self.negative.collapse();
    }

    #[cfg(test)]
    pub(crate) fn add(&mut self, value: f64) {
        self.add_many(value, 1);
    }

    /// Adds `count` observations of `value` at once (a bin saturates at `u32::MAX`).
    pub(crate) fn add_many(&mut self, value: f64, count: u64) {
        if value.is_nan() || count == 0 {
            return;
        }
        if value == f64::INFINITY {
            self.positive_infinity = self.positive_infinity.saturating_add(count);
            return;
        }
        if value == f64::NEG_INFINITY {
            self.negative_infinity = self.negative_infinity.saturating_add(count);
            return;
        }
        let magnitude = value.abs();
        if magnitude < MIN_VALUE {
            self.zero = self.zero.saturating_add(count);
            return;
        }
        let amount = u32::try_from(count).unwrap_or(u32::MAX);
        self.add_bin(value > 0.0, magnitude, amount);
    }

    /// Adds `amount` to the bin of `magnitude` on one side, collapsing until it fits.
    fn add_bin(&mut self, positive: bool, magnitude: f64, amount: u32) {
        loop {
            let key = self.key(magnitude);
            let (store, max_bins) = if positive {
                (&mut self.positive, MAX_BINS)
            } else {
                (&mut self.negative, MAX_NEGATIVE_BINS)
            };
            if store.fits(key, max_bins) {
                store.add(key, amount);
                return;
            }
            self.collapse();
        }
    }

    /// Adds every observation of `other`.
    pub(crate) fn merge(&mut self, other: &Sketch) {
        let mut other = other.clone();
        while other.level < self.level {
            other.collapse();
        }
        while self.level < other.level {
            self.collapse();
        }
        // The middle of each bin lands in the same bin at this level, or in its neighbour's
        // pair after a collapse: adding by value keeps the guarantee.
        let middle = |sketch: &Sketch, key: i32| {
            (f64::from(key) * sketch.ln_gamma() - sketch.ln_gamma() / 2.0).exp()
        };
        for (key, count) in other.positive.bins() {
            let value = middle(&other, key);
            self.add_bin(true, value, count);
        }
        for (key, count) in other.negative.bins() {
            let value = middle(&other, key);
            self.add_bin(false, value, count);
        }
        self.zero = self.zero.saturating_add(other.zero);
        self.positive_infinity = self
            .positive_infinity
            .saturating_add(other.positive_infinity);
        self.negative_infinity = self
            .negative_infinity
            .saturating_add(other.negative_infinity);
    }

    fn count(&self) -> u64 {
        self.positive.total()
            + self.negative.total()
            + self.zero
            + self.positive_infinity
            + self.negative_infinity
    }

    /// The `q` quantile (0 to 1), `NaN` when empty: the observation of rank
    /// `floor(q * (count - 1))`, within [`Sketch::accuracy`] of it.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return f64::NAN;
        }
        let rank = q.clamp(0.0, 1.0) * (count - 1) as f64;
        // The middle of bin `key`, `2γ^key / (γ + 1)`, in logarithms so that the highest bins
        // do not overflow to infinity.
        let ln_gamma = self.ln_gamma();
        let shift = (2.0 / (ln_gamma.exp() + 1.0)).ln();
        let value_of = |key: i32| (f64::from(key) * ln_gamma + shift).exp().min(f64::MAX);
        let mut seen = self.negative_infinity;
        if seen as f64 > rank {
            return f64::NEG_INFINITY;
        }
        for (key, count) in self.negative.bins().rev() {
            seen += u64::from(count);
            if seen as f64 > rank {
                return -value_of(key);
            }
        }
        seen += self.zero;
        if seen as f64 > rank {
            return 0.0;
        }
        for (key, count) in self.positive.bins() {
            seen += u64::from(count);
            if seen as f64 > rank {
                return value_of(key);
            }
        }
        f64::INFINITY
    }

    /// Bytes of bin counts.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        (self.positive.counts.capacity() + self.negative.counts.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(values: impl IntoIterator<Item = f64>) -> Sketch {
        let mut sketch = Sketch::default();
        for value in values {
            sketch.add(value);
        }
        sketch
    }

    /// Every quantile of `values` from the sketch, against the exact one, within the
    /// accuracy the sketch says it has.
    fn assert_accurate(values: &mut [f64], bound: f64) -> f64 {
        let sketch = sketch_of(values.iter().copied());
        values.sort_by(f64::total_cmp);
        let accuracy = sketch.accuracy();
        assert!(accuracy <= bound * 1.000_001, "{accuracy} > {bound}");
        for q in [
            0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0,
        ] {
            let exact = values[(q * (values.len() - 1) as f64) as usize];
            let estimate = sketch.quantile(q);
            let error = ((estimate - exact) / exact).abs();
            assert!(
                error <= accuracy * 1.000_001,
                "q{q}: {estimate} for {exact}, {error} > {accuracy}"
            );
        }
        accuracy
    }

    /// Values spread evenly in logarithm between `low` and `high`.
    fn log_uniform(low: f64, high: f64, count: usize) -> Vec<f64> {
        let (low, high) = (low.ln(), high.ln());
        (0..count)
            .map(|i| (low + (high - low) * i as f64 / (count - 1) as f64).exp())
            .collect()
    }

    #[test]
    fn quantiles_are_within_the_stated_accuracy_over_the_whole_range() {
        // What the README states: 0.5% up to a range of 10^17.8, then halving per doubling.
        for (low, high, bound) in [
            (1.0, 10_000.0, 0.005),
            (1e-7, 1e2, 0.005),
            (1.0, 1e10, 0.005),
            (1e-9, 1e8, 0.005),
            (1e-9, 1e10, 0.01),
            (1e-30, 1e-3, 0.01),
            (1e-35, 1e35, 0.02),
            (1e-70, 1e70, 0.04),
            (1e-140, 1e140, 0.08),
            (1e-280, 1e280, 0.16),
            (f64::MIN_POSITIVE, f64::MAX, 0.31),
        ] {
            assert_accurate(&mut log_uniform(low, high, 20_001), bound);
        }
        let mut linear: Vec<f64> = (1..=10_000).map(f64::from).collect();
        assert!((assert_accurate(&mut linear, ACCURACY) - ACCURACY).abs() < 1e-12);
        // Durations: most near a typical value, a tail of outliers eight orders above.
        let mut skewed: Vec<f64> = (0..10_000)
            .map(|i| {
                if i % 100 == 0 {
                    1e-6 * 1e8
                } else {
                    1e-6 * (1.0 + f64::from(i % 97))
                }
            })
            .collect();
        assert_accurate(&mut skewed, ACCURACY);
    }

    #[test]
    fn signs_zero_and_empty() {
        assert!(Sketch::default().quantile(0.5).is_nan());
        let sketch = sketch_of([-100.0, -1.0, 0.0, 1.0, 100.0]);
        assert!((sketch.quantile(0.0) + 100.0).abs() < 0.5);
        assert_eq!(sketch.quantile(0.5), 0.0);
        assert!((sketch.quantile(1.0) - 100.0).abs() < 0.5);
        // Subnormal magnitudes count as zero; the smallest normal one does not.
        let tiny = sketch_of([5e-324, f64::MIN_POSITIVE]);
        assert_eq!(tiny.quantile(0.0), 0.0);
        let smallest = tiny.quantile(1.0);
        assert!(((smallest - f64::MIN_POSITIVE) / f64::MIN_POSITIVE).abs() <= ACCURACY);
    }

    #[test]
    fn memory_is_bounded_whatever_the_range() {
        let sketch = sketch_of(
            (0..20_000).flat_map(|i| [1e-300 * 1.04_f64.powi(i), -(1.1_f64.powi(i % 500))]),
        );
        assert!(
            sketch.bytes() <= (MAX_BINS + MAX_NEGATIVE_BINS) * 4 * 2,
            "{}",
            sketch.bytes()
        );
        assert!(sketch.positive.counts.len() <= MAX_BINS);
        assert!(sketch.negative.counts.len() <= MAX_NEGATIVE_BINS);
    }

    #[test]
    fn infinities_count_apart_and_cost_nothing() {
        let mut sketch = sketch_of([1.0, 2.0, 3.0]);
        sketch.add(f64::INFINITY);
        sketch.add(f64::NEG_INFINITY);
        assert!(sketch.bytes() <= 512, "{}", sketch.bytes());
        assert_eq!(sketch.quantile(0.0), f64::NEG_INFINITY);
        assert!((sketch.quantile(0.5) - 2.0).abs() <= 2.0 * ACCURACY);
        assert_eq!(sketch.quantile(1.0), f64::INFINITY);
        let only = sketch_of([f64::INFINITY]);
        assert_eq!(only.quantile(0.5), f64::INFINITY);
    }

    #[test]
    fn merging_is_adding_even_across_levels() {
        let mut left = sketch_of((1..=500).map(f64::from));
        left.merge(&sketch_of((501..=1000).map(f64::from)));
        let whole = sketch_of((1..=1000).map(f64::from));
        for q in [0.1, 0.5, 0.99] {
            assert_eq!(left.quantile(q), whole.quantile(q));
        }
        // One period saw a wide range (collapsed), the other a narrow one.
        let mut wide = log_uniform(1e-20, 1e20, 5_001);
        let narrow = log_uniform(1.0, 10.0, 5_001);
        let mut merged = sketch_of(wide.iter().copied());
        merged.merge(&sketch_of(narrow.iter().copied()));
        wide.extend(narrow);
        wide.sort_by(f64::total_cmp);
        let accuracy = merged.accuracy();
        for q in [0.01, 0.25, 0.5, 0.75, 0.99] {
            let exact = wide[(q * (wide.len() - 1) as f64) as usize];
            let error = ((merged.quantile(q) - exact) / exact).abs();
            assert!(error <= accuracy * 1.000_001, "q{q}: {error} > {accuracy}");
        }
    }
}

//! A quantile sketch with a relative accuracy guarantee and bounded memory: the DDSketch
//! algorithm (Masson, Rim and Lee, VLDB 2019) with 32-bit bin counts.
//!
//! A value `v` counts in bin `ceil(log_γ |v|)`, with `γ = (1 + α) / (1 - α)`; a bin answers with
//! the value within `α` (0.5%) of every value it holds. Positive and negative values have
//! bins of their own, values closer to zero than [`MIN_VALUE`] count as zero, and the two
//! infinities are counted apart. A store keeps at most [`MAX_BINS`] consecutive bins (a range of
//! about 10^8.9 between its smallest and largest value at full accuracy); beyond that its lowest
//! bins are merged, which only loses accuracy for the quantiles of the smallest values. A store's
//! vector is reallocated to its exact size whenever its range changes, so a sketch is at most
//! `(2048 + 512) * 4` bytes of counts whatever it is fed.

/// Relative accuracy of every quantile.
pub(crate) const ACCURACY: f64 = 0.005;
/// Values closer to zero than this count as zero.
const MIN_VALUE: f64 = 1e-9;
/// Bins of the store of positive values.
const MAX_BINS: usize = 2048;
/// Bins of the store of negative values, which summaries rarely see.
const MAX_NEGATIVE_BINS: usize = 512;

fn gamma() -> f64 {
    (1.0 + ACCURACY) / (1.0 - ACCURACY)
}

#[derive(Clone, Debug, Default)]
struct Store {
    /// The key of `counts[0]`.
    offset: i32,
    counts: Vec<u32>,
}

impl Store {
    fn add(&mut self, key: i32, amount: u32, max_bins: usize) {
        if self.counts.is_empty() {
            self.offset = key;
            self.counts = vec![amount];
            return;
        }
        let highest = self.offset + self.counts.len() as i32 - 1;
        let high = highest.max(key);
        let low = self.offset.min(key).max(high - (max_bins as i32 - 1));
        if low != self.offset || high != highest {
            // A new range, at most `max_bins` wide: bins below it merge into its lowest.
            let mut counts = vec![0_u32; (high - low + 1) as usize];
            for (index, count) in self.counts.iter().enumerate() {
                let bin = (self.offset + index as i32).max(low) - low;
                counts[bin as usize] = counts[bin as usize].saturating_add(*count);
            }
            self.counts = counts;
            self.offset = low;
        }
        let bin = &mut self.counts[(key.max(low) - low) as usize];
        *bin = bin.saturating_add(amount);
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

/// A DDSketch of the observations of one window period.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sketch {
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
            positive: Store {
                offset: 0,
                counts: Vec::new(),
            },
            negative: Store {
                offset: 0,
                counts: Vec::new(),
            },
            zero: 0,
            positive_infinity: 0,
            negative_infinity: 0,
        }
    }

    pub(crate) fn add(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        if value == f64::INFINITY {
            self.positive_infinity = self.positive_infinity.saturating_add(1);
            return;
        }
        if value == f64::NEG_INFINITY {
            self.negative_infinity = self.negative_infinity.saturating_add(1);
            return;
        }
        let magnitude = value.abs();
        if magnitude < MIN_VALUE {
            self.zero = self.zero.saturating_add(1);
            return;
        }
        // Finite values up to f64::MAX have keys of about 71,000: far from i32's limits.
        let key = (magnitude.ln() / gamma().ln()).ceil() as i32;
        if value > 0.0 {
            self.positive.add(key, 1, MAX_BINS);
        } else {
            self.negative.add(key, 1, MAX_NEGATIVE_BINS);
        }
    }

    /// Adds every observation of `other`.
    pub(crate) fn merge(&mut self, other: &Sketch) {
        for (key, count) in other.positive.bins() {
            self.positive.add(key, count, MAX_BINS);
        }
        for (key, count) in other.negative.bins() {
            self.negative.add(key, count, MAX_NEGATIVE_BINS);
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

    /// The `q` quantile (0 to 1), `NaN` when empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return f64::NAN;
        }
        let rank = q.clamp(0.0, 1.0) * (count - 1) as f64;
        // The middle of bin `key`, `2γ^key / (γ + 1)`, in logarithms so that the highest bins
        // do not overflow to infinity.
        let value_of = |key: i32| {
            (f64::from(key) * gamma().ln() + (2.0 / (gamma() + 1.0)).ln())
                .exp()
                .min(f64::MAX)
        };
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

    #[test]
    fn quantiles_are_within_the_accuracy() {
        let sketch = sketch_of((1..=10_000).map(f64::from));
        for (q, exact) in [
            (0.0, 1.0),
            (0.5, 5000.5),
            (0.9, 9000.1),
            (0.99, 9900.01),
            (1.0, 10_000.0),
        ] {
            let estimate = sketch.quantile(q);
            assert!(
                (estimate - exact).abs() <= exact * (ACCURACY + 1e-4),
                "q{q}: {estimate} vs {exact}"
            );
        }
    }

    #[test]
    fn signs_zero_and_empty() {
        assert!(Sketch::default().quantile(0.5).is_nan());
        let sketch = sketch_of([-100.0, -1.0, 0.0, 1.0, 100.0]);
        assert!((sketch.quantile(0.0) + 100.0).abs() < 0.5);
        assert_eq!(sketch.quantile(0.5), 0.0);
        assert!((sketch.quantile(1.0) - 100.0).abs() < 0.5);
    }

    #[test]
    fn memory_is_bounded_whatever_the_range() {
        let sketch =
            sketch_of((0..2000).flat_map(|i| [1e-8 * 1.1_f64.powi(i), -(1.1_f64.powi(i % 500))]));
        assert!(
            sketch.bytes() <= (MAX_BINS + MAX_NEGATIVE_BINS) * 4 * 2,
            "{}",
            sketch.bytes()
        );
        assert!(sketch.positive.counts.len() <= MAX_BINS);
        assert!(sketch.negative.counts.len() <= MAX_NEGATIVE_BINS);
        // The highest values keep their accuracy.
        let top = sketch.quantile(1.0);
        let exact = 1e-8 * 1.1_f64.powi(1999);
        assert!(
            (top - exact).abs() <= exact * ACCURACY * 1.01,
            "{top} vs {exact}"
        );
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
    fn the_widest_range_fits_in_the_bound() {
        let sketch = sketch_of([1e-9, 1e300, -1e-9, -1e300, f64::MAX, -f64::MAX, 5e-324]);
        assert!(
            sketch.bytes() <= (MAX_BINS + MAX_NEGATIVE_BINS) * 4,
            "{} bytes",
            sketch.bytes()
        );
        // The largest value keeps its accuracy; the smallest are merged upwards.
        assert!((sketch.quantile(1.0) / f64::MAX - 1.0).abs() <= ACCURACY * 1.01);
    }

    #[test]
    fn merging_is_adding() {
        let mut left = sketch_of((1..=500).map(f64::from));
        left.merge(&sketch_of((501..=1000).map(f64::from)));
        let whole = sketch_of((1..=1000).map(f64::from));
        for q in [0.1, 0.5, 0.99] {
            assert_eq!(left.quantile(q), whole.quantile(q));
        }
    }
}

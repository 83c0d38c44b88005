//! A quantile sketch with a relative accuracy guarantee and bounded memory: the DDSketch
//! algorithm (Masson, Rim and Lee, VLDB 2019) with 32-bit bin counts.
//!
//! A value `v` counts in bin `ceil(log_γ |v|)`, with `γ = (1 + α) / (1 - α)`; a bin answers with
//! the value within `α` (0.5%) of every value it holds. Positive and negative values have
//! bins of their own, values closer to zero than [`MIN_VALUE`] count as zero. A store keeps at
//! most [`MAX_BINS`] consecutive bins (a range of about 10^8.9 between its smallest and largest
//! value at full accuracy); beyond that its lowest bins are merged, which only loses accuracy
//! for the quantiles of the smallest values. So a sketch is at most `(2048 + 512) * 4` bytes
//! of counts whatever it is fed.

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
            self.counts.push(0);
        }
        let highest = self.offset + self.counts.len() as i32 - 1;
        let lowest_kept = highest.max(key) - (max_bins as i32 - 1);
        let key = key.max(lowest_kept);
        if key < self.offset {
            let missing = (self.offset - key) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, missing));
            self.offset = key;
        } else if key > highest {
            self.counts.resize((key - self.offset + 1) as usize, 0);
        }
        if self.offset < lowest_kept {
            // Too wide: the lowest bins merge into the lowest one kept.
            let excess = (lowest_kept - self.offset) as usize;
            let merged = self.counts[..=excess]
                .iter()
                .fold(0_u32, |total, count| total.saturating_add(*count));
            self.counts.drain(..excess);
            self.counts[0] = merged;
            self.offset = lowest_kept;
        }
        let bin = &mut self.counts[(key - self.offset) as usize];
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
}

impl Sketch {
    pub(crate) fn add(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        let magnitude = value.abs();
        if magnitude < MIN_VALUE {
            self.zero = self.zero.saturating_add(1);
            return;
        }
        // An infinite value lands in the highest bin the store keeps.
        let key = (magnitude.ln() / gamma().ln())
            .ceil()
            .min(f64::from(i32::MAX / 2)) as i32;
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
    }

    fn count(&self) -> u64 {
        self.positive.total() + self.negative.total() + self.zero
    }

    /// The `q` quantile (0 to 1), `NaN` when empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let count = self.count();
        if count == 0 {
            return f64::NAN;
        }
        let rank = q.clamp(0.0, 1.0) * (count - 1) as f64;
        let value_of = |key: i32| 2.0 * gamma().powi(key) / (gamma() + 1.0);
        let mut seen = 0_u64;
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
        let mut last = 0.0;
        for (key, count) in self.positive.bins() {
            seen += u64::from(count);
            last = value_of(key);
            if seen as f64 > rank {
                return last;
            }
        }
        last
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
    fn merging_is_adding() {
        let mut left = sketch_of((1..=500).map(f64::from));
        left.merge(&sketch_of((501..=1000).map(f64::from)));
        let whole = sketch_of((1..=1000).map(f64::from));
        for q in [0.1, 0.5, 0.99] {
            assert_eq!(left.quantile(q), whole.quantile(q));
        }
    }
}

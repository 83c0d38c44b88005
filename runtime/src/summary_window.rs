//! The sliding time window behind a summary's quantiles.
//!
//! The exporter's own summary (metrics-exporter-prometheus 0.18.3, `RollingSummary::add`) drops
//! every sample that is older than the newest bucket, and its drain hands over the newest block
//! of samples first: after the first drain, all but the last 64 samples are lost. This window is
//! fed at observation time instead, in the way the Go client does it: every observation goes into
//! each of a few sketches that were started one rotation apart, and the oldest one, which has
//! seen the whole window, answers the quantiles.

use std::time::Duration;

use metrics_util::storage::Summary as Sketch;
use quanta::Instant;

/// Relative accuracy of every quantile: within 0.5% of the true value.
const ACCURACY: f64 = 0.005;
/// Bound on sketch bins; values within a factor of ~10^8 of each other keep full accuracy.
const MAX_BINS: u32 = 4096;
/// Values closer to zero than this count as zero.
const MIN_VALUE: f64 = 1e-9;
/// How many sketches share the window.
const AGE_BUCKETS: u32 = 5;

pub(crate) struct Window {
    sketches: Vec<Sketch>,
    head: usize,
    head_expires: Instant,
    rotation: Duration,
}

fn sketch() -> Sketch {
    Sketch::new(ACCURACY, MAX_BINS, MIN_VALUE)
}

impl Window {
    pub(crate) fn new(max_age: Duration) -> Self {
        let rotation = max_age / AGE_BUCKETS;
        Window {
            sketches: (0..AGE_BUCKETS).map(|_| sketch()).collect(),
            head: 0,
            head_expires: Instant::now() + rotation,
            rotation,
        }
    }

    pub(crate) fn observe(&mut self, value: f64, now: Instant) {
        self.rotate(now);
        for sketch in &mut self.sketches {
            sketch.add(value);
        }
    }

    /// The quantile over the window, `NaN` when it holds no observation.
    pub(crate) fn quantile(&mut self, q: f64, now: Instant) -> f64 {
        self.rotate(now);
        self.sketches[self.head].quantile(q).unwrap_or(f64::NAN)
    }

    fn rotate(&mut self, now: Instant) {
        let mut rotations = 0;
        while self.head_expires <= now {
            self.sketches[self.head] = sketch();
            self.head = (self.head + 1) % self.sketches.len();
            self.head_expires += self.rotation;
            rotations += 1;
            if rotations == self.sketches.len() {
                // Idle for a whole window: everything is reset, so skip ahead in one step.
                self.head_expires = now + self.rotation;
                break;
            }
        }
    }
}

//! The live page's memory: every few seconds, a reading of each instrumented function kept in
//! small fixed rings, from which the page computes rates, error ratios and quantiles as
//! Prometheus would over a short window.
//!
//! Only a thread of its own reads the storage, the way a scrape does: nothing is added to a
//! call. It starts with `install()` when the page is on, reads only while the page is looked
//! at (for a minute after each request of it), and runs no user code (the page reads declared
//! families, gauge functions included, only when it is rendered).
//!
//! Memory per function: [`WINDOW`] + 1 raw readings (the call and error counts, and one count
//! per bucket, error types included: at most 64 per function) and [`POINTS`] chart points of
//! five numbers. With 14 buckets and a few error types, about 9 KB per function.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::model::descriptor::SiteInfo;
use crate::storage::call_site::{self, Reading};

/// How often the functions are read.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// Readings a rate is computed over: 15, so 30 seconds.
const WINDOW: usize = 15;
/// Chart points kept: 150, so 5 minutes.
pub(crate) const POINTS: usize = 150;

/// What the page shows of a function at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Point {
    /// Calls per second over the window.
    pub(crate) rate: f64,
    /// Failed calls over calls, over the window; NaN without calls.
    pub(crate) error_ratio: f64,
    /// Median and 99th percentile of the durations over the window, in seconds; NaN without.
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    /// Calls running now.
    pub(crate) in_flight: f64,
}

/// One function's history.
pub(crate) struct History {
    pub(crate) info: &'static SiteInfo,
    raw: VecDeque<Raw>,
    pub(crate) points: VecDeque<Point>,
}

struct Raw {
    at: Instant,
    calls: u64,
    errors: Vec<(&'static str, u64)>,
    bounds: &'static [f64],
    counts: Vec<u64>,
}

/// The rings of every function, by site.
#[derive(Default)]
pub(crate) struct Ring {
    sites: Mutex<HashMap<usize, History>>,
}

static RING: OnceLock<Ring> = OnceLock::new();

/// The ring, once the sampler runs.
pub(crate) fn ring() -> Option<&'static Ring> {
    RING.get()
}

/// How long the sampler goes on after the page was last asked for. An open page asks every few
/// seconds; once it is closed, the sampler sleeps and costs nothing.
pub(crate) const IDLE_AFTER: Duration = Duration::from_secs(60);

/// When the page (or its fragment) was last asked for.
static VIEWED: Mutex<Option<Instant>> = Mutex::new(None);
/// The sampler's thread, to wake when the page is asked for.
static SAMPLER: OnceLock<std::thread::Thread> = OnceLock::new();

/// The page is being looked at: the sampler reads from now on, for [`IDLE_AFTER`].
pub(crate) fn viewed() {
    *VIEWED.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    if let Some(sampler) = SAMPLER.get() {
        sampler.unpark();
    }
}

/// Whether a page asked for at `viewed` is still being looked at, at `now`.
fn watched(viewed: Option<Instant>, now: Instant) -> bool {
    viewed.is_some_and(|viewed| now.saturating_duration_since(viewed) < IDLE_AFTER)
}

/// Starts the sampler, once for the process: it reads every [`SAMPLE_INTERVAL`] while the page
/// is looked at, and sleeps otherwise.
pub(crate) fn start() -> std::io::Result<()> {
    if RING.set(Ring::default()).is_err() {
        return Ok(());
    }
    let sampler = std::thread::Builder::new()
        .name("track-metrics-live".to_owned())
        .spawn(|| {
            let ring = RING.get().expect("set above");
            loop {
                let viewed = *VIEWED.lock().unwrap_or_else(PoisonError::into_inner);
                if !watched(viewed, Instant::now()) {
                    // Readings from before the sleep would span it: start afresh.
                    ring.forget();
                    std::thread::park();
                    // The view that woke the sampler took a reading as it rendered: the next
                    // one is an interval on, so that the first rate spans one.
                    std::thread::sleep(SAMPLE_INTERVAL);
                    continue;
                }
                ring.sample(call_site::readings(), Instant::now());
                std::thread::sleep(SAMPLE_INTERVAL);
            }
        })?;
    let _ = SAMPLER.set(sampler.thread().clone());
    Ok(())
}

impl Ring {
    /// Adds a reading of every function.
    pub(crate) fn sample(&self, readings: Vec<Reading>, at: Instant) {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        for reading in readings {
            let key = std::ptr::from_ref(reading.info) as usize;
            let history = sites.entry(key).or_insert_with(|| History {
                info: reading.info,
                raw: VecDeque::with_capacity(WINDOW + 1),
                points: VecDeque::with_capacity(POINTS),
            });
            if history.raw.len() > WINDOW {
                history.raw.pop_front();
            }
            history.raw.push_back(Raw {
                at,
                calls: reading.calls,
                errors: reading.errors,
                bounds: reading.bounds,
                counts: reading.counts,
            });
            let point = history.now();
            if history.points.len() >= POINTS {
                history.points.pop_front();
            }
            history.points.push_back(point);
        }
    }

    /// Takes a reading now if there is none, as after the sampler slept while nobody looked: the
    /// page then lists every function with its totals at once, and its rates from the next
    /// reading on.
    pub(crate) fn read_if_empty(&self) {
        let empty = self
            .sites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        if empty {
            self.sample(call_site::readings(), Instant::now());
        }
    }

    /// Drops every reading.
    fn forget(&self) {
        self.sites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Runs `read` with every function's history.
    pub(crate) fn with<R>(&self, read: impl FnOnce(Vec<&History>) -> R) -> R {
        let sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        read(sites.values().collect())
    }
}

impl History {
    /// The numbers over the window that ends with the latest reading.
    pub(crate) fn now(&self) -> Point {
        let (Some(first), Some(last)) = (self.raw.front(), self.raw.back()) else {
            return Point::default();
        };
        let finished: u64 = last.counts.iter().sum();
        let in_flight = last.calls.saturating_sub(finished) as f64;
        let seconds = last.at.duration_since(first.at).as_secs_f64();
        let calls = last.calls.saturating_sub(first.calls) as f64;
        let errors = total(&last.errors).saturating_sub(total(&first.errors)) as f64;
        let counts: Vec<u64> = last
            .counts
            .iter()
            .zip(first.counts.iter().chain(std::iter::repeat(&0)))
            .map(|(last, first)| last.saturating_sub(*first))
            .collect();
        Point {
            rate: if seconds > 0.0 {
                calls / seconds
            } else {
                f64::NAN
            },
            error_ratio: errors / calls,
            p50: quantile(0.5, last.bounds, &counts),
            p99: quantile(0.99, last.bounds, &counts),
            in_flight,
        }
    }

    /// Failed calls by error type over the window, most first.
    pub(crate) fn errors_by_type(&self) -> Vec<(&'static str, u64)> {
        let (Some(first), Some(last)) = (self.raw.front(), self.raw.back()) else {
            return Vec::new();
        };
        let mut by_type: Vec<(&'static str, u64)> = last
            .errors
            .iter()
            .map(|(error_type, count)| {
                let before = first
                    .errors
                    .iter()
                    .find(|(earlier, _)| earlier == error_type)
                    .map_or(0, |(_, count)| *count);
                (*error_type, count.saturating_sub(before))
            })
            .filter(|(_, count)| *count > 0)
            .collect();
        by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        by_type
    }

    /// Calls in the window, and the total since `install()`.
    pub(crate) fn calls(&self) -> (u64, u64) {
        match (self.raw.front(), self.raw.back()) {
            (Some(first), Some(last)) => (last.calls.saturating_sub(first.calls), last.calls),
            _ => (0, 0),
        }
    }
}

fn total(errors: &[(&'static str, u64)]) -> u64 {
    errors.iter().map(|(_, count)| count).sum()
}

/// The `q` quantile of bucket counts (not cumulative) as `histogram_quantile` estimates it:
/// linear within the bucket the rank falls in, the lowest bucket starting at 0, and the highest
/// finite bound when the rank falls in `+Inf`.
pub(crate) fn quantile(q: f64, bounds: &[f64], counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let rank = q * total as f64;
    let mut below = 0_u64;
    for (index, count) in counts.iter().enumerate() {
        let cumulative = below + count;
        if cumulative as f64 >= rank {
            let Some(upper) = bounds.get(index) else {
                return bounds.last().copied().unwrap_or(f64::NAN);
            };
            let lower = if index == 0 { 0.0 } else { bounds[index - 1] };
            if *count == 0 {
                return *upper;
            }
            return lower + (upper - lower) * (rank - below as f64) / *count as f64;
        }
        below = cumulative;
    }
    bounds.last().copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_as_histogram_quantile_computes_them() {
        let bounds = [0.1, 0.2, 0.4];
        // 10 in (0, 0.1], 10 in (0.1, 0.2], none above.
        assert!((quantile(0.5, &bounds, &[10, 10, 0, 0]) - 0.1).abs() < 1e-12);
        assert!((quantile(0.75, &bounds, &[10, 10, 0, 0]) - 0.15).abs() < 1e-12);
        assert_eq!(quantile(0.99, &bounds, &[0, 0, 0, 5]), 0.4);
        assert!(quantile(0.5, &bounds, &[0, 0, 0, 0]).is_nan());
    }

    #[test]
    fn the_sampler_reads_only_within_a_minute_of_a_view() {
        let now = Instant::now();
        assert!(!watched(None, now), "never looked at");
        assert!(watched(Some(now), now));
        assert!(watched(
            Some(now),
            now + IDLE_AFTER - Duration::from_millis(1)
        ));
        assert!(!watched(Some(now), now + IDLE_AFTER));
    }
}

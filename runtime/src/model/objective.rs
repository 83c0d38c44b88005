//! Service-level objectives, written as constants in the code and attached to functions.

/// A service-level objective: a success rate, a latency, or both, for the functions that name
/// it with `#[track_metrics(objective = NAME)]`.
///
/// ```
/// use track_metrics::slo::Objective;
///
/// /// 99.9% of calls succeed, and 99% of them take at most 250 ms.
/// pub const API: Objective = Objective::new("api").success_rate(99.9).latency(0.25, 99.0);
///
/// assert_eq!(API.name(), "api");
/// assert!((API.error_budget().unwrap() - 0.001).abs() < 1e-12);
/// ```
///
/// The constructors are `const fn`s that refuse nonsense at compile time: a success rate or a
/// percentile outside (0, 100), a threshold that is not a positive number of seconds, an empty
/// name or one with control characters or line breaks (it is a label value, and alerts and rules
/// files show it). `#[track_metrics(objective = ..)]` refuses an objective with no target. A
/// latency threshold must be a bucket bound of the duration histogram of every function
/// with the objective: `#[track_metrics]` checks it where it sees the buckets, `install()` and
/// [`rules`](crate::slo::rules) otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    name: &'static str,
    success_rate: Option<f64>,
    latency: Option<Latency>,
}

/// A latency objective: `percentile` percent of calls take at most `threshold_seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// The threshold, in seconds: a bucket bound of the duration histogram.
    pub threshold_seconds: f64,
    /// The share of calls that must be as fast, in percent.
    pub percentile: f64,
}

impl Objective {
    /// An objective named `name` (the value of the `objective` label), with no target yet.
    pub const fn new(name: &'static str) -> Self {
        assert!(!name.is_empty(), "an objective needs a name");
        assert!(
            printable(name.as_bytes()),
            "an objective's name is shown in alerts and rules files: it cannot hold control \
             characters or line breaks"
        );
        Objective {
            name,
            success_rate: None,
            latency: None,
        }
    }

    /// `percent` of calls succeed (99.9 for three nines): a call that returned an error,
    /// panicked or was cancelled is a failure, as `function_errors_total` counts it.
    pub const fn success_rate(mut self, percent: f64) -> Self {
        assert!(
            percent > 0.0 && percent < 100.0,
            "a success rate is a percentage above 0 and below 100, such as 99.9"
        );
        self.success_rate = Some(percent);
        self
    }

    /// `percentile` percent of calls take at most `threshold_seconds` (0.25 and 99.0: 99% of
    /// calls within 250 ms). The threshold must be a bucket bound of the functions' duration
    /// histograms, or the share of calls below it cannot be read from them.
    pub const fn latency(mut self, threshold_seconds: f64, percentile: f64) -> Self {
        assert!(
            threshold_seconds > 0.0 && threshold_seconds < f64::INFINITY,
            "a latency threshold is a positive number of seconds, such as 0.25"
        );
        assert!(
            percentile > 0.0 && percentile < 100.0,
            "a latency percentile is a percentage above 0 and below 100, such as 99.0"
        );
        self.latency = Some(Latency {
            threshold_seconds,
            percentile,
        });
        self
    }

    /// The name, the value of the `objective` label.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The success rate, in percent.
    pub const fn success_rate_percent(&self) -> Option<f64> {
        self.success_rate
    }

    /// The latency objective.
    pub const fn latency_objective(&self) -> Option<Latency> {
        self.latency
    }

    /// The share of calls allowed to fail (0.001 for 99.9%).
    pub fn error_budget(&self) -> Option<f64> {
        self.success_rate.map(|percent| (100.0 - percent) / 100.0)
    }

    /// Whether `bounds` has the latency threshold among them (or there is no latency target).
    pub(crate) const fn fits(&self, bounds: &[f64]) -> bool {
        let Some(latency) = self.latency else {
            return true;
        };
        let mut index = 0;
        while index < bounds.len() {
            if bounds[index] == latency.threshold_seconds {
                return true;
            }
            index += 1;
        }
        false
    }
}

/// Whether `name` (UTF-8) has no control character (C0, DEL, C1) and no Unicode line or
/// paragraph separator: a rules file or an alert would break on one.
const fn printable(name: &[u8]) -> bool {
    let mut index = 0;
    while index < name.len() {
        let byte = name[index];
        let next = if index + 1 < name.len() {
            name[index + 1]
        } else {
            0
        };
        let after = if index + 2 < name.len() {
            name[index + 2]
        } else {
            0
        };
        let c1 = byte == 0xC2 && next >= 0x80 && next <= 0x9F;
        let separator = byte == 0xE2 && next == 0x80 && (after == 0xA8 || after == 0xA9);
        if byte < 0x20 || byte == 0x7F || c1 || separator {
            return false;
        }
        index += 1;
    }
    true
}

/// The compile-time checks `#[track_metrics(objective = ..)]` expands to (not public API): the
/// objective has a target, and with `buckets = [..]`, its threshold is one of them.
#[doc(hidden)]
pub const fn check_objective(objective: &Objective, bounds: Option<&[f64]>) {
    assert!(
        objective.success_rate.is_some() || objective.latency.is_some(),
        "this objective has no target, so no rule can watch it: give it `.success_rate(..)` or \
         `.latency(..)`"
    );
    let Some(bounds) = bounds else {
        return;
    };
    assert!(
        objective.fits(bounds),
        "the objective's latency threshold is not a bucket bound of this function's duration \
         histogram: add it to `buckets`, or the share of calls under it cannot be measured"
    );
}

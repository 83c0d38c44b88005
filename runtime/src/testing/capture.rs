//! What instrumented code records on one thread, captured for a test; and an `install()` that
//! tests may all call.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use metrics::{Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::error::Error;
use crate::install::builder::Exporter;

/// Runs `work` and returns what the `#[track_metrics]` functions and `metrics!` families it
/// calls recorded on this thread (and what it recorded through the `metrics` facade), with its
/// result.
///
/// Each call captures on its own: tests that call the same function at the same time, on other
/// threads, do not see each other's calls, so the assertions hold in any order and with any
/// number of test threads. What `work` hands to other threads is not captured; test the code
/// those threads run where it runs.
///
/// ```rust,standalone_crate
/// use track_metrics::testing;
///
/// #[derive(Debug, track_metrics::ErrorType)]
/// enum FetchError {
///     NotFound,
/// }
///
/// #[track_metrics::track_metrics]
/// fn fetch(key: &str) -> Result<u32, FetchError> {
///     if key == "a" { Ok(1) } else { Err(FetchError::NotFound) }
/// }
///
/// let (results, captured) = testing::capture(|| (fetch("a"), fetch("b")));
/// assert!(results.0.is_ok() && results.1.is_err());
/// assert_eq!(captured.calls("fetch"), 2);
/// assert_eq!(captured.errors("fetch", "NotFound"), 1);
/// assert_eq!(captured.observations("function_duration_seconds", &[("function", "fetch")]).len(), 2);
/// ```
///
/// # Panics
///
/// When track-metrics is installed in this process: from then on, instrumented code records
/// into its own storage, which a capture cannot isolate. Keep the tests that call
/// [`install`](crate::install) in a test binary of their own (a separate file under `tests/`).
pub fn capture<R>(work: impl FnOnce() -> R) -> (R, Captured) {
    assert!(
        !crate::state::installed(),
        "track_metrics::testing::capture cannot isolate a test's calls once track-metrics is \
         installed in this process: move the tests that call `install()` to a test binary of \
         their own (a separate file under `tests/`), or assert on the exposition there"
    );
    let recorder = CaptureRecorder::default();
    let result = metrics::with_local_recorder(&recorder, work);
    // Installed meanwhile (another test of this binary, on another thread): what was captured
    // may lack calls, so say so rather than let counts come out wrong.
    assert!(
        !crate::state::installed(),
        "track-metrics was installed while track_metrics::testing::capture ran, so the capture \
         may have missed calls: move the tests that call `install()` to a test binary of their \
         own (a separate file under `tests/`)"
    );
    (result, recorder.captured())
}

/// Installs track-metrics for a test, without a listener, once per process: every call returns
/// the same [`Exporter`], whichever test comes first. Tests that assert on the exposition may
/// all call it.
///
/// ```
/// let exporter = track_metrics::testing::install()?;
/// assert!(std::ptr::eq(exporter, track_metrics::testing::install()?));
/// assert_eq!(exporter.local_addr(), None);
/// # Ok::<(), track_metrics::Error>(())
/// ```
///
/// # Errors
///
/// Those of [`install`](crate::install), from the first call; and
/// [`Error::RecorderAlreadySet`] if the process installed another `metrics` recorder.
pub fn install() -> Result<&'static Exporter, Error> {
    static EXPORTER: OnceLock<Exporter> = OnceLock::new();
    static INSTALLING: Mutex<()> = Mutex::new(());
    if let Some(exporter) = EXPORTER.get() {
        return Ok(exporter);
    }
    let _one = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(exporter) = EXPORTER.get() {
        return Ok(exporter);
    }
    let exporter = if crate::state::installed() {
        // Installed by the test binary itself: the same storage, whatever it listens on.
        Exporter::new(None, "/metrics".to_owned())
    } else {
        Exporter::builder().without_listener().install()?
    };
    Ok(EXPORTER.get_or_init(|| exporter))
}

/// A series: its name and its labels, in the order they were given.
type SeriesKey = (String, Vec<(String, String)>);

/// What a [`capture`] recorded: counters, gauges and histogram observations by name and labels.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    series: BTreeMap<SeriesKey, Value>,
}

/// The value of one captured series.
#[derive(Clone, Debug)]
enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram(Vec<f64>),
}

impl Captured {
    /// The series of `name` whose labels include `labels` (any others may be there too).
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.series
            .iter()
            .filter(move |((series, pairs), _)| {
                series == name
                    && labels
                        .iter()
                        .all(|(label, value)| pairs.iter().any(|(l, v)| l == label && v == value))
            })
            .map(|(_, value)| value)
    }

    /// The sum of the counters `name` whose labels include `labels`; 0 when there is none.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.matching(name, labels)
            .map(|value| match value {
                Value::Counter(count) => *count,
                _ => 0,
            })
            .sum()
    }

    /// The last value of the gauge `name` with labels that include `labels`, if one was set.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.matching(name, labels).find_map(|value| match value {
            Value::Gauge(value) => Some(*value),
            _ => None,
        })
    }

    /// Every observation of the histograms (or summaries) `name` whose labels include `labels`,
    /// in the order each series got them.
    pub fn observations(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.matching(name, labels)
            .flat_map(|value| match value {
                Value::Histogram(values) => values.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// The calls of the instrumented function whose `function` label is `function`, in
    /// `function_calls_total` (the default family).
    pub fn calls(&self, function: &str) -> u64 {
        self.counter("function_calls_total", &[("function", function)])
    }

    /// Its errors of one type, in `function_errors_total` (the default family).
    pub fn errors(&self, function: &str, error_type: &str) -> u64 {
        self.counter(
            "function_errors_total",
            &[("function", function), ("error_type", error_type)],
        )
    }
}

/// A series of the capture's recorder.
#[derive(Clone)]
enum Handle {
    Counter(Arc<AtomicU64>),
    Gauge(Arc<AtomicU64>),
    Histogram(Arc<Observations>),
}

/// The local recorder of a capture.
#[derive(Default)]
struct CaptureRecorder {
    series: Mutex<BTreeMap<SeriesKey, Handle>>,
}

impl CaptureRecorder {
    fn handle(&self, key: &Key, make: impl FnOnce() -> Handle) -> Handle {
        let labels = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((key.name().to_owned(), labels))
            .or_insert_with(make)
            .clone()
    }

    fn captured(&self) -> Captured {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        Captured {
            series: series
                .iter()
                .map(|(key, handle)| {
                    let value = match handle {
                        Handle::Counter(count) => Value::Counter(count.load(Ordering::Relaxed)),
                        Handle::Gauge(bits) => {
                            Value::Gauge(f64::from_bits(bits.load(Ordering::Relaxed)))
                        }
                        Handle::Histogram(values) => Value::Histogram(
                            values
                                .0
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .clone(),
                        ),
                    };
                    (key.clone(), value)
                })
                .collect(),
        }
    }
}

/// The observations of one captured histogram.
#[derive(Default)]
struct Observations(Mutex<Vec<f64>>);

impl metrics::HistogramFn for Observations {
    fn record(&self, value: f64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
    }
}

impl Recorder for CaptureRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        match self.handle(key, || Handle::Counter(Arc::default())) {
            Handle::Counter(count) => metrics::Counter::from_arc(count),
            _ => metrics::Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        match self.handle(key, || Handle::Gauge(Arc::default())) {
            Handle::Gauge(bits) => metrics::Gauge::from_arc(bits),
            _ => metrics::Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        match self.handle(key, || Handle::Histogram(Arc::default())) {
            Handle::Histogram(values) => metrics::Histogram::from_arc(values),
            _ => metrics::Histogram::noop(),
        }
    }
}

//! The settings `install()` resolves once for the rest of the process, handed down to the
//! storage (bucket layouts, series limits) and to the scrape (global labels, process metrics).
//!
//! Until `install()` has set them, [`settings`] is `None` and the storage uses each family's
//! declared values or the defaults; `install()` refuses a builder setting that would contradict a
//! layout already in use, so a family never has two.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use crate::model::buckets::{DEFAULT_BUCKETS, FUNCTION_BUCKETS, REQUEST_DURATION_FAMILIES};
use crate::model::names::{Escaping, escape};
use crate::storage::native::NativeLayout;

/// How many label sets a family keeps when neither its declaration nor the builder says.
pub const DEFAULT_MAX_SERIES: usize = 1000;

/// How long a scrape may take to render before the endpoint answers 503, and how long a gauge
/// function may run before later scrapes leave it out: below the 10 seconds Prometheus waits for
/// a scrape by default.
pub const DEFAULT_RENDER_TIMEOUT: Duration = Duration::from_secs(5);

static SETTINGS: OnceLock<&'static Settings> = OnceLock::new();

/// What the builder decided, checked.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Labels written first on every series.
    pub(crate) global_labels: Vec<(String, String)>,
    /// The layout of every histogram family without one of its own.
    pub(crate) default_buckets: &'static [f64],
    /// The layout of every `#[track_metrics]` duration family without one of its own.
    pub(crate) function_buckets: &'static [f64],
    /// Layouts by family name, from `buckets_for` and the declarations.
    pub(crate) family_buckets: HashMap<String, &'static [f64]>,
    /// Series limit of a family whose declaration gives none.
    pub(crate) max_series: usize,
    /// Every `#[track_metrics]` function shows its calls in flight.
    pub(crate) in_flight: bool,
    /// Native histograms of `#[track_metrics]` functions: the builder's resolution and bucket
    /// limit, and whether every function has one or only those that ask.
    pub(crate) native_layout: NativeLayout,
    pub(crate) native_everywhere: bool,
    /// How long a render may take: see [`DEFAULT_RENDER_TIMEOUT`].
    pub(crate) render_timeout: Duration,
    /// When `install()` ran, in seconds since the Unix epoch: the `_created` time of every
    /// count, which `#[track_metrics]` starts then (see the OpenMetrics writer).
    pub(crate) installed_at: f64,
    /// Facade histograms without buckets of their own are summaries.
    pub(crate) facade_summaries: bool,
    /// A facade counter without `_total` is written `name_total` in every format.
    pub(crate) facade_counter_suffix: bool,
    /// OpenMetrics writes `_created` samples.
    pub(crate) created_lines: bool,
    /// The scrape includes the `process_*` families.
    #[cfg_attr(not(feature = "process"), allow(dead_code))]
    pub(crate) process_metrics: bool,
}

impl Settings {
    /// The bucket layout of a histogram family, by name.
    pub(crate) fn buckets_of(&self, family: &str) -> &'static [f64] {
        self.family_buckets.get(family).copied().unwrap_or(
            if REQUEST_DURATION_FAMILIES.contains(&family) {
                self.function_buckets
            } else {
                self.default_buckets
            },
        )
    }

    /// The bucket layout of a `metrics` facade histogram, by its name as recorded or as
    /// underscored (`http.server.request.duration` or `http_server_request_duration`).
    pub(crate) fn facade_buckets_of(&self, name: &str) -> &'static [f64] {
        match self.family_buckets.get(name) {
            Some(bounds) => bounds,
            None => self.buckets_of(&escape(name, Escaping::Underscores, false)),
        }
    }

    /// The bucket layout of a `#[track_metrics]` duration family, by name.
    pub(crate) fn function_buckets_of(&self, family: &str) -> &'static [f64] {
        self.family_buckets
            .get(family)
            .copied()
            .unwrap_or(self.function_buckets)
    }
}

/// The settings, once `install()` has set them.
pub(crate) fn settings() -> Option<&'static Settings> {
    SETTINGS.get().copied()
}

/// Whether `install()` has run: then every series records in track-metrics' own storage only.
#[inline]
pub(crate) fn installed() -> bool {
    SETTINGS.get().is_some()
}

/// Sets the settings for the rest of the process; `false` if they were set already.
pub(crate) fn set(settings: &'static Settings) -> bool {
    SETTINGS.set(settings).is_ok()
}

/// The layout of a histogram family: its declared bounds, else the builder's for its name once
/// installed, else the default.
pub(crate) fn buckets_of(family: &str, declared: &'static [f64]) -> &'static [f64] {
    if !declared.is_empty() {
        return declared;
    }
    settings().map_or(
        if REQUEST_DURATION_FAMILIES.contains(&family) {
            FUNCTION_BUCKETS
        } else {
            DEFAULT_BUCKETS
        },
        |settings| settings.buckets_of(family),
    )
}

/// The layout of a `#[track_metrics]` duration family: the function's buckets, else the
/// builder's for its name once installed, else the default for functions.
pub(crate) fn function_buckets_of(family: &str, declared: &'static [f64]) -> &'static [f64] {
    if !declared.is_empty() {
        return declared;
    }
    settings().map_or(FUNCTION_BUCKETS, |settings| {
        settings.function_buckets_of(family)
    })
}

/// The series limit of a family: its declared one (when not 0), else the builder's, else the
/// default.
pub(crate) fn max_series(declared: usize) -> usize {
    if declared > 0 {
        return declared;
    }
    settings().map_or(DEFAULT_MAX_SERIES, |settings| settings.max_series)
}

/// The render timeout: the builder's once installed, else the default.
pub(crate) fn render_timeout() -> Duration {
    settings().map_or(DEFAULT_RENDER_TIMEOUT, |settings| settings.render_timeout)
}

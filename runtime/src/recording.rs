//! Where instrumented code records now: what a library's author (or its tests) can ask to know
//! whether its metrics go anywhere.

use crate::state;
use crate::storage::forward::{self, Current};

/// Where `#[track_metrics]` functions and `metrics!` families record, as seen from the calling
/// thread now.
///
/// ```
/// // Nothing installed in this doctest's process: calls are not counted.
/// assert_eq!(track_metrics::recording(), track_metrics::Recording::Nothing);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recording {
    /// track-metrics is installed: its own storage, served by its endpoint or by
    /// [`render`](crate::render).
    Installed,
    /// The application's `metrics` recorder (metrics-exporter-prometheus, a statsd exporter, an
    /// OpenTelemetry bridge, a test's `DebuggingRecorder`), global or local to this thread.
    ApplicationRecorder,
    /// Nothing: neither [`install`](crate::install) nor a `metrics` recorder. Calls are not
    /// counted (and say so once through `log`); `metrics!` families keep their values, which an
    /// `install()` later serves.
    Nothing,
}

/// Where instrumented code records now: see [`Recording`].
pub fn recording() -> Recording {
    if state::installed() {
        return Recording::Installed;
    }
    forward::with_current(|current| match current {
        Current::Nothing => Recording::Nothing,
        Current::Global(_) | Current::Local(_) => Recording::ApplicationRecorder,
    })
}

//! A `#[track_metrics]` site's series in the application's recorder: the same families, labels
//! and HELP as track-metrics would serve, as that recorder's counters, histograms and gauges.

use metrics::Label;

use crate::model::descriptor::{CALLS_HELP, DURATION_HELP, ERRORS_HELP, IN_FLIGHT_HELP, SiteInfo};
use crate::model::kind::Kind;
use crate::storage::error_table::ErrorTable;
use crate::storage::forward::{self, Current, Description};

/// A site's handles in one recorder: resolved once from the global recorder and kept, or at
/// every call from a local one.
pub(crate) struct SiteHandles {
    calls: metrics::Counter,
    duration: metrics::Histogram,
    in_flight: Option<metrics::Gauge>,
    errors: ErrorTable<metrics::Counter>,
}

fn labels(info: &SiteInfo) -> Vec<Label> {
    info.label_pairs()
        .map(|(name, value)| Label::from_static_parts(name, value))
        .collect()
}

fn calls(info: &SiteInfo, current: Current<'_>) -> metrics::Counter {
    let description = Description {
        name: info.calls,
        help: CALLS_HELP,
        kind: Kind::Counter,
    };
    forward::counter(
        current,
        description,
        info.module,
        &forward::key(info.calls, labels(info)),
    )
}

fn duration(info: &SiteInfo, current: Current<'_>) -> metrics::Histogram {
    let description = Description {
        name: info.duration,
        help: DURATION_HELP,
        kind: Kind::Histogram,
    };
    forward::histogram(
        current,
        description,
        info.module,
        &forward::key(info.duration, labels(info)),
    )
}

fn in_flight(info: &SiteInfo, current: Current<'_>) -> Option<metrics::Gauge> {
    let description = Description {
        name: info.in_flight,
        help: IN_FLIGHT_HELP,
        kind: Kind::Gauge,
    };
    info.track_in_flight.then(|| {
        forward::gauge(
            current,
            description,
            info.module,
            &forward::key(info.in_flight, labels(info)),
        )
    })
}

fn errors(info: &SiteInfo, current: Current<'_>, error_type: &'static str) -> metrics::Counter {
    let description = Description {
        name: info.errors,
        help: ERRORS_HELP,
        kind: Kind::Counter,
    };
    let mut labels = labels(info);
    labels.push(Label::from_static_parts("error_type", error_type));
    forward::counter(
        current,
        description,
        info.module,
        &forward::key(info.errors, labels),
    )
}

impl SiteHandles {
    /// The handles of `info`'s series in the global recorder.
    pub(crate) fn new(info: &SiteInfo, global: Current<'_>) -> Self {
        SiteHandles {
            calls: calls(info, global),
            duration: duration(info, global),
            in_flight: in_flight(info, global),
            errors: ErrorTable::default(),
        }
    }

    /// A call starts.
    pub(crate) fn start(&self) {
        self.calls.increment(1);
        if let Some(gauge) = &self.in_flight {
            gauge.increment(1.0);
        }
    }

    /// A call ends after `seconds`.
    pub(crate) fn end(&self, seconds: f64) {
        self.duration.record(seconds);
        if let Some(gauge) = &self.in_flight {
            gauge.decrement(1.0);
        }
    }

    /// A call ended with an error of this type.
    pub(crate) fn error(&self, info: &SiteInfo, global: Current<'_>, error_type: &'static str) {
        self.errors
            .counter(error_type, |label| errors(info, global, label))
            .increment(1);
    }
}

/// A call starts, recorded through a local recorder.
pub(crate) fn start_in(info: &SiteInfo, local: Current<'_>) {
    calls(info, local).increment(1);
    if let Some(gauge) = in_flight(info, local) {
        gauge.increment(1.0);
    }
}

/// A call ends after `seconds`, recorded through a local recorder.
pub(crate) fn end_in(info: &SiteInfo, local: Current<'_>, seconds: f64) {
    duration(info, local).record(seconds);
    if let Some(gauge) = in_flight(info, local) {
        gauge.decrement(1.0);
    }
}

/// A call ended with an error of this type, recorded through a local recorder.
pub(crate) fn error_in(info: &SiteInfo, local: Current<'_>, error_type: &'static str) {
    errors(info, local, error_type).increment(1);
}

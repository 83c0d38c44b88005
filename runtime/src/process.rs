//! The standard process metrics of the Prometheus client libraries, read at each scrape with
//! `metrics-process`'s collector and written with their proper types.
//!
//! `metrics-process`'s own recording turns `process_cpu_seconds_total` into a whole number of
//! seconds (a `metrics` counter is an integer); read directly, the CPU time keeps its ticks. An
//! unlimited maximum (virtual memory, file descriptors) is written `-1`, as client_golang does,
//! not the `0` the collector reports for it.

use std::borrow::Cow;

use metrics_process::collector;

use crate::model::kind::Kind;
use crate::model::snapshot::{FamilySnapshot, SeriesSnapshot, Value};

/// Every family name written here, with its kind, for the install-time name checks.
pub(crate) const FAMILIES: [(&str, Kind); 8] = [
    ("process_cpu_seconds_total", Kind::Counter),
    ("process_open_fds", Kind::Gauge),
    ("process_max_fds", Kind::Gauge),
    ("process_virtual_memory_bytes", Kind::Gauge),
    ("process_virtual_memory_max_bytes", Kind::Gauge),
    ("process_resident_memory_bytes", Kind::Gauge),
    ("process_start_time_seconds", Kind::Gauge),
    ("process_threads", Kind::Gauge),
];

/// Appends the families the platform can report.
pub(crate) fn collect(out: &mut Vec<FamilySnapshot>) {
    let metrics = collector::collect();
    let as_float = |value: Option<u64>| value.map(|value| value as f64);
    let limit =
        |value: Option<u64>| value.map(|value| if value == 0 { -1.0 } else { value as f64 });
    // The CPU counter counts from the process's start, which is its `_created`.
    let started = as_float(metrics.start_time_seconds);
    let values = [
        (
            "Total user and system CPU time spent in seconds.",
            metrics.cpu_seconds_total,
        ),
        (
            "Number of open file descriptors.",
            as_float(metrics.open_fds),
        ),
        (
            "Maximum number of open file descriptors, -1 when unlimited.",
            limit(metrics.max_fds),
        ),
        (
            "Virtual memory size in bytes.",
            as_float(metrics.virtual_memory_bytes),
        ),
        (
            "Maximum amount of virtual memory available in bytes, -1 when unlimited.",
            limit(metrics.virtual_memory_max_bytes),
        ),
        (
            "Resident memory size in bytes.",
            as_float(metrics.resident_memory_bytes),
        ),
        (
            "Start time of the process since unix epoch in seconds.",
            as_float(metrics.start_time_seconds),
        ),
        (
            "Number of OS threads in the process.",
            as_float(metrics.threads),
        ),
    ];
    for ((name, kind), (help, value)) in FAMILIES.iter().zip(values) {
        let Some(value) = value else {
            continue;
        };
        out.push(FamilySnapshot {
            name,
            help: Some(Cow::Borrowed(help)),
            kind: *kind,
            created: started,
            counter_suffix: true,
            series: vec![SeriesSnapshot::new(Vec::new(), Value::Float(value))],
        });
    }
}

//! The standard process metrics of the Prometheus client libraries, read at each scrape with
//! `metrics-process`'s collector and written with their proper types.
//!
//! `metrics-process`'s own recording turns `process_cpu_seconds_total` into a whole number of
//! seconds (a `metrics` counter is an integer); read directly, the CPU time keeps its ticks.

use metrics_process::collector;

use crate::text::{SampleWriter, Value};

/// Every family name written here, for the install-time name checks.
pub(crate) const NAMES: &[&str] = &[
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
];

/// Appends the families the platform can report.
pub(crate) fn render(out: &mut String, globals: &[(String, String)]) {
    let metrics = collector::collect();
    let as_float = |value: Option<u64>| value.map(|value| value as f64);
    let families = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            metrics.cpu_seconds_total,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            as_float(metrics.open_fds),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            as_float(metrics.max_fds),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            as_float(metrics.virtual_memory_bytes),
        ),
        (
            "process_virtual_memory_max_bytes",
            "gauge",
            "Maximum amount of virtual memory available in bytes.",
            as_float(metrics.virtual_memory_max_bytes),
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            as_float(metrics.resident_memory_bytes),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            as_float(metrics.start_time_seconds),
        ),
        (
            "process_threads",
            "gauge",
            "Number of OS threads in the process.",
            as_float(metrics.threads),
        ),
    ];
    for (name, kind, help, value) in families {
        let Some(value) = value else {
            continue;
        };
        let mut writer = SampleWriter {
            out: &mut *out,
            name,
            globals,
        };
        writer.header(help, kind);
        writer.sample("", &[], &[], None, Value::Float(value));
        out.push('\n');
    }
}

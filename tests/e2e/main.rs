//! The project as a user meets it: the examples run as programs, the docs rustdoc renders, and
//! the real Prometheus server and Pushgateway reading what they serve. Tests that need those
//! servers or `promtool` are `#[ignore]`d with the reason; `.ci/run` installs them and runs
//! them with `--include-ignored`.

#[path = "../common/mod.rs"]
mod common;

mod beside_prometheus_exporter;
mod docs;
mod live_page;
mod native_histograms;
mod otlp;
mod prometheus;
mod prometheus3;
mod pushgateway;
mod quickstart;
mod slo;
mod webdriver;

//! What the macros know at compile time: a declared family ([`Descriptor`], from `metrics!`) and
//! an instrumented function ([`SiteInfo`], from `#[track_metrics]`).

use crate::model::kind::Kind;

/// What `metrics!` knows about a family at compile time.
#[derive(Debug)]
pub struct Descriptor {
    /// The metric name.
    pub name: &'static str,
    /// The HELP text, from the doc comment.
    pub help: &'static str,
    /// The kind.
    pub kind: Kind,
    /// Label names, in order.
    pub labels: &'static [&'static str],
    /// Declared histogram buckets; empty for the builder's or the default ones.
    pub buckets: &'static [f64],
    /// Summary quantiles.
    pub quantiles: &'static [f64],
    /// Summary window.
    pub max_age_seconds: u64,
    /// Declared series limit; 0 for the builder's or the default.
    pub max_series: usize,
    /// Its series keep exemplars (`#[exemplars]` on a counter or a histogram).
    pub exemplars: bool,
    /// The values of each label when all labels are enums: the family is pre-initialised.
    pub variants: &'static [&'static [&'static str]],
    /// Where it is declared, for error messages.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
}

impl Descriptor {
    /// `name` at `file:line`, as error messages name a declaration.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` ({}:{})", self.name, self.file, self.line)
    }
}

/// The HELP of a site's call counter.
pub(crate) const CALLS_HELP: &str = "Total function calls";
/// The HELP of a site's duration histogram.
pub(crate) const DURATION_HELP: &str = "Function execution time";
/// The HELP of a site's error counter.
pub(crate) const ERRORS_HELP: &str = "Total function errors by type";
/// The HELP of a site's in-flight gauge.
pub(crate) const IN_FLIGHT_HELP: &str = "Function calls in progress";

/// What `#[track_metrics]` knows about an instrumented function at compile time.
#[derive(Debug)]
pub struct SiteInfo {
    /// The `function` label.
    pub function: &'static str,
    /// The `module` label: `module_path!()` where the function is written.
    pub module: &'static str,
    /// Source file, for error messages.
    pub file: &'static str,
    /// Source line of the function's name, for error messages.
    pub line: u32,
    /// Name of the call counter.
    pub calls: &'static str,
    /// Name of the duration histogram.
    pub duration: &'static str,
    /// Name of the error counter.
    pub errors: &'static str,
    /// Name of the in-flight gauge.
    pub in_flight: &'static str,
    /// Whether the attribute asked for the in-flight gauge (the builder can ask for all).
    pub track_in_flight: bool,
    /// Constant labels after `function` and `module`.
    pub labels: &'static [(&'static str, &'static str)],
    /// Bucket bounds of the duration family; empty for the family's default.
    pub buckets: &'static [f64],
    /// Whether the attribute asked for a native histogram (the builder can ask for all).
    pub native_histogram: bool,
    /// The native histogram's resolution factor; 0 for the builder's.
    pub native_factor: f64,
    /// The service-level objective the function counts towards.
    pub objective: Option<&'static crate::model::objective::Objective>,
}

impl SiteInfo {
    /// `function` at `file:line`, as error messages name a site.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` ({}:{})", self.function, self.file, self.line)
    }

    /// The site's labels in the order they are written: `function`, `module`, then its own.
    pub(crate) fn label_pairs(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        [("function", self.function), ("module", self.module)]
            .into_iter()
            .chain(self.labels.iter().copied())
    }
}

#[cfg(test)]
impl SiteInfo {
    /// A function of module `app` at `src/app.rs:7`, with the default family names, for unit
    /// tests.
    pub(crate) fn example(function: &'static str) -> Self {
        SiteInfo {
            function,
            module: "app",
            file: "src/app.rs",
            line: 7,
            calls: "function_calls_total",
            duration: "function_duration_seconds",
            errors: "function_errors_total",
            in_flight: "function_calls_in_flight",
            track_in_flight: false,
            labels: &[],
            buckets: &[],
            native_histogram: false,
            native_factor: 0.0,
            objective: None,
        }
    }
}

//! The one error type of the runtime: every variant is a case a caller can match, and every
//! message says what went wrong and what to do.

use std::io;
use std::net::SocketAddr;

pub use crate::model::buckets::BucketProblem;

/// Why [`install`](crate::install), an [`ExporterBuilder`](crate::ExporterBuilder) setting or a
/// push was refused.
///
/// Nothing is left running when `install` returns an error: no listener, no thread, no recorder,
/// so a corrected second attempt can succeed. The message says what to do:
///
/// ```
/// let error = track_metrics::Exporter::builder()
///     .listen_address("localhost")
///     .install()
///     .unwrap_err();
/// assert!(matches!(error, track_metrics::Error::InvalidAddress { .. }));
/// assert_eq!(
///     error.to_string(),
///     "invalid listen address `localhost` (from ExporterBuilder::listen_address): expected \
///      `host:port`, such as `127.0.0.1:9000`, `[::1]:9000` or `localhost:0`"
/// );
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `install` was already called successfully in this process.
    #[error(
        "track_metrics is already installed in this process: call `install()` once, at the start \
         of `main`, and use `track_metrics::render()` or the returned `Exporter` elsewhere"
    )]
    AlreadyInstalled,

    /// Another `metrics` recorder was installed before `install` ran.
    #[error(
        "another `metrics` recorder is already installed in this process (such as \
         metrics-exporter-prometheus's): to keep it, either skip track-metrics' install, since \
         without `install()` the `#[track_metrics]` functions and `metrics!` families record \
         through that recorder, or serve them on track-metrics' own endpoint with \
         `Exporter::builder().without_global_recorder().install()`"
    )]
    RecorderAlreadySet,

    /// The listen address is not `host:port`.
    #[error(
        "invalid listen address `{value}` (from {origin}): expected `host:port`, such as `127.0.0.1:9000`, `[::1]:9000` or `localhost:0`"
    )]
    InvalidAddress {
        /// The text that was given.
        value: String,
        /// Where it came from: the builder or the `TRACK_METRICS_ADDR` variable.
        origin: &'static str,
    },

    /// The listener could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; if another process holds the port, choose another \
         one with `TRACK_METRICS_ADDR=host:port` (port 0 picks a free one)"
    )]
    Bind {
        /// The address that was refused.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },

    /// The HTTP serving thread could not be started.
    #[error("cannot start the metrics server thread: {0}")]
    Runtime(#[source] io::Error),

    /// A push to a Pushgateway failed.
    #[error("{method} {url} failed: {reason}")]
    Push {
        /// `PUT`, `POST` or `DELETE`.
        method: &'static str,
        /// The group's URL.
        url: String,
        /// What the Pushgateway or the network said.
        reason: String,
    },

    /// An OTLP export failed (from `Exporter::flush` or `Exporter::shutdown`, feature `otlp`).
    #[error("the OTLP export to {url} failed: {reason}")]
    Otlp {
        /// Where it was sent.
        url: String,
        /// What the receiver or the network said, and what was tried.
        reason: String,
    },

    /// A setting is out of its range or malformed.
    #[error("{reason}")]
    InvalidSetting {
        /// The builder method (or constructor) that took it.
        setting: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A list of bucket bounds cannot be a histogram's layout.
    #[error("invalid {what} {bounds:?}: {problem}")]
    InvalidBuckets {
        /// Whose buckets: `the default buckets`, or those of a named family.
        what: String,
        /// The bounds given.
        bounds: Vec<f64>,
        /// What is wrong with them.
        problem: BucketProblem,
    },

    /// A global label name cannot be used.
    #[error("invalid global label `{name}`: {reason}")]
    InvalidGlobalLabel {
        /// The label name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A label of an instrumented function or a declared family is also a global label.
    #[error("{owner} has a label `{label}`, which is also a global label: rename one of them")]
    GlobalLabelClash {
        /// The function or family, with its place in the source.
        owner: String,
        /// The label name.
        label: String,
    },

    /// Two instrumented functions record the same series.
    #[error(
        "{first} and {second} both record the series `{series}`: give one of them a distinct \
         `#[track_metrics(name = \"...\")]`"
    )]
    DuplicateSeries {
        /// The series, with its labels.
        series: String,
        /// The first function, with its place in the source.
        first: String,
        /// The second one.
        second: String,
    },

    /// Two places give one histogram family different bucket layouts.
    #[error(
        "{first} and {second} give `{family}` different buckets ({first_bounds:?} and \
         {second_bounds:?}): a histogram family has one bucket layout, so give one of them its \
         own name, or the same buckets"
    )]
    ConflictingBuckets {
        /// The histogram family.
        family: &'static str,
        /// Who gives the first layout.
        first: String,
        /// Its bounds.
        first_bounds: Vec<f64>,
        /// Who gives the second.
        second: String,
        /// Its bounds.
        second_bounds: Vec<f64>,
    },

    /// One metric name is declared twice.
    #[error(
        "the metric `{name}` is declared twice, at {first} and at {second}: a name belongs to \
         one declaration in the whole program"
    )]
    DuplicateDeclaration {
        /// The metric name.
        name: String,
        /// The first declaration's place.
        first: String,
        /// The second's.
        second: String,
    },

    /// Two families write series of the same name (such as `x_count` of a histogram `x` and a
    /// counter `x_count`).
    #[error(
        "{first} and {second} both write series named `{sample}` (families `{first_family}` and \
         `{second_family}`): rename one of them"
    )]
    NameClash {
        /// The series name both write.
        sample: String,
        /// The first owner, with its place in the source.
        first: String,
        /// Its family.
        first_family: &'static str,
        /// The second owner.
        second: String,
        /// Its family.
        second_family: &'static str,
    },

    /// A histogram family was used before `install()`, with the layout it had then, and the
    /// builder now gives it another.
    #[error(
        "{family} recorded before `install()` with the buckets {in_use:?}, and the builder gives \
         it {configured:?}: a histogram family keeps one bucket layout, so call `install()` \
         before its first use, declare `#[buckets(...)]` on it, or drop the builder's setting"
    )]
    LayoutInUse {
        /// The family, with its place in the source.
        family: String,
        /// The layout its series have.
        in_use: Vec<f64>,
        /// The layout the builder gives it.
        configured: Vec<f64>,
    },

    /// A service-level objective that cannot be watched: a latency threshold that is not a
    /// bucket bound of a function's duration histogram, or two objectives under one name.
    #[error("{0}")]
    Objective(String),
}

/// The message that says what to do, as `Display` writes it, then its cause if any: what
/// `fn main() -> Result<(), track_metrics::Error>` and `.expect()` print, as `anyhow` and
/// `std::io::Error` users expect, rather than the variant's fields.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.to_string();
        f.write_str(&message)?;
        if let Some(source) = std::error::Error::source(self) {
            let source = source.to_string();
            if !message.contains(&source) {
                write!(f, "\n\nCaused by:\n    {source}")?;
            }
        }
        Ok(())
    }
}

impl Error {
    /// An [`Error::InvalidSetting`].
    pub(crate) fn setting(setting: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidSetting {
            setting,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// Clippy's `result_large_err` fires at 128 bytes on every `fn main() -> Result<(), Error>`
    /// and every function that returns one: an error users write in their signatures stays
    /// below it.
    #[test]
    fn the_error_is_small_enough_for_a_users_signatures() {
        assert!(size_of::<Error>() < 128, "{} bytes", size_of::<Error>());
    }
}

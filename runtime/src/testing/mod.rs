//! Helpers for tests (feature `testing`): a strict parser of the text exposition, the protobuf
//! messages of the exposition, and a capture of what instrumented code records on one thread.
//!
//! [`Exposition`] unescapes exactly as Prometheus does and refuses what Prometheus would refuse
//! or read differently: unknown escapes, duplicate series or labels, a family split in two
//! groups, a sample that does not belong to its declared family, histogram buckets that are not
//! cumulative or disagree with `_count`.
//!
//! ```
//! use track_metrics::testing::Exposition;
//!
//! let text = concat!(
//!     "# HELP requests_total Total requests\n",
//!     "# TYPE requests_total counter\n",
//!     r#"requests_total{method="GET",path="C:\\temp"} 2"#,
//!     "\n",
//! );
//! let scrape = Exposition::parse(text).unwrap();
//! assert_eq!(scrape.value("requests_total", &[("method", "GET"), ("path", r"C:\temp")]), Some(2.0));
//! assert_eq!(scrape.family("requests_total").unwrap().help.as_deref(), Some("Total requests"));
//! ```
//!
//! [`capture`] runs a closure and returns what the instrumented code it calls recorded on this
//! thread: a library's tests can assert its metrics in any order and with any number of test
//! threads, without installing anything. [`install`] is for tests that need the exposition:
//! it installs once per process, without a listener, and every later call returns the same
//! exporter.

mod capture;
mod exposition;

pub use capture::{Captured, capture, install};
pub use exposition::{Exposition, Family, ParseError, Sample};

/// The messages of the protobuf format (`io.prometheus.client`, client_model's
/// `metrics.proto`), to decode what [`crate::render_as`]`(Format::PROTOBUF)` returns in tests.
///
/// ```
/// use prost::Message as _;
/// use track_metrics::testing::protobuf::MetricFamily;
///
/// track_metrics::Exporter::builder().without_listener().install()?;
/// let bytes = track_metrics::render_as(track_metrics::Format::PROTOBUF);
/// let mut rest = &bytes[..];
/// while !rest.is_empty() {
///     let family = MetricFamily::decode_length_delimited(&mut rest).unwrap();
///     assert!(family.name.is_some());
/// }
/// # Ok::<(), track_metrics::Error>(())
/// ```
#[cfg(feature = "protobuf")]
pub mod protobuf {
    pub use crate::exposition::protobuf::wire::*;
}

//! The writers that turn snapshots into the bytes a scraper reads, one per format, and the
//! choice between them. They know nothing of how the values were recorded.

pub(crate) mod format;
pub(crate) mod openmetrics;
#[cfg(feature = "protobuf")]
pub(crate) mod protobuf;
pub(crate) mod text;

pub use text::CONTENT_TYPE;

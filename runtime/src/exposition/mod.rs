//! The writers that turn snapshots into the bytes a scraper reads, one per format. They know
//! nothing of how the values were recorded.

pub(crate) mod text;

pub use text::CONTENT_TYPE;

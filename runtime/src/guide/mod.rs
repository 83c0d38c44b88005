//! Guides: how track-metrics fits into a program, with examples that `cargo test` compiles and
//! runs. The reference is on each item: [the attribute](macro@crate::track_metrics),
//! [`metrics!`](crate::metrics), [`ExporterBuilder`](crate::ExporterBuilder).

#[doc = include_str!("ecosystem.md")]
pub mod ecosystem {}

#[doc = include_str!("golden_signals.md")]
pub mod golden_signals {}

#[cfg_attr(feature = "http", doc = include_str!("endpoint.md"))]
#[cfg_attr(
    not(feature = "http"),
    doc = "This guide's examples need the feature `http`."
)]
pub mod endpoint {}

#[cfg_attr(feature = "http", doc = include_str!("live_page.md"))]
#[cfg_attr(
    not(feature = "http"),
    doc = "This guide's examples need the feature `http`."
)]
pub mod live_page {}

#[doc = include_str!("formats.md")]
#[cfg_attr(feature = "protobuf", doc = include_str!("protobuf.md"))]
#[cfg_attr(feature = "otel", doc = include_str!("otel.md"))]
pub mod formats {}

#[doc = include_str!("objectives.md")]
pub mod objectives {}

#[cfg_attr(feature = "axum", doc = include_str!("axum.md"))]
#[cfg_attr(
    not(feature = "axum"),
    doc = "This guide's examples need the feature `axum`."
)]
#[cfg_attr(feature = "tonic", doc = include_str!("tonic.md"))]
pub mod axum {}

#[cfg_attr(feature = "push", doc = include_str!("pushgateway.md"))]
#[cfg_attr(
    not(feature = "push"),
    doc = "This guide's examples need the feature `push`."
)]
pub mod pushgateway {}

#[doc = include_str!("migration.md")]
pub mod migration {}

#[cfg_attr(feature = "testing", doc = include_str!("libraries.md"))]
#[cfg_attr(
    not(feature = "testing"),
    doc = "This guide's examples need the feature `testing`."
)]
pub mod libraries {}

#[doc = include_str!("performance.md")]
pub mod performance {}

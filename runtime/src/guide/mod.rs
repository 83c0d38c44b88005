//! Guides: how track-metrics fits into a program, with examples that `cargo test` compiles and
//! runs.

#[doc = include_str!("ecosystem.md")]
pub mod ecosystem {}

#[doc = include_str!("migration.md")]
pub mod migration {}

#[doc = include_str!("libraries.md")]
pub mod libraries {}

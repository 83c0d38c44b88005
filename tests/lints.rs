//! The expansion of `#[track_metrics]` is clean under strict lints in user code: rustc's and
//! clippy's pedantic set, checked by `cargo clippy --all-targets -- -D warnings` in CI.
#![deny(
    clippy::pedantic,
    clippy::nursery,
    unused_qualifications,
    unused_results,
    unreachable_pub,
    missing_debug_implementations,
    unsafe_code,
    non_ascii_idents,
    let_underscore_drop,
    single_use_lifetimes,
    trivial_casts,
    unused_extern_crates,
    variant_size_differences
)]

use track_metrics::track_metrics;

/// A documented function, as `clippy::pedantic` users write them.
#[track_metrics]
#[must_use]
pub fn strict(value: u32) -> u32 {
    value.saturating_mul(2)
}

/// An async one.
#[track_metrics(labels(kind = "async"))]
pub async fn strict_async(value: u32) -> u32 {
    std::future::ready(value).await
}

/// A fallible one.
///
/// # Errors
///
/// When `text` is not a number.
#[track_metrics(name = "strict_parse", buckets = [0.001, 1.0])]
pub fn strict_fallible(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

/// A cache.
#[derive(Debug, Default)]
pub struct Cache {
    items: Vec<u32>,
}

#[track_metrics(in_flight)]
impl Cache {
    /// The first item.
    #[must_use]
    pub fn first(&self) -> Option<u32> {
        self.items.first().copied()
    }

    /// Adds an item.
    ///
    /// # Errors
    ///
    /// Never, but the signature says it could.
    pub fn push(&mut self, item: u32) -> std::io::Result<()> {
        self.items.push(item);
        Ok(())
    }
}

#[test]
fn strict_user_code_compiles_and_runs() {
    let mut cache = Cache::default();
    assert!(cache.push(1).is_ok());
    assert_eq!(cache.first(), Some(1));
    assert_eq!(strict(2), 4);
    assert_eq!(strict_fallible("3"), Ok(3));
    drop(strict_async(1));
}

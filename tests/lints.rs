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

/// A plain function that returns a future.
pub fn strict_future(value: u32) -> impl Future<Output = u32> {
    std::future::ready(value)
}

/// The same, instrumented.
#[track_metrics]
pub fn strict_returned_future(value: u32) -> impl Future<Output = u32> {
    strict_future(value)
}

/// A boxed future.
#[track_metrics]
#[must_use]
pub fn strict_boxed(
    value: u32,
) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> {
    Box::pin(async move { Ok(value) })
}

/// Not found is not a failure of this function.
const fn found_or_missing(result: &Result<u32, std::io::Error>) -> bool {
    result.is_ok()
}

/// The kind of an I/O error, as a classifier.
fn io_kind(error: &std::io::Error) -> &'static str {
    if error.kind() == std::io::ErrorKind::NotFound {
        "missing"
    } else {
        "io"
    }
}

/// A classified one.
///
/// # Errors
///
/// When `found` is false.
#[track_metrics(error_type = io_kind, ok_if = found_or_missing)]
pub fn strict_classified(found: bool) -> Result<u32, std::io::Error> {
    if found {
        Ok(1)
    } else {
        Err(std::io::ErrorKind::NotFound.into())
    }
}

/// Items first, as pedantic wants them, in a function that never returns.
#[track_metrics]
pub fn strict_never() -> ! {
    const CODE: i32 = 3;
    std::process::exit(CODE)
}

/// Items first in an async body.
#[track_metrics]
pub async fn strict_async_items(value: u32) -> u32 {
    const OFFSET: u32 = 1;
    let shifted = value + OFFSET;
    std::future::ready(shifted).await
}

#[test]
fn strict_user_code_compiles_and_runs() {
    drop(strict_async_items(1));
    drop(strict_returned_future(1));
    drop(strict_boxed(1));
    assert!(strict_classified(false).is_err());
    let mut cache = Cache::default();
    assert!(cache.push(1).is_ok());
    assert_eq!(cache.first(), Some(1));
    assert_eq!(strict(2), 4);
    assert_eq!(strict_fallible("3"), Ok(3));
    drop(strict_async(1));
}

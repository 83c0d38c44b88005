// Every function shape `#[track_metrics]` supports compiles, runs and keeps its behaviour.
#![deny(warnings)]

use std::fmt::Debug;

use track_metrics::track_metrics;

/// Documented, inlined, `#[must_use]`: the attributes stay on the function.
#[track_metrics]
#[inline]
#[must_use]
pub fn documented() -> u8 {
    1
}

#[track_metrics]
fn generic<'a, T: Debug + ?Sized, const N: usize>(items: &'a [&'a T; N]) -> Vec<&'a T>
where
    T: PartialEq,
{
    items.iter().copied().collect()
}

#[track_metrics]
fn impl_trait(values: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    values.into_iter().map(|v| v * 2)
}

#[track_metrics]
unsafe fn raw(pointer: *const u32) -> u32 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *pointer }
}

#[track_metrics]
extern "C" fn callback(value: i32) -> i32 {
    value + 1
}

#[track_metrics]
fn early(flag: bool) -> &'static str {
    if flag {
        return "early";
    }
    "late"
}

#[track_metrics]
fn question_mark(text: &str) -> Result<u32, std::num::ParseIntError> {
    let value: u32 = text.parse()?;
    Ok(value)
}

#[track_metrics]
fn diverges() -> ! {
    std::process::exit(0)
}

#[track_metrics]
async fn asynchronous(value: u32) -> u32 {
    std::future::ready(value).await
}

#[track_metrics]
fn with_inner_attribute() -> u32 {
    #![allow(clippy::let_and_return)]
    let value = 3;
    value
}

#[cfg(any())]
#[track_metrics]
fn compiled_out() -> DoesNotExist {}

#[track_metrics]
fn r#type() {}

#[track_metrics]
fn unit_block() {
    {}
}

/// Each `return` coerces to the declared trait object, as it would without the attribute.
#[track_metrics]
fn trait_object(number: bool) -> Box<dyn std::fmt::Display> {
    if number {
        return Box::new(1);
    }
    Box::new("one")
}

#[track_metrics]
async fn async_trait_object(number: bool) -> Box<dyn std::fmt::Display + Send> {
    if number {
        return Box::new(1);
    }
    Box::new("one")
}

/// An error type without `ErrorType` beside an `impl Trait`: the error type comes from the
/// signature.
#[track_metrics]
fn opaque_ok(fail: bool) -> Result<impl std::fmt::Display, String> {
    if fail {
        return Err("failed".to_owned());
    }
    Ok(1)
}

#[track_metrics]
async fn opaque_ok_async(fail: bool) -> Result<impl std::fmt::Display, String> {
    if fail { Err("failed".to_owned()) } else { Ok(2) }
}

/// One line, no unused braces.
#[track_metrics]
async fn double(x: u32) -> u32 { x * 2 }

/// An item first, then statements.
#[track_metrics]
async fn with_item(x: u32) -> u32 {
    const OFFSET: u32 = 1;
    let y = x + OFFSET;
    y
}

/// `Unpin` kept.
#[track_metrics]
fn unpin_future() -> impl std::future::Future<Output = u8> + Unpin {
    std::future::ready(3)
}

#[track_metrics]
fn elided(text: &str) -> &str {
    text.trim()
}

fn main() {
    track_metrics::Exporter::builder().without_listener().install().unwrap();
    assert_eq!(documented(), 1);
    assert_eq!(generic(&[&1, &2]), [&1, &2]);
    assert_eq!(impl_trait([1, 2]).collect::<Vec<_>>(), [2, 4]);
    // SAFETY: a pointer to a live local.
    assert_eq!(unsafe { raw(&5) }, 5);
    assert_eq!(callback(1), 2);
    assert_eq!(early(true), "early");
    assert_eq!(question_mark("12"), Ok(12));
    assert!(question_mark("x").is_err());
    let future = asynchronous(4);
    drop(future);
    assert_eq!(with_inner_attribute(), 3);
    r#type();
    unit_block();
    assert_eq!(trait_object(true).to_string(), "1");
    assert_eq!(trait_object(false).to_string(), "one");
    assert_eq!(elided(" a "), "a");
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(async_trait_object(false)).to_string(), "one");
    assert!(opaque_ok(true).is_err());
    assert_eq!(opaque_ok(false).unwrap().to_string(), "1");
    assert!(runtime.block_on(opaque_ok_async(true)).is_err());
    assert_eq!(runtime.block_on(double(2)), 4);
    assert_eq!(runtime.block_on(with_item(2)), 3);
    assert_eq!(runtime.block_on(unpin_future()), 3);
    let scrape = track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
    let calls = |function| {
        let sample = scrape.samples().find(|s| s.name == "function_calls_total" && s.label("function") == Some(function));
        sample.map(|sample| sample.value)
    };
    assert_eq!(calls("type"), Some(1.0));
    assert_eq!(calls("question_mark"), Some(2.0));
    assert_eq!(calls("asynchronous"), Some(0.0), "a future never polled is not a call");
    diverges();
}

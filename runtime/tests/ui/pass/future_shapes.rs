// Plain functions that return a future are timed as the future runs, whatever the future's
// type is written as; a trait's default method is instrumented like any method.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;

use track_metrics::track_metrics;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

#[track_metrics]
fn opaque(value: u32) -> impl Future<Output = Result<u32, String>> + Send {
    async move { if value > 0 { Ok(value) } else { Err("zero".to_owned()) } }
}

#[track_metrics]
fn opaque_borrowing<'a>(text: &'a str) -> impl Future<Output = usize> + 'a {
    async move { text.len() }
}

#[track_metrics]
fn boxed(value: u32) -> Pin<Box<dyn Future<Output = Result<u32, std::fmt::Error>> + Send>> {
    if value == 0 {
        // An early return of the body is a future too, and it is timed the same way.
        return Box::pin(async { Err(std::fmt::Error) });
    }
    Box::pin(async move { Ok(value) })
}

#[track_metrics]
fn box_future(text: &str) -> BoxFuture<'_, Option<char>> {
    Box::pin(async move { text.chars().next() })
}

#[track_metrics(future)]
fn aliased() -> Pending<u8> {
    Box::pin(async { 7 })
}

trait Store {
    #[track_metrics]
    fn size(&self) -> usize {
        0
    }
}

struct Empty;

impl Store for Empty {}

fn main() {
    track_metrics::Exporter::builder().without_listener().install().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        assert_eq!(opaque(2).await, Ok(2));
        assert_eq!(opaque(0).await, Err("zero".to_owned()));
        assert_eq!(opaque_borrowing("four").await, 4);
        assert_eq!(boxed(3).await, Ok(3));
        assert!(boxed(0).await.is_err());
        assert_eq!(box_future("xy").await, Some('x'));
        assert_eq!(aliased().await, 7);
    });
    drop(boxed(5));
    assert_eq!(Empty.size(), 0);
    let scrape = track_metrics::testing::Exposition::parse(&track_metrics::render()).unwrap();
    let value = |name, function, error_type: Option<&str>| {
        scrape
            .samples()
            .find(|s| {
                s.name == name
                    && s.label("function") == Some(function)
                    && s.label("error_type") == error_type
            })
            .map(|sample| sample.value)
    };
    assert_eq!(value("function_calls_total", "opaque", None), Some(2.0));
    assert_eq!(value("function_errors_total", "opaque", Some("String")), Some(1.0));
    assert_eq!(value("function_calls_total", "boxed", None), Some(2.0), "never polled, not a call");
    assert_eq!(value("function_errors_total", "boxed", Some("Error")), Some(1.0));
    assert_eq!(value("function_calls_total", "box_future", None), Some(1.0));
    assert_eq!(value("function_calls_total", "aliased", None), Some(1.0));
    assert_eq!(value("function_calls_total", "size", None), Some(1.0));
    assert_eq!(value("function_calls_total", "opaque_borrowing", None), Some(1.0));
}

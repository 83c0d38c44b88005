//! Expansion snapshots: what a user's function turns into, pretty-printed for review.

use expect_test::{Expect, expect};
use proc_macro2::TokenStream;
use quote::quote;

fn check(args: TokenStream, item: TokenStream, expected: Expect) {
    let output = super::attribute(args, item);
    let file = syn::parse2::<syn::File>(output).expect("the expansion is a valid file");
    expected.assert_eq(&prettyplease::unparse(&file));
}

#[test]
fn plain_function() {
    check(
        quote!(),
        quote! {
            /// Sleeps.
            #[inline]
            pub fn slow_operation() -> &'static str { sleep(); "done" }
        },
        expect![[r##"
            /// Sleeps.
            #[inline]
            ///
            ///# Metrics
            ///
            ///Recorded by `#[track_metrics]` at every call:
            #[doc = ::track_metrics::__private::concat!(
                "- `", ::track_metrics::__private::concat!("function_calls_total", "{function=\"",
                "slow_operation", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "`: calls"
            )]
            ///- `function_duration_seconds`: duration in seconds, a histogram
            ///- `function_errors_total{error_type}`: `Err` returns by type, panics and cancellations
            ///
            ///Queries:
            ///```promql
            #[doc = ::track_metrics::__private::concat!(
                "# Request rate\n", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("function_calls_total", "{function=\"",
                "slow_operation", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "[5m]))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# Error ratio\n", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("function_errors_total", "{function=\"",
                "slow_operation", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "[5m]))"), " / ", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("function_calls_total", "{function=\"",
                "slow_operation", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "[5m]))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# p50 latency\n", ::track_metrics::__private::concat!("histogram_quantile(", "0.5",
                ", sum by (le) (rate(",
                ::track_metrics::__private::concat!("function_duration_seconds_bucket",
                "{function=\"", "slow_operation", "\",module=\"",
                ::track_metrics::__private::module_path!(), "\"}"), "[5m])))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# p99 latency\n", ::track_metrics::__private::concat!("histogram_quantile(", "0.99",
                ", sum by (le) (rate(",
                ::track_metrics::__private::concat!("function_duration_seconds_bucket",
                "{function=\"", "slow_operation", "\",module=\"",
                ::track_metrics::__private::module_path!(), "\"}"), "[5m])))")
            )]
            ///```
            pub fn slow_operation() -> &'static str {
                #[allow(unused_mut)]
                let mut __track_metrics_guard = {
                    #[::track_metrics::__private::linkme::distributed_slice(
                        ::track_metrics::__private::CALL_SITES
                    )]
                    #[linkme(crate = ::track_metrics::__private::linkme)]
                    static __TRACK_METRICS_CALL_SITE: ::track_metrics::__private::CallSite = ::track_metrics::__private::CallSite::new(::track_metrics::__private::SiteInfo {
                        function: "slow_operation",
                        module: ::track_metrics::__private::module_path!(),
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                        calls: "function_calls_total",
                        duration: "function_duration_seconds",
                        errors: "function_errors_total",
                        in_flight: "function_calls_in_flight",
                        track_in_flight: false,
                        labels: &[],
                        buckets: &[],
                    });
                    __TRACK_METRICS_CALL_SITE.enter()
                };
                let __track_metrics_result: &'static str = ::track_metrics::__private::call_once(move ||
                {
                    sleep();
                    "done"
                });
                #[allow(clippy::needless_borrow)]
                let __track_metrics_error_type = {
                    #[allow(unused_imports)]
                    use ::track_metrics::__private::{
                        ClassifyAsSuccess as _, ClassifyByErrorType as _, ClassifyByTypeName as _,
                    };
                    (&&&::track_metrics::__private::Outcome(&__track_metrics_result)).error_type()
                };
                __track_metrics_guard.finish(__track_metrics_error_type);
                __track_metrics_result
            }
        "##]],
    );
}

#[test]
fn all_options_on_an_async_method() {
    check(
        quote!(
            name = "checkout",
            calls = "db_queries_total",
            duration = "db_query_duration_seconds",
            labels(endpoint = "/users", method = "GET"),
            buckets = [0.001, 0.01, 1]
        ),
        quote! {
            async fn r#match(&self, id: u32) -> Result<(), Error> {
                #![allow(unused)]
                self.get(id).await?;
                Ok(())
            }
        },
        expect![[r##"
            ///
            ///# Metrics
            ///
            ///Recorded by `#[track_metrics]` at every call:
            #[doc = ::track_metrics::__private::concat!(
                "- `", ::track_metrics::__private::concat!("db_queries_total", "{function=\"",
                "checkout", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "`: calls"
            )]
            ///- `db_query_duration_seconds`: duration in seconds, a histogram
            ///- `function_errors_total{error_type}`: `Err` returns by type, panics and cancellations
            ///
            ///Queries:
            ///```promql
            #[doc = ::track_metrics::__private::concat!(
                "# Request rate\n", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("db_queries_total", "{function=\"", "checkout",
                "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"), "[5m]))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# Error ratio\n", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("function_errors_total", "{function=\"",
                "checkout", "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"),
                "[5m]))"), " / ", ::track_metrics::__private::concat!("sum(rate(",
                ::track_metrics::__private::concat!("db_queries_total", "{function=\"", "checkout",
                "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"), "[5m]))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# p50 latency\n", ::track_metrics::__private::concat!("histogram_quantile(", "0.5",
                ", sum by (le) (rate(",
                ::track_metrics::__private::concat!("db_query_duration_seconds_bucket",
                "{function=\"", "checkout", "\",module=\"",
                ::track_metrics::__private::module_path!(), "\"}"), "[5m])))")
            )]
            #[doc = ::track_metrics::__private::concat!(
                "# p99 latency\n", ::track_metrics::__private::concat!("histogram_quantile(", "0.99",
                ", sum by (le) (rate(",
                ::track_metrics::__private::concat!("db_query_duration_seconds_bucket",
                "{function=\"", "checkout", "\",module=\"",
                ::track_metrics::__private::module_path!(), "\"}"), "[5m])))")
            )]
            ///```
            async fn r#match(&self, id: u32) -> Result<(), Error> {
                #![allow(unused)]
                #[allow(unused_mut)]
                let mut __track_metrics_guard = {
                    #[::track_metrics::__private::linkme::distributed_slice(
                        ::track_metrics::__private::CALL_SITES
                    )]
                    #[linkme(crate = ::track_metrics::__private::linkme)]
                    static __TRACK_METRICS_CALL_SITE: ::track_metrics::__private::CallSite = ::track_metrics::__private::CallSite::new(::track_metrics::__private::SiteInfo {
                        function: "checkout",
                        module: ::track_metrics::__private::module_path!(),
                        file: ::track_metrics::__private::file!(),
                        line: ::track_metrics::__private::line!(),
                        calls: "db_queries_total",
                        duration: "db_query_duration_seconds",
                        errors: "function_errors_total",
                        in_flight: "function_calls_in_flight",
                        track_in_flight: false,
                        labels: &[("endpoint", "/users"), ("method", "GET")],
                        buckets: &[0.001f64, 0.01f64, 1f64],
                    });
                    __TRACK_METRICS_CALL_SITE.enter()
                };
                let __track_metrics_result: Result<(), Error> = async move {
                    self.get(id).await?;
                    Ok(())
                }
                    .await;
                #[allow(clippy::needless_borrow)]
                let __track_metrics_error_type = {
                    #[allow(unused_imports)]
                    use ::track_metrics::__private::{
                        ClassifyAsSuccess as _, ClassifyByErrorType as _, ClassifyByTypeName as _,
                    };
                    (&&&::track_metrics::__private::Outcome(&__track_metrics_result)).error_type()
                };
                __track_metrics_guard.finish(__track_metrics_error_type);
                __track_metrics_result
            }
        "##]],
    );
}

#[test]
fn errors_keep_the_item() {
    check(
        quote!(name = 1),
        quote! { fn f() {} },
        expect![[r#"
            ::core::compile_error! {
                "expected a string literal"
            }
            fn f() {}
        "#]],
    );
}

#[test]
fn no_docs_leaves_the_documentation_alone() {
    let output = super::attribute(quote!(no_docs), quote! { #[doc = "Mine."] fn f() {} });
    let text = output.to_string();
    assert!(!text.contains("Metrics"), "{text}");
    assert!(!text.contains("concat"), "{text}");
}

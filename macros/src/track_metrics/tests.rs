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
            ///- `function_errors_total{error_type}`: panics (it returns no `Result`)
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
            #[doc = ::track_metrics::__private::exemplars_query!(
                ::track_metrics::__private::concat!("function_duration_seconds_bucket",
                "{function=\"", "slow_operation", "\",module=\"",
                ::track_metrics::__private::module_path!(), "\"}")
            )]
            ///```
            pub fn slow_operation() -> &'static str {
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
                        native_histogram: false,
                        native_factor: 0f64,
                        objective: ::core::option::Option::None,
                    });
                    &__TRACK_METRICS_CALL_SITE
                }
                    .enter();
                let __track_metrics_result: &'static str = ::track_metrics::__private::call_once(move || -> &'static str {
                    sleep();
                    "done"
                });
                {
                    #[allow(unused_imports)]
                    use ::track_metrics::__private::{ReturnsAFuture as _, ReturnsAValue as _};
                    (&::track_metrics::__private::Returned(&__track_metrics_result))
                        .check_not_a_future();
                }
                __track_metrics_guard
                    .finish({
                        #[allow(unused_imports)]
                        use ::track_metrics::__private::{
                            ClassifyAsSuccess as _, ClassifyByErrorType as _, ClassifyByTypeName as _,
                        };
                        #[allow(clippy::needless_borrow)]
                        (&&&::track_metrics::__private::Outcome(&__track_metrics_result))
                            .error_type()
                    });
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
        expect![[r#"
            async fn r#match(&self, id: u32) -> Result<(), Error> {
                #![allow(unused)]
                ::track_metrics::__private::CallFuture::new(
                        {
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
                                native_histogram: false,
                                native_factor: 0f64,
                                objective: ::core::option::Option::None,
                            });
                            &__TRACK_METRICS_CALL_SITE
                        },
                        async move {
                            let __track_metrics_result: Result<(), Error> = async move {
                                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                                if false {
                                    let __track_metrics_output: Result<(), Error> = loop {};
                                    return __track_metrics_output;
                                }
                                self.get(id).await?;
                                Ok(())
                            }
                                .await;
                            let __track_metrics_error_type = {
                                #[allow(unused_imports)]
                                use ::track_metrics::__private::{
                                    ClassifyAsSuccess as _, ClassifyByErrorType as _,
                                    ClassifyByTypeName as _,
                                };
                                #[allow(clippy::needless_borrow)]
                                (&&&::track_metrics::__private::Outcome(&__track_metrics_result))
                                    .error_type()
                            };
                            (__track_metrics_result, __track_metrics_error_type)
                        },
                    )
                    .await
            }
        "#]],
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

/// The `# Metrics` section of the expansion's docs, as text (selectors left as tokens).
fn metrics_docs(args: TokenStream, item: TokenStream) -> String {
    let output = super::attribute(args, item);
    let function = syn::parse2::<syn::ItemFn>(output).expect("a function");
    function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .map(|attr| quote::ToTokens::to_token_stream(attr).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn docs_promise_only_what_the_function_records() {
    let unit = metrics_docs(
        quote!(),
        quote!(
            /** Ticks. */
            fn tick() {}
        ),
    );
    assert!(unit.contains("# Metrics"), "{unit}");
    assert!(unit.contains("panics (it returns no `Result`)"), "{unit}");
    assert!(!unit.contains("Error ratio"), "{unit}");
    assert!(!unit.contains("cancellations"), "{unit}");
    assert!(!unit.contains("in progress"), "{unit}");

    let fallible = metrics_docs(
        quote!(in_flight, labels(database = "users")),
        quote!(
            /** Loads. */
            async fn load() -> io::Result<u8> {
                Ok(1)
            }
        ),
    );
    assert!(
        fallible.contains("errors by type, panics and cancellations"),
        "{fallible}"
    );
    assert!(fallible.contains("Error ratio"), "{fallible}");
    assert!(fallible.contains("# Calls in progress"), "{fallible}");
    assert!(fallible.contains(r#"\",database=\"users\"}"#), "{fallible}");

    let option = metrics_docs(
        quote!(),
        quote!(
            /** Finds. */
            fn find() -> Option<u8> {
                None
            }
        ),
    );
    assert!(!option.contains("Error ratio"), "{option}");
    let predicate = metrics_docs(
        quote!(error_if = Option::is_none),
        quote!(
            /** Finds. */
            fn find() -> Option<u8> {
                None
            }
        ),
    );
    assert!(predicate.contains("Error ratio"), "{predicate}");
    let future = metrics_docs(
        quote!(),
        quote!(
            /** Fetches. */
            fn fetch() -> impl Future<Output = Result<u8, E>> {
                ready(Ok(1))
            }
        ),
    );
    assert!(
        future.contains("errors by type, panics and cancellations"),
        "{future}"
    );
}

#[test]
fn docs_never_stand_in_for_missing_or_hand_written_ones() {
    let undocumented = metrics_docs(
        quote!(),
        quote!(
            pub fn bare() {}
        ),
    );
    assert_eq!(undocumented, "", "no summary line made of `# Metrics`");
    let own = metrics_docs(
        quote!(),
        quote! {
            /// Loads.
            ///
            /// # Metrics
            ///
            /// See the dashboard.
            fn load() {}
        },
    );
    assert_eq!(own.matches("# Metrics").count(), 1, "{own}");
}

#[test]
fn a_method_in_an_instrumented_block_gets_a_short_section() {
    let output = super::attribute(
        quote!(),
        quote! {
            impl Store {
                /// Gets.
                fn get(&self) -> Result<u8, E> { Ok(1) }
            }
        },
    );
    let block = syn::parse2::<syn::ItemImpl>(output).expect("an impl block");
    let syn::ImplItem::Fn(method) = &block.items[0] else {
        panic!("a method")
    };
    let docs: Vec<String> = method
        .attrs
        .iter()
        .map(|attr| quote::ToTokens::to_token_stream(attr).to_string())
        .collect();
    let docs = docs.join("\n");
    assert!(docs.contains("on the `impl` block"), "{docs}");
    assert!(!docs.contains("promql"), "{docs}");
}

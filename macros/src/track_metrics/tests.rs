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
        expect![[r#"
            /// Sleeps.
            #[inline]
            pub fn slow_operation() -> &'static str {
                let __track_metrics_guard = {
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
                        labels: &[],
                        buckets: &[],
                    });
                    __TRACK_METRICS_CALL_SITE.enter()
                };
                sleep();
                "done"
            }
        "#]],
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
                let __track_metrics_guard = {
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
                        labels: &[("endpoint", "/users"), ("method", "GET")],
                        buckets: &[0.001f64, 0.01f64, 1f64],
                    });
                    __TRACK_METRICS_CALL_SITE.enter()
                };
                self.get(id).await?;
                Ok(())
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

//! Code generation for `#[track_metrics]`.
//!
//! The function keeps its attributes, signature and body tokens. In front of the body goes one
//! statement: a `static` call site, registered at link time so that `install()` can show the
//! function before its first call, and a drop guard that records the call when the body ends,
//! however it ends (return, `?`, panic, or an `async fn` future dropped mid-way).

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;

use super::options::Options;
use super::parse::InstrumentedFn;

const DEFAULT_CALLS: &str = "function_calls_total";
const DEFAULT_DURATION: &str = "function_duration_seconds";

pub fn expand(options: &Options, function: &InstrumentedFn) -> TokenStream {
    let InstrumentedFn {
        attrs,
        vis,
        sig,
        inner_attrs,
        body,
        body_span,
    } = function;

    let function_label = match &options.name {
        Some(name) => name.value(),
        None => sig.ident.unraw().to_string(),
    };
    let calls = options
        .calls
        .as_ref()
        .map_or_else(|| DEFAULT_CALLS.to_owned(), |lit| lit.value());
    let duration = options
        .duration
        .as_ref()
        .map_or_else(|| DEFAULT_DURATION.to_owned(), |lit| lit.value());
    let labels = options
        .labels
        .iter()
        .flat_map(|labels| &labels.pairs)
        .map(|(key, value)| {
            let key = key.unraw().to_string();
            quote!((#key, #value))
        });
    let buckets = options
        .buckets
        .iter()
        .flat_map(|buckets| &buckets.bounds)
        .map(|(value, _)| {
            let value = proc_macro2::Literal::f64_suffixed(*value);
            quote!(#value)
        });
    // `line!()` spanned on the function name reports the function's line, not the attribute's.
    let line = quote_spanned!(sig.ident.span()=> ::track_metrics::__private::line!());

    // The guard is a local of the function's own block, beside the user's statements, rather
    // than wrapping the body in a block of its own: a body `{ "done" }` would then trip
    // `unused_braces` on the user's tokens. A mixed-site name keeps it out of the user's reach.
    let guard = Ident::new("__track_metrics_guard", Span::mixed_site());
    let block = quote! {
        #(#inner_attrs)*
        let #guard = {
            #[::track_metrics::__private::linkme::distributed_slice(
                ::track_metrics::__private::CALL_SITES
            )]
            #[linkme(crate = ::track_metrics::__private::linkme)]
            static __TRACK_METRICS_CALL_SITE: ::track_metrics::__private::CallSite =
                ::track_metrics::__private::CallSite::new(::track_metrics::__private::SiteInfo {
                    function: #function_label,
                    module: ::track_metrics::__private::module_path!(),
                    file: ::track_metrics::__private::file!(),
                    line: #line,
                    calls: #calls,
                    duration: #duration,
                    labels: &[#(#labels),*],
                    buckets: &[#(#buckets),*],
                });
            __TRACK_METRICS_CALL_SITE.enter()
        };
        #body
    };
    let mut block = Group::new(Delimiter::Brace, block);
    block.set_span(*body_span);

    quote! {
        #(#attrs)*
        #vis #sig #block
    }
}

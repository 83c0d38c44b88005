//! Code generation for `#[track_metrics]`.
//!
//! The function keeps its attributes, signature and body tokens. In front of the body goes one
//! statement: a `static` call site, registered at link time so that `install()` can show the
//! function before its first call, and a drop guard that records the call when the body ends,
//! however it ends (return, `?`, panic, or an `async fn` future dropped mid-way). The body runs
//! inside a closure bound `FnOnce` (an `async` block for an `async fn`) so that its value can be
//! classified: an `Err` is counted by its type before it is returned.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Expr, ReturnType, Stmt, Type};

use super::options::Options;
use super::parse::InstrumentedFn;

const DEFAULT_CALLS: &str = "function_calls_total";
const DEFAULT_DURATION: &str = "function_duration_seconds";
const DEFAULT_ERRORS: &str = "function_errors_total";
const DEFAULT_IN_FLIGHT: &str = "function_calls_in_flight";

/// The metric names and labels of one instrumented function.
struct Names {
    function: String,
    calls: String,
    duration: String,
    errors: String,
    in_flight: String,
}

impl Names {
    fn new(options: &Options, function: &InstrumentedFn, impl_type: Option<&str>) -> Self {
        let method = function.sig.ident.unraw().to_string();
        let self_type = impl_type
            .map(str::to_owned)
            .or_else(|| options.self_type.as_ref().map(|lit| lit.value()));
        let function = match (&options.name, self_type) {
            (Some(name), _) => name.value(),
            (None, Some(self_type)) => format!("{}::{method}", self_type.trim()),
            (None, None) => method,
        };
        let name_of = |lit: &Option<syn::LitStr>, default: &str| {
            lit.as_ref()
                .map_or_else(|| default.to_owned(), syn::LitStr::value)
        };
        let in_flight = options
            .in_flight
            .as_ref()
            .and_then(|in_flight| in_flight.name.clone());
        Names {
            function,
            calls: name_of(&options.calls, DEFAULT_CALLS),
            duration: name_of(&options.duration, DEFAULT_DURATION),
            errors: name_of(&options.errors, DEFAULT_ERRORS),
            in_flight: name_of(&in_flight, DEFAULT_IN_FLIGHT),
        }
    }
}

/// `impl<T> Cache<T>` is `Cache`: the type's own name, without path or generics.
pub fn type_label(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(String::new, |segment| segment.ident.unraw().to_string()),
        Type::Reference(reference) => type_label(&reference.elem),
        Type::Group(group) => type_label(&group.elem),
        Type::Paren(paren) => type_label(&paren.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

pub fn function(
    options: &Options,
    function: &InstrumentedFn,
    impl_type: Option<&str>,
) -> TokenStream {
    let InstrumentedFn {
        attrs,
        vis,
        sig,
        inner_attrs,
        body,
        body_span,
    } = function;
    let names = Names::new(options, function, impl_type);
    let enter = call_site(options, &names, sig.ident.span());
    let guard = Ident::new("__track_metrics_guard", Span::mixed_site());
    let result = Ident::new("__track_metrics_result", Span::mixed_site());
    let user_body = braced(body.clone(), *body_span);

    let annotation = result_type(&sig.output);
    let instrumented = if sig.asyncness.is_some() {
        finished_with(
            &guard,
            &result,
            annotation,
            quote!(async move #user_body.await),
        )
    } else if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) {
        // A diverging body has no value to classify: it ends by panicking, or not at all.
        quote!(#body)
    } else if let Some(boxed) = async_trait_future(body) {
        // `#[async_trait]` already turned the `async fn` into `Box::pin(async move { .. })`:
        // time the async block, from its first poll, not the boxing.
        let inner = boxed.body;
        let instrumented = finished_with(&guard, &result, None, quote!(async move #inner.await));
        let pin = boxed.pin;
        let capture = boxed.capture;
        let block = braced(quote!(let mut #guard = #enter; #instrumented), *body_span);
        return emit(
            attrs,
            vis,
            sig,
            inner_attrs,
            &docs(options, &names),
            quote!(#pin(async #capture #block)),
            *body_span,
            None,
        );
    } else {
        let call = quote!(::track_metrics::__private::call_once(move || #user_body));
        finished_with(&guard, &result, annotation, call)
    };
    emit(
        attrs,
        vis,
        sig,
        inner_attrs,
        &docs(options, &names),
        instrumented,
        *body_span,
        Some((&guard, enter)),
    )
}

/// The type the body returns, where it can be written in a `let`: the classification needs it
/// settled before the function returns (`text.parse()` is only typed by the return type).
fn result_type(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if !mentions_impl(ty.to_token_stream()) => {
            Some(ty.to_token_stream())
        }
        ReturnType::Type(..) => None,
    }
}

/// `impl Trait` cannot be written in a `let`.
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// Runs `value`, tells the guard how it ended, returns it.
fn finished_with(
    guard: &Ident,
    result: &Ident,
    annotation: Option<TokenStream>,
    value: TokenStream,
) -> TokenStream {
    let annotation = annotation.map(|ty| quote!(: #ty));
    let error_type = Ident::new("__track_metrics_error_type", Span::mixed_site());
    quote! {
        let #result #annotation = #value;
        // The borrows pick the most specific classification; they are not needless.
        #[allow(clippy::needless_borrow)]
        let #error_type = {
            #[allow(unused_imports)]
            use ::track_metrics::__private::{
                ClassifyAsSuccess as _, ClassifyByErrorType as _, ClassifyByTypeName as _,
            };
            (&&&::track_metrics::__private::Outcome(&#result)).error_type()
        };
        #guard.finish(#error_type);
        #result
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    attrs: &[syn::Attribute],
    vis: &syn::Visibility,
    sig: &syn::Signature,
    inner_attrs: &[syn::Attribute],
    docs: &TokenStream,
    instrumented: TokenStream,
    body_span: Span,
    guard: Option<(&Ident, TokenStream)>,
) -> TokenStream {
    let guard = guard.map(|(guard, enter)| {
        // `mut` is for `finish`, which a diverging body never reaches.
        quote!(#[allow(unused_mut)] let mut #guard = #enter;)
    });
    let block = braced(quote!(#(#inner_attrs)* #guard #instrumented), body_span);
    quote! {
        #(#attrs)*
        #docs
        #vis #sig #block
    }
}

fn braced(tokens: TokenStream, span: Span) -> Group {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(span);
    group
}

/// The call site and its `enter()`, as one expression.
fn call_site(options: &Options, names: &Names, name_span: Span) -> TokenStream {
    let Names {
        function,
        calls,
        duration,
        errors,
        in_flight,
    } = names;
    let track_in_flight = options.in_flight.is_some();
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
    let line = quote_spanned!(name_span=> ::track_metrics::__private::line!());
    quote! {
        {
            #[::track_metrics::__private::linkme::distributed_slice(
                ::track_metrics::__private::CALL_SITES
            )]
            #[linkme(crate = ::track_metrics::__private::linkme)]
            static __TRACK_METRICS_CALL_SITE: ::track_metrics::__private::CallSite =
                ::track_metrics::__private::CallSite::new(::track_metrics::__private::SiteInfo {
                    function: #function,
                    module: ::track_metrics::__private::module_path!(),
                    file: ::track_metrics::__private::file!(),
                    line: #line,
                    calls: #calls,
                    duration: #duration,
                    errors: #errors,
                    in_flight: #in_flight,
                    track_in_flight: #track_in_flight,
                    labels: &[#(#labels),*],
                    buckets: &[#(#buckets),*],
                });
            __TRACK_METRICS_CALL_SITE.enter()
        }
    }
}

/// A `# Metrics` section for the function's documentation: its series and ready PromQL.
fn docs(options: &Options, names: &Names) -> TokenStream {
    if options.no_docs.is_some() {
        return TokenStream::new();
    }
    let Names {
        function,
        calls,
        duration,
        errors,
        in_flight,
    } = names;
    let selector = |metric: &str| {
        quote!(::track_metrics::__private::concat!(
            #metric, "{function=\"", #function, "\",module=\"", ::track_metrics::__private::module_path!(), "\"}"
        ))
    };
    let line = |text: TokenStream| quote!(#[doc = #text]);
    let plain = |text: &str| quote!(#[doc = #text]);
    let calls_selector = selector(calls);
    let errors_selector = selector(errors);
    let bucket_selector = selector(&format!("{duration}_bucket"));
    let rate = |selector: &TokenStream| {
        quote!(::track_metrics::__private::concat!("sum(rate(", #selector, "[5m]))"))
    };
    let calls_rate = rate(&calls_selector);
    let errors_rate = rate(&errors_selector);
    let quantile = |q: &str| {
        quote!(::track_metrics::__private::concat!(
            "histogram_quantile(", #q, ", sum by (le) (rate(", #bucket_selector, "[5m])))"
        ))
    };
    let mut lines = vec![
        plain(""),
        plain("# Metrics"),
        plain(""),
        plain("Recorded by `#[track_metrics]` at every call:"),
        line(quote!(
            ::track_metrics::__private::concat!("- `", #calls_selector, "`: calls")
        )),
        plain(&format!("- `{duration}`: duration in seconds, a histogram")),
        plain(&format!(
            "- `{errors}{{error_type}}`: `Err` returns by type, panics and cancellations"
        )),
    ];
    if options.in_flight.is_some() {
        lines.push(plain(&format!("- `{in_flight}`: calls in progress")));
    }
    lines.extend([
        plain(""),
        plain("Queries:"),
        plain("```promql"),
        line(quote!(
            ::track_metrics::__private::concat!("# Request rate\n", #calls_rate)
        )),
        line(quote!(
            ::track_metrics::__private::concat!("# Error ratio\n", #errors_rate, " / ", #calls_rate)
        )),
        line({
            let p50 = quantile("0.5");
            quote!(::track_metrics::__private::concat!("# p50 latency\n", #p50))
        }),
        line({
            let p99 = quantile("0.99");
            quote!(::track_metrics::__private::concat!("# p99 latency\n", #p99))
        }),
        plain("```"),
    ]);
    lines.into_iter().collect()
}

/// The parts of `Box::pin(async move { .. })`, the body `#[async_trait]` gives a method.
struct BoxedFuture {
    pin: TokenStream,
    capture: Option<syn::token::Move>,
    body: syn::Block,
}

/// Recognises the output of `#[async_trait]` from its syntax tree: a body that is one
/// `Box::pin(async move { .. })` expression.
fn async_trait_future(body: &TokenStream) -> Option<BoxedFuture> {
    let block: syn::Block = syn::parse2(quote!({ #body })).ok()?;
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(future)) = call.args.first() else {
        return None;
    };
    let pin = call.func.to_token_stream();
    Some(BoxedFuture {
        pin,
        capture: future.capture,
        body: future.block.clone(),
    })
}

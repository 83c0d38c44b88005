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
use syn::spanned::Spanned;
use syn::{Expr, ReturnType, Stmt, Type};

use super::options::Options;
use super::parse::InstrumentedFn;
use super::returns::{self, Fallible, Returns};

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
        // `impl dyn Store + Send` is `Store`.
        Type::TraitObject(object) => object
            .bounds
            .iter()
            .find_map(|bound| match bound {
                syn::TypeParamBound::Trait(bound) => bound.path.segments.last(),
                _ => None,
            })
            .map_or_else(String::new, |segment| segment.ident.unraw().to_string()),
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
    let site = call_site(options, &names, sig.ident.span());
    let guard = Ident::new("__track_metrics_guard", Span::mixed_site());
    let result = Ident::new("__track_metrics_result", Span::mixed_site());
    let future = Ident::new("__track_metrics_future", Span::mixed_site());
    let user_body = braced(body.clone(), *body_span);
    let declared_future = options.future.is_some();
    let result_type = returns::result_type(sig, declared_future);
    let annotation = result_type.as_ref().map(|ty| quote!(: #ty));
    let classified = |value: TokenStream| {
        let error_type = classification(options, &result);
        quote! {
            let #result #annotation = #value;
            let __track_metrics_error_type = #error_type;
            (#result, __track_metrics_error_type)
        }
    };
    let call_future = |value: TokenStream| {
        let classified = classified(value);
        quote!(::track_metrics::__private::CallFuture::new(#site, async move { #classified }))
    };

    let returns = Returns::of(sig, declared_future);
    // `#[async_trait]` already turned an `async fn` into `Box::pin(async move { .. })`.
    let async_trait = match returns {
        Returns::Future { boxed: true } => async_trait_future(body),
        _ => None,
    };
    let instrumented = match (returns, async_trait) {
        // Time the async block, from its first poll, inside the one box.
        (_, Some(BoxedFuture { pin, capture, body })) => {
            let classified = classified(quote!(async move #body.await));
            quote! {
                #pin(::track_metrics::__private::CallFuture::new(#site, async #capture { #classified }))
            }
        }
        // A diverging body has no value to classify: it ends by panicking, or not at all.
        // The body in a block of its own, so that its items still come before any statement.
        (Returns::Never, None) => quote! {
            #[allow(unused_mut)]
            let mut #guard = #site.enter();
            #user_body
        },
        (Returns::Async, None) => {
            // An async block's output is the type of its first `return`: one that never runs,
            // of the declared type, lets each real `return` coerce to it (a `Box<dyn Trait>`),
            // as in the function. tracing's `#[instrument]` does the same.
            // It goes inside the body's own braces: a block of the body's alone would be
            // "unnecessary braces" to rustc.
            let body = match &result_type {
                Some(ty) => {
                    // After the body's leading items, which must come before any statement.
                    let (items, rest) = leading_items(body);
                    let block = braced(
                        quote! {
                            #items
                            #[allow(unreachable_code, clippy::diverging_sub_expression)]
                            if false {
                                let __track_metrics_output: #ty = loop {};
                                return __track_metrics_output;
                            }
                            #rest
                        },
                        *body_span,
                    );
                    quote!(async move #block)
                }
                None => quote!(async move #user_body),
            };
            let call = call_future(quote!(#body.await));
            quote!(#call.await)
        }
        (Returns::Future { boxed }, None) => {
            // The body builds the future now (its own `return`s included); the call is the
            // future's, from its first poll.
            // A boxed future's type is written on the closure so that each `return` of the
            // body coerces to it, as it would in the function.
            let ty = match &sig.output {
                ReturnType::Type(_, ty) if boxed => Some(quote!(-> #ty)),
                _ => None,
            };
            let site_ident = Ident::new("__track_metrics_site", Span::mixed_site());
            let classified = classified(quote!(#future.await));
            // `impl Future + Unpin` is kept with the async block boxed.
            let inner = if returns::promises_unpin(sig) {
                quote!(::track_metrics::__private::pin_box(async move { #classified }))
            } else {
                quote!(async move { #classified })
            };
            let call = quote!(::track_metrics::__private::CallFuture::new(#site_ident, #inner));
            let call = if boxed {
                quote!(::track_metrics::__private::pin_box(#call))
            } else {
                call
            };
            quote! {
                let #site_ident = #site;
                // A panic while the future is built is a call that panicked.
                let __track_metrics_building = ::track_metrics::__private::Building::new(#site_ident);
                let #future = ::track_metrics::__private::call_once(move || #ty #user_body);
                __track_metrics_building.built();
                #call
            }
        }
        (Returns::Value, None) => {
            let error_type = classification(options, &result);
            // The return type written on the closure lets each `return` of the body coerce to
            // it (a `Box<dyn Trait>`), as it would in the function.
            let closure_output = result_type.as_ref().map(|ty| quote!(-> #ty));
            let check = quote_spanned! {sig.ident.span()=>
                {
                    #[allow(unused_imports)]
                    use ::track_metrics::__private::{ReturnsAFuture as _, ReturnsAValue as _};
                    (&::track_metrics::__private::Returned(&#result)).check_not_a_future();
                }
            };
            quote! {
                let mut #guard = #site.enter();
                let #result #annotation =
                    ::track_metrics::__private::call_once(move || #closure_output #user_body);
                #check
                #guard.finish(#error_type);
                #result
            }
        }
    };
    let docs = docs(options, &names, function, impl_type.is_some());
    let on_main = main_warning(function, impl_type.is_some() || options.self_type.is_some());
    let block = braced(quote!(#(#inner_attrs)* #instrumented), *body_span);
    quote! {
        #on_main
        #(#attrs)*
        #docs
        #vis #sig #block
    }
}

/// How the value in `result` classifies, as an `Option<&'static str>` expression: by the
/// user's `error_type`, `ok_if` or `error_if` where given, else by the value's type.
fn classification(options: &Options, result: &Ident) -> TokenStream {
    // Under a predicate, the type only names the error; the predicate decides whether it is one.
    let method = if options.ok_if.is_some() || options.error_if.is_some() {
        quote!(error_label)
    } else {
        quote!(error_type)
    };
    let by_type = match &options.error_type {
        Some(classify) => quote_spanned! {classify.span()=>
            ::track_metrics::__private::classify_err(&#result, #classify)
        },
        None => quote! {{
            #[allow(unused_imports)]
            use ::track_metrics::__private::{
                ClassifyAsSuccess as _, ClassifyByErrorType as _, ClassifyByTypeName as _,
            };
            // The borrows pick the most specific classification; they are not needless.
            #[allow(clippy::needless_borrow)]
            (&&&::track_metrics::__private::Outcome(&#result)).#method()
        }},
    };
    if let Some(ok_if) = &options.ok_if {
        quote_spanned! {ok_if.span()=>
            ::track_metrics::__private::ok_if(&#result, #ok_if, #by_type)
        }
    } else if let Some(error_if) = &options.error_if {
        quote_spanned! {error_if.span()=>
            ::track_metrics::__private::error_if(&#result, #error_if, #by_type)
        }
    } else {
        by_type
    }
}

/// `#[track_metrics]` on `main` records nothing (it starts before `install()` and is entered
/// once): a warning on its name, through the `deprecated` lint, as the only way a proc macro
/// has to warn on stable Rust.
fn main_warning(function: &InstrumentedFn, method: bool) -> TokenStream {
    if method || function.sig.ident != "main" {
        return TokenStream::new();
    }
    let span = function.sig.ident.span();
    quote_spanned! {span=>
        const _: () = {
            #[deprecated(
                note = "`#[track_metrics]` on `main` records nothing: `main` is entered before \
                        `install()` runs, and only once. Instrument the functions it calls instead."
            )]
            struct TrackMetricsOnMain;
            let _ = TrackMetricsOnMain;
        };
    }
}

fn braced(tokens: TokenStream, span: Span) -> Group {
    let mut group = Group::new(Delimiter::Brace, tokens);
    group.set_span(span);
    group
}

/// The call site, as a `&'static CallSite` expression.
fn call_site(options: &Options, names: &Names, name_span: Span) -> TokenStream {
    let Names {
        function,
        calls,
        duration,
        errors,
        in_flight,
    } = names;
    let track_in_flight = options.in_flight.is_some();
    let objective_label = options
        .objective
        .as_ref()
        .map(|objective| quote_spanned!(objective.span()=> ("objective", #objective.name())));
    let labels = options
        .labels
        .iter()
        .flat_map(|labels| &labels.pairs)
        .map(|(key, value)| {
            let key = key.unraw().to_string();
            quote!((#key, #value))
        })
        .chain(objective_label);
    let objective = match &options.objective {
        Some(objective) => {
            quote_spanned!(objective.span()=> ::core::option::Option::Some(&#objective))
        }
        None => quote!(::core::option::Option::None),
    };
    // An objective with no target is an error here, on its name; so is a latency threshold
    // that is not a bucket bound where the macro sees the buckets (`install()` checks it
    // otherwise).
    let objective_check = options.objective.as_ref().map(|objective| {
        let bounds = options.buckets.as_ref().map_or_else(
            || quote!(::core::option::Option::None),
            |buckets| {
                let bounds = buckets
                    .bounds
                    .iter()
                    .map(|(value, _)| proc_macro2::Literal::f64_suffixed(*value));
                quote!(::core::option::Option::Some(&[#(#bounds),*]))
            },
        );
        quote_spanned! {objective.span()=>
            const _: () = ::track_metrics::__private::check_objective(&#objective, #bounds);
        }
    });
    let buckets = options
        .buckets
        .iter()
        .flat_map(|buckets| &buckets.bounds)
        .map(|(value, _)| {
            let value = proc_macro2::Literal::f64_suffixed(*value);
            quote!(#value)
        });
    let native_histogram = options.native_histogram.is_some();
    let native_factor = proc_macro2::Literal::f64_suffixed(
        options
            .native_histogram
            .as_ref()
            .and_then(|native| native.factor)
            .map_or(0.0, |(factor, _)| factor),
    );
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
                    native_histogram: #native_histogram,
                    native_factor: #native_factor,
                    objective: #objective,
                });
            #objective_check
            &__TRACK_METRICS_CALL_SITE
        }
    }
}

/// A `# Metrics` section for the function's documentation: its series and ready PromQL, for
/// what this function can record. Only for a documented function without a `# Metrics` section
/// of its own: generated docs must not silence `missing_docs` nor become an undocumented
/// function's summary line.
fn docs(
    options: &Options,
    names: &Names,
    function: &InstrumentedFn,
    in_impl_block: bool,
) -> TokenStream {
    let doc_lines: Vec<String> = function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .collect();
    // `#[doc = ".."]` (what `///` is) documents; `#[doc(alias)]` or `#[doc(hidden)]` does not.
    let documented = function
        .attrs
        .iter()
        .any(|attr| attr.path().is_ident("doc") && matches!(attr.meta, syn::Meta::NameValue(_)));
    let has_own_section = doc_lines
        .iter()
        .flat_map(|text| text.lines())
        .any(|line| line.trim() == "# Metrics");
    if options.no_docs.is_some() || !documented || has_own_section {
        return TokenStream::new();
    }
    let Names {
        function: label,
        calls,
        duration,
        errors,
        in_flight,
    } = names;
    let constant_labels: String = options
        .labels
        .iter()
        .flat_map(|labels| &labels.pairs)
        .map(|(key, value)| format!(",{}=\"{}\"", key.unraw(), promql_string(&value.value())))
        .collect();
    let escaped_label = promql_string(label);
    let selector = |metric: &str| {
        let close = format!("\"{constant_labels}}}");
        quote!(::track_metrics::__private::concat!(
            #metric, "{function=\"", #escaped_label, "\",module=\"",
            ::track_metrics::__private::module_path!(), #close
        ))
    };
    let line = |text: TokenStream| quote!(#[doc = #text]);
    let plain = |text: &str| quote!(#[doc = #text]);
    let classified =
        options.error_type.is_some() || options.ok_if.is_some() || options.error_if.is_some();
    let fallible = match returns::fallible(&function.sig) {
        _ if classified => Fallible::Yes,
        Fallible::No if options.future.is_some() => Fallible::Unknown,
        fallible => fallible,
    };
    let can_be_cancelled = !matches!(
        Returns::of(&function.sig, options.future.is_some()),
        Returns::Value | Returns::Never
    );
    let error_kinds = match (fallible, can_be_cancelled) {
        (Fallible::Yes, true) => "errors by type, panics and cancellations",
        (Fallible::Yes, false) => "errors by type and panics",
        (Fallible::Unknown, true) => {
            "errors by type (if it returns a `Result`), panics and cancellations"
        }
        (Fallible::Unknown, false) => "errors by type (if it returns a `Result`) and panics",
        (Fallible::No, true) => "panics and cancellations (it returns no `Result`)",
        (Fallible::No, false) => "panics (it returns no `Result`)",
    };
    let calls_selector = selector(calls);
    let mut lines = vec![plain(""), plain("# Metrics"), plain("")];
    if in_impl_block {
        // One line per method: the block's methods share their families and options.
        lines.push(line(quote!(::track_metrics::__private::concat!(
            "Recorded by `#[track_metrics]` on the `impl` block: `", #calls_selector,
            "` and the same selector on `", #duration, "` and `", #errors, "` (", #error_kinds, ")."
        ))));
        return lines.into_iter().collect();
    }
    let errors_selector = selector(errors);
    let bucket_selector = selector(&format!("{duration}_bucket"));
    let in_flight_selector = selector(in_flight);
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
    lines.extend([
        plain("Recorded by `#[track_metrics]` at every call:"),
        line(quote!(
            ::track_metrics::__private::concat!("- `", #calls_selector, "`: calls")
        )),
        plain(&format!("- `{duration}`: duration in seconds, a histogram")),
        plain(&format!("- `{errors}{{error_type}}`: {error_kinds}")),
    ]);
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
    ]);
    if fallible != Fallible::No {
        lines.push(line(quote!(
            ::track_metrics::__private::concat!("# Error ratio\n", #errors_rate, " / ", #calls_rate)
        )));
    }
    lines.extend([
        line({
            let p50 = quantile("0.5");
            quote!(::track_metrics::__private::concat!("# p50 latency\n", #p50))
        }),
        line({
            let p99 = quantile("0.99");
            quote!(::track_metrics::__private::concat!("# p99 latency\n", #p99))
        }),
    ]);
    if options.native_histogram.is_some() {
        let native_selector = selector(duration);
        lines.push(line(quote!(::track_metrics::__private::concat!(
            "# p99 latency from the native histogram (Prometheus with \
             --enable-feature=native-histograms)\nhistogram_quantile(0.99, sum(rate(",
            #native_selector, "[5m])))"
        ))));
    }
    // Only where the runtime has a source of exemplars built in (feature `otel`).
    lines.push(line(quote!(
        ::track_metrics::__private::exemplars_query!(#bucket_selector)
    )));
    if options.in_flight.is_some() {
        lines.push(line(quote!(::track_metrics::__private::concat!(
            "# Calls in progress\nsum(", #in_flight_selector, ")"
        ))));
    }
    lines.push(plain("```"));
    lines.into_iter().collect()
}

/// The body's leading items (`fn`, `const`, `use`, ...) and the rest, or nothing and the whole
/// body if it does not parse (its errors are rustc's to report, on the user's tokens).
fn leading_items(body: &TokenStream) -> (TokenStream, TokenStream) {
    let Ok(statements) = syn::parse::Parser::parse2(syn::Block::parse_within, body.clone()) else {
        return (TokenStream::new(), body.clone());
    };
    let count = statements
        .iter()
        .take_while(|statement| matches!(statement, Stmt::Item(_)))
        .count();
    let items = statements[..count]
        .iter()
        .map(ToTokens::to_token_stream)
        .collect();
    let rest = statements[count..]
        .iter()
        .map(ToTokens::to_token_stream)
        .collect();
    (items, rest)
}

/// `text` as the inside of a PromQL double-quoted string.
fn promql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
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

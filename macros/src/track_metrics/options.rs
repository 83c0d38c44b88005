//! The options of `#[track_metrics(...)]`, parsed strictly: an unknown or repeated key is an
//! error on that key, and every value keeps its span for the validation phase.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token, bracketed, parenthesized};

const KEYS: &str = "`name`, `calls`, `duration`, `errors`, `in_flight`, `labels`, `buckets`, \
                    `native_histogram`, `objective`, `error_type`, `ok_if`, `error_if`, `future`, `self_type`, `no_docs` or `skip`";

/// Everything between the parentheses of `#[track_metrics(...)]`.
#[derive(Default)]
pub struct Options {
    /// The `function` label value; the function's own name when absent.
    pub name: Option<LitStr>,
    /// The counter of calls; `function_calls_total` when absent.
    pub calls: Option<LitStr>,
    /// The duration histogram; `function_duration_seconds` when absent.
    pub duration: Option<LitStr>,
    /// Constant labels added to every series of the function.
    pub labels: Option<Labels>,
    /// Histogram bucket bounds of the duration family.
    pub buckets: Option<Buckets>,
    /// A native histogram beside the classic buckets: `native_histogram` alone for the
    /// builder's resolution, or `native_histogram = 1.05` for a factor of its own.
    pub native_histogram: Option<NativeHistogram>,
    /// The service-level objective: a path to a `track_metrics::slo::Objective` constant.
    pub objective: Option<syn::Path>,
    /// The counter of errors by type; `function_errors_total` when absent.
    pub errors: Option<LitStr>,
    /// The in-flight gauge: `in_flight` alone for `function_calls_in_flight`, or its name.
    pub in_flight: Option<InFlight>,
    /// Labels an `Err` by the user's function instead of by its type.
    pub error_type: Option<Expr>,
    /// A value for which the predicate holds is a success, whatever it is.
    pub ok_if: Option<Expr>,
    /// A value for which the predicate holds is an error, and only such a value.
    pub error_if: Option<Expr>,
    /// The return type is a boxed future under a name the macro cannot see through.
    pub future: Option<Span>,
    /// The type a method belongs to, for `function="Type::method"` outside an instrumented impl.
    pub self_type: Option<LitStr>,
    /// No generated `# Metrics` section in the function's documentation.
    pub no_docs: Option<Span>,
    /// Leaves a method of an instrumented `impl` block alone.
    pub skip: Option<Span>,
}

#[derive(Clone)]
pub struct InFlight {
    pub name: Option<LitStr>,
}

#[derive(Clone)]
pub struct NativeHistogram {
    /// The resolution factor and its span; `None` for the builder's.
    pub factor: Option<(f64, Span)>,
}

#[derive(Clone)]
pub struct Labels {
    pub keyword: Span,
    pub pairs: Vec<(Ident, LitStr)>,
}

#[derive(Clone)]
pub struct Buckets {
    pub brackets: Span,
    pub bounds: Vec<(f64, Span)>,
}

impl Options {
    pub fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut options = Options::default();
        let parser = syn::meta::parser(|meta| options.parse_one(&meta));
        parser.parse2(args)?;
        Ok(options)
    }

    fn parse_one(&mut self, meta: &ParseNestedMeta) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident() else {
            return Err(meta.error(format!("expected one of {KEYS}")));
        };
        let key_name = key.to_string();
        let already_set = match key_name.as_str() {
            "name" => set_once(&mut self.name, string_value(meta)?),
            "calls" => set_once(&mut self.calls, string_value(meta)?),
            "duration" => set_once(&mut self.duration, string_value(meta)?),
            "labels" => set_once(&mut self.labels, parse_labels(meta, key.span())?),
            "buckets" => set_once(&mut self.buckets, parse_buckets(meta)?),
            "errors" => set_once(&mut self.errors, string_value(meta)?),
            "native_histogram" => {
                let factor = if meta.input.peek(Token![=]) {
                    Some(crate::numbers::number(&meta.value()?.parse()?)?)
                } else {
                    None
                };
                set_once(&mut self.native_histogram, NativeHistogram { factor })
            }
            "in_flight" => {
                let name = if meta.input.peek(Token![=]) {
                    Some(string_value(meta)?)
                } else {
                    None
                };
                set_once(&mut self.in_flight, InFlight { name })
            }
            "objective" => set_once(&mut self.objective, meta.value()?.parse()?),
            "error_type" => set_once(&mut self.error_type, meta.value()?.parse()?),
            "ok_if" => set_once(&mut self.ok_if, meta.value()?.parse()?),
            "error_if" => set_once(&mut self.error_if, meta.value()?.parse()?),
            "future" => set_once(&mut self.future, key.span()),
            "self_type" => set_once(&mut self.self_type, string_value(meta)?),
            "no_docs" => set_once(&mut self.no_docs, key.span()),
            "skip" => set_once(&mut self.skip, key.span()),
            _ => {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown `track_metrics` option `{key_name}`; expected {KEYS}"),
                ));
            }
        };
        if already_set {
            return Err(syn::Error::new(
                key.span(),
                format!("`{key_name}` is given more than once"),
            ));
        }
        Ok(())
    }
}

impl Options {
    /// The options of a method inside an instrumented `impl` block: the method's own, and the
    /// block's where the method says nothing. The block's classifier and predicates reach only
    /// the methods that return a `Result` (`fallible`): the block's other methods (`new`,
    /// `len`) return something they were not written for.
    pub fn merged_onto(self, block: &Options, fallible: bool) -> Options {
        let from_block = |own: Option<Expr>, block: &Option<Expr>| {
            own.or_else(|| block.clone().filter(|_| fallible))
        };
        Options {
            name: self.name,
            calls: self.calls.or_else(|| block.calls.clone()),
            duration: self.duration.or_else(|| block.duration.clone()),
            labels: self.labels.or_else(|| block.labels.clone()),
            buckets: self.buckets.or_else(|| block.buckets.clone()),
            native_histogram: self
                .native_histogram
                .or_else(|| block.native_histogram.clone()),
            objective: self.objective.or_else(|| block.objective.clone()),
            errors: self.errors.or_else(|| block.errors.clone()),
            in_flight: self.in_flight.or_else(|| block.in_flight.clone()),
            error_type: from_block(self.error_type, &block.error_type),
            ok_if: from_block(self.ok_if, &block.ok_if),
            error_if: from_block(self.error_if, &block.error_if),
            future: self.future,
            self_type: self.self_type,
            no_docs: self.no_docs.or(block.no_docs),
            skip: self.skip,
        }
    }
}

/// Stores `value` unless the slot is taken; returns whether it was.
fn set_once<T>(slot: &mut Option<T>, value: T) -> bool {
    let taken = slot.is_some();
    if !taken {
        *slot = Some(value);
    }
    taken
}

fn string_value(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

fn parse_labels(meta: &ParseNestedMeta, keyword: Span) -> syn::Result<Labels> {
    let input = meta.input;
    if !input.peek(syn::token::Paren) {
        return Err(input.error("expected `labels(name = \"value\", ...)`"));
    }
    let content;
    parenthesized!(content in input);
    let pairs = content.parse_terminated(parse_label, Token![,])?;
    Ok(Labels {
        keyword,
        pairs: pairs.into_iter().collect(),
    })
}

/// `name = "value"`; the name may be a keyword such as `type`, which is a fine label name.
fn parse_label(input: ParseStream) -> syn::Result<(Ident, LitStr)> {
    let key = Ident::parse_any(input)?;
    input.parse::<Token![=]>()?;
    match input.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok((key, lit)),
        other => Err(syn::Error::new_spanned(
            other,
            "label values must be string literals: a label built from a runtime value \
             would make the number of series unbounded; for a value known only at run time, \
             declare a family with `metrics!` and record into it (its series are bounded by \
             `#[max_series]`)",
        )),
    }
}

fn parse_buckets(meta: &ParseNestedMeta) -> syn::Result<Buckets> {
    let input = meta.value()?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error("expected a list of bucket bounds: `buckets = [0.01, 0.1, 1.0]`"));
    }
    let content;
    let brackets = bracketed!(content in input).span.join();
    let elements = content.parse_terminated(Expr::parse, Token![,])?;
    let bounds = elements
        .iter()
        .map(bucket_bound)
        .collect::<syn::Result<_>>()?;
    Ok(Buckets { brackets, bounds })
}

fn bucket_bound(expr: &Expr) -> syn::Result<(f64, Span)> {
    let (value, span) = crate::numbers::number(expr)?;
    if value < 0.0 {
        return Err(syn::Error::new_spanned(
            expr,
            "a duration is never negative, so a negative bucket bound would stay empty",
        ));
    }
    Ok((value, span))
}

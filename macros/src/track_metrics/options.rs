//! The options of `#[track_metrics(...)]`, parsed strictly: an unknown or repeated key is an
//! error on that key, and every value keeps its span for the validation phase.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token, bracketed, parenthesized};

const KEYS: &str = "`name`, `calls`, `duration`, `labels` or `buckets`";

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
}

pub struct Labels {
    pub keyword: Span,
    pub pairs: Vec<(Ident, LitStr)>,
}

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
             would make the number of series unbounded",
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

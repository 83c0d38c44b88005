//! The item under `#[track_metrics]`: a function whose body is kept as tokens, or an `impl`
//! block whose methods become such functions.
//!
//! A function's body is not parsed, so a body with a syntax error still reaches rustc as the
//! user wrote it and the error is reported there, and every token keeps its span.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, ImplItemFn, Item, ItemImpl, Signature, Token, Visibility, braced};

/// What the attribute is on.
pub enum Target {
    Function(InstrumentedFn),
    Impl(ItemImpl),
}

pub struct InstrumentedFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub inner_attrs: Vec<Attribute>,
    pub body: TokenStream,
    pub body_span: Span,
}

impl Parse for InstrumentedFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        if input.peek(Token![;]) {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                "`#[track_metrics]` needs a function body: put it on the implementations of \
                 this method, not on its declaration",
            ));
        }
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(InstrumentedFn {
            attrs,
            vis,
            sig,
            inner_attrs,
            body,
            body_span: brace.span.join(),
        })
    }
}

impl InstrumentedFn {
    /// A method of an `impl` block, with its outer and inner attributes told apart.
    pub fn from_method(method: ImplItemFn) -> Self {
        let (inner_attrs, attrs) = method
            .attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
        let body_span = method.block.brace_token.span.join();
        let mut body = TokenStream::new();
        for stmt in &method.block.stmts {
            stmt.to_tokens(&mut body);
        }
        InstrumentedFn {
            attrs,
            vis: method.vis,
            sig: method.sig,
            inner_attrs,
            body,
            body_span,
        }
    }
}

/// Parses the item, or explains what `#[track_metrics]` accepts when it is neither a function
/// nor an `impl` block.
pub fn parse_item(item: TokenStream) -> syn::Result<Target> {
    let fn_error = match syn::parse2::<InstrumentedFn>(item.clone()) {
        Ok(function) => return Ok(Target::Function(function)),
        Err(error) => error,
    };
    let Ok(item) = syn::parse2::<Item>(item.clone()) else {
        if let Ok(syn::Expr::Closure(closure)) = syn::parse2::<syn::Expr>(item) {
            return Err(syn::Error::new(
                closure.or1_token.span,
                "`#[track_metrics]` can only be applied to a function or an `impl` block, not to \
                 a closure: move its body into a named function and instrument that",
            ));
        }
        return Err(fn_error);
    };
    if let Item::Impl(block) = item {
        return Ok(Target::Impl(block));
    }
    Err(match item_kind(&item) {
        Some(kind) => syn::Error::new(
            item_keyword_span(&item),
            format!(
                "`#[track_metrics]` can only be applied to a function or an `impl` block, not to \
                 {kind}"
            ),
        ),
        None => fn_error,
    })
}

/// What the item is, in words; `None` for a function, whose own parse error says more.
fn item_kind(item: &Item) -> Option<&'static str> {
    let kind = match item {
        Item::Const(_) => "a `const` item",
        Item::Enum(_) => "an enum",
        Item::ExternCrate(_) => "an `extern crate`",
        Item::ForeignMod(_) => "an `extern` block",
        Item::Macro(_) => "a macro invocation",
        Item::Mod(_) => "a module",
        Item::Static(_) => "a `static` item",
        Item::Struct(_) => "a struct",
        Item::Trait(_) => {
            "a trait: put it on the methods of its implementations, or on its default methods \
             one by one"
        }
        Item::TraitAlias(_) => "a trait alias",
        Item::Type(_) => "a type alias",
        Item::Union(_) => "a union",
        Item::Use(_) => "a `use` item",
        _ => return None,
    };
    Some(kind)
}

/// The span of the item's keyword (`struct`, `impl`, ...), where the error reads best.
fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Const(item) => item.const_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Static(item) => item.static_token.span,
        Item::Struct(item) => item.struct_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Union(item) => item.union_token.span,
        Item::Use(item) => item.use_token.span,
        other => other.span(),
    }
}

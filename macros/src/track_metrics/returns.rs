//! What an instrumented function returns, read from its signature: a value, a future whose
//! output is the call's result, or nothing (`!`). The macro sees only syntax, so a future under
//! a name it cannot see through (a type alias) is declared with `#[track_metrics(future)]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{GenericArgument, PathArguments, ReturnType, Type, TypeParamBound};

/// How the function's result reaches its caller.
pub enum Returns {
    /// A value, returned when the body ends.
    Value,
    /// Never: the body diverges.
    Never,
    /// The body of an `async fn`.
    Async,
    /// A future that the caller polls: `impl Future`, or boxed (`Pin<Box<dyn Future>>`,
    /// `BoxFuture`, `#[track_metrics(future)]`).
    Future { boxed: bool },
}

impl Returns {
    pub fn of(sig: &syn::Signature, declared_future: bool) -> Self {
        if sig.asyncness.is_some() {
            return Returns::Async;
        }
        let ReturnType::Type(_, ty) = &sig.output else {
            return Returns::Value;
        };
        if matches!(**ty, Type::Never(_)) {
            return Returns::Never;
        }
        match future_output(ty) {
            Some(FutureType { boxed, .. }) => Returns::Future { boxed },
            None if declared_future => Returns::Future { boxed: true },
            None => Returns::Value,
        }
    }
}

/// The type of the call's result as it can be written in a `let` (no `impl Trait`), if known:
/// the classification needs it settled before the value is returned (`text.parse()` is only
/// typed by the return type).
pub fn result_type(sig: &syn::Signature, declared_future: bool) -> Option<TokenStream> {
    let ty = match &sig.output {
        ReturnType::Default => return Some(quote!(())),
        ReturnType::Type(_, ty) => ty,
    };
    let result = if sig.asyncness.is_some() {
        ty.to_token_stream()
    } else if let Some(future) = future_output(ty) {
        future.output?.to_token_stream()
    } else if declared_future {
        quote!(<#ty as ::core::future::Future>::Output)
    } else {
        ty.to_token_stream()
    };
    (!mentions_impl(result.clone())).then_some(result)
}

/// Whether the call's result can be an error: its type's name ends in `Result` (`Result<T, E>`,
/// `io::Result<T>`, `anyhow::Result<T>`), seen through the future it may be the output of. A
/// guess from syntax, used only for the generated documentation.
pub fn looks_fallible(sig: &syn::Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else {
        return false;
    };
    let result = match future_output(ty) {
        Some(future) => future.output,
        None => Some((**ty).clone()),
    };
    matches!(result, Some(Type::Path(path))
        if path.path.segments.last().is_some_and(|segment| segment.ident.to_string().ends_with("Result")))
}

/// A future type recognised in a signature.
struct FutureType {
    boxed: bool,
    output: Option<Type>,
}

/// `impl Future<Output = T>`, `Pin<Box<dyn Future<Output = T> + ..>>`, `BoxFuture<'_, T>` or
/// `LocalBoxFuture<'_, T>`, with their output type when written.
fn future_output(ty: &Type) -> Option<FutureType> {
    match ty {
        Type::ImplTrait(bounds) => future_bound(&bounds.bounds).map(|output| FutureType {
            boxed: false,
            output,
        }),
        Type::Paren(inner) => future_output(&inner.elem),
        Type::Group(inner) => future_output(&inner.elem),
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            let args = match &last.arguments {
                PathArguments::AngleBracketed(args) => &args.args,
                _ => return None,
            };
            let types: Vec<&Type> = args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect();
            if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                let output = types.last().map(|ty| (*ty).clone());
                return Some(FutureType {
                    boxed: true,
                    output,
                });
            }
            if last.ident != "Pin" {
                return None;
            }
            let [Type::Path(boxed)] = types.as_slice() else {
                return None;
            };
            let boxed = boxed.path.segments.last()?;
            if boxed.ident != "Box" {
                return None;
            }
            let PathArguments::AngleBracketed(args) = &boxed.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(Type::TraitObject(object)) => future_bound(&object.bounds)
                    .map(|output| FutureType {
                        boxed: true,
                        output,
                    }),
                _ => None,
            })
        }
        _ => None,
    }
}

/// Among trait bounds, `Future<Output = T>`: `Some(Some(T))`, or `Some(None)` for a `Future`
/// bound without its output written.
fn future_bound<'a>(bounds: impl IntoIterator<Item = &'a TypeParamBound>) -> Option<Option<Type>> {
    bounds.into_iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Future" {
            return None;
        }
        let output = match &last.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                    Some(assoc.ty.clone())
                }
                _ => None,
            }),
            _ => None,
        };
        Some(output)
    })
}

/// `impl Trait` cannot be written in a `let`.
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

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

/// The type of the call's result as it can be written in a `let`, if known, with each
/// `impl Trait` in it left to inference (`Result<impl Display, E>` is `Result<_, E>`): the
/// classification needs the type settled before the value is returned (`text.parse()` is only
/// typed by the return type, and an error type only by the signature).
pub fn result_type(sig: &syn::Signature, declared_future: bool) -> Option<TokenStream> {
    let ty = match &sig.output {
        ReturnType::Default => return Some(quote!(())),
        ReturnType::Type(_, ty) => ty,
    };
    let result = if sig.asyncness.is_some() {
        (**ty).clone()
    } else if let Some(future) = future_output(ty) {
        future.output?
    } else if declared_future {
        return Some(quote!(<#ty as ::core::future::Future>::Output));
    } else {
        (**ty).clone()
    };
    match without_impl(result) {
        Type::Infer(_) => None,
        result => Some(result.to_token_stream()),
    }
}

/// `ty` with every `impl Trait` in it replaced by `_`.
fn without_impl(ty: Type) -> Type {
    match ty {
        Type::ImplTrait(_) => Type::Infer(syn::TypeInfer {
            underscore_token: Default::default(),
        }),
        Type::Path(mut path) => {
            for segment in &mut path.path.segments {
                if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        match arg {
                            GenericArgument::Type(ty) => *ty = without_impl(ty.clone()),
                            GenericArgument::AssocType(assoc) => {
                                assoc.ty = without_impl(assoc.ty.clone());
                            }
                            _ => {}
                        }
                    }
                }
            }
            Type::Path(path)
        }
        Type::Reference(mut reference) => {
            *reference.elem = without_impl((*reference.elem).clone());
            Type::Reference(reference)
        }
        Type::Tuple(mut tuple) => {
            for elem in &mut tuple.elems {
                *elem = without_impl(elem.clone());
            }
            Type::Tuple(tuple)
        }
        Type::Array(mut array) => {
            *array.elem = without_impl((*array.elem).clone());
            Type::Array(array)
        }
        Type::Slice(mut slice) => {
            *slice.elem = without_impl((*slice.elem).clone());
            Type::Slice(slice)
        }
        Type::Paren(paren) => without_impl(*paren.elem),
        Type::Group(group) => without_impl(*group.elem),
        other => other,
    }
}

/// What the documentation can say of the call's errors, from the signature alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fallible {
    /// The type's name ends in `Result`: `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`.
    Yes,
    /// `()`, a primitive, `String`, `Option`, `Vec` and the like.
    No,
    /// A name the macro cannot see through.
    Unknown,
}

/// Whether the call's result can be an `Err`, seen through the future it may be the output of:
/// a guess from syntax, used only for the generated documentation.
pub fn fallible(sig: &syn::Signature) -> Fallible {
    const INFALLIBLE: &[&str] = &[
        "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
        "i128", "isize", "f32", "f64", "str", "String", "Option", "Vec", "Box", "Cow", "Self",
        "HashMap", "BTreeMap", "HashSet", "BTreeSet", "VecDeque", "Arc", "Rc", "Duration",
    ];
    let ReturnType::Type(_, ty) = &sig.output else {
        return Fallible::No;
    };
    let result = match future_output(ty) {
        Some(future) => future.output,
        None => Some((**ty).clone()),
    };
    match result {
        Some(Type::Path(path)) => match path.path.segments.last() {
            Some(last) if last.ident.to_string().ends_with("Result") => Fallible::Yes,
            Some(last) if INFALLIBLE.iter().any(|name| last.ident == name) => Fallible::No,
            _ => Fallible::Unknown,
        },
        Some(Type::Tuple(_) | Type::Reference(_) | Type::Array(_) | Type::Slice(_)) => Fallible::No,
        Some(Type::ImplTrait(_)) => Fallible::No,
        _ => Fallible::Unknown,
    }
}

/// Whether an `impl Future` return also promises `Unpin`, which the call's future must keep.
pub fn promises_unpin(sig: &syn::Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else {
        return false;
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return false;
    };
    bounds.bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(bound)
            if bound.path.segments.last().is_some_and(|segment| segment.ident == "Unpin"))
    })
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

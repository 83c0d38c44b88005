//! `#[track_metrics]`: parse the options and the function or `impl` block, validate them,
//! expand.
//!
//! Every phase has its own file; this one only chains them and decides what to emit when a phase
//! fails: the `compile_error!` plus the user's item unchanged, so that one mistake does not turn
//! into a cascade of "cannot find function" errors elsewhere.

mod expand;
mod options;
mod parse;
mod returns;
mod validate;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{ImplItem, ItemImpl};

use crate::errors::Errors;
use options::Options;
use parse::{InstrumentedFn, Target};
use validate::Place;

pub fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let expanded =
        Options::parse(args).and_then(|options| match parse::parse_item(item.clone())? {
            Target::Function(function) => {
                let mut errors = Errors::default();
                validate::validate_options(&mut errors, &options, Place::Function);
                validate::validate_function(&mut errors, &options, &function);
                errors.finish()?;
                Ok(expand::function(&options, &function, None))
            }
            Target::Impl(block) => instrument_impl(&options, block),
        });
    match expanded {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.into_compile_error();
            if syn::parse2::<syn::Item>(item.clone()).is_err()
                && syn::parse2::<syn::Expr>(item.clone()).is_ok()
            {
                // An expression (a closure): one expression must come out, the error and the
                // expression unchanged.
                return quote!({ #error; #item });
            }
            let mut tokens = error;
            without_method_attributes(item).to_tokens(&mut tokens);
            tokens
        }
    }
}

/// The item as written, less the `#[track_metrics]` of its methods when it is an `impl` block:
/// those are ours to read, and left in place they would add "cannot find attribute" errors.
fn without_method_attributes(item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemImpl>(item.clone()) {
        Ok(mut block) => {
            for item in &mut block.items {
                if let ImplItem::Fn(method) = item {
                    method.attrs.retain(|attr| !is_ours(attr));
                }
            }
            block.into_token_stream()
        }
        Err(_) => item,
    }
}

fn is_ours(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "track_metrics")
}

/// Instruments every method of an `impl` block, each with the block's options under its own,
/// as `function="Type::method"`; `#[track_metrics(skip)]` leaves a method alone. Other items
/// are left as they are.
fn instrument_impl(block_options: &Options, mut block: ItemImpl) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    validate::validate_options(&mut errors, block_options, Place::ImplBlock);
    let type_label = expand::type_label(&block.self_ty);
    let mut items = Vec::new();
    for item in std::mem::take(&mut block.items) {
        let ImplItem::Fn(mut method) = item else {
            items.push(item.into_token_stream());
            continue;
        };
        let own = match own_options(&mut method.attrs) {
            Ok(own) => own,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        validate::validate_options(&mut errors, &own, Place::Method);
        if own.skip.is_some() {
            items.push(method.into_token_stream());
            continue;
        }
        let fallible = returns::fallible(&method.sig) == returns::Fallible::Yes;
        let options = own.merged_onto(block_options, fallible);
        validate::validate_options(&mut errors, &options, Place::Method);
        let function = InstrumentedFn::from_method(method);
        validate::validate_function(&mut errors, &options, &function);
        items.push(expand::function(&options, &function, Some(&type_label)));
    }
    errors.finish()?;
    let ItemImpl {
        attrs,
        defaultness,
        unsafety,
        impl_token,
        generics,
        trait_,
        self_ty,
        ..
    } = block;
    let where_clause = &generics.where_clause;
    let trait_ = trait_.map(|(bang, path, for_token)| quote!(#bang #path #for_token));
    Ok(quote! {
        #(#attrs)*
        #defaultness #unsafety #impl_token #generics #trait_ #self_ty #where_clause {
            #(#items)*
        }
    })
}

/// Takes the method's own `#[track_metrics(...)]` off it and parses it.
fn own_options(attrs: &mut Vec<syn::Attribute>) -> syn::Result<Options> {
    let is_ours = |attr: &syn::Attribute| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "track_metrics")
    };
    let ours: Vec<syn::Attribute> = attrs.iter().filter(|attr| is_ours(attr)).cloned().collect();
    attrs.retain(|attr| !is_ours(attr));
    match ours.as_slice() {
        [] => Ok(Options::default()),
        [attr] => match &attr.meta {
            syn::Meta::Path(_) => Ok(Options::default()),
            syn::Meta::List(list) => Options::parse(list.tokens.clone()),
            syn::Meta::NameValue(meta) => Err(syn::Error::new_spanned(
                meta,
                "expected `#[track_metrics(...)]`",
            )),
        },
        [_, second, ..] => Err(syn::Error::new_spanned(
            second,
            "`#[track_metrics]` is given twice on this method",
        )),
    }
}

#[cfg(test)]
mod tests;

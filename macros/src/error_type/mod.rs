//! `#[derive(ErrorType)]`: an error enum names each variant for the `error_type` label, by the
//! variant's name or its `#[error_type = "..."]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::errors::Errors;

pub fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(error) => error.into_compile_error(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`ErrorType` is derived for an enum, whose variants name the kinds of error; for \
             another type, implement `track_metrics::ErrorType` by hand",
        ));
    };
    let mut errors = Errors::default();
    let mut arms = Vec::new();
    for variant in &data.variants {
        let value = match crate::variant_name::variant_attribute(
            variant,
            "error_type",
            "#[error_type = \"timeout\"]",
        ) {
            Ok(Some(lit)) if lit.value().is_empty() => {
                errors.push(syn::Error::new_spanned(
                    &lit,
                    "an empty `error_type` is no label at all",
                ));
                continue;
            }
            Ok(Some(lit)) => lit.value(),
            Ok(None) => variant.ident.to_string(),
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let ident = &variant.ident;
        let pattern = match &variant.fields {
            Fields::Unit => quote!(Self::#ident),
            Fields::Unnamed(_) => quote!(Self::#ident(..)),
            Fields::Named(_) => quote!(Self::#ident { .. }),
        };
        arms.push(quote!(#pattern => #value));
    }
    errors.finish()?;
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    // An enum without variants has no value to match on.
    let body = if arms.is_empty() {
        quote!(match *self {})
    } else {
        quote!(match self { #(#arms,)* })
    };
    Ok(quote! {
        impl #impl_generics ::track_metrics::__private::ErrorType for #ident #type_generics #where_clause {
            fn error_type(&self) -> &'static str {
                #body
            }
        }
    })
}

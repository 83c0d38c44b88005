//! `#[derive(LabelValue)]`: an enum of unit variants becomes a label type with a fixed set of
//! values, each variant's name or its `#[label = "..."]`.

mod expand;
mod parse;

use proc_macro2::TokenStream;

pub fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2(input).and_then(parse::LabelEnum::from_input) {
        Ok(labels) => expand::expand(&labels),
        Err(error) => error.into_compile_error(),
    }
}

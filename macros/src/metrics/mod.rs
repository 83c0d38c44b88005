//! `metrics!`: parse the declarations, validate them all, expand each into a typed static.
//!
//! When any declaration is wrong, every error of the block is reported and nothing else is
//! emitted: the statics would otherwise fail again in every place that uses them.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub fn declarations(input: TokenStream) -> TokenStream {
    let block = syn::parse2::<parse::Block>(input).and_then(|block| {
        validate::validate(&block)?;
        Ok(block)
    });
    match block {
        Ok(block) => expand::expand(&block),
        Err(error) => error.into_compile_error(),
    }
}

#[cfg(test)]
mod tests;

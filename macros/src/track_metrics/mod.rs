//! `#[track_metrics]`: parse the options and the function, validate them, expand.
//!
//! Every phase has its own file; this one only chains them and decides what to emit when a phase
//! fails: the `compile_error!` plus the user's item unchanged, so that one mistake does not turn
//! into a cascade of "cannot find function" errors elsewhere.

mod expand;
mod options;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use options::Options;
use quote::ToTokens;

pub fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = Options::parse(args).and_then(|options| {
        let function = parse::parse_item(item.clone())?;
        validate::validate(&options, &function)?;
        Ok((options, function))
    });
    match parsed {
        Ok((options, function)) => expand::expand(&options, &function),
        Err(error) => {
            let mut tokens = error.into_compile_error();
            item.to_tokens(&mut tokens);
            tokens
        }
    }
}

#[cfg(test)]
mod tests;

//! Procedural macros of `track-metrics`.
//!
//! Use them through the `track-metrics` crate, which re-exports them with their documentation:
//! the code they generate names only `::track_metrics::__private`, so this crate alone is of no
//! use.

mod error_type;
mod errors;
mod label_value;
mod metrics;
mod names;
mod numbers;
mod track_metrics;
mod variant_name;

use proc_macro::TokenStream;

// Documented where `track-metrics` re-exports it.
#[proc_macro_attribute]
pub fn track_metrics(args: TokenStream, item: TokenStream) -> TokenStream {
    track_metrics::attribute(args.into(), item.into()).into()
}

// Documented where `track-metrics` re-exports it.
#[proc_macro]
pub fn metrics(input: TokenStream) -> TokenStream {
    metrics::declarations(input.into()).into()
}

// Documented where `track-metrics` re-exports it.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn label_value(input: TokenStream) -> TokenStream {
    label_value::derive(input.into()).into()
}

// Documented where `track-metrics` re-exports it.
#[proc_macro_derive(ErrorType, attributes(error_type))]
pub fn error_type(input: TokenStream) -> TokenStream {
    error_type::derive(input.into()).into()
}

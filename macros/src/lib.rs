//! Procedural macros of `track-metrics`.
//!
//! Use them through the `track-metrics` crate, which re-exports them with their documentation:
//! the code they generate names only `::track_metrics::__private`, so this crate alone is of no
//! use.

mod errors;
mod names;
mod track_metrics;

use proc_macro::TokenStream;

/// See `track_metrics::track_metrics` for the documentation.
#[proc_macro_attribute]
pub fn track_metrics(args: TokenStream, item: TokenStream) -> TokenStream {
    track_metrics::attribute(args.into(), item.into()).into()
}

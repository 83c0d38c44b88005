//! The semantic checks of `#[track_metrics]`: Prometheus names, labels and buckets, and the
//! function shapes that cannot be instrumented. All errors are collected and reported together.

use syn::LitStr;
use syn::ext::IdentExt;

use super::options::{Buckets, Labels, Options};
use super::parse::InstrumentedFn;
use crate::errors::Errors;
use crate::names;

/// Labels `#[track_metrics]` sets on its series itself (`error_type` on its error counts).
pub const AUTOMATIC_LABELS: &[&str] = &["function", "module", "error_type"];

/// Where a set of options is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On a function or a method, alone.
    Function,
    /// On an `impl` block, for all its methods.
    ImplBlock,
    /// On a method inside an instrumented `impl` block.
    Method,
}

/// Checks a function that is about to be instrumented, with the options it will have.
pub fn validate_function(errors: &mut Errors, options: &Options, function: &InstrumentedFn) {
    if let (Some(future), Some(asyncness)) = (options.future, &function.sig.asyncness) {
        let mut error = syn::Error::new(
            future,
            "`future` is for a plain function that returns a boxed future; an `async fn` is \
             timed from its first poll already",
        );
        error.combine(syn::Error::new_spanned(
            asyncness,
            "this function is `async`",
        ));
        errors.push(error);
    }
    if let Some(constness) = &function.sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "`#[track_metrics]` cannot be applied to a `const fn`: a clock cannot be read at \
             compile time",
        ));
    }
}

/// Checks options written at `place`.
pub fn validate_options(errors: &mut Errors, options: &Options, place: Place) {
    check_place(errors, options, place);
    if let Some(errors_name) = &options.errors {
        check_metric_name(
            errors,
            errors_name,
            "_total",
            "a counter's name ends in `_total`",
        );
    }
    if let Some(name) = options
        .in_flight
        .as_ref()
        .and_then(|in_flight| in_flight.name.as_ref())
    {
        if let Some(message) = names::metric_name_error(&name.value()) {
            errors.push(syn::Error::new_spanned(name, message));
        } else if name.value().ends_with("_total") {
            errors.push(syn::Error::new_spanned(
                name,
                "the in-flight gauge is not a counter: its name does not end in `_total`",
            ));
        }
    }
    if let Some(self_type) = &options.self_type
        && self_type.value().trim().is_empty()
    {
        errors.push(syn::Error::new_spanned(
            self_type,
            "`self_type` names a type and cannot be empty",
        ));
    }
    check_common(errors, options);
}

fn check_place(errors: &mut Errors, options: &Options, place: Place) {
    if let (Some(skip), Place::Function | Place::ImplBlock) = (options.skip, place) {
        errors.push(syn::Error::new(
            skip,
            "`skip` is for a method inside a `#[track_metrics]` impl block",
        ));
    }
    if let (Some(skip), Place::Method) = (options.skip, place) {
        let others = options.name.is_some()
            || options.calls.is_some()
            || options.duration.is_some()
            || options.errors.is_some()
            || options.in_flight.is_some()
            || options.labels.is_some()
            || options.buckets.is_some()
            || options.native_histogram.is_some()
            || options.objective.is_some()
            || options.error_type.is_some()
            || options.ok_if.is_some()
            || options.error_if.is_some()
            || options.future.is_some()
            || options.no_docs.is_some();
        if others {
            errors.push(syn::Error::new(
                skip,
                "`skip` leaves the method alone: it takes no other option",
            ));
        }
    }
    if let (Some(future), Place::ImplBlock) = (options.future, place) {
        errors.push(syn::Error::new(
            future,
            "`future` describes one function's return type: put it on the method",
        ));
    }
    if let (Some(ok_if), Some(_)) = (&options.ok_if, &options.error_if) {
        errors.push(syn::Error::new_spanned(
            ok_if,
            "give `ok_if` or `error_if`, not both: each alone decides which values are errors",
        ));
    }
    if let (Some(name), Place::ImplBlock) = (&options.name, place) {
        errors.push(syn::Error::new_spanned(
            name,
            "`name` names one function: put it on a method, whose label is `Type::method` otherwise",
        ));
    }
    if let (Some(self_type), Place::ImplBlock | Place::Method) = (&options.self_type, place) {
        errors.push(syn::Error::new_spanned(
            self_type,
            "`self_type` is for a method outside an instrumented impl block; here the block names \
             the type already",
        ));
    }
}

fn check_common(errors: &mut Errors, options: &Options) {
    if let Some(name) = &options.name
        && name.value().is_empty()
    {
        errors.push(syn::Error::new_spanned(
            name,
            "the `function` label cannot be empty",
        ));
    }
    if let Some(calls) = &options.calls {
        check_metric_name(errors, calls, "_total", "a counter's name ends in `_total`");
    }
    if let Some(duration) = &options.duration {
        check_metric_name(
            errors,
            duration,
            "_seconds",
            "the duration is recorded in seconds, so its name ends in `_seconds`",
        );
    }
    if let Some(labels) = &options.labels {
        check_labels(errors, labels);
        if options.objective.is_some()
            && let Some((key, _)) = labels.pairs.iter().find(|(key, _)| key == "objective")
        {
            errors.push(syn::Error::new_spanned(
                key,
                "`objective` labels the series of the function's objective: give this label \
                     another name",
            ));
        }
    }
    if let Some(buckets) = &options.buckets {
        check_buckets(errors, buckets);
    }
    if let Some((factor, span)) = options
        .native_histogram
        .as_ref()
        .and_then(|native| native.factor)
        && !(factor > 1.0 && factor.is_finite())
    {
        errors.push(syn::Error::new(
            span,
            format!(
                "a native histogram's factor is how much each bucket is wider than the one \
                     below, so it is above 1 (1.1 gives buckets 9% wide), not {factor}"
            ),
        ));
    }
}

fn check_metric_name(errors: &mut Errors, name: &LitStr, suffix: &str, why: &str) {
    let value = name.value();
    if let Some(message) = names::metric_name_error(&value) {
        errors.push(syn::Error::new_spanned(name, message));
    } else if !value.ends_with(suffix) {
        errors.push(syn::Error::new_spanned(
            name,
            format!("`{value}` does not end in `{suffix}`: {why}"),
        ));
    }
}

fn check_labels(errors: &mut Errors, labels: &Labels) {
    if labels.pairs.is_empty() {
        errors.push(syn::Error::new(
            labels.keyword,
            "`labels()` is empty: remove it or add a label",
        ));
    }
    for (index, (key, value)) in labels.pairs.iter().enumerate() {
        let key_name = key.unraw().to_string();
        if let Some(message) = names::label_name_error(&key_name, AUTOMATIC_LABELS) {
            errors.push(syn::Error::new_spanned(key, message));
        }
        if let Some((first, _)) = labels.pairs[..index]
            .iter()
            .find(|(earlier, _)| *earlier == *key)
        {
            errors.push(syn::Error::new_spanned(
                first,
                format!("label `{key_name}` is given twice"),
            ));
            errors.push(syn::Error::new_spanned(
                key,
                format!("label `{key_name}` is given twice"),
            ));
        }
        if value.value().is_empty() {
            errors.push(syn::Error::new_spanned(
                value,
                "an empty label value is the same as no label in Prometheus; give a value or \
                 remove the label",
            ));
        }
    }
}

fn check_buckets(errors: &mut Errors, buckets: &Buckets) {
    if buckets.bounds.is_empty() {
        errors.push(syn::Error::new(
            buckets.brackets,
            "`buckets` needs at least one bound",
        ));
        return;
    }
    let values: Vec<f64> = buckets.bounds.iter().map(|(value, _)| *value).collect();
    if let Some((index, message)) = names::buckets_error(&values) {
        errors.push(syn::Error::new(buckets.bounds[index].1, message));
    }
}

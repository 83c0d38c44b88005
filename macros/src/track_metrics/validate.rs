//! The semantic checks of `#[track_metrics]`: Prometheus names, labels and buckets, and the
//! function shapes that cannot be instrumented. All errors are collected and reported together.

use syn::LitStr;
use syn::ext::IdentExt;

use super::options::{Buckets, Labels, Options};
use super::parse::InstrumentedFn;
use crate::errors::Errors;
use crate::names;

/// Labels `#[track_metrics]` sets on every series itself.
pub const AUTOMATIC_LABELS: &[&str] = &["function", "module"];

pub fn validate(options: &Options, function: &InstrumentedFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Some(constness) = &function.sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "`#[track_metrics]` cannot be applied to a `const fn`: a clock cannot be read at \
             compile time",
        ));
    }
    if let Some(name) = &options.name {
        if name.value().is_empty() {
            errors.push(syn::Error::new_spanned(
                name,
                "the `function` label cannot be empty",
            ));
        }
    }
    if let Some(calls) = &options.calls {
        check_metric_name(
            &mut errors,
            calls,
            "_total",
            "a counter's name ends in `_total`",
        );
    }
    if let Some(duration) = &options.duration {
        check_metric_name(
            &mut errors,
            duration,
            "_seconds",
            "the duration is recorded in seconds, so its name ends in `_seconds`",
        );
    }
    if let Some(labels) = &options.labels {
        check_labels(&mut errors, labels);
    }
    if let Some(buckets) = &options.buckets {
        check_buckets(&mut errors, buckets);
    }
    errors.finish()
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

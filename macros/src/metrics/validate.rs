//! The compile-time contract of `metrics!`: Prometheus names and conventions, labels, buckets,
//! quantiles, and duplicates within the block. All errors are reported together.

use std::collections::HashMap;

use proc_macro2::Span;

use super::parse::{Block, Declaration, Kind, NumberList};
use crate::errors::Errors;
use crate::names;

pub fn validate(block: &Block) -> syn::Result<()> {
    let mut errors = Errors::default();
    for declaration in &block.declarations {
        check_declaration(&mut errors, declaration);
    }
    check_duplicates(&mut errors, block);
    errors.finish()
}

fn error(span: Span, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, message)
}

fn check_declaration(errors: &mut Errors, declaration: &Declaration) {
    let name = declaration.metric_name();
    let name_span = declaration.name.span();
    let kind = declaration.kind;
    if declaration.help.is_empty() {
        errors.push(error(
            declaration.ident.span(),
            format!(
                "`{}` needs a doc comment: it is the HELP text of `{name}`",
                declaration.ident
            ),
        ));
    }
    if let Some(message) = names::metric_name_error(&name) {
        errors.push(error(name_span, message));
    } else if declaration.legacy_name.is_none() {
        // A state set is written as a gauge wherever it is not a `stateset`.
        let kind = if kind == Kind::Enum {
            "gauge"
        } else {
            kind.keyword()
        };
        for lint in names::naming_lints(&name, kind) {
            errors.push(error(
                name_span,
                format!("`{name}`: {lint} (`#[legacy_name]` allows a name kept for compatibility)"),
            ));
        }
    }
    check_labels(errors, declaration);
    check_state_type(errors, declaration);
    check_attributes(errors, declaration);
}

fn check_labels(errors: &mut Errors, declaration: &Declaration) {
    if declaration.kind == Kind::Info && declaration.labels.is_empty() {
        errors.push(error(
            declaration.name.span(),
            "an info metric carries its information in labels: declare at least one, such as \
             `build_info(version)`",
        ));
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    for label in &declaration.labels {
        let label_name = label.name();
        let span = label.name.span();
        if ["self", "Self", "super", "crate"].contains(&label_name.as_str()) {
            errors.push(error(
                span,
                format!("`{label_name}` cannot be a label name here"),
            ));
            continue;
        }
        if let Some(message) = names::label_name_error(&label_name, &[]) {
            errors.push(error(span, message));
        } else if declaration.legacy_name.is_none()
            && let Some(message) = names::label_lint(&label_name)
        {
            errors.push(error(span, message));
        }
        if let Some(first) = seen.insert(label_name.clone(), span) {
            let message = format!("label `{label_name}` is declared twice");
            errors.push(error(first, &message));
            errors.push(error(span, message));
        }
    }
}

fn check_state_type(errors: &mut Errors, declaration: &Declaration) {
    match (&declaration.state_type, declaration.kind) {
        (None, Kind::Enum) => errors.push(error(
            declaration.name.span(),
            format!(
                "an enum metric names its states' type: `{}<State>`, with `State` an enum \
                 deriving `track_metrics::LabelValue`",
                declaration.metric_name()
            ),
        )),
        (Some(ty), kind) if kind != Kind::Enum => errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "only an `enum` metric has a state type, and this is a {}",
                kind.keyword()
            ),
        )),
        _ => {}
    }
    if declaration.kind == Kind::Enum {
        let name = declaration.metric_name();
        if name.contains(':') {
            errors.push(error(
                declaration.name.span(),
                "an enum metric's states are labelled by its name, and a label name cannot \
                 contain `:`",
            ));
        }
        if let Some(label) = declaration.labels.iter().find(|label| label.name() == name) {
            errors.push(error(
                label.name.span(),
                format!("`{name}` is the label of the states: give this label another name"),
            ));
        }
    }
}

fn check_attributes(errors: &mut Errors, declaration: &Declaration) {
    let kind = declaration.kind.keyword();
    if let Some(exemplars) = declaration.exemplars
        && !matches!(declaration.kind, Kind::Counter | Kind::Histogram)
    {
        errors.push(error(
            exemplars,
            format!(
                "`#[exemplars]` is for counters and histograms, the kinds OpenMetrics gives \
                     exemplars to, and this is a {kind}"
            ),
        ));
    }
    if let Some(buckets) = &declaration.buckets {
        if declaration.kind == Kind::Histogram {
            check_buckets(errors, buckets);
        } else {
            errors.push(error(
                buckets.span,
                format!("`#[buckets]` is for histograms, and this is a {kind}"),
            ));
        }
    }
    if let Some(quantiles) = &declaration.quantiles {
        if declaration.kind == Kind::Summary {
            check_quantiles(errors, quantiles);
        } else {
            errors.push(error(
                quantiles.span,
                format!("`#[quantiles]` is for summaries, and this is a {kind}"),
            ));
        }
    }
    if let Some(max_age) = &declaration.max_age_seconds {
        if declaration.kind != Kind::Summary {
            errors.push(error(
                max_age.span(),
                format!("`#[max_age_seconds]` is for summaries, and this is a {kind}"),
            ));
        } else if !max_age
            .base10_parse::<u64>()
            .is_ok_and(|seconds| seconds > 0)
        {
            errors.push(error(
                max_age.span(),
                "the window of a summary is a whole number of seconds above 0",
            ));
        }
    }
    if let Some(max_series) = &declaration.max_series {
        if declaration.labels.is_empty() || declaration.kind == Kind::Info {
            errors.push(error(
                max_series.span(),
                "`#[max_series]` bounds the label sets of a family with labels, and this one has a single series",
            ));
        } else if !max_series
            .base10_parse::<usize>()
            .is_ok_and(|limit| limit > 0)
        {
            errors.push(error(
                max_series.span(),
                "`#[max_series]` is a whole number above 0",
            ));
        }
    }
}

fn check_buckets(errors: &mut Errors, buckets: &NumberList) {
    if buckets.values.is_empty() {
        errors.push(error(buckets.span, "`#[buckets]` needs at least one bound"));
        return;
    }
    let values: Vec<f64> = buckets.values.iter().map(|(value, _)| *value).collect();
    if let Some((index, message)) = names::buckets_error(&values) {
        errors.push(error(buckets.values[index].1, message));
    }
}

fn check_quantiles(errors: &mut Errors, quantiles: &NumberList) {
    for (index, (value, span)) in quantiles.values.iter().enumerate() {
        if !(0.0..=1.0).contains(value) {
            errors.push(error(
                *span,
                format!("a quantile is between 0 and 1, and `{value}` is not"),
            ));
        } else if index > 0 && quantiles.values[index - 1].0 >= *value {
            errors.push(error(*span, "quantiles must be strictly increasing"));
        }
    }
}

fn check_duplicates(errors: &mut Errors, block: &Block) {
    let mut names: HashMap<String, Span> = HashMap::new();
    let mut statics: HashMap<String, Span> = HashMap::new();
    for declaration in &block.declarations {
        let name = declaration.metric_name();
        if let Some(first) = names.insert(name.clone(), declaration.name.span()) {
            let message = format!("the metric `{name}` is declared twice");
            errors.push(error(first, &message));
            errors.push(error(declaration.name.span(), message));
        }
        let ident = declaration.ident.to_string();
        if let Some(first) = statics.insert(ident.clone(), declaration.ident.span()) {
            let message = format!("`{ident}` is declared twice");
            errors.push(error(first, &message));
            errors.push(error(declaration.ident.span(), message));
        }
    }
}

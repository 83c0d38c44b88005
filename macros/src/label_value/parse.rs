//! The enum under `#[derive(LabelValue)]`, with each variant's label value, checked: unit
//! variants only, values not empty and all different.

use std::collections::HashMap;

use syn::{Data, DeriveInput, Fields, Generics, Ident};

use crate::errors::Errors;

pub struct LabelEnum {
    pub ident: Ident,
    pub generics: Generics,
    pub variants: Vec<(Ident, String)>,
}

impl LabelEnum {
    pub fn from_input(input: DeriveInput) -> syn::Result<Self> {
        let Data::Enum(data) = &input.data else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`LabelValue` can only be derived for an enum of unit variants: its values must be \
                 known at compile time",
            ));
        };
        if data.variants.is_empty() {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "an enum without variants has no label value",
            ));
        }
        let mut errors = Errors::default();
        let mut variants = Vec::new();
        let mut seen: HashMap<String, Ident> = HashMap::new();
        for variant in &data.variants {
            if !matches!(variant.fields, Fields::Unit) {
                errors.push(syn::Error::new_spanned(
                    &variant.fields,
                    "a label value has no fields: only unit variants can derive `LabelValue`",
                ));
                continue;
            }
            let value = match crate::variant_name::variant_attribute(
                variant,
                "label",
                "#[label = \"GET\"]",
            )? {
                Some(lit) if lit.value().is_empty() => {
                    errors.push(syn::Error::new_spanned(
                        &lit,
                        "an empty label value is the same as no label",
                    ));
                    continue;
                }
                Some(lit) => lit.value(),
                None => variant.ident.to_string(),
            };
            if let Some(first) = seen.insert(value.clone(), variant.ident.clone()) {
                errors.push(syn::Error::new_spanned(
                    &variant.ident,
                    format!("`{first}` already has the label value `{value}`"),
                ));
            }
            variants.push((variant.ident.clone(), value));
        }
        errors.finish()?;
        Ok(LabelEnum {
            ident: input.ident,
            generics: input.generics,
            variants,
        })
    }
}

//! The string a derive reads off an enum variant's `#[name = "..."]` attribute, shared by
//! `#[derive(LabelValue)]` (`#[label = ".."]`) and `#[derive(ErrorType)]` (`#[error_type = ".."]`).

use syn::{Expr, ExprLit, Lit, LitStr, Variant};

/// `#[attribute = "value"]` on `variant`, if it has one; `example` shows the form in errors.
pub fn variant_attribute(
    variant: &Variant,
    attribute: &str,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    let mut found = None;
    for attr in variant
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident(attribute))
    {
        let value = &attr.meta.require_name_value()?.value;
        let Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) = value
        else {
            return Err(syn::Error::new_spanned(
                value,
                format!("expected a string literal: `{example}`"),
            ));
        };
        if found.replace(lit.clone()).is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                format!("`#[{attribute}]` is given more than once"),
            ));
        }
    }
    Ok(found)
}

//! Number literals in the macros' inputs: bucket bounds and quantiles.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, UnOp};

/// A number literal, possibly negated: `0.25`, `1`, `-5e-3`.
pub fn number(expr: &Expr) -> syn::Result<(f64, Span)> {
    let value = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => lit.base10_parse::<f64>()?,
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse::<f64>()?,
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => -number(&unary.expr)?.0,
        Expr::Group(group) => number(&group.expr)?.0,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "expected a number literal, such as `0.25` or `1`",
            ));
        }
    };
    Ok((value, expr.span()))
}

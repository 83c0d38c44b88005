//! The `LabelValue` and `LabelEnum` impls of a derived enum.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::LabelEnum;

pub fn expand(labels: &LabelEnum) -> TokenStream {
    let LabelEnum {
        ident,
        generics,
        variants,
    } = labels;
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let arms = variants
        .iter()
        .map(|(variant, value)| quote!(Self::#variant => #value));
    let values = variants.iter().map(|(_, value)| value);
    quote! {
        impl #impl_generics ::track_metrics::__private::LabelValue for #ident #type_generics #where_clause {
            #[inline]
            fn label_value(&self) -> &str {
                match self {
                    #(#arms,)*
                }
            }
        }

        impl #impl_generics ::track_metrics::__private::LabelEnum for #ident #type_generics #where_clause {
            const VARIANTS: &'static [&'static str] = &[#(#values),*];
        }
    }
}

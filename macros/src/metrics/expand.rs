//! Code generation for `metrics!`: each declaration becomes a `static` of a type of its own,
//! whose `labels(...)` takes exactly the declared labels, by name, so that a wrong count does not
//! compile and the error shows the expected labels. Each static registers its family at link time
//! for the exposition.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::parse::{Block, Declaration, Kind};

const DEFAULT_QUANTILES: &[f64] = &[0.5, 0.9, 0.99];
const DEFAULT_MAX_AGE_SECONDS: u64 = 600;

pub fn expand(block: &Block) -> TokenStream {
    block.declarations.iter().map(declaration).collect()
}

fn declaration(declaration: &Declaration) -> TokenStream {
    let Declaration {
        docs,
        cfgs,
        vis,
        ident,
        kind,
        ..
    } = declaration;
    // The type has the static's own name: types and statics live in different namespaces, so
    // the declaration claims no name of the user's module beyond the one it was given.
    let type_name = ident;
    let descriptor = descriptor(declaration);
    let storage = storage_type(declaration);
    let methods = methods(declaration, type_name);
    let metric_name = declaration.metric_name();
    let type_doc = format!(
        " The type of [`{ident}`]: the `{metric_name}` {} declared with `track_metrics::metrics!`.",
        kind.keyword()
    );

    quote! {
        #(#cfgs)*
        #(#docs)*
        #vis static #ident: #type_name = #type_name {
            family: #storage::new(&#descriptor),
            series_picked: ::track_metrics::__private::PhantomData,
        };

        #(#cfgs)*
        #[doc = #type_doc]
        #[allow(non_camel_case_types)]
        #vis struct #type_name<L = ()> {
            family: #storage,
            series_picked: ::track_metrics::__private::PhantomData<fn() -> L>,
        }

        // One item, so that the declaration's `#[cfg]`s apply to every impl block in it.
        #(#cfgs)*
        const _: () = {
            #methods
        };

        #(#cfgs)*
        const _: () = {
            #[::track_metrics::__private::linkme::distributed_slice(
                ::track_metrics::__private::FAMILIES
            )]
            #[linkme(crate = ::track_metrics::__private::linkme)]
            static __TRACK_METRICS_FAMILY: &'static dyn ::track_metrics::__private::Collect = &#ident.family;
        };
    }
}

fn series_type(declaration: &Declaration) -> TokenStream {
    match declaration.kind {
        Kind::Enum => {
            let state = &declaration.state_type;
            quote!(::track_metrics::__private::StateSet<#state>)
        }
        Kind::Counter => quote!(::track_metrics::__private::Counter),
        Kind::Gauge => quote!(::track_metrics::__private::Gauge),
        Kind::Histogram => quote!(::track_metrics::__private::Histogram),
        Kind::Summary => quote!(::track_metrics::__private::Summary),
        Kind::Info => quote!(()),
    }
}

/// The storage of the family.
fn storage_type(declaration: &Declaration) -> TokenStream {
    let series = series_type(declaration);
    if declaration.kind == Kind::Info {
        quote!(::track_metrics::__private::InfoMetric)
    } else if declaration.labels.is_empty() {
        quote!(::track_metrics::__private::Metric::<#series>)
    } else {
        quote!(::track_metrics::__private::Family::<#series>)
    }
}

fn descriptor(declaration: &Declaration) -> TokenStream {
    let name = declaration.metric_name();
    let help = &declaration.help;
    let kind = format_ident!(
        "{}",
        match declaration.kind {
            Kind::Counter => "Counter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
            Kind::Summary => "Summary",
            Kind::Info => "Info",
            Kind::Enum => "StateSet",
        }
    );
    let labels = declaration.labels.iter().map(|label| label.name());
    let numbers =
        |list: Option<&super::parse::NumberList>, default: &[f64]| -> Vec<proc_macro2::Literal> {
            match list {
                Some(list) => list
                    .values
                    .iter()
                    .map(|(value, _)| proc_macro2::Literal::f64_suffixed(*value))
                    .collect(),
                None => default
                    .iter()
                    .map(|value| proc_macro2::Literal::f64_suffixed(*value))
                    .collect(),
            }
        };
    let buckets = numbers(declaration.buckets.as_ref(), &[]);
    let quantiles = if declaration.kind == Kind::Summary {
        numbers(declaration.quantiles.as_ref(), DEFAULT_QUANTILES)
    } else {
        Vec::new()
    };
    let max_age_seconds = declaration
        .max_age_seconds
        .as_ref()
        .and_then(|lit| lit.base10_parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_AGE_SECONDS);
    let max_series = declaration
        .max_series
        .as_ref()
        .and_then(|lit| lit.base10_parse::<usize>().ok())
        .unwrap_or(0);
    let all_typed =
        !declaration.labels.is_empty() && declaration.labels.iter().all(|label| label.ty.is_some());
    let variants = declaration
        .labels
        .iter()
        .filter(|_| all_typed)
        .filter_map(|label| label.ty.as_ref())
        .map(|ty| {
            quote_spanned!(syn::spanned::Spanned::span(ty)=>
                <#ty as ::track_metrics::__private::LabelEnum>::VARIANTS
            )
        });
    let exemplars = declaration.exemplars.is_some();
    let line = quote_spanned!(declaration.ident.span()=> ::track_metrics::__private::line!());
    quote! {
        ::track_metrics::__private::Descriptor {
            name: #name,
            help: #help,
            kind: ::track_metrics::__private::Kind::#kind,
            labels: &[#(#labels),*],
            buckets: &[#(#buckets),*],
            quantiles: &[#(#quantiles),*],
            max_age_seconds: #max_age_seconds,
            max_series: #max_series,
            exemplars: #exemplars,
            variants: &[#(#variants),*],
            file: ::track_metrics::__private::file!(),
            line: #line,
        }
    }
}

fn methods(declaration: &Declaration, type_name: &Ident) -> TokenStream {
    let series = series_type(declaration);
    if declaration.kind == Kind::Enum && declaration.labels.is_empty() {
        // Methods of its own rather than `Deref`: an associated type may not name a private
        // state type, and a private enum with a public static is a fine thing to write.
        let state = &declaration.state_type;
        // Spanned on the metric's name, so that rustc's "defined here" shows the state type.
        let (set, get) = (
            Ident::new("state", declaration.name.span()),
            Ident::new("get", declaration.name.span()),
        );
        return quote! {
            impl #type_name {
                /// Makes `state` the current state.
                #[inline]
                pub fn #set(&'static self, state: #state) {
                    self.family.series().state(state);
                }

                /// The current state's label value.
                #[inline]
                pub fn #get(&'static self) -> &'static str {
                    self.family.series().get()
                }
            }
        };
    }
    if declaration.kind != Kind::Info && declaration.labels.is_empty() {
        return quote! {
            impl ::track_metrics::__private::Deref for #type_name {
                type Target = #series;

                #[inline]
                fn deref(&self) -> &#series {
                    self.family.series()
                }
            }
        };
    }
    let parameters = declaration.labels.iter().map(|label| {
        let parameter = parameter(&label.name);
        match &label.ty {
            Some(ty) => quote!(#parameter: #ty),
            None => quote!(#parameter: impl ::track_metrics::__private::LabelValue),
        }
    });
    let values = declaration.labels.iter().map(|label| {
        let parameter = parameter(&label.name);
        let span = label
            .ty
            .as_ref()
            .map_or_else(|| label.name.span(), syn::spanned::Spanned::span);
        quote_spanned!(span=> ::track_metrics::__private::LabelValue::label_value(&#parameter))
    });
    let names: Vec<String> = declaration
        .labels
        .iter()
        .map(|label| format!("`{}`", label.name()))
        .collect();
    let names = names.join(", ");
    if declaration.kind == Kind::Info {
        let doc =
            format!(" Sets the label values ({names}) the series shows, replacing earlier ones.");
        let set = Ident::new("set", declaration.name.span());
        return quote! {
            impl #type_name {
                #[doc = #doc]
                pub fn #set(&'static self, #(#parameters),*) {
                    self.family.set(&[#(#values),*]);
                }
            }
        };
    }
    let doc = format!(
        " The series of these label values ({names}), created on first use; keep it to skip the \
         lookup next time."
    );
    // Spanned on the metric's name, so that rustc's "defined here" shows the declared labels.
    let labels = Ident::new("labels", declaration.name.span());
    let mistakes = series_methods(declaration.kind, declaration.name.span());
    quote! {
        impl #type_name {
            #[doc = #doc]
            #[inline]
            pub fn #labels(&'static self, #(#parameters),*) -> &'static #series {
                self.family.series(&[#(#values),*])
            }
        }

        // The series' operations on the family itself, each an error that says to pick a series
        // with `labels(...)` first (rustc's own would only say the method is not found).
        #[doc(hidden)]
        #[allow(dead_code)]
        impl<L> #type_name<L> {
            #mistakes
        }
    }
}

/// The operations of a series of `kind`, as methods that cannot be called: their bound is never
/// met, and its message says what to do. They return what the series' methods return where
/// that is a plain value, so that the one error is the bound's.
fn series_methods(kind: Kind, span: proc_macro2::Span) -> TokenStream {
    // (name, arguments, what it returns), as the series' own methods do where it is a value.
    let operations: &[(&str, usize, &str)] = match kind {
        Kind::Counter => &[("inc", 0, "()"), ("inc_by", 1, "()"), ("get", 0, "u64")],
        Kind::Gauge => &[
            ("inc", 0, "()"),
            ("dec", 0, "()"),
            ("add", 1, "()"),
            ("sub", 1, "()"),
            ("set", 1, "()"),
            ("set_to_current_time", 0, "()"),
            ("track_inprogress", 0, "()"),
            ("set_function", 1, "()"),
            ("get", 0, "f64"),
        ],
        Kind::Histogram => &[
            ("observe", 1, "()"),
            ("start_timer", 0, "()"),
            ("time", 1, "()"),
            ("count", 0, "u64"),
            ("sum", 0, "f64"),
        ],
        Kind::Summary => &[
            ("observe", 1, "()"),
            ("start_timer", 0, "()"),
            ("time", 1, "()"),
            ("quantile", 1, "f64"),
            ("count", 0, "u64"),
            ("sum", 0, "f64"),
        ],
        Kind::Enum => &[("state", 1, "()"), ("get", 0, "&'static str")],
        Kind::Info => &[],
    };
    operations
        .iter()
        .map(|(name, arguments, output)| {
            let method = Ident::new(name, span);
            let output: syn::Type = syn::parse_str(output).expect("a type");
            let arguments = (0..*arguments).map(|index| {
                let argument = format_ident!("_argument_{index}");
                let ty = format_ident!("A{index}");
                (quote!(#argument: #ty), ty)
            });
            let (arguments, types): (Vec<_>, Vec<_>) = arguments.unzip();
            quote_spanned! {span=>
                #[allow(clippy::unused_self, clippy::needless_pass_by_value)]
                pub fn #method<#(#types),*>(&self, #(#arguments),*) -> #output
                where
                    L: ::track_metrics::__private::SeriesPicked,
                {
                    ::track_metrics::__private::unreachable!()
                }
            }
        })
        .collect()
}

/// The parameter for a label: its own name, so that rustc's arity errors list the labels; a
/// keyword such as `type` becomes `r#type`.
fn parameter(name: &Ident) -> Ident {
    let text = name.to_string();
    if !text.starts_with("r#") && syn::parse_str::<Ident>(&text).is_err() {
        return Ident::new_raw(&text, name.span());
    }
    name.clone()
}

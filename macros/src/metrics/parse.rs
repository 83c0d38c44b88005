//! The grammar of `metrics!`:
//!
//! ```text
//! /// HELP text (required)
//! #[buckets(0.1, 1.0)] #[quantiles(0.5, 0.99)] #[max_age_seconds(600)] #[max_series(100)]
//! #[legacy_name] #[exemplars] #[cfg(...)]
//! pub counter|gauge|histogram|summary|info STATIC: metric_name(label, typed_label: Type);
//! pub enum STATIC: metric_name<StateType>(label, ...);
//! ```

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, LitInt, Token, Type, Visibility, parenthesized};

const KINDS: &str = "`counter`, `gauge`, `histogram`, `summary`, `info` or `enum`";
const ATTRIBUTES: &str = "`buckets`, `quantiles`, `max_age_seconds`, `max_series`, \
                          `legacy_name`, `exemplars`, `cfg` or a doc comment";

pub struct Block {
    pub declarations: Vec<Declaration>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
    /// A state set: one current state among an enum's variants.
    Enum,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Info => "info",
            Kind::Enum => "enum",
        }
    }
}

pub struct Declaration {
    /// The doc comment lines, kept for the static's documentation.
    pub docs: Vec<Attribute>,
    /// The HELP text: the doc comment's lines, trimmed and joined.
    pub help: String,
    pub cfgs: Vec<Attribute>,
    pub buckets: Option<NumberList>,
    pub quantiles: Option<NumberList>,
    pub max_age_seconds: Option<LitInt>,
    pub max_series: Option<LitInt>,
    pub legacy_name: Option<Span>,
    pub exemplars: Option<Span>,
    pub vis: Visibility,
    pub kind: Kind,
    pub ident: Ident,
    pub name: Ident,
    /// The state type of an `enum` (`name<Type>`).
    pub state_type: Option<Type>,
    pub labels: Vec<Label>,
}

pub struct NumberList {
    pub span: Span,
    pub values: Vec<(f64, Span)>,
}

pub struct Label {
    pub name: Ident,
    pub ty: Option<Type>,
}

impl Label {
    pub fn name(&self) -> String {
        self.name.unraw().to_string()
    }
}

impl Declaration {
    pub fn metric_name(&self) -> String {
        self.name.unraw().to_string()
    }
}

impl Parse for Block {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut declarations = Vec::new();
        while !input.is_empty() {
            declarations.push(input.parse()?);
        }
        Ok(Block { declarations })
    }
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let kind_ident = Ident::parse_any(input)?;
        let kind = match kind_ident.to_string().as_str() {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            "info" => Kind::Info,
            "enum" => Kind::Enum,
            other => {
                return Err(syn::Error::new(
                    kind_ident.span(),
                    format!("unknown metric kind `{other}`; expected {KINDS}"),
                ));
            }
        };
        let ident: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let name = Ident::parse_any(input)?;
        let state_type = if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            let ty: Type = input.parse()?;
            input.parse::<Token![>]>()?;
            Some(ty)
        } else {
            None
        };
        let labels = if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let labels: Punctuated<Label, Token![,]> =
                content.parse_terminated(Label::parse, Token![,])?;
            labels.into_iter().collect()
        } else {
            Vec::new()
        };
        input.parse::<Token![;]>()?;

        let mut declaration = Declaration {
            docs: Vec::new(),
            help: String::new(),
            cfgs: Vec::new(),
            buckets: None,
            quantiles: None,
            max_age_seconds: None,
            max_series: None,
            legacy_name: None,
            exemplars: None,
            vis,
            kind,
            ident,
            name,
            state_type,
            labels,
        };
        for attr in attrs {
            declaration.attribute(attr)?;
        }
        Ok(declaration)
    }
}

impl Parse for Label {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        let ty = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Label { name, ty })
    }
}

impl Declaration {
    fn attribute(&mut self, attr: Attribute) -> syn::Result<()> {
        let path = attr.path();
        let Some(name) = path.get_ident().map(Ident::to_string) else {
            return Err(syn::Error::new_spanned(
                path,
                format!("unknown attribute; expected {ATTRIBUTES}"),
            ));
        };
        let repeated =
            || syn::Error::new_spanned(path, format!("`#[{name}]` is given more than once"));
        match name.as_str() {
            "doc" => {
                if let syn::Meta::NameValue(meta) = &attr.meta
                    && let Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }) = &meta.value
                {
                    let line = text.value();
                    let line = line.trim();
                    if !line.is_empty() {
                        if !self.help.is_empty() {
                            self.help.push(' ');
                        }
                        self.help.push_str(line);
                    }
                }
                self.docs.push(attr);
            }
            "cfg" => self.cfgs.push(attr),
            "buckets" => {
                let list = number_list(&attr)?;
                if self.buckets.replace(list).is_some() {
                    return Err(repeated());
                }
            }
            "quantiles" => {
                let list = number_list(&attr)?;
                if self.quantiles.replace(list).is_some() {
                    return Err(repeated());
                }
            }
            "max_age_seconds" => {
                let value: LitInt = attr.parse_args()?;
                if self.max_age_seconds.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            "max_series" => {
                let value: LitInt = attr.parse_args()?;
                if self.max_series.replace(value).is_some() {
                    return Err(repeated());
                }
            }
            "legacy_name" => {
                attr.meta.require_path_only()?;
                if self
                    .legacy_name
                    .replace(path.get_ident().map_or_else(Span::call_site, Ident::span))
                    .is_some()
                {
                    return Err(repeated());
                }
            }
            "exemplars" => {
                attr.meta.require_path_only()?;
                if self
                    .exemplars
                    .replace(path.get_ident().map_or_else(Span::call_site, Ident::span))
                    .is_some()
                {
                    return Err(repeated());
                }
            }
            other => {
                return Err(syn::Error::new_spanned(
                    path,
                    format!("unknown attribute `#[{other}]`; expected {ATTRIBUTES}"),
                ));
            }
        }
        Ok(())
    }
}

fn number_list(attr: &Attribute) -> syn::Result<NumberList> {
    let list = attr.meta.require_list()?;
    let exprs = list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)?;
    let values = exprs
        .iter()
        .map(crate::numbers::number)
        .collect::<syn::Result<_>>()?;
    Ok(NumberList {
        span: list.delimiter.span().join(),
        values,
    })
}

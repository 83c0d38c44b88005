//! Label values of the families that `metrics!` declares: strings of any kind, and enums that
//! derive [`LabelValue`](derive@crate::LabelValue), whose values are fixed at compile time.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

/// A value that can stand for a label of a declared family.
///
/// Implemented for string types, and derived for enums with
/// `#[derive(track_metrics::LabelValue)]`, which also implements [`LabelEnum`]. A value is only
/// borrowed for the lookup of its series: a label set seen before costs no allocation.
///
/// ```
/// use track_metrics::LabelValue;
///
/// assert_eq!("GET".label_value(), "GET");
/// assert_eq!(String::from("/users").label_value(), "/users");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label value",
    label = "not a label value",
    note = "pass a string, or derive `track_metrics::LabelValue` on an enum of unit variants"
)]
pub trait LabelValue {
    /// The label value as it appears in the exposition.
    fn label_value(&self) -> &str;
}

/// A label type with a fixed, finite set of values: a family whose labels are all `LabelEnum`
/// types shows every combination at zero from the first scrape.
///
/// ```
/// use track_metrics::{LabelEnum, LabelValue};
///
/// #[derive(LabelValue)]
/// enum Outcome {
///     Success,
///     #[label = "client_error"]
///     ClientError,
/// }
///
/// assert_eq!(Outcome::VARIANTS, ["Success", "client_error"]);
/// assert_eq!(Outcome::ClientError.label_value(), "client_error");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no fixed list of label values",
    label = "all the labels of this family are typed, so it shows every combination from the start",
    note = "derive `track_metrics::LabelValue` on an enum of unit variants, or leave one label \
            untyped to take strings"
)]
pub trait LabelEnum: LabelValue {
    /// Every value, in declaration order.
    const VARIANTS: &'static [&'static str];
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    fn label_value(&self) -> &str {
        (**self).label_value()
    }
}

impl LabelValue for str {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for String {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Cow<'_, str> {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Box<str> {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Arc<str> {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for Rc<str> {
    fn label_value(&self) -> &str {
        self
    }
}

impl LabelValue for bool {
    fn label_value(&self) -> &str {
        if *self { "true" } else { "false" }
    }
}

impl LabelEnum for bool {
    const VARIANTS: &'static [&'static str] = &["false", "true"];
}

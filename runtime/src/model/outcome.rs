//! How a call ended, as the `error_type` label says it: the error's type or variant for an
//! `Err`, `panic`, `cancelled`, or nothing.
//!
//! The return type is classified at compile time of the user's crate by trait dispatch on a
//! reference ("autoref specialization"), not from the spelling of the return type: aliases such
//! as `io::Result<T>` work, and a function that does not return a `Result` costs nothing.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Names the kind of an error for the `error_type` label: an enum's variant, such as `NotFound`
/// or `Timeout`, rather than the type's name.
///
/// Derive it with `#[derive(track_metrics::ErrorType)]` on an enum, or implement it. Errors of
/// types without it are labelled with their type's name, such as `ParseIntError`.
///
/// ```
/// use track_metrics::ErrorType;
///
/// #[derive(Debug, ErrorType)]
/// enum StoreError {
///     NotFound,
///     Timeout { after_ms: u64 },
///     #[error_type = "io"]
///     Io(std::io::Error),
/// }
///
/// assert_eq!(StoreError::Timeout { after_ms: 5 }.error_type(), "Timeout");
/// assert_eq!(StoreError::Io(std::io::ErrorKind::Other.into()).error_type(), "io");
/// # let _ = StoreError::NotFound;
/// ```
pub trait ErrorType {
    /// The `error_type` label of this error: a value from a fixed set, since it becomes a series.
    fn error_type(&self) -> &'static str;
}

/// An I/O error is labelled with its kind, such as `NotFound` or `TimedOut`: the type's name,
/// `Error`, would say nothing.
impl ErrorType for std::io::Error {
    fn error_type(&self) -> &'static str {
        use std::io::ErrorKind;
        match self.kind() {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::ConnectionRefused => "ConnectionRefused",
            ErrorKind::ConnectionReset => "ConnectionReset",
            ErrorKind::ConnectionAborted => "ConnectionAborted",
            ErrorKind::NotConnected => "NotConnected",
            ErrorKind::AddrInUse => "AddrInUse",
            ErrorKind::AddrNotAvailable => "AddrNotAvailable",
            ErrorKind::BrokenPipe => "BrokenPipe",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::WouldBlock => "WouldBlock",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::InvalidData => "InvalidData",
            ErrorKind::TimedOut => "TimedOut",
            ErrorKind::WriteZero => "WriteZero",
            ErrorKind::Interrupted => "Interrupted",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::UnexpectedEof => "UnexpectedEof",
            ErrorKind::OutOfMemory => "OutOfMemory",
            _ => "Other",
        }
    }
}

/// The value a call returned, borrowed for classification.
pub struct Outcome<'a, R>(pub &'a R);

/// First choice: `Err` of a type that implements [`ErrorType`].
pub trait ClassifyByErrorType {
    fn error_type(&self) -> Option<&'static str>;
}

impl<T, E: ErrorType> ClassifyByErrorType for &&Outcome<'_, Result<T, E>> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        self.0.as_ref().err().map(ErrorType::error_type)
    }
}

/// Second choice: `Err` of any other type, by the type's short name.
pub trait ClassifyByTypeName {
    fn error_type(&self) -> Option<&'static str>;
}

impl<T, E> ClassifyByTypeName for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        self.0
            .as_ref()
            .err()
            .map(|_| short_type_name(std::any::type_name::<E>()))
    }
}

/// Last choice: not a `Result`, so never an error.
pub trait ClassifyAsSuccess {
    fn error_type(&self) -> Option<&'static str>;
}

impl<R> ClassifyAsSuccess for Outcome<'_, R> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        None
    }
}

/// `core::num::error::ParseIntError` as `ParseIntError`, and
/// `alloc::boxed::Box<dyn core::error::Error + core::marker::Send>` as
/// `Box<dyn Error + Send>`: computed once per type, as the set of types is fixed.
#[cold]
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    static SHORT: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let mut names = SHORT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    names.entry(full).or_insert_with(|| {
        let short = strip_paths(full);
        if short == full {
            full
        } else {
            Box::leak(short.into_boxed_str())
        }
    })
}

/// Drops every `path::` prefix, keeping generics and punctuation.
fn strip_paths(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            out.push_str(&segment);
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(&segment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(
            strip_paths("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(
            strip_paths("alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
            "Box<dyn Error + Send>"
        );
        assert_eq!(
            strip_paths("my_app::Error<alloc::string::String>"),
            "Error<String>"
        );
        assert_eq!(strip_paths("()"), "()");
    }

    #[derive(Debug)]
    struct Plain;

    enum Kind {
        Timeout,
    }

    impl ErrorType for Kind {
        fn error_type(&self) -> &'static str {
            "Timeout"
        }
    }

    #[test]
    #[allow(
        clippy::needless_borrow,
        reason = "the borrows are the dispatch under test"
    )]
    fn dispatch_picks_the_most_specific_classification() {
        let by_variant: Result<(), Kind> = Err(Kind::Timeout);
        assert_eq!((&&&Outcome(&by_variant)).error_type(), Some("Timeout"));
        let by_type: Result<u8, Plain> = Err(Plain);
        assert!(
            (&&&Outcome(&by_type))
                .error_type()
                .unwrap()
                .ends_with("Plain")
        );
        let ok: Result<u8, Plain> = Ok(1);
        assert_eq!((&&&Outcome(&ok)).error_type(), None);
        let not_a_result = 5_u32;
        assert_eq!((&&&Outcome(&not_a_result)).error_type(), None);
    }
}

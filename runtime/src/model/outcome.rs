//! How a call ended, as the `error_type` label says it: the error's type or variant for an
//! `Err`, `panic`, `cancelled`, or nothing.
//!
//! The return type is classified at compile time of the user's crate by trait dispatch on a
//! reference ("autoref specialization"), not from the spelling of the return type: aliases such
//! as `io::Result<T>` work, and a function that does not return a `Result` costs nothing.

use std::cell::Cell;
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

    /// Whether this error counts in `function_errors_total`: `false` for an `Err` that is the
    /// caller's doing rather than the function's failure (an HTTP 404), so that it does not
    /// inflate the error ratio. All errors count by default.
    fn counts_as_error(&self) -> bool {
        true
    }
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
    /// The label of an `Err`, whether or not it counts as an error.
    fn error_label(&self) -> Option<&'static str>;
}

impl<T, E: ErrorType> ClassifyByErrorType for &&Outcome<'_, Result<T, E>> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        self.0
            .as_ref()
            .err()
            .filter(|error| error.counts_as_error())
            .map(ErrorType::error_type)
    }

    #[inline]
    fn error_label(&self) -> Option<&'static str> {
        self.0.as_ref().err().map(ErrorType::error_type)
    }
}

/// An HTTP status (the `http` crate's, which axum, hyper and reqwest use) is labelled with its
/// number (`error_type="503"`), and only a server error (5xx) counts: a handler returning
/// `Err(StatusCode::NOT_FOUND)` answered as it should. Say otherwise with
/// `#[track_metrics(error_if = ...)]` or `error_type = ...`.
impl ErrorType for http::StatusCode {
    fn error_type(&self) -> &'static str {
        status_label(self.as_u16())
    }

    fn counts_as_error(&self) -> bool {
        self.is_server_error()
    }
}

/// axum's `(StatusCode, message)` error: as its status.
impl<T> ErrorType for (http::StatusCode, T) {
    fn error_type(&self) -> &'static str {
        self.0.error_type()
    }

    fn counts_as_error(&self) -> bool {
        self.0.counts_as_error()
    }
}

/// A gRPC status (feature `tonic`) is labelled with its code's name as gRPC's Go
/// implementation and go-grpc-prometheus write it (`NotFound`, `Unavailable`, `Canceled`), and
/// counts as an error as OpenTelemetry's conventions count a gRPC server's errors: `Unknown`,
/// `DeadlineExceeded`, `Unimplemented`, `Internal`, `Unavailable` and `DataLoss`. A client's
/// mistake (`InvalidArgument`, `NotFound`, `PermissionDenied`, ...) is the server answering as it
/// should. Say otherwise with `#[track_metrics(error_if = ...)]`.
#[cfg(feature = "tonic")]
impl ErrorType for tonic::Status {
    fn error_type(&self) -> &'static str {
        grpc_code_name(self.code() as i32)
    }

    fn counts_as_error(&self) -> bool {
        grpc_server_error(self.code() as i32)
    }
}

/// The name of a gRPC status code, as grpc-go's `codes.Code.String()` writes it.
#[cfg_attr(not(any(feature = "tonic", feature = "axum")), allow(dead_code))]
pub(crate) fn grpc_code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        _ => "Unknown",
    }
}

/// Whether a gRPC server failed when it answers with `code`: see [`ErrorType`] for
/// `tonic::Status`.
#[cfg_attr(not(feature = "tonic"), allow(dead_code))]
pub(crate) fn grpc_server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15) || !(0..=16).contains(&code)
}

/// `"404"` for 404: a status code as a `&'static str`, from a table built at compile time.
fn status_label(code: u16) -> &'static str {
    const FIRST: u16 = 100;
    const TABLE: [[u8; 3]; 900] = {
        let mut table = [[0_u8; 3]; 900];
        let mut index = 0;
        while index < 900 {
            let code = FIRST as usize + index;
            table[index] = [
                b'0' + (code / 100) as u8,
                b'0' + (code / 10 % 10) as u8,
                b'0' + (code % 10) as u8,
            ];
            index += 1;
        }
        table
    };
    static CODES: [[u8; 3]; 900] = TABLE;
    code.checked_sub(FIRST)
        .and_then(|index| CODES.get(usize::from(index)))
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .unwrap_or("other")
}

/// Second choice: `Err` of any other type, by the type's short name.
pub trait ClassifyByTypeName {
    fn error_type(&self) -> Option<&'static str>;
    fn error_label(&self) -> Option<&'static str> {
        self.error_type()
    }
}

impl<T, E> ClassifyByTypeName for &Outcome<'_, Result<T, E>> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        self.0
            .as_ref()
            .err()
            .map(|_| type_label(std::any::type_name::<E>()))
    }
}

/// Last choice: not a `Result`, so never an error.
pub trait ClassifyAsSuccess {
    fn error_type(&self) -> Option<&'static str>;
    fn error_label(&self) -> Option<&'static str> {
        None
    }
}

impl<R> ClassifyAsSuccess for Outcome<'_, R> {
    #[inline]
    fn error_type(&self) -> Option<&'static str> {
        None
    }
}

/// The label of an error type without [`ErrorType`]: `core::num::error::ParseIntError` is
/// `ParseIntError`, `my_app::Error<String>` is `Error`, a boxed trait object
/// `Box<dyn Error + Send + Sync>` is `DynError`, `anyhow::Error` is `AnyhowError`: a plain
/// identifier, without spaces, brackets or paths. Computed once per type, as the set of types
/// is fixed; each thread remembers the last few it was asked, so that an `Err` costs a lookup
/// of its own rather than a lock shared with every thread.
#[inline]
pub(crate) fn type_label(full: &'static str) -> &'static str {
    /// Entries per thread, by the address of the type's name.
    const RECENT: usize = 16;
    thread_local! {
        static LABELS: [Cell<(usize, &'static str)>; RECENT] =
            const { [const { Cell::new((0, "")) }; RECENT] };
    }
    let address = full.as_ptr() as usize;
    let slot = (address >> 3) % RECENT;
    let recent = LABELS
        .try_with(|labels| {
            let (known, label) = labels[slot].get();
            (known == address).then_some(label)
        })
        .ok()
        .flatten();
    recent.unwrap_or_else(|| {
        let label = shared_type_label(full);
        let _ = LABELS.try_with(|labels| labels[slot].set((address, label)));
        label
    })
}

#[cold]
#[inline(never)]
fn shared_type_label(full: &'static str) -> &'static str {
    static LABELS: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let mut labels = LABELS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    labels.entry(full).or_insert_with(|| {
        let label = label_of(&strip_paths(full), full);
        if label == full {
            full
        } else {
            Box::leak(label.into_boxed_str())
        }
    })
}

/// See [`type_label`]; `short` is `full` without its paths.
fn label_of(short: &str, full: &str) -> String {
    // Types whose own name says nothing about what went wrong: name the crate.
    for (prefix, label) in [("anyhow::", "AnyhowError"), ("eyre::", "EyreReport")] {
        if full.starts_with(prefix) {
            return label.to_owned();
        }
    }
    let short = short.trim_start_matches('&').trim_start_matches("mut ");
    for pointer in ["Box<", "Arc<", "Rc<"] {
        if let Some(inner) = short
            .strip_prefix(pointer)
            .and_then(|s| s.strip_suffix('>'))
        {
            return match inner.strip_prefix("dyn ") {
                Some(object) => format!("Dyn{}", leading_identifier(object)),
                None => label_of(inner, inner),
            };
        }
    }
    let name = leading_identifier(short);
    if name.is_empty() {
        "Error".to_owned()
    } else {
        name.to_owned()
    }
}

fn leading_identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
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

    #[test]
    fn labels_are_plain_identifiers() {
        for (full, label) in [
            ("core::num::error::ParseIntError", "ParseIntError"),
            ("my_app::Error<alloc::string::String>", "Error"),
            (
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
                "DynError",
            ),
            ("alloc::boxed::Box<dyn core::error::Error>", "DynError"),
            ("alloc::boxed::Box<my_app::StoreError>", "StoreError"),
            ("alloc::sync::Arc<dyn core::error::Error>", "DynError"),
            ("anyhow::Error", "AnyhowError"),
            ("eyre::Report", "EyreReport"),
            ("&str", "str"),
            ("()", "Error"),
            ("(u8, u8)", "Error"),
            ("[u8; 4]", "Error"),
        ] {
            assert_eq!(type_label(full), label, "{full}");
        }
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
    fn http_statuses_are_labelled_by_number_and_only_server_errors_count() {
        // Whatever the features: the `http` crate is always a dependency.
        let not_found: Result<(), http::StatusCode> = Err(http::StatusCode::NOT_FOUND);
        assert_eq!((&&&Outcome(&not_found)).error_type(), None);
        assert_eq!((&&&Outcome(&not_found)).error_label(), Some("404"));
        let unavailable: Result<(), (http::StatusCode, String)> =
            Err((http::StatusCode::SERVICE_UNAVAILABLE, "later".to_owned()));
        assert_eq!((&&&Outcome(&unavailable)).error_type(), Some("503"));
    }

    #[test]
    fn grpc_codes_count_as_a_server_counts_its_failures() {
        let errors: Vec<&str> = (0..17)
            .filter(|code| grpc_server_error(*code))
            .map(grpc_code_name)
            .collect();
        assert_eq!(
            errors,
            [
                "Unknown",
                "DeadlineExceeded",
                "Unimplemented",
                "Internal",
                "Unavailable",
                "DataLoss"
            ]
        );
        assert_eq!(grpc_code_name(1), "Canceled");
        assert!(grpc_server_error(99));
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

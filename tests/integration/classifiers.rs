//! What counts as an error, and under which `error_type`, when the type alone says too little:
//! a classifier (`error_type = ..`), predicates (`ok_if`, `error_if`), HTTP statuses by number
//! with only 5xx counted, and clean labels for boxed errors.

use std::error::Error;

use axum::http::StatusCode;
use track_metrics::track_metrics;

use crate::common::{self, scrape, value};

const MODULE: &str = module_path!();

/// The errors of `function` by type, and its calls, from one scrape.
fn outcomes(function: &str, error_types: &[&str]) -> (f64, Vec<f64>) {
    let (_, scrape) = scrape();
    let calls = value(
        &scrape,
        "function_calls_total",
        &[("function", function), ("module", MODULE)],
    );
    let errors = error_types
        .iter()
        .map(|error_type| {
            // No series: no error of that type.
            scrape
                .value(
                    "function_errors_total",
                    &[
                        ("error_type", error_type),
                        ("function", function),
                        ("module", MODULE),
                    ],
                )
                .unwrap_or(0.0)
        })
        .collect();
    (calls, errors)
}

/// Looks inside a boxed error, as one would inside an `anyhow::Error` with `downcast_ref`.
#[allow(
    clippy::borrowed_box,
    reason = "a classifier takes the error type as it is"
)]
fn by_cause(error: &Box<dyn Error + Send + Sync>) -> &'static str {
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return match io.kind() {
            std::io::ErrorKind::TimedOut => "timeout",
            _ => "io",
        };
    }
    if error.is::<std::num::ParseIntError>() {
        return "parse";
    }
    "other"
}

#[track_metrics(error_type = by_cause)]
fn classified(input: &str) -> Result<u32, Box<dyn Error + Send + Sync>> {
    match input {
        "timeout" => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
        "denied" => Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied).into()),
        "other" => Err("a plain message".into()),
        number => Ok(number.parse()?),
    }
}

#[test]
fn a_classifier_labels_errors_by_what_they_carry() {
    common::exporter();
    for input in ["1", "timeout", "denied", "x", "other", "timeout"] {
        let _ = classified(input);
    }
    let (calls, errors) = outcomes("classified", &["timeout", "io", "parse", "other"]);
    assert_eq!(calls, 6.0);
    assert_eq!(errors, [2.0, 1.0, 1.0, 1.0]);
}

#[track_metrics]
fn boxed_error(fail: bool) -> Result<(), Box<dyn Error + Send + Sync>> {
    if fail { Err("failed".into()) } else { Ok(()) }
}

#[test]
fn a_boxed_error_has_a_clean_label() {
    common::exporter();
    let _ = boxed_error(true);
    let _ = boxed_error(false);
    let (text, _) = scrape();
    assert_eq!(outcomes("boxed_error", &["DynError"]).1, [1.0]);
    let line = text
        .lines()
        .find(|line| line.contains("function=\"boxed_error\"") && line.contains("error_type"))
        .unwrap();
    assert!(line.contains("error_type=\"DynError\""), "{line}");
}

fn not_found_is_fine(result: &Result<String, std::io::Error>) -> bool {
    match result {
        Ok(_) => true,
        Err(error) => error.kind() == std::io::ErrorKind::NotFound,
    }
}

#[track_metrics(ok_if = not_found_is_fine)]
fn read_optional(kind: Option<std::io::ErrorKind>) -> Result<String, std::io::Error> {
    match kind {
        Some(kind) => Err(kind.into()),
        None => Ok("contents".to_owned()),
    }
}

#[test]
fn ok_if_makes_an_expected_err_a_success() {
    common::exporter();
    let _ = read_optional(None);
    let _ = read_optional(Some(std::io::ErrorKind::NotFound));
    let _ = read_optional(Some(std::io::ErrorKind::PermissionDenied));
    let (calls, errors) = outcomes("read_optional", &["NotFound", "PermissionDenied"]);
    assert_eq!(calls, 3.0);
    assert_eq!(errors, [0.0, 1.0]);
}

#[track_metrics(error_if = Option::is_none)]
fn find(key: u32) -> Option<u32> {
    key.is_multiple_of(2).then_some(key)
}

#[test]
fn error_if_makes_a_value_that_is_not_an_err_an_error() {
    common::exporter();
    for key in 0..5 {
        let _ = find(key);
    }
    let (calls, errors) = outcomes("find", &["error"]);
    assert_eq!(calls, 5.0);
    assert_eq!(errors, [2.0]);
}

#[track_metrics]
fn handler(status: u16) -> Result<&'static str, StatusCode> {
    match status {
        200 => Ok("fine"),
        code => Err(StatusCode::from_u16(code).unwrap()),
    }
}

#[track_metrics(error_if = |result: &Result<&'static str, StatusCode>| result.is_err())]
fn strict_handler(status: u16) -> Result<&'static str, StatusCode> {
    handler(status)
}

#[test]
fn an_http_status_is_labelled_by_number_and_only_5xx_counts() {
    common::exporter();
    for status in [200, 404, 404, 400, 500, 503, 503] {
        let _ = handler(status);
    }
    let (calls, errors) = outcomes("handler", &["404", "400", "500", "503"]);
    assert_eq!(calls, 7.0);
    assert_eq!(errors, [0.0, 0.0, 1.0, 2.0]);

    // Unless the user says otherwise: every `Err` an error, still by number.
    for status in [200, 404, 503] {
        let _ = strict_handler(status);
    }
    let (calls, errors) = outcomes("strict_handler", &["404", "503"]);
    assert_eq!(calls, 3.0);
    assert_eq!(errors, [1.0, 1.0]);
}

#[track_metrics]
fn axum_error(status: u16) -> Result<&'static str, (StatusCode, String)> {
    match status {
        200 => Ok("fine"),
        code => Err((StatusCode::from_u16(code).unwrap(), "message".to_owned())),
    }
}

#[test]
fn axums_status_and_message_error_is_labelled_by_its_status() {
    common::exporter();
    for status in [200, 404, 500] {
        let _ = axum_error(status);
    }
    let (calls, errors) = outcomes("axum_error", &["404", "500", "Error"]);
    assert_eq!(calls, 3.0);
    assert_eq!(errors, [0.0, 1.0, 0.0]);
}

#[track_metrics]
fn opaque_value(fail: bool) -> Result<impl std::fmt::Display, String> {
    if fail {
        return Err("failed".to_owned());
    }
    Ok(1)
}

#[test]
fn an_impl_trait_beside_the_error_type_still_classifies_by_that_type() {
    common::exporter();
    let _ = opaque_value(true).map(|value| value.to_string());
    let _ = opaque_value(false).map(|value| value.to_string());
    let (calls, errors) = outcomes("opaque_value", &["String"]);
    assert_eq!(calls, 2.0);
    assert_eq!(errors, [1.0]);
}

#[derive(Debug)]
enum DbError {
    Missing,
    Broken,
}

impl DbError {
    fn kind(&self) -> &'static str {
        match self {
            DbError::Missing => "missing",
            DbError::Broken => "broken",
        }
    }
}

struct Db {
    rows: Vec<u8>,
}

/// The block's classifier reaches the methods that return a `Result`; the others (a
/// constructor, a length) are instrumented as usual.
#[track_metrics(error_type = DbError::kind)]
impl Db {
    fn open() -> Self {
        Db { rows: vec![1] }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn row(&self, index: usize) -> Result<u8, DbError> {
        match index {
            0 => Ok(self.rows[0]),
            1 => Err(DbError::Missing),
            _ => Err(DbError::Broken),
        }
    }
}

#[test]
fn a_classifier_on_an_impl_block_reaches_the_methods_that_return_a_result() {
    common::exporter();
    let db = Db::open();
    assert_eq!(db.len(), 1);
    for index in 0..3 {
        let _ = db.row(index);
    }
    let (calls, errors) = outcomes("Db::row", &["missing", "broken"]);
    assert_eq!(calls, 3.0);
    assert_eq!(errors, [1.0, 1.0]);
    assert_eq!(outcomes("Db::open", &[]).0, 1.0);
    assert_eq!(outcomes("Db::len", &[]).0, 1.0);
}

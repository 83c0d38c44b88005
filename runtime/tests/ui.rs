//! Compile-time behaviour of the macros: what compiles and runs, and every error, with its
//! message, on the user's token. The fail cases are checked in one batch (trybuild builds them
//! together when a run has no pass case), the pass cases one by one, as they must also run.

#[test]
fn ui_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn ui_pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}

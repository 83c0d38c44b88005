//! Compile-time behaviour of the macros: what compiles and runs, and every error, with its
//! message, on the user's token.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}

//! Tests of `install()` itself and of settings that only `install()` gives: each runs in a process
//! of its own (`common::in_own_process`), since the exporter is installed once per process, and
//! with the recorder and settings of its scenario.

#[path = "../common/mod.rs"]
mod common;

mod before;
mod beside;
mod endpoint;
mod errors;
mod otlp;
mod push;
mod settings;

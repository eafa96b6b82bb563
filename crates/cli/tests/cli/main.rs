//! The `keyward` binary as a user runs it: one test binary, a module per command. The corpora
//! under `fixtures/` are run by the second binary, the corpus harness (`tests/corpus/`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod action;
mod can;
mod check;
mod commands;
mod common;
mod diff;
mod instances;
mod key_stores;
mod lint;
mod serve;
mod who_can;

/// The request corpus's scenario files, read as the corpus harness reads them (these tests use
/// only the requests, not the expectations).
#[path = "../corpus/scenario.rs"]
#[allow(
    dead_code,
    reason = "kept for the case of a corpus file that needs it; not every file does"
)]
mod scenario;

//! The integration tests of keyward-lint: one test binary, a module per subject. The lint
//! corpus (`fixtures/lint/`) is run by the corpus harness of keyward-cli.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod common;
mod limits;
mod messages;
mod readme;
mod sarif;
mod templates;
mod witnesses;

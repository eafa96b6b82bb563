//! The integration tests of keyward-authz: one test binary, a module per subject. The request
//! corpus (`fixtures/requests/`) is run by the corpus harness of keyward-cli.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod properties;

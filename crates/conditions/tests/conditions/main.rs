//! The integration tests of keyward-conditions: one test binary, a module per subject. The
//! condition and policy corpora (`fixtures/conditions/`, `fixtures/policies/`) are run by the
//! corpus harness of keyward-cli; `no_allocation` is a binary of its own, without the test
//! harness, because it counts every allocation of the process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod common;
mod properties;
mod semantics;

//! The integration tests of keyward-crypto: one test binary, a module per subject. The crypto
//! corpus (`fixtures/crypto/`) is run by the corpus harness of keyward-cli.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod common;
mod import;
mod interop_openssl;
mod operations;
mod properties;
mod softhsm;
mod token;
mod wycheproof;

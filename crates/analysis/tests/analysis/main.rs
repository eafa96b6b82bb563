//! The analysis against the concrete engine: property tests over the corpus, the oracle that
//! decides hundreds of mutated policy pairs by brute force with `authz`, and the SARIF schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod alias_operations;
mod common;
mod oracle;
mod properties;
mod reach;
mod sarif;
mod who_can;

//! The key service's integration tests, one binary: every operation gated (`operations`,
//! `gating`), grants that delegate no more than they give (`escalation`), keys over time
//! (`lifecycle`), the trust rules (`trust`), and committed changes surviving a crash
//! (`crash`). What they share is in `common`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;
mod concurrency;
mod crash;
mod escalation;
mod gating;
mod instances;
mod lifecycle;
mod managed;
mod multi_region;
mod operations;
mod postgres;
mod report;
mod rows;
mod seed;
mod store_conformance;
mod trust;

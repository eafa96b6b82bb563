//! The server's tests, one binary: the AWS JSON 1.1 protocol and SigV4 over real HTTP
//! (`http`), the AWS SDK for Rust against it (`sdk`), the aws CLI and boto3 against it
//! (`clients`), what a client without credentials can do to it (`defence`), and the stop
//! signal (`stop`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure is a panic with the value shown"
)]

mod clients;
mod common;
mod defence;
mod http;
mod postgres;
mod sdk;
mod stop;

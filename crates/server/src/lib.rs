//! `keyward serve`: a KMS-compatible endpoint over the gated key service. Real AWS clients
//! (the aws CLI, boto3, the Rust SDK) talk to it unchanged; every request's SigV4 signature is
//! verified against the configured principals, and every operation is authorized by the key
//! policy, the principal's identity policies and grants, exactly as the key service decides.
//!
//! - [`config`]: the TOML configuration and its defaults (`crates/server/CONFIG.md`), and
//!   [`seed`]: the keys created at start.
//! - [`sigv4`] and [`auth`]: who is calling.
//! - The protocol (AWS JSON 1.1 in and out) and the operations are `keyward-api`'s, and each
//!   request goes to [`keyward_kms::Kms::handle`]: the server maps no operation by hand.
//! - [`serve`]: the HTTP server, its limits and its graceful stop.

#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod seed;
pub mod serve;
pub mod sigv4;

pub use config::{ConfigError, Enforcement, Overrides, ServerConfig};
pub use serve::{Limits, Probe, ServeError, Server, stop_signal};

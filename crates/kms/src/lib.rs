//! The gated key service: a KMS in which no operation happens unless `authz` allows it, every
//! operation is performed by `keyward-crypto`, and every call, allowed or not, leaves an audit
//! record shaped like a CloudTrail event with the decision and its reasons.
//!
//! Order on every call: resolve the key (key ID, key ARN, alias name or ARN; for Decrypt the
//! key in the ciphertext), hiding keys a caller of another account may not see; build the
//! request context of the operation; authorize (key policy, the caller's identity policies,
//! grants); check the key state; validate parameters; perform; persist; audit.
//!
//! Keys (material sealed under a root key), policies, tags, grants and aliases are kept in a
//! [`store::Store`]: [`store::SqliteStore`] on disk, [`store::MemoryStore`] for tests.

pub mod audit;
mod caller;
pub mod clock;
mod crypto_ops;
mod error;
mod lifecycle_ops;
pub mod model;
mod ops;
mod record;
mod service;
pub mod store;

pub use caller::Caller;
pub use error::{ErrorCode, KmsError};
pub use service::{Kms, KmsConfig};

//! The gated key service: a KMS in which no operation happens unless `authz` allows it, every
//! operation is performed by `keyward-crypto`, and every call, allowed or not, leaves an audit
//! record shaped like a CloudTrail event with the decision and its reasons.
//!
//! Every call goes through one pipeline (`src/gate.rs`): resolve the key (key ID, key
//! ARN, alias name or ARN; for Decrypt the key in the ciphertext), hiding keys a caller of
//! another account may not see; build the request context of the operation; authorize (key
//! policy, the caller's identity policies, grants); check the key state; validate the
//! parameters; perform; persist; audit. Each operation is declared once, in
//! `src/operations/`, grouped by what it touches; its request and response types are the KMS
//! API's, from `keyward-api` (re-exported as [`api`]).
//!
//! Keys (material sealed under a root key), policies, tags, grants and aliases are kept in a
//! [`store::Store`]: [`store::SqliteStore`] on disk, [`store::MemoryStore`] for tests.
//!
//! ```
//! use keyward_kms::api::{CreateKeyRequest, DecryptRequest, EncryptRequest, ErrorCode};
//! use keyward_kms::{Caller, Kms, KmsConfig, audit::MemoryAudit, clock::SystemClock};
//! use keyward_kms::store::MemoryStore;
//! use std::sync::Arc;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let audit = Arc::new(MemoryAudit::new());
//! let kms = Kms::open(
//!     KmsConfig::new("us-east-1", "111122223333"),
//!     Box::new(MemoryStore::new()),
//!     keyward_crypto::RootKey::generate()?,
//!     audit.clone(),
//!     Arc::new(SystemClock),
//! )?;
//! let allow_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
//! let admin = Caller::new("arn:aws:iam::111122223333:role/Admin", &[allow_all])?;
//! let key = kms.create_key(&admin, &CreateKeyRequest::default())?.key_metadata.key_id;
//! let encrypt = EncryptRequest { key_id: key, plaintext: b"hi".to_vec().into(), ..Default::default() };
//! let blob = kms.encrypt(&admin, &encrypt)?.ciphertext_blob;
//! // Not in the key policy, no identity policy: denied, and audited.
//! let stranger = Caller::new("arn:aws:iam::111122223333:role/Stranger", &[])?;
//! let decrypt = DecryptRequest { ciphertext_blob: blob, ..Default::default() };
//! let denied = kms.decrypt(&stranger, &decrypt).unwrap_err();
//! assert_eq!(denied.code(), ErrorCode::AccessDenied);
//! assert_eq!(audit.len(), 3);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod audit;
mod caller;
pub mod clock;
mod entry;
mod error;
mod follow;
mod gate;
mod grant_binding;
mod housekeeping;
mod key_id;
mod key_state;
pub mod key_stores;
mod managed;
mod operations;
mod paging;
pub mod quotas;
mod record;
pub mod regions;
pub mod seed;
mod service;
pub mod store;

pub use caller::{Caller, CallerError};
pub use error::{Denial, KeyStateError, KmsError, OpenError, StateProblem};
pub use keyward_api as api;
pub use regions::Regions;
pub use service::{Enforcement, Kms, KmsConfig, default_instance};

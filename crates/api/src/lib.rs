//! The KMS API as data, written once and shared by the key service (`keyward-kms`), the
//! server (`keyward-server`) and the command line:
//!
//! - [`Operation`]: every operation served, from the one list [`kms_operations!`], with the
//!   [`Request`] and [`Response`] that carry any operation's input and output;
//! - [`ErrorCode`] and [`ApiError`]: the error codes, each with its HTTP status;
//! - the request and response types of each operation, with serde as AWS JSON 1.1 carries
//!   them (PascalCase members, base64 blobs, epoch-second timestamps), grouped as the key
//!   service groups its operations;
//! - [`wire`]: reading a request body and writing a response with the protocol's errors;
//! - [`quota`]: which of AWS's request quotas each request counts against, and their rates.
//!
//! ```
//! use keyward_api::{ErrorCode, Operation, Request};
//!
//! let operation = Operation::from_target("TrentService.Encrypt")?;
//! let Request::Encrypt(input) = operation.parse(br#"{"KeyId":"alias/app","Plaintext":"aGk="}"#)? else {
//!     unreachable!()
//! };
//! assert_eq!(input.plaintext.expose(), b"hi");
//! let missing = Operation::Encrypt.parse(b"{}").unwrap_err();
//! assert_eq!(missing.code, ErrorCode::Validation);
//! # Ok::<(), keyward_api::ApiError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod members;
mod operation;
pub mod quota;
mod types;
pub mod wire;

pub use error::{ApiError, ErrorCode};
pub use members::RequestMembers;
pub use operation::{Operation, Request, Response, UNSUPPORTED};
pub use quota::Quota;
pub use types::*;
pub use wire::{SecretBytes, SecretText};

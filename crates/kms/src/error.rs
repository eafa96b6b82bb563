//! The errors of the key service, each carrying its cause; [`KmsError::code`] is the one place
//! a cause becomes the code AWS sends. Messages are AWS's where AWS's wording is known: the AWS
//! KMS API Reference's errors of each operation, AWS's answers as LocalStack's KMS snapshot
//! tests recorded them, and for AccessDeniedException the IAM User Guide, "Troubleshooting
//! access denied error messages"; Keyward's own where AWS is silent.

use crate::store::StoreError;
use keyward_api::{ApiError, ErrorCode};
use keyward_authz::{Reason, Verdict};
use keyward_crypto::{CryptoError, ErrorKind as CryptoKind};
use keyward_grants::key_grants::KeyGrantsError;

/// An error of an operation.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// The caller is not allowed the action, or may not see the key: `AccessDeniedException`.
    #[error("AccessDeniedException: {}", .0.message)]
    Denied(Box<Denial>),
    /// The key's state does not allow the operation.
    #[error("{}: {}", .0.code(), .0.message())]
    KeyState(KeyStateError),
    /// A parameter outside its constraints: `ValidationException`.
    #[error("ValidationException: {0}")]
    Validation(String),
    /// The request is refused by a rule of KMS (`NotFoundException`, `AlreadyExistsException`,
    /// `TagException`, ...), with AWS's message or none.
    #[error("{code}: {}", message.as_deref().unwrap_or(""))]
    Refused {
        /// The code.
        code: ErrorCode,
        /// The message; `None` where AWS sends none.
        message: Option<String>,
    },
    /// The crypto core refused or failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The grant rules refused.
    #[error(transparent)]
    Grants(#[from] KeyGrantsError),
    /// The store failed: the change was not made.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure that is no fault of the request (a lock poisoned by a panic elsewhere).
    #[error("KMSInternalException: {0}")]
    Internal(String),
}

/// A denial: AWS's message and the decision behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The `AccessDeniedException` message.
    pub message: String,
    /// The verdict: an explicit or an implicit deny.
    pub verdict: Verdict,
    /// The statements that denied (for an explicit deny).
    pub reasons: Vec<Reason>,
}

/// What about a key's state stops an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    /// The key is disabled.
    Disabled,
    /// The key is pending deletion.
    PendingDeletion,
    /// The key has no key material (EXTERNAL, not imported or deleted).
    PendingImport,
    /// CancelKeyDeletion of a key that is not pending deletion.
    NotPendingDeletion,
    /// Automatic rotation of a key without material: imported material rotates only on demand.
    ExternalOrigin,
}

/// A key whose state does not allow the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStateError {
    /// The key's ARN (AWS's messages name it).
    pub key_arn: String,
    /// What stops the operation.
    pub problem: StateProblem,
}

impl KeyStateError {
    /// The code AWS sends.
    pub const fn code(&self) -> ErrorCode {
        match self.problem {
            StateProblem::Disabled => ErrorCode::Disabled,
            StateProblem::PendingDeletion
            | StateProblem::PendingImport
            | StateProblem::NotPendingDeletion => ErrorCode::KmsInvalidState,
            StateProblem::ExternalOrigin => ErrorCode::UnsupportedOperation,
        }
    }

    /// AWS's message.
    pub fn message(&self) -> String {
        let arn = &self.key_arn;
        match self.problem {
            StateProblem::Disabled => format!("{arn} is disabled."),
            StateProblem::PendingDeletion => format!("{arn} is pending deletion."),
            StateProblem::PendingImport => format!("{arn} is pending import."),
            StateProblem::NotPendingDeletion => format!("{arn} is not pending deletion."),
            StateProblem::ExternalOrigin => {
                format!("{arn} origin is EXTERNAL which is not valid for this operation.")
            }
        }
    }
}

impl KmsError {
    /// A refusal with AWS's message.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: Some(message.into()),
        }
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// `NotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::NotFound, message)
    }

    /// `UnsupportedOperationException`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::UnsupportedOperation, message)
    }

    /// `AccessDeniedException` with `message`.
    pub fn denied(message: impl Into<String>, verdict: Verdict, reasons: Vec<Reason>) -> Self {
        Self::Denied(Box::new(Denial {
            message: message.into(),
            verdict,
            reasons,
        }))
    }

    /// The `ValidationException` AWS sends for a parameter longer than its bound.
    pub fn length(field: &str, max: usize) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ))
    }

    /// `DryRunOperationException`: the request would have succeeded.
    pub fn dry_run() -> Self {
        Self::refused(
            ErrorCode::DryRunOperation,
            "The request would have succeeded, but the DryRun option is set.",
        )
    }

    /// The code AWS sends for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Denied(_) => ErrorCode::AccessDenied,
            Self::KeyState(e) => e.code(),
            Self::Validation(_) => ErrorCode::Validation,
            Self::Refused { code, .. } => *code,
            Self::Crypto(e) => match e.kind() {
                CryptoKind::Validation => ErrorCode::Validation,
                CryptoKind::InvalidKeyUsage => ErrorCode::InvalidKeyUsage,
                CryptoKind::InvalidCiphertext => ErrorCode::InvalidCiphertext,
                CryptoKind::IncorrectKey => ErrorCode::IncorrectKey,
                CryptoKind::KmsInvalidSignature => ErrorCode::KmsInvalidSignature,
                CryptoKind::KmsInvalidMac => ErrorCode::KmsInvalidMac,
                CryptoKind::KmsInvalidState => ErrorCode::KmsInvalidState,
                CryptoKind::NotFound => ErrorCode::NotFound,
                CryptoKind::UnsupportedOperation => ErrorCode::UnsupportedOperation,
                CryptoKind::InvalidImportToken => ErrorCode::InvalidImportToken,
                CryptoKind::ExpiredImportToken => ErrorCode::ExpiredImportToken,
                CryptoKind::IncorrectKeyMaterial => ErrorCode::IncorrectKeyMaterial,
                CryptoKind::KmsInternal => ErrorCode::KmsInternal,
            },
            Self::Grants(e) => match e {
                KeyGrantsError::Validation(_) => ErrorCode::Validation,
                KeyGrantsError::LimitExceeded => ErrorCode::LimitExceeded,
                KeyGrantsError::Escalation(_) | KeyGrantsError::AccessDenied(_) => {
                    ErrorCode::AccessDenied
                }
                KeyGrantsError::InvalidGrantToken => ErrorCode::InvalidGrantToken,
                KeyGrantsError::InvalidGrantId(_) => ErrorCode::InvalidGrantId,
                KeyGrantsError::NotFound(_) => ErrorCode::NotFound,
                KeyGrantsError::InvalidMarker => ErrorCode::InvalidMarker,
                KeyGrantsError::Random => ErrorCode::KmsInternal,
            },
            Self::Store(_) | Self::Internal(_) => ErrorCode::KmsInternal,
        }
    }

    /// The message AWS sends; `None` where AWS sends none (`InvalidCiphertextException`).
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Denied(denial) => Some(denial.message.clone()),
            Self::KeyState(e) => Some(e.message()),
            Self::Validation(message) | Self::Internal(message) => Some(message.clone()),
            Self::Refused { message, .. } => message.clone(),
            Self::Crypto(e) => e.message(),
            Self::Grants(e) => Some(e.to_string()),
            Self::Store(e) => Some(e.to_string()),
        }
    }
}

impl From<KeyStateError> for KmsError {
    fn from(error: KeyStateError) -> Self {
        Self::KeyState(error)
    }
}

impl From<KmsError> for ApiError {
    fn from(error: KmsError) -> Self {
        Self {
            code: error.code(),
            message: error.message(),
        }
    }
}

/// Why the service could not open: what is wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A folder or file of the service could not be created or opened.
    #[error("{path}: {source}")]
    Io {
        /// The folder or file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The root key could not be read or created.
    #[error("root key {path}: {source}")]
    RootKey {
        /// The root key file.
        path: String,
        /// The cause.
        #[source]
        source: keyward_crypto::RootKeyError,
    },
    /// No root key could be generated (the system's random source failed).
    #[error("generating a root key: {0}")]
    GenerateRootKey(#[source] CryptoError),
    /// A store exists without its root key.
    #[error(
        "{database} exists but {root} does not: the stored keys are sealed under that root key; restore it, or move keys.db (with its -wal and -shm files) aside to start with an empty store"
    )]
    MissingRootKey {
        /// The database.
        database: String,
        /// The missing root key file.
        root: String,
    },
    /// A stored row does not match its integrity tag.
    #[error(
        "the stored row of {what} does not match its integrity tag: it was changed outside Keyward (or the root key is not the one it was written with); refusing to start"
    )]
    Tampered {
        /// The row: `key <id>`, `alias <name> of account <account>`.
        what: String,
    },
    /// A stored row that does not read as a key record (a spec, usage, grant or policy that
    /// does not parse): refused, never read as something else.
    #[error("the stored row of {what} cannot be read: {why}")]
    Record {
        /// The row.
        what: String,
        /// What does not parse.
        why: String,
    },
    /// Stored key material that does not open under the root key.
    #[error("key {key}: {source}")]
    Unseal {
        /// The key ID.
        key: String,
        /// The cause.
        #[source]
        source: CryptoError,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn crypto_errors_keep_their_code_and_missing_message() {
        let e = KmsError::from(CryptoError::InvalidCiphertext);
        assert_eq!(e.code(), ErrorCode::InvalidCiphertext);
        assert_eq!(e.message(), None);
        let e = KmsError::from(CryptoError::Internal("x"));
        assert_eq!(e.code(), ErrorCode::KmsInternal);
        let e = KmsError::from(CryptoError::Required("EncryptionAlgorithm"));
        assert_eq!(e.code(), ErrorCode::Validation);
        assert_eq!(e.message().unwrap(), "EncryptionAlgorithm is required.");
    }

    #[test]
    fn every_crypto_kind_is_the_kms_code_of_its_name() {
        for kind in [
            CryptoKind::Validation,
            CryptoKind::InvalidKeyUsage,
            CryptoKind::InvalidCiphertext,
            CryptoKind::IncorrectKey,
            CryptoKind::KmsInvalidSignature,
            CryptoKind::KmsInvalidMac,
            CryptoKind::KmsInvalidState,
            CryptoKind::NotFound,
            CryptoKind::UnsupportedOperation,
            CryptoKind::InvalidImportToken,
            CryptoKind::ExpiredImportToken,
            CryptoKind::IncorrectKeyMaterial,
            CryptoKind::KmsInternal,
        ] {
            let code = KmsError::Crypto(sample(kind)).code();
            assert_eq!(code.as_str(), kind.code(), "{kind:?}");
        }
    }

    /// An error of `kind`.
    fn sample(kind: CryptoKind) -> CryptoError {
        let candidates = [
            CryptoError::Required("x"),
            CryptoError::AlgorithmIncompatible {
                algorithm: "x",
                spec: "SYMMETRIC_DEFAULT",
            },
            CryptoError::InvalidCiphertext,
            CryptoError::IncorrectKey,
            CryptoError::InvalidSignature,
            CryptoError::InvalidMac,
            CryptoError::PendingImport { key: "k".into() },
            CryptoError::UnknownMaterial {
                key: "k".into(),
                material: "m".into(),
            },
            CryptoError::UnsupportedOperation("x".into()),
            CryptoError::InvalidImportToken,
            CryptoError::ExpiredImportToken,
            CryptoError::IncorrectKeyMaterial,
            CryptoError::Internal("x"),
        ];
        candidates.into_iter().find(|e| e.kind() == kind).unwrap()
    }

    #[test]
    fn key_state_errors_name_the_key_with_awss_code() {
        let e = KmsError::from(KeyStateError {
            key_arn: "arn:k".into(),
            problem: StateProblem::Disabled,
        });
        assert_eq!(e.code(), ErrorCode::Disabled);
        assert_eq!(e.message().unwrap(), "arn:k is disabled.");
        let e = KeyStateError {
            key_arn: "arn:k".into(),
            problem: StateProblem::ExternalOrigin,
        };
        assert_eq!(e.code(), ErrorCode::UnsupportedOperation);
    }

    #[test]
    fn an_api_error_keeps_code_and_message() {
        let e = ApiError::from(KmsError::not_found("Alias alias/x is not found."));
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(e.status(), 400);
        assert_eq!(ApiError::from(KmsError::Internal("x".into())).status(), 500);
    }
}

//! KMS errors: the code AWS sends as `__type` and the message, exactly as recorded in
//! `shared/reference/kms-aws-behaviours.md` and `kms-authorization.md` §5 where AWS's wording
//! is known.

use keyward_crypto::CryptoError;
use keyward_grants::key_grants::KeyGrantsError;

/// The KMS error codes the service returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    AccessDenied,
    AlreadyExists,
    Disabled,
    IncorrectKey,
    InvalidAliasName,
    InvalidArn,
    InvalidCiphertext,
    InvalidGrantId,
    InvalidGrantToken,
    InvalidKeyUsage,
    InvalidMarker,
    KmsInternal,
    KmsInvalidMac,
    KmsInvalidSignature,
    KmsInvalidState,
    LimitExceeded,
    MalformedPolicyDocument,
    NotFound,
    Tag,
    UnsupportedOperation,
    Validation,
    DryRunOperation,
    ExpiredImportToken,
    IncorrectKeyMaterial,
    InvalidImportToken,
    /// Any other code from the crypto core, as it named it.
    Other(&'static str),
}

impl ErrorCode {
    /// The `__type` AWS sends.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDeniedException",
            Self::AlreadyExists => "AlreadyExistsException",
            Self::Disabled => "DisabledException",
            Self::IncorrectKey => "IncorrectKeyException",
            Self::InvalidAliasName => "InvalidAliasNameException",
            Self::InvalidArn => "InvalidArnException",
            Self::InvalidCiphertext => "InvalidCiphertextException",
            Self::InvalidGrantId => "InvalidGrantIdException",
            Self::InvalidGrantToken => "InvalidGrantTokenException",
            Self::InvalidKeyUsage => "InvalidKeyUsageException",
            Self::InvalidMarker => "InvalidMarkerException",
            Self::KmsInternal => "KMSInternalException",
            Self::KmsInvalidMac => "KMSInvalidMacException",
            Self::KmsInvalidSignature => "KMSInvalidSignatureException",
            Self::KmsInvalidState => "KMSInvalidStateException",
            Self::LimitExceeded => "LimitExceededException",
            Self::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            Self::NotFound => "NotFoundException",
            Self::Tag => "TagException",
            Self::UnsupportedOperation => "UnsupportedOperationException",
            Self::Validation => "ValidationException",
            Self::DryRunOperation => "DryRunOperationException",
            Self::ExpiredImportToken => "ExpiredImportTokenException",
            Self::IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            Self::InvalidImportToken => "InvalidImportTokenException",
            Self::Other(code) => code,
        }
    }

    fn from_str(code: &'static str) -> Self {
        [
            Self::AccessDenied,
            Self::AlreadyExists,
            Self::Disabled,
            Self::IncorrectKey,
            Self::InvalidAliasName,
            Self::InvalidArn,
            Self::InvalidCiphertext,
            Self::InvalidGrantId,
            Self::InvalidGrantToken,
            Self::InvalidKeyUsage,
            Self::InvalidMarker,
            Self::KmsInternal,
            Self::KmsInvalidMac,
            Self::KmsInvalidSignature,
            Self::KmsInvalidState,
            Self::LimitExceeded,
            Self::MalformedPolicyDocument,
            Self::NotFound,
            Self::Tag,
            Self::UnsupportedOperation,
            Self::Validation,
            Self::DryRunOperation,
            Self::ExpiredImportToken,
            Self::IncorrectKeyMaterial,
            Self::InvalidImportToken,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or(Self::Other(code))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A KMS error: its code and the message AWS sends (`None` where AWS sends none, as for
/// `InvalidCiphertextException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {}", message.as_deref().unwrap_or(""))]
pub struct KmsError {
    pub code: ErrorCode,
    pub message: Option<String>,
}

impl KmsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::KmsInvalidState, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::KmsInternal, message)
    }

    /// The `ValidationException` AWS sends for a parameter out of its length bounds.
    pub fn length(field: &str, max: usize) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ))
    }

    /// The code as AWS spells it.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// The crypto core names a key by its ID; KMS messages name it by ARN
    /// (`<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt.`).
    #[must_use]
    pub(crate) fn naming_key(mut self, id: &str, arn: &str) -> Self {
        if let Some(message) = &mut self.message
            && let Some(rest) = message.strip_prefix(id)
        {
            *message = format!("{arn}{rest}");
        }
        self
    }
}

impl From<CryptoError> for KmsError {
    fn from(error: CryptoError) -> Self {
        Self {
            code: ErrorCode::from_str(error.code()),
            message: error.message(),
        }
    }
}

impl From<KeyGrantsError> for KmsError {
    fn from(error: KeyGrantsError) -> Self {
        Self::new(ErrorCode::from_str(error.code()), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_errors_keep_code_and_missing_message() {
        let e = KmsError::from(CryptoError::InvalidCiphertext);
        assert_eq!(e.code, ErrorCode::InvalidCiphertext);
        assert_eq!(e.message, None);
        let e = KmsError::from(CryptoError::Internal("x"));
        assert_eq!(e.code(), "KMSInternalException");
    }

    #[test]
    fn every_named_code_round_trips() {
        for code in [
            ErrorCode::AccessDenied,
            ErrorCode::KmsInvalidState,
            ErrorCode::MalformedPolicyDocument,
            ErrorCode::DryRunOperation,
        ] {
            assert_eq!(ErrorCode::from_str(code.as_str()), code);
        }
        assert_eq!(
            ErrorCode::from_str("SomethingNewException"),
            ErrorCode::Other("SomethingNewException")
        );
    }
}

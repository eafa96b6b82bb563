//! Errors of the crypto core, each carrying the KMS error code it maps to and, where AWS sends
//! one, AWS's message (as LocalStack's KMS snapshot tests recorded it from AWS; the cases of
//! `fixtures/crypto/operations.json` name each test).

use thiserror::Error;

/// An error from a cryptographic operation.
///
/// [`CryptoError::code`] is the KMS error code; [`CryptoError::message`] is the message KMS
/// sends, `None` where AWS sends none (ciphertext, signature and MAC failures: an empty answer
/// does not tell the caller which of key, ciphertext or context was wrong). `Display` is for
/// people and logs and never contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A value outside an API enum.
    #[error(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]"
    )]
    NotInEnum {
        /// The value given, as written.
        value: String,
        /// The API field it was given for, as KMS names it in validation messages (e.g.
        /// `keySpec`).
        field: &'static str,
        /// The field's accepted values, comma-separated, in the order AWS lists them.
        allowed: String,
    },
    /// A byte string longer than the API allows.
    #[error(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
    )]
    TooLong {
        /// The API field, as KMS names it in validation messages (e.g. `plaintext`).
        field: &'static str,
        /// The longest length the field accepts, in bytes.
        max: usize,
    },
    /// A byte string shorter than the API allows.
    #[error(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
    )]
    TooShort {
        /// The API field, as KMS names it in validation messages (e.g. `plaintext`).
        field: &'static str,
        /// The shortest length the field accepts, in bytes.
        min: usize,
    },
    /// A number above the API's maximum.
    #[error(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value less than or equal to {max}"
    )]
    ValueTooLarge {
        /// The API field, as KMS names it in validation messages (e.g. `numberOfBytes`).
        field: &'static str,
        /// The number given.
        value: u64,
        /// The largest number the field accepts.
        max: u64,
    },
    /// A number below the API's minimum.
    #[error(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
    )]
    ValueTooSmall {
        /// The API field, as KMS names it in validation messages (e.g. `numberOfBytes`).
        field: &'static str,
        /// The number given.
        value: u64,
        /// The smallest number the field accepts.
        min: u64,
    },
    /// CreateKey without KeyUsage for a spec other than SYMMETRIC_DEFAULT.
    #[error(
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    )]
    UsageRequired,
    /// CreateKey with a usage the spec does not allow.
    #[error("KeyUsage {usage} is not compatible with KeySpec {spec}")]
    UsageNotCompatible {
        /// The requested `KeyUsage`, by its API name (e.g. `SIGN_VERIFY`).
        usage: &'static str,
        /// The requested `KeySpec`, by its API name (e.g. `SYMMETRIC_DEFAULT`).
        spec: &'static str,
    },
    /// An RSA plaintext over the per-spec limit.
    #[error(
        "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
    )]
    RsaPlaintextTooLarge {
        /// The encryption algorithm, by its API name (e.g. `RSAES_OAEP_SHA_256`).
        algorithm: &'static str,
        /// The key's `KeySpec`, by its API name (e.g. `RSA_2048`).
        spec: &'static str,
        /// The largest plaintext this algorithm and spec encrypt, in bytes.
        max: usize,
    },
    /// A `DIGEST` message whose length is not the algorithm's digest length.
    #[error("Digest is invalid length for algorithm {algorithm}.")]
    DigestLength {
        /// The signing algorithm, by its API name (e.g. `ECDSA_SHA_256`).
        algorithm: &'static str,
    },
    /// A message type the algorithm cannot take (ED25519_SHA_512 signs `RAW` messages only).
    #[error("MessageType {message_type} is not valid for algorithm {algorithm}.")]
    MessageTypeNotValid {
        /// The `MessageType` given, by its API name (`RAW` or `DIGEST`).
        message_type: &'static str,
        /// The signing algorithm, by its API name (e.g. `ED25519_SHA_512`).
        algorithm: &'static str,
    },
    /// A message type the key spec cannot take: ML-DSA keys never sign a `DIGEST`, and only
    /// ML-DSA keys take `EXTERNAL_MU` (AWS: `Message type DIGEST is incompatible with key spec
    /// ML_DSA_44.`).
    #[error("Message type {message_type} is incompatible with key spec {spec}.")]
    MessageTypeIncompatible {
        /// The `MessageType` given, by its API name.
        message_type: &'static str,
        /// The key spec, by its API name.
        spec: &'static str,
    },
    /// An encryption context given to an asymmetric key, which cannot bind one.
    #[error("EncryptionContext is not supported for asymmetric KMS keys.")]
    ContextNotSupported,
    /// An asymmetric Decrypt or Encrypt without an encryption algorithm, or a required
    /// parameter left out.
    #[error("{0} is required.")]
    Required(&'static str),
    /// A peer public key that is not a DER SubjectPublicKeyInfo on the key's curve (AWS sends
    /// no message).
    #[error("the public key is not a DER SubjectPublicKeyInfo for the key's curve")]
    InvalidPublicKey,
    /// The key's usage does not allow the operation.
    #[error("{key} key usage is {usage} which is not valid for {operation}.")]
    WrongUsage {
        /// The key as error messages name it: its ARN when the key is
        /// [`named`](crate::CryptoKey::named), else its key ID.
        key: String,
        /// The key's `KeyUsage`, by its API name (e.g. `SIGN_VERIFY`).
        usage: &'static str,
        /// The operation refused, by its API name (e.g. `Encrypt`).
        operation: &'static str,
    },
    /// The algorithm does not belong to the key's spec.
    #[error("Algorithm {algorithm} is incompatible with key spec {spec}.")]
    AlgorithmIncompatible {
        /// The algorithm requested, by its API name.
        algorithm: &'static str,
        /// The key's `KeySpec`, by its API name.
        spec: &'static str,
    },
    /// The ciphertext is not one this key made, was changed, or its encryption context
    /// differs (AWS sends no message).
    #[error("the ciphertext is invalid, was changed, or its encryption context differs")]
    InvalidCiphertext,
    /// The ciphertext was made by another key than the one named.
    #[error("The key ID in the request does not identify a CMK that can perform this operation.")]
    IncorrectKey,
    /// Verify found the signature invalid (AWS sends no message).
    #[error("the signature is not valid for this message and key")]
    InvalidSignature,
    /// VerifyMac found the MAC invalid (AWS sends no message).
    #[error("the MAC is not valid for this message and key")]
    InvalidMac,
    /// The key has no key material (an EXTERNAL key before import or after its material was
    /// deleted or expired); KMS reports the key as pending import.
    #[error("{key} is pending import.")]
    PendingImport {
        /// The key as error messages name it: its ARN when the key is
        /// [`named`](crate::CryptoKey::named), else its key ID.
        key: String,
    },
    /// A key spec this library cannot create or use.
    #[error("KeySpec {0} is not supported by this implementation")]
    UnsupportedKeySpec(&'static str),
    /// A valid KMS algorithm this library cannot perform.
    #[error("{0} is not supported by this implementation")]
    UnsupportedAlgorithm(&'static str),
    /// An operation the key cannot perform for another reason than its usage (rotating an
    /// asymmetric key, importing into a key of origin AWS_KMS, ...).
    #[error("{0}")]
    UnsupportedOperation(String),
    /// The import token is not the one issued with the wrapping key.
    #[error("the import token is not valid for this key and wrapping key")]
    InvalidImportToken,
    /// The import token (and its wrapping key) expired: they are valid for 24 hours.
    #[error("the import token has expired; call GetParametersForImport again")]
    ExpiredImportToken,
    /// Reimported key material differs from the key's original material.
    #[error("the key material differs from the material previously imported into this key")]
    IncorrectKeyMaterial,
    /// New key material while other new material waits for its rotation (AWS's text).
    #[error(
        "New key material (id: {new}) cannot be imported into KMS key {key}, because another key material (id: {pending}) is pending rotation."
    )]
    MaterialPendingRotation {
        /// The key as error messages name it: its ARN when the key is
        /// [`named`](crate::CryptoKey::named), else its key ID.
        key: String,
        /// The `KeyMaterialId` (64 hex digits) of the material being imported.
        new: String,
        /// The `KeyMaterialId` of the material already waiting for rotation.
        pending: String,
    },
    /// "New" key material that the key already has.
    #[error(
        "The key material (id: {material}) is already associated with KMS key {key}: import it again with ImportType EXISTING_KEY_MATERIAL."
    )]
    MaterialAlreadyAssociated {
        /// The key as error messages name it: its ARN when the key is
        /// [`named`](crate::CryptoKey::named), else its key ID.
        key: String,
        /// The `KeyMaterialId` (64 hex digits) of the material the key already has.
        material: String,
    },
    /// A `KeyMaterialId` that names no material of the key.
    #[error("Key material (id: {material}) is not associated with KMS key {key}.")]
    UnknownMaterial {
        /// The key as error messages name it: its ARN when the key is
        /// [`named`](crate::CryptoKey::named), else its key ID.
        key: String,
        /// The `KeyMaterialId` given.
        material: String,
    },
    /// Imported key material of the wrong size or form for the key spec.
    #[error("{0}")]
    InvalidKeyMaterial(String),
    /// The wrapping algorithm cannot carry this key material.
    #[error("{0}")]
    WrappingNotValid(String),
    /// A failure inside the cryptographic library (randomness, key generation).
    #[error("internal error in the cryptographic library during {0}")]
    Internal(&'static str),
    /// Stored key material that does not open under the root key: another root key, another
    /// key's record, or a changed or truncated record.
    #[error(
        "the stored key material cannot be opened with this root key (wrong root key, or the record was changed)"
    )]
    SealedKeyCorrupt,
    /// The token of a key in a custom key store refused or failed ([`crate::KeyToken`]).
    #[error("{0}")]
    Token(crate::TokenError),
}

/// The KMS error each [`CryptoError`] is: what the key service answers with. Named after the
/// KMS error code, which [`ErrorKind::code`] spells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `ValidationException`.
    Validation,
    /// `InvalidKeyUsageException`.
    InvalidKeyUsage,
    /// `InvalidCiphertextException`.
    InvalidCiphertext,
    /// `IncorrectKeyException`.
    IncorrectKey,
    /// `KMSInvalidSignatureException`.
    KmsInvalidSignature,
    /// `KMSInvalidMacException`.
    KmsInvalidMac,
    /// `KMSInvalidStateException`.
    KmsInvalidState,
    /// `NotFoundException`.
    NotFound,
    /// `UnsupportedOperationException`.
    UnsupportedOperation,
    /// `InvalidImportTokenException`.
    InvalidImportToken,
    /// `ExpiredImportTokenException`.
    ExpiredImportToken,
    /// `IncorrectKeyMaterialException`.
    IncorrectKeyMaterial,
    /// `KMSInternalException`.
    KmsInternal,
}

impl ErrorKind {
    /// The KMS error code (`__type` of the AWS JSON error body).
    pub const fn code(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::InvalidKeyUsage => "InvalidKeyUsageException",
            Self::InvalidCiphertext => "InvalidCiphertextException",
            Self::IncorrectKey => "IncorrectKeyException",
            Self::KmsInvalidSignature => "KMSInvalidSignatureException",
            Self::KmsInvalidMac => "KMSInvalidMacException",
            Self::KmsInvalidState => "KMSInvalidStateException",
            Self::NotFound => "NotFoundException",
            Self::UnsupportedOperation => "UnsupportedOperationException",
            Self::InvalidImportToken => "InvalidImportTokenException",
            Self::ExpiredImportToken => "ExpiredImportTokenException",
            Self::IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            Self::KmsInternal => "KMSInternalException",
        }
    }
}

impl CryptoError {
    /// Which KMS error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotInEnum { .. }
            | Self::TooLong { .. }
            | Self::TooShort { .. }
            | Self::ValueTooLarge { .. }
            | Self::ValueTooSmall { .. }
            | Self::UsageRequired
            | Self::UsageNotCompatible { .. }
            | Self::RsaPlaintextTooLarge { .. }
            | Self::DigestLength { .. }
            | Self::MessageTypeNotValid { .. }
            | Self::MessageTypeIncompatible { .. }
            | Self::ContextNotSupported
            | Self::Required(_)
            | Self::InvalidPublicKey
            | Self::InvalidKeyMaterial(_)
            | Self::WrappingNotValid(_) => ErrorKind::Validation,
            Self::WrongUsage { .. } | Self::AlgorithmIncompatible { .. } => {
                ErrorKind::InvalidKeyUsage
            }
            Self::InvalidCiphertext => ErrorKind::InvalidCiphertext,
            Self::IncorrectKey => ErrorKind::IncorrectKey,
            Self::InvalidSignature => ErrorKind::KmsInvalidSignature,
            Self::InvalidMac => ErrorKind::KmsInvalidMac,
            Self::PendingImport { .. }
            | Self::MaterialPendingRotation { .. }
            | Self::MaterialAlreadyAssociated { .. } => ErrorKind::KmsInvalidState,
            Self::UnknownMaterial { .. } => ErrorKind::NotFound,
            Self::UnsupportedKeySpec(_)
            | Self::UnsupportedAlgorithm(_)
            | Self::UnsupportedOperation(_) => ErrorKind::UnsupportedOperation,
            Self::InvalidImportToken => ErrorKind::InvalidImportToken,
            Self::ExpiredImportToken => ErrorKind::ExpiredImportToken,
            Self::IncorrectKeyMaterial => ErrorKind::IncorrectKeyMaterial,
            Self::Internal(_) | Self::SealedKeyCorrupt => ErrorKind::KmsInternal,
            // A key store that is not connected, or a key gone from its token, is a state of
            // the key store (KMS: KMSInvalidStateException); any other failure is KMS's own.
            Self::Token(crate::TokenError::Disconnected(_) | crate::TokenError::NoKey(_)) => {
                ErrorKind::KmsInvalidState
            }
            Self::Token(_) => ErrorKind::KmsInternal,
        }
    }

    /// The KMS error code (`__type` of the AWS JSON error body): [`Self::kind`]'s.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// The message KMS sends with the error; `None` where AWS sends no message.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::InvalidCiphertext
            | Self::InvalidSignature
            | Self::InvalidMac
            | Self::InvalidPublicKey => None,
            other => Some(other.to_string()),
        }
    }

    pub(crate) fn not_in_enum<'a>(
        value: &str,
        field: &'static str,
        allowed: impl Iterator<Item = &'a str>,
    ) -> Self {
        Self::NotInEnum {
            value: value.to_owned(),
            field,
            allowed: allowed.collect::<Vec<_>>().join(", "),
        }
    }

    /// Checks that `bytes` has 1..=`max` bytes, with KMS's validation messages.
    pub(crate) fn check_length(field: &'static str, bytes: &[u8], max: usize) -> Result<(), Self> {
        if bytes.is_empty() {
            Err(Self::TooShort { field, min: 1 })
        } else if bytes.len() > max {
            Err(Self::TooLong { field, max })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_errors_send_no_message() {
        for error in [
            CryptoError::InvalidCiphertext,
            CryptoError::InvalidSignature,
            CryptoError::InvalidMac,
            CryptoError::InvalidPublicKey,
        ] {
            assert_eq!(error.message(), None, "{error:?}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn messages_are_aws_text() {
        let error = CryptoError::WrongUsage {
            key: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
            usage: "SIGN_VERIFY",
            operation: "Encrypt",
        };
        assert_eq!(error.code(), "InvalidKeyUsageException");
        assert_eq!(
            error.message().unwrap(),
            "arn:aws:kms:us-east-1:111122223333:key/k key usage is SIGN_VERIFY which is not valid for Encrypt."
        );
        assert_eq!(
            CryptoError::TooLong {
                field: "plaintext",
                max: 4096
            }
            .to_string(),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
        );
        assert_eq!(
            CryptoError::ValueTooLarge {
                field: "numberOfBytes",
                value: 1025,
                max: 1024
            }
            .to_string(),
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
        );
        assert_eq!(
            CryptoError::IncorrectKey.message().unwrap(),
            "The key ID in the request does not identify a CMK that can perform this operation."
        );
    }
}

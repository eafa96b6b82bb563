//! The error codes a KMS endpoint answers with (`__type` in the AWS JSON 1.1 error body), each
//! with its HTTP status, and the error as the client receives it.

use serde_json::{Map, Value};

/// Declares the codes once: the variant, the `__type` AWS sends, the HTTP status.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident => $text:literal, $status:literal;)*) => {
        /// An error code of the KMS API, or of the AWS JSON 1.1 protocol around it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The `__type` AWS sends: `AccessDeniedException`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $text,)*
                }
            }

            /// The HTTP status of a response with this code.
            pub const fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$name => $status,)*
                }
            }
        }
    };
}

error_codes! {
    /// The caller is not allowed the action, or may not see the key.
    AccessDenied => "AccessDeniedException", 400;
    /// The alias exists already.
    AlreadyExists => "AlreadyExistsException", 400;
    /// A custom key store's cluster (for Keyward: its PKCS#11 token) is not reachable.
    CloudHsmClusterNotActive => "CloudHsmClusterNotActiveException", 400;
    /// A custom key store's cluster (token) is not found.
    CloudHsmClusterNotFound => "CloudHsmClusterNotFoundException", 400;
    /// A custom key store's cluster (token) is another store's already.
    CloudHsmClusterInUse => "CloudHsmClusterInUseException", 400;
    /// The custom key store still holds keys.
    CustomKeyStoreHasCmks => "CustomKeyStoreHasCMKsException", 400;
    /// The custom key store's connection state does not allow the operation.
    CustomKeyStoreInvalidState => "CustomKeyStoreInvalidStateException", 400;
    /// Another custom key store has the name.
    CustomKeyStoreNameInUse => "CustomKeyStoreNameInUseException", 400;
    /// No custom key store has the ID or name.
    CustomKeyStoreNotFound => "CustomKeyStoreNotFoundException", 400;
    /// The key is disabled.
    Disabled => "DisabledException", 400;
    /// `DryRun` was set and the request would have succeeded.
    DryRunOperation => "DryRunOperationException", 400;
    /// The import token expired.
    ExpiredImportToken => "ExpiredImportTokenException", 400;
    /// The key named is not the key of the ciphertext.
    IncorrectKey => "IncorrectKeyException", 400;
    /// Imported material differs from the key's material.
    IncorrectKeyMaterial => "IncorrectKeyMaterialException", 400;
    /// The alias name is not valid.
    InvalidAliasName => "InvalidAliasNameException", 400;
    /// An ARN that is not valid here.
    InvalidArn => "InvalidArnException", 400;
    /// The ciphertext is not valid (AWS sends no message).
    InvalidCiphertext => "InvalidCiphertextException", 400;
    /// No grant has this ID.
    InvalidGrantId => "InvalidGrantIdException", 400;
    /// A grant token that is not valid.
    InvalidGrantToken => "InvalidGrantTokenException", 400;
    /// The import token is not valid.
    InvalidImportToken => "InvalidImportTokenException", 400;
    /// The key's usage or spec does not allow the operation.
    InvalidKeyUsage => "InvalidKeyUsageException", 400;
    /// A `Marker` that no previous page gave.
    InvalidMarker => "InvalidMarkerException", 400;
    /// An internal failure of the service.
    KmsInternal => "KMSInternalException", 500;
    /// VerifyMac found the MAC not valid.
    KmsInvalidMac => "KMSInvalidMacException", 400;
    /// Verify found the signature not valid.
    KmsInvalidSignature => "KMSInvalidSignatureException", 400;
    /// The key's state does not allow the operation.
    KmsInvalidState => "KMSInvalidStateException", 400;
    /// A limit was reached.
    LimitExceeded => "LimitExceededException", 400;
    /// The key policy is not valid.
    MalformedPolicyDocument => "MalformedPolicyDocumentException", 400;
    /// The key, alias or key material does not exist.
    NotFound => "NotFoundException", 400;
    /// A tag that is not valid.
    Tag => "TagException", 400;
    /// The operation, or one of its parameters, is not supported.
    UnsupportedOperation => "UnsupportedOperationException", 400;
    /// A parameter outside its constraints.
    Validation => "ValidationException", 400;
    /// The body does not deserialize into the operation's input.
    Serialization => "SerializationException", 400;
    /// `X-Amz-Target` names no operation.
    UnknownOperation => "UnknownOperationException", 400;
    /// The request carries no signature.
    MissingAuthenticationToken => "MissingAuthenticationTokenException", 400;
    /// The signature is incomplete or malformed.
    IncompleteSignature => "IncompleteSignatureException", 400;
    /// The access key is not known.
    UnrecognizedClient => "UnrecognizedClientException", 400;
    /// The signature does not match.
    InvalidSignature => "InvalidSignatureException", 400;
    /// Too many requests at once.
    Throttling => "ThrottlingException", 400;
    /// The request was not received in time.
    RequestTimeout => "RequestTimeoutException", 408;
    /// The request body is too large.
    RequestEntityTooLarge => "RequestEntityTooLargeException", 413;
    /// The request head is too large.
    RequestHeaderFieldsTooLarge => "RequestHeaderFieldsTooLargeException", 431;
    /// A method other than POST.
    UnsupportedMethod => "UnsupportedMethodException", 405;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the client receives it: the code (which gives the HTTP status) and the message,
/// `None` where AWS sends none (`InvalidCiphertextException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {}", message.as_deref().unwrap_or(""))]
pub struct ApiError {
    /// The code.
    pub code: ErrorCode,
    /// The message.
    pub message: Option<String>,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
        }
    }

    /// The HTTP status.
    pub const fn status(&self) -> u16 {
        self.code.http_status()
    }

    /// The JSON body: `{"__type": ..., "message": ...}`, without `message` where there is none.
    pub fn body(&self) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("__type".into(), Value::String(self.code.as_str().into()));
        if let Some(message) = &self.message {
            object.insert("message".into(), Value::String(message.clone()));
        }
        serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn every_code_is_an_exception_name_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(code.as_str().ends_with("Exception"), "{code:?}");
            assert!(seen.insert(code.as_str()), "{code:?} twice");
        }
    }

    #[test]
    fn statuses_follow_the_code() {
        assert_eq!(ErrorCode::KmsInternal.http_status(), 500);
        assert_eq!(ErrorCode::AccessDenied.http_status(), 400);
        assert_eq!(ErrorCode::RequestEntityTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::RequestHeaderFieldsTooLarge.http_status(), 431);
    }

    #[test]
    fn errors_without_a_message_have_no_message_member() {
        let e = ApiError {
            code: ErrorCode::InvalidCiphertext,
            message: None,
        };
        assert_eq!(e.body(), br#"{"__type":"InvalidCiphertextException"}"#);
        let e = ApiError::new(ErrorCode::AccessDenied, "no");
        assert_eq!(
            e.body(),
            br#"{"__type":"AccessDeniedException","message":"no"}"#
        );
    }
}

//! Signing: Sign, Verify, GetPublicKey.

use crate::common::key_id_constructor;
use crate::wire::blob;
use serde::{Deserialize, Serialize};

/// Sign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// The message, or its digest.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// `RAW` (the default) or `DIGEST`.
    pub message_type: Option<String>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// The signing algorithm.
    pub signing_algorithm: String,
    /// Check the request and the caller's permission without signing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Sign's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignResponse {
    /// The key ARN.
    pub key_id: String,
    /// The signature.
    #[serde(with = "blob")]
    pub signature: Vec<u8>,
    /// The algorithm used.
    pub signing_algorithm: String,
}

/// Verify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// The message, or its digest.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// `RAW` (the default) or `DIGEST`.
    pub message_type: Option<String>,
    /// The signature to check.
    #[serde(with = "blob")]
    pub signature: Vec<u8>,
    /// The signing algorithm.
    pub signing_algorithm: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without verifying.
    #[serde(default)]
    pub dry_run: bool,
}

/// Verify's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResponse {
    /// The key ARN.
    pub key_id: String,
    /// Always true: a signature that does not match is `KMSInvalidSignatureException`.
    pub signature_valid: bool,
    /// The algorithm used.
    pub signing_algorithm: String,
}

/// GetPublicKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
}

/// GetPublicKey's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyResponse {
    /// The key ARN.
    pub key_id: String,
    /// The public key (DER SubjectPublicKeyInfo).
    #[serde(with = "blob")]
    pub public_key: Vec<u8>,
    /// The key spec, under its former name.
    pub customer_master_key_spec: String,
    /// The key spec.
    pub key_spec: String,
    /// The key usage.
    pub key_usage: String,
    /// Encryption keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encryption_algorithms: Vec<String>,
    /// Signing keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signing_algorithms: Vec<String>,
    /// Key agreement keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_agreement_algorithms: Vec<String>,
}

key_id_constructor!(GetPublicKeyRequest);

//! Key agreement: DeriveSharedSecret.

use crate::common::Unsupported;
use crate::wire::{SecretBytes, blob};
use serde::{Deserialize, Serialize};

/// DeriveSharedSecret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `ECDH`.
    pub key_agreement_algorithm: String,
    /// The peer's public key (DER SubjectPublicKeyInfo).
    #[serde(with = "blob")]
    pub public_key: Vec<u8>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without deriving.
    #[serde(default)]
    pub dry_run: bool,
    /// Nitro Enclaves attestation (not offered: refused).
    pub recipient: Unsupported,
}

/// DeriveSharedSecret's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretResponse {
    /// The key ARN.
    pub key_id: String,
    /// The shared secret.
    pub shared_secret: SecretBytes,
    /// `ECDH`.
    pub key_agreement_algorithm: String,
    /// The key's origin.
    pub key_origin: String,
}

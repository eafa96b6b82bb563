//! Requests and responses, shaped like the KMS API (field names are the API's, in snake case).

use keyward_crypto::Secret;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The state of a key (`KeyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
}

impl KeyState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::PendingImport => "PendingImport",
        }
    }
}

/// `KeyMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    pub key_id: String,
    pub arn: String,
    pub aws_account_id: String,
    pub creation_date: SystemTime,
    pub description: String,
    pub enabled: bool,
    pub key_state: KeyState,
    pub key_spec: String,
    pub key_usage: String,
    pub origin: String,
    pub key_manager: &'static str,
    pub deletion_date: Option<SystemTime>,
    pub pending_deletion_window_in_days: Option<u32>,
    pub encryption_algorithms: Vec<String>,
    pub signing_algorithms: Vec<String>,
    pub mac_algorithms: Vec<String>,
}

/// CreateKey.
#[derive(Debug, Clone, Default)]
pub struct CreateKeyRequest {
    /// `KeySpec` (default `SYMMETRIC_DEFAULT`).
    pub key_spec: Option<String>,
    /// `KeyUsage` (default `ENCRYPT_DECRYPT`; required for other specs).
    pub key_usage: Option<String>,
    /// `Origin`: `AWS_KMS` (default) or `EXTERNAL`.
    pub origin: Option<String>,
    pub description: Option<String>,
    /// `Policy`; the default key policy when absent.
    pub policy: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub tags: Vec<(String, String)>,
}

/// Encrypt.
#[derive(Debug, Clone, Default)]
pub struct EncryptRequest {
    pub key_id: String,
    pub plaintext: Vec<u8>,
    pub encryption_context: BTreeMap<String, String>,
    pub encryption_algorithm: Option<String>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptResponse {
    pub ciphertext_blob: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    pub encryption_algorithm: String,
}

/// Decrypt.
#[derive(Debug, Clone, Default)]
pub struct DecryptRequest {
    pub ciphertext_blob: Vec<u8>,
    pub key_id: Option<String>,
    pub encryption_context: BTreeMap<String, String>,
    pub encryption_algorithm: Option<String>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct DecryptResponse {
    pub plaintext: Secret,
    pub key_id: String,
    pub encryption_algorithm: String,
}

/// GenerateDataKey (and WithoutPlaintext).
#[derive(Debug, Clone, Default)]
pub struct GenerateDataKeyRequest {
    pub key_id: String,
    /// `AES_128` or `AES_256`.
    pub key_spec: Option<String>,
    pub number_of_bytes: Option<u64>,
    pub encryption_context: BTreeMap<String, String>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct GenerateDataKeyResponse {
    pub ciphertext_blob: Vec<u8>,
    /// `None` for GenerateDataKeyWithoutPlaintext.
    pub plaintext: Option<Secret>,
    pub key_id: String,
}

/// ReEncrypt.
#[derive(Debug, Clone, Default)]
pub struct ReEncryptRequest {
    pub ciphertext_blob: Vec<u8>,
    pub source_key_id: Option<String>,
    pub source_encryption_context: BTreeMap<String, String>,
    pub destination_key_id: String,
    pub destination_encryption_context: BTreeMap<String, String>,
    pub grant_tokens: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncryptResponse {
    pub ciphertext_blob: Vec<u8>,
    pub source_key_id: String,
    pub key_id: String,
}

/// CreateGrant.
#[derive(Debug, Clone, Default)]
pub struct CreateGrantRequest {
    pub key_id: String,
    pub grantee_principal: String,
    pub retiring_principal: Option<String>,
    pub operations: Vec<String>,
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    pub name: Option<String>,
    pub grant_tokens: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateGrantResponse {
    pub grant_id: String,
    pub grant_token: String,
}

/// One grant, as ListGrants returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantListEntry {
    pub key_id: String,
    pub grant_id: String,
    pub name: Option<String>,
    pub grantee_principal: String,
    pub retiring_principal: Option<String>,
    pub issuing_account: Option<String>,
    pub operations: Vec<String>,
}

/// RetireGrant: by token, or by key and grant ID.
#[derive(Debug, Clone, Default)]
pub struct RetireGrantRequest {
    pub grant_token: Option<String>,
    pub key_id: Option<String>,
    pub grant_id: Option<String>,
}

/// One alias, as ListAliases returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
}

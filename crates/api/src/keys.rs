//! Keys: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription.

use crate::common::{Tag, key_id_constructor};
use crate::wire::timestamp;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// CreateKey.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    /// The key policy; the default key policy when absent.
    pub policy: Option<String>,
    /// A description of at most 8192 characters.
    pub description: Option<String>,
    /// `ENCRYPT_DECRYPT` (the default for symmetric keys), `SIGN_VERIFY`, ...
    pub key_usage: Option<String>,
    /// The former name of `KeySpec`, read when `KeySpec` is absent.
    pub customer_master_key_spec: Option<String>,
    /// `SYMMETRIC_DEFAULT` (the default), `RSA_2048`, `ECC_NIST_P256`, `HMAC_256`, ...
    pub key_spec: Option<String>,
    /// `AWS_KMS` (the default) or `EXTERNAL`.
    pub origin: Option<String>,
    /// A custom key store (not offered: refused).
    pub custom_key_store_id: Option<String>,
    /// Skips the lockout safety check of the policy.
    pub bypass_policy_lockout_safety_check: Option<bool>,
    /// Tags of the new key.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// A multi-Region key (not offered: refused when true).
    pub multi_region: Option<bool>,
    /// A key in an external key store (not offered: refused).
    pub xks_key_id: Option<String>,
}

/// CreateKey's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyResponse {
    /// The new key.
    pub key_metadata: KeyMetadata,
}

/// The state of a key (`KeyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Disabled by DisableKey.
    Disabled,
    /// Scheduled for deletion.
    PendingDeletion,
    /// An EXTERNAL key without its key material.
    PendingImport,
}

impl KeyState {
    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::PendingImport => "PendingImport",
        }
    }
}

/// `KeyMetadata`: what DescribeKey and CreateKey tell of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// The account the key belongs to.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// The key ID.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// When the key was created.
    #[serde(with = "timestamp")]
    pub creation_date: SystemTime,
    /// Whether the key state is `Enabled`.
    pub enabled: bool,
    /// The description (empty when none was given).
    pub description: String,
    /// The key usage.
    pub key_usage: String,
    /// The key state.
    pub key_state: KeyState,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// `CUSTOMER`: Keyward holds customer managed keys.
    pub key_manager: String,
    /// The key spec, under its former name (AWS still sends both).
    pub customer_master_key_spec: String,
    /// The key spec.
    pub key_spec: String,
    /// Always false: Keyward has no multi-Region keys.
    pub multi_region: bool,
    /// When a key pending deletion is deleted.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub deletion_date: Option<SystemTime>,
    /// The waiting period of a key pending deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    /// Encryption keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encryption_algorithms: Vec<String>,
    /// Signing keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signing_algorithms: Vec<String>,
    /// HMAC keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mac_algorithms: Vec<String>,
    /// Key agreement keys: their algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_agreement_algorithms: Vec<String>,
    /// Keys with imported material: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    /// Keys with imported material that expires: when.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_to: Option<SystemTime>,
    /// Symmetric encryption keys with material: the `KeyMaterialId` of the current material.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// DescribeKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
}

/// DescribeKey's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyResponse {
    /// The key.
    pub key_metadata: KeyMetadata,
}

/// ListKeys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One key as ListKeys lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// The key ID.
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
}

/// ListKeys's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    /// The keys of the caller's account, in key ID order.
    pub keys: Vec<KeyListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more keys follow.
    pub truncated: bool,
}

/// EnableKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// DisableKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisableKeyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// ScheduleKeyDeletion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 7 to 30 days; 30 when absent.
    pub pending_window_in_days: Option<u32>,
}

/// ScheduleKeyDeletion's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionResponse {
    /// The key ARN.
    pub key_id: String,
    /// When the key will be deleted.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub deletion_date: Option<SystemTime>,
    /// `PendingDeletion`.
    pub key_state: KeyState,
    /// The waiting period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_window_in_days: Option<u32>,
}

/// CancelKeyDeletion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelKeyDeletionRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// CancelKeyDeletion's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelKeyDeletionResponse {
    /// The key ARN.
    pub key_id: String,
}

/// UpdateKeyDescription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The new description, at most 8192 characters.
    pub description: String,
}

key_id_constructor!(
    DescribeKeyRequest,
    EnableKeyRequest,
    DisableKeyRequest,
    ScheduleKeyDeletionRequest,
    CancelKeyDeletionRequest,
);

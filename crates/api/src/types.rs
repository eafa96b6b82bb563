//! The request and response types of every operation, with serde as AWS JSON 1.1 carries
//! them: PascalCase members (`AWSAccountId` where AWS spells it so), blobs in base64
//! ([`crate::wire::blob`], [`SecretBytes`] for secrets), timestamps in epoch seconds
//! ([`crate::wire::timestamp`]), absent members left out of answers. Grouped as the key
//! service groups its operations (`crates/kms/src/operations/`).

use crate::wire::{SecretBytes, SecretText, blob, timestamp};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

// Shapes several operations share.

/// The answer of an operation that returns nothing: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// A tag: `{"TagKey": ..., "TagValue": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub tag_key: String,
    /// The value.
    pub tag_value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            tag_key: key.into(),
            tag_value: value.into(),
        }
    }
}

/// An encryption context (`EncryptionContext` and the like): keys and values, in key order.
pub type EncryptionContext = std::collections::BTreeMap<String, String>;

/// Gives requests whose only required member is `KeyId` a constructor taking it.
macro_rules! key_id_constructor {
    ($($request:ident),* $(,)?) => {
        $(
            impl $request {
                /// The request for the key `key_id`, its other members absent.
                #[allow(
                    clippy::needless_update,
                    reason = "the same constructor serves requests with and without other members"
                )]
                pub fn new(key_id: impl Into<String>) -> Self {
                    Self {
                        key_id: key_id.into(),
                        ..Self::default()
                    }
                }
            }
        )*
    };
}

/// A member the API defines for a capability Keyward does not offer (a Nitro Enclaves
/// `Recipient`): only whether it is present matters, and it is refused when it is.
pub type Unsupported = Option<serde_json::Value>;

// Keys.

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
    /// A multi-Region primary key scheduled for deletion that still has replicas: its waiting
    /// period begins when the last replica is deleted.
    PendingReplicaDeletion,
}

impl KeyState {
    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::PendingImport => "PendingImport",
            Self::PendingReplicaDeletion => "PendingReplicaDeletion",
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
    /// Whether the key is a multi-Region key (`mrk-` key ID).
    pub multi_region: bool,
    /// For a multi-Region key: its primary and replicas, and which this one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
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
    /// A key in a custom key store: the store's ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    /// A key in a CloudHSM key store: the store's cluster (the token's label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_hsm_cluster_id: Option<String>,
}

/// `MultiRegionConfiguration` of a multi-Region key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    /// `PRIMARY` or `REPLICA`: which this key is.
    pub multi_region_key_type: String,
    /// The primary key.
    pub primary_key: MultiRegionKey,
    /// Every replica key.
    pub replica_keys: Vec<MultiRegionKey>,
}

/// One key of a multi-Region key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    /// Its key ARN.
    pub arn: String,
    /// Its Region.
    pub region: String,
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

// Multi-Region keys.

/// ReplicateKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyRequest {
    /// The multi-Region primary key (key ID or key ARN).
    pub key_id: String,
    /// The Region of the new replica.
    pub replica_region: String,
    /// The replica's key policy; the default key policy when absent.
    pub policy: Option<String>,
    /// Skips the lockout safety check of `Policy`.
    pub bypass_policy_lockout_safety_check: Option<bool>,
    /// The replica's description.
    pub description: Option<String>,
    /// The replica's tags (not copied from the primary).
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// ReplicateKey's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateKeyResponse {
    /// The replica.
    pub replica_key_metadata: KeyMetadata,
    /// The replica's key policy.
    pub replica_policy: String,
    /// The replica's tags.
    pub replica_tags: Vec<Tag>,
}

/// UpdatePrimaryRegion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePrimaryRegionRequest {
    /// The current primary key (key ID or key ARN).
    pub key_id: String,
    /// The Region of the replica that becomes the primary.
    pub primary_region: String,
}

// Key policies.

/// GetKeyPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// `default`, the only policy name; `default` when absent.
    pub policy_name: Option<String>,
}

/// GetKeyPolicy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyResponse {
    /// The key policy document.
    pub policy: String,
    /// `default`.
    pub policy_name: String,
}

/// PutKeyPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// `default`, the only policy name; `default` when absent.
    pub policy_name: Option<String>,
    /// The new key policy document.
    pub policy: String,
    /// Skips the lockout safety check.
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

/// ListKeyPolicies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListKeyPolicies's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    /// `["default"]`.
    pub policy_names: Vec<String>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more names follow.
    pub truncated: bool,
}

key_id_constructor!(GetKeyPolicyRequest, ListKeyPoliciesRequest);

// Tags.

/// TagResource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The tags to add or change.
    pub tags: Vec<Tag>,
}

/// UntagResource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The keys of the tags to remove.
    pub tag_keys: Vec<String>,
}

/// ListResourceTags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 1 to 1000; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListResourceTags's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    /// The key's tags, in tag key order.
    pub tags: Vec<Tag>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more tags follow.
    #[serde(default)]
    pub truncated: bool,
}

key_id_constructor!(ListResourceTagsRequest);

// Aliases.

/// CreateAlias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAliasRequest {
    /// `alias/...`.
    pub alias_name: String,
    /// The key, by key ID or key ARN.
    pub target_key_id: String,
}

/// UpdateAlias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAliasRequest {
    /// `alias/...`.
    pub alias_name: String,
    /// The new key, by key ID or key ARN.
    pub target_key_id: String,
}

/// DeleteAlias.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasRequest {
    /// `alias/...`.
    pub alias_name: String,
}

/// ListAliases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesRequest {
    /// Only the aliases of this key.
    pub key_id: Option<String>,
    /// 1 to 1000; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One alias as ListAliases lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    /// `alias/...`.
    pub alias_name: String,
    /// The alias ARN.
    pub alias_arn: String,
    /// The key ID; absent for an alias AWS predefines whose managed key does not exist yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_key_id: Option<String>,
}

/// ListAliases's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    /// The aliases, in name order.
    pub aliases: Vec<AliasListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more aliases follow.
    #[serde(default)]
    pub truncated: bool,
}

// Encryption.

/// Encrypt.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// The data to encrypt.
    pub plaintext: SecretBytes,
    /// The encryption context the ciphertext binds.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// `SYMMETRIC_DEFAULT` when absent.
    pub encryption_algorithm: Option<String>,
    /// Check the request and the caller's permission without encrypting.
    #[serde(default)]
    pub dry_run: bool,
}

impl EncryptRequest {
    /// Encrypt `plaintext` under `key_id`, with no encryption context.
    pub fn new(key_id: impl Into<String>, plaintext: impl Into<SecretBytes>) -> Self {
        Self {
            key_id: key_id.into(),
            plaintext: plaintext.into(),
            ..Self::default()
        }
    }
}

/// Encrypt's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    /// The ciphertext.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// The algorithm used.
    pub encryption_algorithm: String,
}

/// Decrypt.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    /// The ciphertext.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The encryption context the ciphertext was made with.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// The key: required for asymmetric keys; for symmetric ones it must be the ciphertext's.
    pub key_id: Option<String>,
    /// `SYMMETRIC_DEFAULT` when absent.
    pub encryption_algorithm: Option<String>,
    /// Nitro Enclaves attestation (not offered: refused).
    pub recipient: Unsupported,
    /// Check the request and the caller's permission without decrypting.
    #[serde(default)]
    pub dry_run: bool,
}

impl DecryptRequest {
    /// Decrypt `ciphertext_blob`, made with no encryption context by a symmetric key.
    pub fn new(ciphertext_blob: Vec<u8>) -> Self {
        Self {
            ciphertext_blob,
            ..Self::default()
        }
    }
}

/// Decrypt's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    /// The key ARN.
    pub key_id: String,
    /// The data.
    pub plaintext: SecretBytes,
    /// The algorithm used.
    pub encryption_algorithm: String,
    /// Symmetric keys: the key material that decrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// ReEncrypt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptRequest {
    /// The ciphertext.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The encryption context the ciphertext was made with.
    #[serde(default)]
    pub source_encryption_context: EncryptionContext,
    /// The source key: required for asymmetric keys, the ciphertext's for symmetric ones.
    pub source_key_id: Option<String>,
    /// The key to encrypt under.
    pub destination_key_id: String,
    /// The encryption context of the new ciphertext.
    #[serde(default)]
    pub destination_encryption_context: EncryptionContext,
    /// `SYMMETRIC_DEFAULT` when absent.
    pub source_encryption_algorithm: Option<String>,
    /// `SYMMETRIC_DEFAULT` when absent.
    pub destination_encryption_algorithm: Option<String>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permissions without re-encrypting.
    #[serde(default)]
    pub dry_run: bool,
}

/// ReEncrypt's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    /// The new ciphertext.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The source key's ARN.
    pub source_key_id: String,
    /// The destination key's ARN.
    pub key_id: String,
    /// The algorithm that decrypted.
    pub source_encryption_algorithm: String,
    /// The algorithm that encrypted.
    pub destination_encryption_algorithm: String,
    /// Symmetric source keys: the material that decrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_key_material_id: Option<String>,
    /// Symmetric destination keys: the material that encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_key_material_id: Option<String>,
}

/// GenerateDataKey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// The encryption context the encrypted data key binds.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// The length in bytes (1 to 1024), or `KeySpec`.
    pub number_of_bytes: Option<u32>,
    /// `AES_128` or `AES_256`, or `NumberOfBytes`.
    pub key_spec: Option<String>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Nitro Enclaves attestation (not offered: refused).
    pub recipient: Unsupported,
    /// Check the request and the caller's permission without generating.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateDataKey's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyResponse {
    /// The data key, encrypted.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The data key.
    pub plaintext: SecretBytes,
    /// The key ARN.
    pub key_id: String,
    /// The material that encrypted the data key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// GenerateDataKeyWithoutPlaintext.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextRequest {
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// The encryption context the encrypted data key binds.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// `AES_128` or `AES_256`, or `NumberOfBytes`.
    pub key_spec: Option<String>,
    /// The length in bytes (1 to 1024), or `KeySpec`.
    pub number_of_bytes: Option<u32>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without generating.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateDataKeyWithoutPlaintext's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    /// The data key, encrypted.
    #[serde(with = "blob")]
    pub ciphertext_blob: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// The material that encrypted the data key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// GenerateDataKeyPair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairRequest {
    /// The encryption context the encrypted private key binds.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `RSA_2048`, `ECC_NIST_P256`, ...
    pub key_pair_spec: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Nitro Enclaves attestation (not offered: refused).
    pub recipient: Unsupported,
    /// Check the request and the caller's permission without generating.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateDataKeyPair's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairResponse {
    /// The private key (PKCS#8 DER), encrypted.
    #[serde(with = "blob")]
    pub private_key_ciphertext_blob: Vec<u8>,
    /// The private key (PKCS#8 DER).
    pub private_key_plaintext: SecretBytes,
    /// The public key (DER SubjectPublicKeyInfo).
    #[serde(with = "blob")]
    pub public_key: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// The key pair spec.
    pub key_pair_spec: String,
    /// The material that encrypted the private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// GenerateDataKeyPairWithoutPlaintext.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairWithoutPlaintextRequest {
    /// The encryption context the encrypted private key binds.
    #[serde(default)]
    pub encryption_context: EncryptionContext,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `RSA_2048`, `ECC_NIST_P256`, ...
    pub key_pair_spec: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without generating.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateDataKeyPairWithoutPlaintext's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairWithoutPlaintextResponse {
    /// The private key (PKCS#8 DER), encrypted.
    #[serde(with = "blob")]
    pub private_key_ciphertext_blob: Vec<u8>,
    /// The public key (DER SubjectPublicKeyInfo).
    #[serde(with = "blob")]
    pub public_key: Vec<u8>,
    /// The key ARN.
    pub key_id: String,
    /// The key pair spec.
    pub key_pair_spec: String,
    /// The material that encrypted the private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// GenerateRandom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomRequest {
    /// 1 to 1024.
    pub number_of_bytes: Option<u32>,
    /// A custom key store (not offered: refused).
    pub custom_key_store_id: Option<String>,
    /// Nitro Enclaves attestation (not offered: refused).
    pub recipient: Unsupported,
}

/// GenerateRandom's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomResponse {
    /// The random bytes.
    pub plaintext: SecretBytes,
}

// Signing.

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

// HMAC.

/// GenerateMac.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacRequest {
    /// The message.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `HMAC_SHA_256`, ...
    pub mac_algorithm: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without computing.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateMac's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacResponse {
    /// The MAC.
    #[serde(with = "blob")]
    pub mac: Vec<u8>,
    /// The algorithm used.
    pub mac_algorithm: String,
    /// The key ARN.
    pub key_id: String,
}

/// VerifyMac.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacRequest {
    /// The message.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `HMAC_SHA_256`, ...
    pub mac_algorithm: String,
    /// The MAC to check.
    #[serde(with = "blob")]
    pub mac: Vec<u8>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without verifying.
    #[serde(default)]
    pub dry_run: bool,
}

/// VerifyMac's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacResponse {
    /// The key ARN.
    pub key_id: String,
    /// Always true: a MAC that does not match is `KMSInvalidMacException`.
    pub mac_valid: bool,
    /// The algorithm used.
    pub mac_algorithm: String,
}

// Key agreement.

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

// Grants.

/// A grant's constraint on the encryption context (one of the two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    /// The request's context must contain these pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<EncryptionContext>,
    /// The request's context must be exactly these pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<EncryptionContext>,
}

/// CreateGrant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The principal the grant allows (an ARN).
    pub grantee_principal: String,
    /// The principal that may retire the grant (an ARN).
    pub retiring_principal: Option<String>,
    /// The grant operations.
    pub operations: Vec<String>,
    /// The constraint on the encryption context.
    pub constraints: Option<GrantConstraints>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// A name that makes retries idempotent.
    pub name: Option<String>,
    /// Not offered for CreateGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// CreateGrant's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantResponse {
    /// A token that makes the grant usable before it is everywhere.
    pub grant_token: String,
    /// The grant ID.
    pub grant_id: String,
}

/// ListGrants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsRequest {
    /// 1 to 100; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
    /// Key ID or key ARN.
    pub key_id: String,
    /// Only this grant.
    pub grant_id: Option<String>,
    /// Only the grants to this principal.
    pub grantee_principal: Option<String>,
}

/// One grant as ListGrants and ListRetirableGrants list it (and as `aws kms list-grants`
/// prints it: the type reads that output too).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    /// The key ARN.
    pub key_id: String,
    /// The grant ID.
    pub grant_id: String,
    /// The grant's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The principal the grant allows.
    pub grantee_principal: String,
    /// The principal that may retire the grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The account that created the grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_account: Option<String>,
    /// The grant operations.
    pub operations: Vec<String>,
    /// The grant's encryption-context constraint, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
    /// When the grant was made.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "timestamp::option::serialize",
        deserialize_with = "timestamp::printed::deserialize"
    )]
    pub creation_date: Option<SystemTime>,
}

/// ListGrants's (and ListRetirableGrants's) answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsResponse {
    /// The grants.
    pub grants: Vec<GrantListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more grants follow (the aws CLI, which reads every page, may leave it out).
    #[serde(default)]
    pub truncated: bool,
}

/// RevokeGrant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The grant.
    pub grant_id: String,
    /// Not offered for RevokeGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// RetireGrant: by grant token, or by key and grant ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantRequest {
    /// The grant's token.
    pub grant_token: Option<String>,
    /// Key ID or key ARN (with `GrantId`).
    pub key_id: Option<String>,
    /// The grant (with `KeyId`).
    pub grant_id: Option<String>,
    /// Not offered for RetireGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// ListRetirableGrants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsRequest {
    /// 1 to 100; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
    /// The retiring principal (an ARN of the caller's account).
    pub retiring_principal: String,
}

// Rotation.

/// EnableKeyRotation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 90 to 2560 days; 365 when absent.
    pub rotation_period_in_days: Option<u32>,
}

/// DisableKeyRotation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisableKeyRotationRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// GetKeyRotationStatus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// GetKeyRotationStatus's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusResponse {
    /// Whether automatic rotation is on.
    pub key_rotation_enabled: bool,
    /// The key ARN.
    pub key_id: String,
    /// With automatic rotation: its period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    /// With automatic rotation: when it next happens.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_rotation_date: Option<SystemTime>,
    /// When an on-demand rotation in progress began.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub on_demand_rotation_start_date: Option<SystemTime>,
}

/// RotateKeyOnDemand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateKeyOnDemandRequest {
    /// Key ID or key ARN.
    pub key_id: String,
}

/// RotateKeyOnDemand's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotateKeyOnDemandResponse {
    /// The key ARN.
    pub key_id: String,
}

/// ListKeyRotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// `ALL_KEY_MATERIAL` or `ROTATIONS_ONLY` (the default).
    pub include_key_material: Option<String>,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One key material as ListKeyRotations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    /// The key ARN.
    pub key_id: String,
    /// The key material.
    pub key_material_id: String,
    /// Its description, when one was given at import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_description: Option<String>,
    /// EXTERNAL keys: `IMPORTED` or `PENDING_IMPORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_state: Option<String>,
    /// `CURRENT`, `NON_CURRENT` or `PENDING_ROTATION`.
    pub key_material_state: String,
    /// EXTERNAL keys: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    /// Imported material that expires: when.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_to: Option<SystemTime>,
    /// When the rotation to this material happened (absent for the first material and for
    /// material pending rotation).
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub rotation_date: Option<SystemTime>,
    /// `AUTOMATIC` or `ON_DEMAND`; absent like `RotationDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<String>,
}

/// ListKeyRotations's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsResponse {
    /// The key materials, oldest first.
    pub rotations: Vec<RotationsListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more follow.
    pub truncated: bool,
}

key_id_constructor!(
    EnableKeyRotationRequest,
    DisableKeyRotationRequest,
    GetKeyRotationStatusRequest,
    RotateKeyOnDemandRequest,
    ListKeyRotationsRequest,
);

// Imported key material.

/// GetParametersForImport.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportRequest {
    /// Key ID or key ARN of an EXTERNAL key.
    pub key_id: String,
    /// How the material will be wrapped (`RSAES_OAEP_SHA_256`, ...).
    pub wrapping_algorithm: String,
    /// The wrapping key's spec (`RSA_2048`, ...).
    pub wrapping_key_spec: String,
}

/// GetParametersForImport's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportResponse {
    /// The key ARN.
    pub key_id: String,
    /// The token ImportKeyMaterial takes back.
    #[serde(with = "blob")]
    pub import_token: Vec<u8>,
    /// The wrapping key (DER SubjectPublicKeyInfo).
    #[serde(with = "blob")]
    pub public_key: Vec<u8>,
    /// Until when the token and wrapping key are valid.
    #[serde(with = "timestamp")]
    pub parameters_valid_to: SystemTime,
}

/// ImportKeyMaterial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialRequest {
    /// Key ID or key ARN of an EXTERNAL key.
    pub key_id: String,
    /// The token of the GetParametersForImport whose wrapping key wrapped the material.
    #[serde(with = "blob")]
    pub import_token: Vec<u8>,
    /// The wrapped key material.
    #[serde(with = "blob")]
    pub encrypted_key_material: Vec<u8>,
    /// With `KEY_MATERIAL_EXPIRES`: when the material expires.
    #[serde(default, with = "timestamp::option")]
    pub valid_to: Option<SystemTime>,
    /// `KEY_MATERIAL_EXPIRES` (the default, needs `ValidTo`) or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    pub expiration_model: Option<String>,
    /// `NEW_KEY_MATERIAL` or `EXISTING_KEY_MATERIAL` (symmetric keys).
    pub import_type: Option<String>,
    /// A description of the material.
    pub key_material_description: Option<String>,
    /// With `EXISTING_KEY_MATERIAL`: the material being imported again.
    pub key_material_id: Option<String>,
}

/// ImportKeyMaterial's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material imported.
    pub key_material_id: String,
}

/// DeleteImportedKeyMaterial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialRequest {
    /// Key ID or key ARN of an EXTERNAL key.
    pub key_id: String,
    /// The material to delete; the current one when absent.
    pub key_material_id: Option<String>,
}

/// DeleteImportedKeyMaterial's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material deleted (absent for a key never imported into).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

key_id_constructor!(DeleteImportedKeyMaterialRequest);

// Custom key stores.

/// CreateCustomKeyStore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCustomKeyStoreRequest {
    /// A name unique in the account and Region.
    pub custom_key_store_name: String,
    /// `AWS_CLOUDHSM` (the default) or `EXTERNAL_KEY_STORE`.
    pub custom_key_store_type: Option<String>,
    /// A CloudHSM key store's cluster: for Keyward, the PKCS#11 token's label.
    pub cloud_hsm_cluster_id: Option<String>,
    /// A CloudHSM key store's trust anchor certificate.
    pub trust_anchor_certificate: Option<String>,
    /// A CloudHSM key store's `kmsuser` password: for Keyward, the token's user PIN.
    pub key_store_password: Option<SecretText>,
    /// An external key store's proxy URI endpoint.
    pub xks_proxy_uri_endpoint: Option<String>,
    /// An external key store's proxy URI path.
    pub xks_proxy_uri_path: Option<String>,
    /// An external key store's VPC endpoint service.
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    /// An external key store's proxy credential.
    pub xks_proxy_authentication_credential: Option<serde_json::Value>,
    /// An external key store's connectivity.
    pub xks_proxy_connectivity: Option<String>,
}

/// CreateCustomKeyStore's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCustomKeyStoreResponse {
    /// The new custom key store's ID.
    pub custom_key_store_id: String,
}

/// ConnectCustomKeyStore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectCustomKeyStoreRequest {
    /// The custom key store's ID.
    pub custom_key_store_id: String,
}

/// DisconnectCustomKeyStore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisconnectCustomKeyStoreRequest {
    /// The custom key store's ID.
    pub custom_key_store_id: String,
}

/// DeleteCustomKeyStore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteCustomKeyStoreRequest {
    /// The custom key store's ID.
    pub custom_key_store_id: String,
}

/// UpdateCustomKeyStore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCustomKeyStoreRequest {
    /// The custom key store's ID.
    pub custom_key_store_id: String,
    /// A new name.
    pub new_custom_key_store_name: Option<String>,
    /// A new `kmsuser` password (token PIN).
    pub key_store_password: Option<SecretText>,
    /// Another cluster (token).
    pub cloud_hsm_cluster_id: Option<String>,
    /// An external key store's proxy URI endpoint.
    pub xks_proxy_uri_endpoint: Option<String>,
    /// An external key store's proxy URI path.
    pub xks_proxy_uri_path: Option<String>,
    /// An external key store's VPC endpoint service.
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    /// An external key store's proxy credential.
    pub xks_proxy_authentication_credential: Option<serde_json::Value>,
    /// An external key store's connectivity.
    pub xks_proxy_connectivity: Option<String>,
}

/// DescribeCustomKeyStores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomKeyStoresRequest {
    /// Only this custom key store.
    pub custom_key_store_id: Option<String>,
    /// Only the custom key store of this name.
    pub custom_key_store_name: Option<String>,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One custom key store as DescribeCustomKeyStores lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomKeyStoresListEntry {
    /// Its ID.
    pub custom_key_store_id: String,
    /// Its name.
    pub custom_key_store_name: String,
    /// `AWS_CLOUDHSM`.
    pub custom_key_store_type: String,
    /// Its cluster: the PKCS#11 token's label.
    pub cloud_hsm_cluster_id: String,
    /// Its trust anchor certificate, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor_certificate: Option<String>,
    /// `CONNECTED`, `CONNECTING`, `DISCONNECTED`, `DISCONNECTING` or `FAILED`.
    pub connection_state: String,
    /// Why the last connection failed, when it did (`INVALID_CREDENTIALS`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_error_code: Option<String>,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub creation_date: SystemTime,
}

/// DescribeCustomKeyStores's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomKeyStoresResponse {
    /// The custom key stores, in ID order.
    pub custom_key_stores: Vec<CustomKeyStoresListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more follow.
    pub truncated: bool,
}

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
    pub key_agreement_algorithms: Vec<String>,
    /// Keys with imported material: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    pub expiration_model: Option<String>,
    /// Keys with imported material that expires: when.
    pub valid_to: Option<SystemTime>,
    /// Symmetric encryption keys (AWS_KMS, or EXTERNAL once imported): the `KeyMaterialId`
    /// of the current material.
    pub current_key_material_id: Option<String>,
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
    /// The material that decrypted (symmetric keys).
    pub key_material_id: Option<String>,
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
    /// The material that encrypted the data key.
    pub key_material_id: Option<String>,
}

/// ReEncrypt.
#[derive(Debug, Clone, Default)]
pub struct ReEncryptRequest {
    pub ciphertext_blob: Vec<u8>,
    /// Required when the source key is asymmetric; must match the ciphertext's key otherwise.
    pub source_key_id: Option<String>,
    pub source_encryption_context: BTreeMap<String, String>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_key_id: String,
    pub destination_encryption_context: BTreeMap<String, String>,
    pub destination_encryption_algorithm: Option<String>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncryptResponse {
    pub ciphertext_blob: Vec<u8>,
    /// The source key's ARN.
    pub source_key_id: String,
    /// The destination key's ARN.
    pub key_id: String,
    pub source_encryption_algorithm: String,
    pub destination_encryption_algorithm: String,
    /// The source key's material that decrypted (symmetric source keys).
    pub source_key_material_id: Option<String>,
    /// The destination key's material that encrypted (symmetric destination keys).
    pub destination_key_material_id: Option<String>,
}

/// GenerateDataKeyPair (and WithoutPlaintext).
#[derive(Debug, Clone, Default)]
pub struct GenerateDataKeyPairRequest {
    pub key_id: String,
    /// `KeyPairSpec`: `RSA_2048`, `ECC_NIST_P256`, ...
    pub key_pair_spec: String,
    pub encryption_context: BTreeMap<String, String>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct GenerateDataKeyPairResponse {
    pub private_key_ciphertext_blob: Vec<u8>,
    /// PKCS#8 DER; `None` for GenerateDataKeyPairWithoutPlaintext.
    pub private_key_plaintext: Option<Secret>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    pub key_id: String,
    pub key_pair_spec: String,
    /// The material that encrypted the private key.
    pub key_material_id: Option<String>,
}

/// Sign.
#[derive(Debug, Clone, Default)]
pub struct SignRequest {
    pub key_id: String,
    pub message: Vec<u8>,
    /// `RAW` (default) or `DIGEST`.
    pub message_type: Option<String>,
    pub signing_algorithm: String,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignResponse {
    pub key_id: String,
    pub signature: Vec<u8>,
    pub signing_algorithm: String,
}

/// Verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    pub key_id: String,
    pub message: Vec<u8>,
    pub message_type: Option<String>,
    pub signature: Vec<u8>,
    pub signing_algorithm: String,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyResponse {
    pub key_id: String,
    /// Always true: a signature that does not match is `KMSInvalidSignatureException`.
    pub signature_valid: bool,
    pub signing_algorithm: String,
}

/// GetPublicKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPublicKeyResponse {
    pub key_id: String,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    pub key_spec: String,
    pub key_usage: String,
    pub encryption_algorithms: Vec<String>,
    pub signing_algorithms: Vec<String>,
    pub key_agreement_algorithms: Vec<String>,
}

/// GenerateMac.
#[derive(Debug, Clone, Default)]
pub struct GenerateMacRequest {
    pub key_id: String,
    pub message: Vec<u8>,
    pub mac_algorithm: String,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateMacResponse {
    pub key_id: String,
    pub mac: Vec<u8>,
    pub mac_algorithm: String,
}

/// VerifyMac.
#[derive(Debug, Clone, Default)]
pub struct VerifyMacRequest {
    pub key_id: String,
    pub message: Vec<u8>,
    pub mac: Vec<u8>,
    pub mac_algorithm: String,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyMacResponse {
    pub key_id: String,
    /// Always true: a MAC that does not match is `KMSInvalidMacException`.
    pub mac_valid: bool,
    pub mac_algorithm: String,
}

/// DeriveSharedSecret.
#[derive(Debug, Clone, Default)]
pub struct DeriveSharedSecretRequest {
    pub key_id: String,
    /// `ECDH`.
    pub key_agreement_algorithm: String,
    /// The peer's DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    pub grant_tokens: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct DeriveSharedSecretResponse {
    pub key_id: String,
    pub shared_secret: Secret,
    pub key_agreement_algorithm: String,
    pub key_origin: String,
}

/// EnableKeyRotation.
#[derive(Debug, Clone, Default)]
pub struct EnableKeyRotationRequest {
    pub key_id: String,
    /// 90–2560; 365 when absent.
    pub rotation_period_in_days: Option<u32>,
}

/// GetKeyRotationStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotationStatus {
    pub key_id: String,
    pub key_rotation_enabled: bool,
    pub rotation_period_in_days: Option<u32>,
    pub next_rotation_date: Option<SystemTime>,
    pub on_demand_rotation_start_date: Option<SystemTime>,
}

/// ListKeyRotations.
#[derive(Debug, Clone, Default)]
pub struct ListKeyRotationsRequest {
    pub key_id: String,
    /// `ALL_KEY_MATERIAL` or `ROTATIONS_ONLY` (the default).
    pub include_key_material: Option<String>,
    pub paging: Paging,
}

/// One key material, as ListKeyRotations returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEntry {
    /// The key ARN.
    pub key_id: String,
    pub key_material_id: String,
    pub key_material_description: Option<String>,
    /// EXTERNAL keys: `IMPORTED` or `PENDING_IMPORT`.
    pub import_state: Option<&'static str>,
    /// `CURRENT`, `NON_CURRENT` or `PENDING_ROTATION`.
    pub key_material_state: &'static str,
    /// EXTERNAL keys: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    pub expiration_model: Option<&'static str>,
    pub valid_to: Option<SystemTime>,
    /// Absent for the first material and material pending rotation.
    pub rotation_date: Option<SystemTime>,
    /// `AUTOMATIC` or `ON_DEMAND`; absent like `rotation_date`.
    pub rotation_type: Option<&'static str>,
}

/// GetParametersForImport.
#[derive(Debug, Clone, Default)]
pub struct GetParametersForImportRequest {
    pub key_id: String,
    pub wrapping_algorithm: String,
    pub wrapping_key_spec: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParametersForImportResponse {
    pub key_id: String,
    pub import_token: Vec<u8>,
    /// DER SubjectPublicKeyInfo of the wrapping key.
    pub public_key: Vec<u8>,
    pub parameters_valid_to: SystemTime,
}

/// ImportKeyMaterial.
#[derive(Debug, Clone, Default)]
pub struct ImportKeyMaterialRequest {
    pub key_id: String,
    pub import_token: Vec<u8>,
    pub encrypted_key_material: Vec<u8>,
    /// `KEY_MATERIAL_EXPIRES` (needs `valid_to`) or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    pub expiration_model: Option<String>,
    pub valid_to: Option<SystemTime>,
    /// `NEW_KEY_MATERIAL` or `EXISTING_KEY_MATERIAL` (symmetric keys).
    pub import_type: Option<String>,
    /// With `EXISTING_KEY_MATERIAL`: the material being imported again.
    pub key_material_id: Option<String>,
    pub key_material_description: Option<String>,
}

/// ImportKeyMaterial's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportKeyMaterialResponse {
    /// The key ARN.
    pub key_id: String,
    pub key_material_id: String,
}

/// DeleteImportedKeyMaterial.
#[derive(Debug, Clone, Default)]
pub struct DeleteImportedKeyMaterialRequest {
    pub key_id: String,
    /// The material to delete; the current one when absent.
    pub key_material_id: Option<String>,
}

/// DeleteImportedKeyMaterial's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteImportedKeyMaterialResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material deleted (none for a key never imported into).
    pub key_material_id: Option<String>,
}

/// A page of a list operation: `Limit` and `Marker` in, `NextMarker` and `Truncated` out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    /// 1–1000 (100 for grants); the operation's default when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next_marker: Option<String>,
    pub truncated: bool,
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

/// ListGrants.
#[derive(Debug, Clone, Default)]
pub struct ListGrantsRequest {
    pub key_id: String,
    /// Only this grant.
    pub grant_id: Option<String>,
    /// Only grants to this grantee.
    pub grantee_principal: Option<String>,
    pub paging: Paging,
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
    /// `None` for an alias AWS predefines whose managed key does not exist yet.
    pub target_key_id: Option<String>,
}

//! Encryption: Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
//! GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateRandom.

use crate::common::{EncryptionContext, Unsupported};
use crate::wire::{SecretBytes, blob};
use serde::{Deserialize, Serialize};

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

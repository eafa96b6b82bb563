//! Imported key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

use crate::common::key_id_constructor;
use crate::wire::{blob, timestamp};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

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

//! Rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
//! ListKeyRotations.

use crate::common::key_id_constructor;
use crate::wire::timestamp;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

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

//! What is stored of a key besides its sealed material: metadata, policy, tags, rotation
//! settings and grants, as JSON (no secrets).

use keyward_grants::{Grant, GrantConstraint, parse_operations};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The administrative state of a key (the effective state adds `PendingImport` for an
/// EXTERNAL key without material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminState {
    Enabled,
    Disabled,
    PendingDeletion,
}

/// One rotation, as ListKeyRotations reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRecord {
    pub version: u32,
    /// Epoch seconds.
    pub date: u64,
    pub on_demand: bool,
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: String,
    pub name: Option<String>,
    pub grantee: String,
    pub retiring_principal: Option<String>,
    pub issuing_account: Option<String>,
    pub created_at: Option<u64>,
    pub operations: Vec<String>,
    /// `EncryptionContextEquals` or `EncryptionContextSubset`.
    pub constraint_type: Option<String>,
    pub constraint: Vec<(String, String)>,
}

impl GrantRecord {
    pub fn of(grant: &Grant) -> Self {
        let (constraint_type, constraint) = match &grant.constraint {
            Some(
                c @ (GrantConstraint::EncryptionContextEquals(p)
                | GrantConstraint::EncryptionContextSubset(p)),
            ) => (Some(c.name().to_owned()), p.clone()),
            None => (None, Vec::new()),
        };
        Self {
            id: grant.id.clone(),
            name: grant.name.clone(),
            grantee: grant.grantee.clone(),
            retiring_principal: grant.retiring_principal.clone(),
            issuing_account: grant.issuing_account.clone(),
            created_at: grant.created_at,
            operations: grant
                .operations
                .iter()
                .map(|op| op.info().name.to_owned())
                .collect(),
            constraint_type,
            constraint,
        }
    }

    /// The grant, for the key `key_arn`; `None` if the record was not written by [`Self::of`].
    pub fn grant(&self, key_arn: &str) -> Option<Grant> {
        let constraint = match self.constraint_type.as_deref() {
            None => None,
            Some("EncryptionContextEquals") => Some(GrantConstraint::EncryptionContextEquals(
                self.constraint.clone(),
            )),
            Some("EncryptionContextSubset") => Some(GrantConstraint::EncryptionContextSubset(
                self.constraint.clone(),
            )),
            Some(_) => return None,
        };
        Some(Grant {
            id: self.id.clone(),
            name: self.name.clone(),
            grantee: self.grantee.clone(),
            retiring_principal: self.retiring_principal.clone(),
            issuing_account: self.issuing_account.clone(),
            key: Some(key_arn.to_owned()),
            created_at: self.created_at,
            operations: parse_operations(self.operations.iter().map(String::as_str)).ok()?,
            constraint,
        })
    }
}

/// A key's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMetadataRecord {
    pub id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    /// Epoch seconds.
    pub created: u64,
    pub description: String,
    pub state: AdminState,
    pub spec: String,
    pub usage: String,
    pub origin: String,
    /// When a key pending deletion is destroyed (epoch seconds).
    pub deletion_date: Option<u64>,
    pub pending_window_days: Option<u32>,
    pub tags: BTreeMap<String, String>,
    pub policy: String,
    pub rotation_enabled: bool,
    pub rotation_period_days: u32,
    /// When automatic rotation next happens (epoch seconds).
    pub next_rotation: Option<u64>,
    pub rotations: Vec<RotationRecord>,
    pub grants: Vec<GrantRecord>,
    /// Imported material: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(default)]
    pub expiration_model: Option<String>,
    /// Imported material: when the first present material expires (epoch seconds).
    #[serde(default)]
    pub valid_to: Option<u64>,
    /// Imported material: `KeyMaterialDescription` by `KeyMaterialId`.
    #[serde(default)]
    pub material_descriptions: BTreeMap<String, String>,
}

//! What is stored of a key besides its sealed material: metadata, policy, tags, rotation
//! settings and grants, as JSON (no secrets). The record is typed: a key spec, usage, origin
//! or grant that does not parse makes the record unreadable (the service refuses to open),
//! never something else.

use crate::store::PartKind;
use keyward_crypto::{KeySpec, KeyUsage, Origin};
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The administrative state of a key (the effective state adds `PendingImport` for an
/// EXTERNAL key without material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AdminState {
    Enabled,
    Disabled,
    PendingDeletion,
    /// A multi-Region primary key scheduled for deletion while it has replicas: its waiting
    /// period (`pending_window_days`) starts when the last replica is deleted.
    PendingReplicaDeletion,
}

/// A multi-Region key's configuration, the same in every copy (primary and replicas).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MultiRegionRecord {
    /// The Region of the primary key.
    pub(crate) primary_region: String,
    /// The Regions of the replicas, in the order they were made.
    pub(crate) replica_regions: Vec<String>,
}

/// One rotation, as ListKeyRotations reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RotationRecord {
    pub(crate) version: u32,
    /// Epoch seconds.
    pub(crate) date: u64,
    pub(crate) on_demand: bool,
}

/// A grant's constraint type as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ConstraintType {
    EncryptionContextEquals,
    EncryptionContextSubset,
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) grantee: String,
    pub(crate) retiring_principal: Option<String>,
    pub(crate) issuing_account: Option<String>,
    pub(crate) created_at: Option<u64>,
    pub(crate) operations: Vec<String>,
    pub(crate) constraint_type: Option<ConstraintType>,
    pub(crate) constraint: Vec<(String, String)>,
}

impl GrantRecord {
    pub(crate) fn of(grant: &Grant) -> Self {
        let (constraint_type, constraint) = match &grant.constraint {
            Some(GrantConstraint::EncryptionContextEquals(pairs)) => {
                (Some(ConstraintType::EncryptionContextEquals), pairs.clone())
            }
            Some(GrantConstraint::EncryptionContextSubset(pairs)) => {
                (Some(ConstraintType::EncryptionContextSubset), pairs.clone())
            }
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

    /// The grant, on the key `key_arn`; what does not parse when the record's operations are
    /// not grant operations.
    pub(crate) fn grant(&self, key_arn: &str) -> Result<Grant, String> {
        let constraint = self.constraint_type.map(|kind| match kind {
            ConstraintType::EncryptionContextEquals => {
                GrantConstraint::EncryptionContextEquals(self.constraint.clone())
            }
            ConstraintType::EncryptionContextSubset => {
                GrantConstraint::EncryptionContextSubset(self.constraint.clone())
            }
        });
        let operations = parse_operations(self.operations.iter().map(String::as_str))
            .map_err(|e| format!("grant {}: {e}", self.id))?;
        Ok(Grant {
            id: self.id.clone(),
            name: self.name.clone(),
            grantee: self.grantee.clone(),
            retiring_principal: self.retiring_principal.clone(),
            issuing_account: self.issuing_account.clone(),
            key: Some(key_arn.to_owned()),
            created_at: self.created_at,
            operations,
            constraint,
        })
    }
}

/// A key's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyMetadataRecord {
    pub(crate) id: String,
    pub(crate) arn: String,
    pub(crate) account: String,
    pub(crate) region: String,
    /// Epoch seconds.
    pub(crate) created: u64,
    pub(crate) description: String,
    pub(crate) state: AdminState,
    #[serde(with = "spec_name")]
    pub(crate) spec: KeySpec,
    #[serde(with = "usage_name")]
    pub(crate) usage: KeyUsage,
    #[serde(with = "origin_name")]
    pub(crate) origin: Origin,
    /// A key of origin `AWS_CLOUDHSM`: its custom key store's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) custom_key_store_id: Option<String>,
    /// When a key pending deletion is destroyed (epoch seconds). The deletion schedule, in a
    /// row of its own ([`KeyMetadataRecord::parts`]); only read from a key's row written
    /// before (store format 3, schema 3), never written there.
    #[serde(default, skip_serializing)]
    pub(crate) deletion_date: Option<u64>,
    #[serde(default, skip_serializing)]
    pub(crate) pending_window_days: Option<u32>,
    /// Its tags, a row each (as the schedules).
    #[serde(default, skip_serializing)]
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) policy: String,
    /// The rotation schedule, in a row of its own (as the deletion schedule).
    #[serde(default, skip_serializing)]
    pub(crate) rotation_enabled: bool,
    #[serde(default, skip_serializing)]
    pub(crate) rotation_period_days: u32,
    /// When automatic rotation next happens (epoch seconds).
    #[serde(default, skip_serializing)]
    pub(crate) next_rotation: Option<u64>,
    pub(crate) rotations: Vec<RotationRecord>,
    /// Only in a row written before grants had rows of their own (store format 2): read, and
    /// moved to the grants' rows when the service opens. Always empty in memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) grants: Vec<GrantRecord>,
    /// Imported material: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`. The
    /// imported material's state, in a row of its own (with each version's, in the versions'
    /// rows); only read from a key's row written before, never written there.
    #[serde(default, skip_serializing)]
    pub(crate) expiration_model: Option<String>,
    /// Imported material: when the first present material expires (epoch seconds). Not
    /// stored: it follows from the versions of the material, sealed by the crypto core
    /// ([`crate::entry::KeyEntry::refresh_expiry`], when a key is read).
    #[serde(default, skip_serializing)]
    pub(crate) valid_to: Option<u64>,
    /// Imported material: `KeyMaterialDescription` by `KeyMaterialId`.
    #[serde(default, skip_serializing)]
    pub(crate) material_descriptions: BTreeMap<String, String>,
    /// A multi-Region key's primary and replicas; `None` for a single-Region key.
    #[serde(default)]
    pub(crate) multi_region: Option<MultiRegionRecord>,
    /// An AWS managed key (`KeyManager: AWS`), created for its service at first use.
    #[serde(default)]
    pub(crate) aws_managed: bool,
}

/// A key's rotation schedule, as its row keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationSchedule {
    enabled: bool,
    period_days: u32,
    next: Option<u64>,
}

/// A key's deletion schedule, as its row keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeletionSchedule {
    date: Option<u64>,
    window_days: Option<u32>,
}

/// A key's imported material's state, as its row keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportState {
    expiration_model: Option<String>,
    descriptions: BTreeMap<String, String>,
}

/// The schedule rows' names, and the import state's.
const ROTATION: &str = "rotation";
const DELETION: &str = "deletion";
const IMPORT: &str = "import";

impl KeyMetadataRecord {
    /// The parts of the key kept in rows of their own: each tag, and the rotation and
    /// deletion schedules (always both), as (kind, name, record).
    pub(crate) fn parts(&self) -> Result<Vec<(PartKind, String, String)>, String> {
        fn json<T: Serialize>(value: &T) -> Result<String, String> {
            serde_json::to_string(value).map_err(|e| e.to_string())
        }
        let mut parts: Vec<(PartKind, String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (PartKind::Tag, k.clone(), v.clone()))
            .collect();
        parts.push((
            PartKind::Schedule,
            ROTATION.into(),
            json(&RotationSchedule {
                enabled: self.rotation_enabled,
                period_days: self.rotation_period_days,
                next: self.next_rotation,
            })?,
        ));
        parts.push((
            PartKind::Schedule,
            DELETION.into(),
            json(&DeletionSchedule {
                date: self.deletion_date,
                window_days: self.pending_window_days,
            })?,
        ));
        // Only for a key that has had material imported; when it expires follows from the
        // versions of its material, which the crypto core seals.
        if self.expiration_model.is_some() || !self.material_descriptions.is_empty() {
            parts.push((
                PartKind::Import,
                IMPORT.into(),
                json(&ImportState {
                    expiration_model: self.expiration_model.clone(),
                    descriptions: self.material_descriptions.clone(),
                })?,
            ));
        }
        Ok(parts)
    }

    /// Takes the parts read from their rows: the tags, and the schedules (which replace what
    /// a row written before they had rows of their own held). Whether the schedules were among
    /// them (a key written since: both, or it is refused; a key written before: neither).
    pub(crate) fn take_parts<'a>(
        &mut self,
        parts: impl IntoIterator<Item = (PartKind, &'a str, &'a str)>,
    ) -> Result<bool, String> {
        let (mut rotation, mut deletion) = (false, false);
        let mut import: Option<ImportState> = None;
        let mut tags = BTreeMap::new();
        for (kind, name, record) in parts {
            match (kind, name) {
                (PartKind::Tag, _) => {
                    tags.insert(name.to_owned(), record.to_owned());
                }
                (PartKind::Schedule, ROTATION) => {
                    let r: RotationSchedule = serde_json::from_str(record)
                        .map_err(|e| format!("its rotation schedule: {e}"))?;
                    self.rotation_enabled = r.enabled;
                    self.rotation_period_days = r.period_days;
                    self.next_rotation = r.next;
                    rotation = true;
                }
                (PartKind::Schedule, DELETION) => {
                    let d: DeletionSchedule = serde_json::from_str(record)
                        .map_err(|e| format!("its deletion schedule: {e}"))?;
                    self.deletion_date = d.date;
                    self.pending_window_days = d.window_days;
                    deletion = true;
                }
                (PartKind::Schedule, other) => return Err(format!("a schedule named {other}")),
                // The material's versions are the crypto core's to open.
                (PartKind::Version, _) => {}
                (PartKind::Import, IMPORT) => {
                    let i: ImportState = serde_json::from_str(record)
                        .map_err(|e| format!("its imported material's state: {e}"))?;
                    import = Some(i);
                }
                (PartKind::Import, other) => return Err(format!("an import state named {other}")),
            }
        }
        match (rotation, deletion) {
            (true, true) => {
                self.tags = tags;
                let import = import.unwrap_or(ImportState {
                    expiration_model: None,
                    descriptions: BTreeMap::new(),
                });
                self.expiration_model = import.expiration_model;
                self.material_descriptions = import.descriptions;
                Ok(true)
            }
            (false, false) if tags.is_empty() && import.is_none() => Ok(false),
            (false, false) => Err("tag or import rows without the key's schedules".into()),
            _ => Err("one of its schedules' rows without the other".into()),
        }
    }

    /// `PRIMARY` or `REPLICA` for a multi-Region key.
    pub(crate) fn multi_region_key_type(&self) -> Option<&'static str> {
        self.multi_region.as_ref().map(|m| {
            if m.primary_region == self.region {
                "PRIMARY"
            } else {
                "REPLICA"
            }
        })
    }

    /// Whether this is a multi-Region primary key.
    pub(crate) fn is_multi_region_primary(&self) -> bool {
        self.multi_region_key_type() == Some("PRIMARY")
    }
}

/// Serde for an enumeration stored by its API name: `$parse` reads it, `as_str` writes it.
macro_rules! stored_by_name {
    ($module:ident, $type:ty, $what:literal, $parse:expr) => {
        mod $module {
            use super::*;

            pub(super) fn serialize<S: Serializer>(
                value: &$type,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(value.as_str())
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$type, D::Error> {
                let name = String::deserialize(deserializer)?;
                let parse: fn(&str) -> Option<$type> = $parse;
                parse(&name).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!($what, " {} is not one Keyward knows"),
                        name
                    ))
                })
            }
        }
    };
}

stored_by_name!(spec_name, KeySpec, "key spec", |n| KeySpec::parse(n).ok());
stored_by_name!(usage_name, KeyUsage, "key usage", |n| KeyUsage::parse(n)
    .ok());
stored_by_name!(origin_name, Origin, "origin", Origin::parse);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn record_json() -> serde_json::Value {
        serde_json::json!({
            "id": "k", "arn": "arn:aws:kms:us-east-1:111122223333:key/k",
            "account": "111122223333", "region": "us-east-1", "created": 1,
            "description": "", "state": "Enabled", "spec": "SYMMETRIC_DEFAULT",
            "usage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS", "deletion_date": null,
            "pending_window_days": null, "tags": {}, "policy": "{}",
            "rotation_enabled": false, "rotation_period_days": 365, "next_rotation": null,
            "rotations": [], "grants": []
        })
    }

    #[test]
    fn a_stored_record_reads_back_typed_its_tags_and_schedules_from_their_rows() {
        // A row written before tags and schedules had rows of their own still reads whole.
        let mut record: KeyMetadataRecord = serde_json::from_value(record_json()).unwrap();
        assert_eq!(record.spec, KeySpec::SymmetricDefault);
        assert_eq!(record.origin, Origin::AwsKms);
        assert_eq!(record.rotation_period_days, 365);
        record.tags.insert("team".into(), "payments".into());
        record.deletion_date = Some(99);
        record.pending_window_days = Some(7);
        record.next_rotation = Some(5);
        record.expiration_model = Some("KEY_MATERIAL_EXPIRES".into());
        record.valid_to = Some(10);
        record
            .material_descriptions
            .insert("m1".into(), "from the HSM".into());
        // The row written now holds none of them; their rows give them back.
        let row = serde_json::to_string(&record).unwrap();
        for member in [
            "tags",
            "rotation_enabled",
            "rotation_period_days",
            "next_rotation",
            "deletion_date",
            "pending_window_days",
            "expiration_model",
            "valid_to",
            "material_descriptions",
        ] {
            assert!(!row.contains(&format!("\"{member}\"")), "{row}");
        }
        let mut again: KeyMetadataRecord = serde_json::from_str(&row).unwrap();
        let parts = record.parts().unwrap();
        // The tag, the two schedules and the import state.
        assert_eq!(parts.len(), 4);
        let scheduled = again
            .take_parts(parts.iter().map(|(k, n, r)| (*k, n.as_str(), r.as_str())))
            .unwrap();
        assert!(scheduled);
        // When the material expires is not a part: it follows from the sealed versions.
        assert_eq!(again.valid_to, None);
        again.valid_to = record.valid_to;
        assert_eq!(again, record);
        // Without its schedules, a key's row is one written before: tags alone are refused.
        let mut legacy: KeyMetadataRecord = serde_json::from_value(record_json()).unwrap();
        assert!(!legacy.take_parts([]).unwrap());
        assert!(legacy.take_parts([(PartKind::Tag, "a", "b")]).is_err());
        assert!(
            legacy
                .take_parts([(PartKind::Schedule, "rotation", "{\"enabled\":1}")])
                .is_err()
        );
    }

    #[test]
    fn a_spec_that_does_not_parse_is_an_error_never_symmetric() {
        for (member, value) in [
            ("spec", "SYMMETRIC_DEFAULTX"),
            ("usage", "ENCRYPT"),
            ("origin", "AWS_CLOUDHSM_X"),
        ] {
            let mut json = record_json();
            json[member] = value.into();
            let error = serde_json::from_value::<KeyMetadataRecord>(json).unwrap_err();
            assert!(error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn a_grant_with_an_unknown_operation_is_an_error() {
        let record = GrantRecord {
            id: "g".into(),
            name: None,
            grantee: "arn:aws:iam::111122223333:role/R".into(),
            retiring_principal: None,
            issuing_account: None,
            created_at: None,
            operations: vec!["Decrypt".into(), "Launch".into()],
            constraint_type: None,
            constraint: Vec::new(),
        };
        assert!(record.grant("arn:k").unwrap_err().contains("grant g"));
    }
}

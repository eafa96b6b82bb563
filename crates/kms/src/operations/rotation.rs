//! Rotation: EnableKeyRotation (automatic, with a period), DisableKeyRotation,
//! GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.

use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, Change, ChangesKey, KmsOperation, Read, ReadsKey, action};
use crate::housekeeping::DAY;
use crate::key_state::StateClass;
use crate::paging::{PageSize, paginate};
use crate::record::RotationRecord;
use keyward_api::{
    DisableKeyRotationRequest, Empty, EnableKeyRotationRequest, ErrorCode,
    GetKeyRotationStatusRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotateKeyOnDemandRequest, RotateKeyOnDemandResponse,
    RotationsListEntry,
};
use keyward_conditions::RequestContext;
use keyward_crypto::{KeySpec, Origin};
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};

/// `RotationPeriodInDays`: 90–2560, 365 by default.
const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = 90..=2560;
const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;
/// On-demand rotations allowed per key: "You can perform on-demand key rotation a maximum of 25
/// times per KMS key" (API Reference, RotateKeyOnDemand; earlier copies said 10).
const ON_DEMAND_ROTATION_LIMIT: usize = 25;

/// Only symmetric encryption keys with material KMS generated rotate automatically.
fn check_rotatable(entry: &KeyEntry) -> Result<(), KmsError> {
    let arn = &entry.meta.arn;
    if entry.meta.origin != Origin::AwsKms {
        return Err(KmsError::unsupported(format!(
            "{arn} origin is {} which is not valid for this operation.",
            entry.meta.origin.as_str()
        )));
    }
    if entry.meta.spec != KeySpec::SymmetricDefault {
        return Err(KmsError::unsupported(format!(
            "{arn} key spec is {} which is not valid for this operation: only symmetric encryption keys rotate.",
            entry.meta.spec.as_str()
        )));
    }
    Ok(())
}

pub(crate) struct EnableKeyRotation;

fn rotation_period(r: &EnableKeyRotationRequest) -> u32 {
    r.rotation_period_in_days
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS)
}

impl KmsOperation for EnableKeyRotation {
    type Request = EnableKeyRotationRequest;
    type Response = Empty;
    type Pipeline = Change;
    const ACTION: ActionId = action!("EnableKeyRotation");
    const STATE: StateClass = StateClass::Rotation;

    fn audit(r: &EnableKeyRotationRequest) -> Value {
        json!({"keyId": r.key_id, "rotationPeriodInDays": r.rotation_period_in_days})
    }

    /// The condition key is present only when the request sets the period.
    fn context(r: &EnableKeyRotationRequest, context: &mut RequestContext) {
        if let Some(days) = r.rotation_period_in_days {
            context.insert_single("kms:RotationPeriodInDays", &days.to_string());
        }
    }
}

impl ChangesKey for EnableKeyRotation {
    fn key_id(r: &EnableKeyRotationRequest) -> &str {
        &r.key_id
    }

    fn validate(entry: &KeyEntry, r: &EnableKeyRotationRequest) -> Result<(), KmsError> {
        check_rotatable(entry)?;
        let days = rotation_period(r);
        if !ROTATION_PERIOD_DAYS.contains(&days) {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between {} and {}",
                ROTATION_PERIOD_DAYS.start(),
                ROTATION_PERIOD_DAYS.end()
            )));
        }
        Ok(())
    }

    /// Automatic rotation every period, the first one period from now.
    fn perform(
        op: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        r: &EnableKeyRotationRequest,
    ) -> Result<Empty, KmsError> {
        let days = rotation_period(r);
        let now = epoch_seconds(op.kms.clock.now());
        entry.meta.rotation_enabled = true;
        entry.meta.rotation_period_days = days;
        entry.meta.next_rotation = Some(now + u64::from(days) * DAY);
        Ok(Empty {})
    }
}

pub(crate) struct DisableKeyRotation;

impl KmsOperation for DisableKeyRotation {
    type Request = DisableKeyRotationRequest;
    type Response = Empty;
    type Pipeline = Change;
    const ACTION: ActionId = action!("DisableKeyRotation");
    const STATE: StateClass = StateClass::Rotation;

    fn audit(r: &DisableKeyRotationRequest) -> Value {
        json!({"keyId": r.key_id})
    }
}

impl ChangesKey for DisableKeyRotation {
    fn key_id(r: &DisableKeyRotationRequest) -> &str {
        &r.key_id
    }

    fn validate(entry: &KeyEntry, _: &DisableKeyRotationRequest) -> Result<(), KmsError> {
        check_rotatable(entry)
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        _: &DisableKeyRotationRequest,
    ) -> Result<Empty, KmsError> {
        entry.meta.rotation_enabled = false;
        entry.meta.next_rotation = None;
        Ok(Empty {})
    }
}

pub(crate) struct GetKeyRotationStatus;

impl KmsOperation for GetKeyRotationStatus {
    type Request = GetKeyRotationStatusRequest;
    type Response = GetKeyRotationStatusResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("GetKeyRotationStatus");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &GetKeyRotationStatusRequest) -> Value {
        json!({"keyId": r.key_id})
    }
}

impl ReadsKey for GetKeyRotationStatus {
    fn key_id(r: &GetKeyRotationStatusRequest) -> &str {
        &r.key_id
    }

    fn validate(entry: &KeyEntry, _: &GetKeyRotationStatusRequest) -> Result<(), KmsError> {
        check_rotatable(entry)
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        _: &GetKeyRotationStatusRequest,
    ) -> Result<GetKeyRotationStatusResponse, KmsError> {
        let enabled = entry.meta.rotation_enabled;
        Ok(GetKeyRotationStatusResponse {
            key_id: entry.meta.arn.clone(),
            key_rotation_enabled: enabled,
            rotation_period_in_days: enabled.then_some(entry.meta.rotation_period_days),
            next_rotation_date: enabled
                .then_some(entry.meta.next_rotation)
                .flatten()
                .map(from_epoch_seconds),
            // On-demand rotations complete within the call here.
            on_demand_rotation_start_date: None,
        })
    }
}

pub(crate) struct RotateKeyOnDemand;

impl KmsOperation for RotateKeyOnDemand {
    type Request = RotateKeyOnDemandRequest;
    type Response = RotateKeyOnDemandResponse;
    type Pipeline = Change;
    const ACTION: ActionId = action!("RotateKeyOnDemand");
    const STATE: StateClass = StateClass::OnDemandRotation;

    fn audit(r: &RotateKeyOnDemandRequest) -> Value {
        json!({"keyId": r.key_id})
    }
}

impl ChangesKey for RotateKeyOnDemand {
    fn key_id(r: &RotateKeyOnDemandRequest) -> &str {
        &r.key_id
    }

    /// At most [`ON_DEMAND_ROTATION_LIMIT`] times per key, symmetric encryption keys only.
    fn validate(entry: &KeyEntry, _: &RotateKeyOnDemandRequest) -> Result<(), KmsError> {
        if entry.meta.spec != KeySpec::SymmetricDefault {
            // AWS sends this one without a message.
            return Err(KmsError::Refused {
                code: ErrorCode::UnsupportedOperation,
                message: None,
            });
        }
        let on_demand = entry.meta.rotations.iter().filter(|r| r.on_demand).count();
        if on_demand >= ON_DEMAND_ROTATION_LIMIT {
            return Err(KmsError::refused(
                ErrorCode::LimitExceeded,
                format!(
                    "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                    entry.meta.arn
                ),
            ));
        }
        Ok(())
    }

    /// New key material now; the automatic schedule is unchanged. A key of origin AWS_KMS gets
    /// generated material; an EXTERNAL one rotates to the material imported for it with
    /// `ImportType = NEW_KEY_MATERIAL` (AWS, 2025). The key state was checked first, as AWS
    /// does (an EXTERNAL key never imported is "pending import").
    fn perform(
        op: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        _: &RotateKeyOnDemandRequest,
    ) -> Result<RotateKeyOnDemandResponse, KmsError> {
        let version = if entry.meta.origin == Origin::External {
            entry.crypto.rotate_to_pending().ok_or_else(|| {
                KmsError::refused(
                    ErrorCode::KmsInvalidState,
                    format!(
                        "No available key material pending rotation for the key: {}.",
                        entry.meta.arn
                    ),
                )
            })?
        } else {
            check_rotatable(entry)?;
            entry.crypto.rotate()?
        };
        entry.meta.rotations.push(RotationRecord {
            version,
            date: epoch_seconds(op.kms.clock.now()),
            on_demand: true,
        });
        Ok(RotateKeyOnDemandResponse {
            key_id: entry.meta.arn.clone(),
        })
    }
}

pub(crate) struct ListKeyRotations;

/// Whether ListKeyRotations lists every key material (`ALL_KEY_MATERIAL`) or the rotations only.
fn all_key_material(r: &ListKeyRotationsRequest) -> Result<bool, KmsError> {
    match r.include_key_material.as_deref() {
        None | Some("ROTATIONS_ONLY") => Ok(false),
        Some("ALL_KEY_MATERIAL") => Ok(true),
        Some(other) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
        ))),
    }
}

impl KmsOperation for ListKeyRotations {
    type Request = ListKeyRotationsRequest;
    type Response = ListKeyRotationsResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("ListKeyRotations");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &ListKeyRotationsRequest) -> Value {
        json!({"keyId": r.key_id, "includeKeyMaterial": r.include_key_material, "limit": r.limit, "marker": r.marker})
    }

    fn check(r: &ListKeyRotationsRequest) -> Result<(), KmsError> {
        all_key_material(r).map(drop)
    }
}

impl ReadsKey for ListKeyRotations {
    fn key_id(r: &ListKeyRotationsRequest) -> &str {
        &r.key_id
    }

    fn validate(entry: &KeyEntry, _: &ListKeyRotationsRequest) -> Result<(), KmsError> {
        if entry.meta.origin == Origin::AwsKms || entry.meta.spec != KeySpec::SymmetricDefault {
            check_rotatable(entry)?;
        }
        Ok(())
    }

    /// Every completed rotation, oldest first; with `ALL_KEY_MATERIAL` also the first key
    /// material and any imported material pending rotation. Each entry says its key
    /// material, its state and, for imported material, its import state and expiry.
    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        r: &ListKeyRotationsRequest,
    ) -> Result<ListKeyRotationsResponse, KmsError> {
        let all = all_key_material(r)?;
        let imported = entry.meta.origin == Origin::External;
        let text = |s: &str| s.to_owned();
        let rotations: Vec<RotationsListEntry> = entry
            .crypto
            .materials()
            .into_iter()
            .filter_map(|m| {
                let rotation = entry.meta.rotations.iter().find(|r| r.version == m.version);
                if !all && rotation.is_none() {
                    return None;
                }
                let material_state = if m.pending {
                    "PENDING_ROTATION"
                } else if m.current {
                    "CURRENT"
                } else {
                    "NON_CURRENT"
                };
                Some(RotationsListEntry {
                    key_id: entry.meta.arn.clone(),
                    key_material_description: entry
                        .meta
                        .material_descriptions
                        .get(&m.material_id)
                        .cloned(),
                    import_state: imported
                        .then_some(if m.present {
                            "IMPORTED"
                        } else {
                            "PENDING_IMPORT"
                        })
                        .map(text),
                    key_material_state: text(material_state),
                    expiration_model: imported
                        .then_some(if m.expires_at.is_some() {
                            "KEY_MATERIAL_EXPIRES"
                        } else {
                            "KEY_MATERIAL_DOES_NOT_EXPIRE"
                        })
                        .map(text),
                    valid_to: m.expires_at,
                    rotation_date: rotation.map(|r| from_epoch_seconds(r.date)),
                    rotation_type: rotation
                        .map(|r| {
                            if r.on_demand {
                                "ON_DEMAND"
                            } else {
                                "AUTOMATIC"
                            }
                        })
                        .map(text),
                    key_material_id: m.material_id,
                })
            })
            .collect();
        let page = paginate(
            rotations,
            r.limit,
            r.marker.as_deref(),
            PageSize {
                default: 100,
                max: 1000,
            },
        )?;
        Ok(ListKeyRotationsResponse {
            rotations: page.items,
            next_marker: page.next_marker,
            truncated: page.truncated,
        })
    }
}

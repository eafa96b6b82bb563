//! Rotation: EnableKeyRotation (automatic, with a period), DisableKeyRotation,
//! GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.

use super::multi_region::{check_not_replica, spread_if_multi_region};
use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::operation;
use crate::housekeeping::DAY;
use crate::paging::{PageSize, paginate};
use crate::record::RotationRecord;
use keyward_api::{
    DisableKeyRotationRequest, Empty, EnableKeyRotationRequest, ErrorCode,
    GetKeyRotationStatusRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotateKeyOnDemandRequest, RotateKeyOnDemandResponse,
    RotationsListEntry,
};
use keyward_crypto::{KeySpec, Origin};
use serde_json::json;

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

/// The rotation period a request asks for.
fn rotation_period(r: &EnableKeyRotationRequest) -> u32 {
    r.rotation_period_in_days
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS)
}

/// EnableKeyRotation's checks: a rotatable key, a period in range.
fn check_rotation_period(entry: &KeyEntry, r: &EnableKeyRotationRequest) -> Result<(), KmsError> {
    check_rotatable(entry)?;
    let days = rotation_period(r);
    if ROTATION_PERIOD_DAYS.contains(&days) {
        return Ok(());
    }
    Err(KmsError::validation(format!(
        "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between {} and {}",
        ROTATION_PERIOD_DAYS.start(),
        ROTATION_PERIOD_DAYS.end()
    )))
}

operation! {
    /// EnableKeyRotation: automatic rotation every `RotationPeriodInDays` (90–2560, default
    /// 365), the first one period from now.
    EnableKeyRotation(EnableKeyRotationRequest) -> Empty, via Change, action "EnableKeyRotation", state Rotation;
    audit |r| json!({"keyId": r.key_id, "rotationPeriodInDays": r.rotation_period_in_days});
    // The condition key is present only when the request sets the period.
    context |r, keys| if let Some(days) = r.rotation_period_in_days {
        keys.insert_single("kms:RotationPeriodInDays", &days.to_string());
    };
    validate |entry, r| {
        check_not_replica(entry)?;
        check_rotation_period(entry, r)
    };
    perform |op, entry, r| {
        let days = rotation_period(r);
        let now = epoch_seconds(op.kms.clock.now());
        entry.meta.rotation_enabled = true;
        entry.meta.rotation_period_days = days;
        entry.meta.next_rotation = Some(now + u64::from(days) * DAY);
        spread_if_multi_region(op.kms, entry);
        Ok(Empty {})
    }
}

operation! {
    /// DisableKeyRotation.
    DisableKeyRotation(DisableKeyRotationRequest) -> Empty, via Change, action "DisableKeyRotation", state Rotation;
    audit |r| json!({"keyId": r.key_id});
    validate |entry, _| {
        check_not_replica(entry)?;
        check_rotatable(entry)
    };
    perform |op, entry, _| {
        entry.meta.rotation_enabled = false;
        entry.meta.next_rotation = None;
        spread_if_multi_region(op.kms, entry);
        Ok(Empty {})
    }
}

operation! {
    /// GetKeyRotationStatus.
    GetKeyRotationStatus(GetKeyRotationStatusRequest) -> GetKeyRotationStatusResponse, via Read,
        action "GetKeyRotationStatus", state Any;
    audit |r| json!({"keyId": r.key_id});
    validate |entry, _| check_rotatable(entry);
    perform |_, entry, _| {
        let enabled = entry.meta.rotation_enabled;
        let next = enabled.then_some(entry.meta.next_rotation).flatten();
        Ok(GetKeyRotationStatusResponse {
            key_id: entry.meta.arn.clone(),
            key_rotation_enabled: enabled,
            rotation_period_in_days: enabled.then_some(entry.meta.rotation_period_days),
            next_rotation_date: next.map(from_epoch_seconds),
            // On-demand rotations complete within the call here.
            on_demand_rotation_start_date: None,
        })
    }
}

/// RotateKeyOnDemand's checks: symmetric encryption keys only, at most
/// [`ON_DEMAND_ROTATION_LIMIT`] times per key.
fn check_on_demand(entry: &KeyEntry) -> Result<(), KmsError> {
    if entry.meta.spec != KeySpec::SymmetricDefault {
        // AWS sends this one without a message.
        return Err(KmsError::Refused {
            code: ErrorCode::UnsupportedOperation,
            message: None,
        });
    }
    let on_demand = entry.meta.rotations.iter().filter(|r| r.on_demand).count();
    if on_demand < ON_DEMAND_ROTATION_LIMIT {
        return Ok(());
    }
    Err(KmsError::refused(
        ErrorCode::LimitExceeded,
        format!(
            "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
            entry.meta.arn
        ),
    ))
}

operation! {
    /// RotateKeyOnDemand: new key material now; the automatic schedule is unchanged. A key of
    /// origin AWS_KMS gets generated material; an EXTERNAL one rotates to the material imported
    /// for it with `ImportType = NEW_KEY_MATERIAL` (AWS, 2025). The key state is checked first,
    /// as AWS does (an EXTERNAL key never imported is "pending import").
    RotateKeyOnDemand(RotateKeyOnDemandRequest) -> RotateKeyOnDemandResponse, via Change,
        action "RotateKeyOnDemand", state OnDemandRotation;
    audit |r| json!({"keyId": r.key_id});
    validate |entry, _| {
        check_not_replica(entry)?;
        check_on_demand(entry)
    };
    perform |op, entry, _| {
        let version = if entry.meta.origin == Origin::External {
            let arn = &entry.meta.arn;
            entry.crypto.rotate_to_pending().ok_or_else(|| {
                let message = format!("No available key material pending rotation for the key: {arn}.");
                KmsError::refused(ErrorCode::KmsInvalidState, message)
            })?
        } else {
            check_rotatable(entry)?;
            entry.crypto.rotate()?
        };
        let date = epoch_seconds(op.kms.clock.now());
        entry.meta.rotations.push(RotationRecord { version, date, on_demand: true });
        spread_if_multi_region(op.kms, entry);
        Ok(RotateKeyOnDemandResponse { key_id: entry.meta.arn.clone() })
    }
}

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

/// Whether ListKeyRotations answers for the key: keys that rotate automatically, and
/// symmetric keys with imported material.
fn check_listable(entry: &KeyEntry) -> Result<(), KmsError> {
    if entry.meta.origin == Origin::AwsKms || entry.meta.spec != KeySpec::SymmetricDefault {
        check_rotatable(entry)?;
    }
    Ok(())
}

operation! {
    /// ListKeyRotations: every completed rotation, oldest first; with `ALL_KEY_MATERIAL` also
    /// the first key material and any imported material pending rotation. Each entry says its
    /// key material, its state and, for imported material, its import state and expiry.
    ListKeyRotations(ListKeyRotationsRequest) -> ListKeyRotationsResponse, via Read,
        action "ListKeyRotations", state Any;
    audit |r| json!({"keyId": r.key_id, "includeKeyMaterial": r.include_key_material, "limit": r.limit, "marker": r.marker});
    check |r| all_key_material(r).map(drop);
    validate |entry, _| check_listable(entry);
    perform |_, entry, r| {
        let rotations = rotation_entries(entry, all_key_material(r)?);
        let page = paginate(rotations, r.limit, r.marker.as_deref(), PageSize { default: 100, max: 1000 })?;
        Ok(ListKeyRotationsResponse { rotations: page.items, next_marker: page.next_marker, truncated: page.truncated })
    }
}

/// The key's materials as ListKeyRotations lists them (`all`: also those no rotation made).
fn rotation_entries(entry: &KeyEntry, all: bool) -> Vec<RotationsListEntry> {
    let imported = entry.meta.origin == Origin::External;
    let text = |s: &str| s.to_owned();
    entry
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
        .collect()
}

//! Key rotation (automatic with a period, on demand, the rotation history), imported key
//! material (GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial),
//! UpdateAlias and ListRetirableGrants.

use crate::caller::Caller;
use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::error::{ErrorCode, KmsError};
use crate::model::*;
use crate::record::RotationRecord;
use crate::service::{Call, KeyEntry, Kms, Named, StateClass, action, state_error};
use crate::store::Change;
use keyward_crypto::{ImportParameters, MaterialExpiry, WrappingAlgorithm, WrappingKeySpec};
use serde_json::json;
use std::sync::Arc;

/// `RotationPeriodInDays`: 90–2560, 365 by default.
const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = 90..=2560;
const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;
/// On-demand rotations allowed per key: "You can perform on-demand key rotation a maximum of 25
/// times per KMS key" (API Reference, RotateKeyOnDemand; earlier copies said 10).
const ON_DEMAND_ROTATION_LIMIT: usize = 25;
const DAY: u64 = 86_400;

/// Only symmetric encryption keys with material KMS generated rotate.
fn check_rotatable(entry: &KeyEntry) -> Result<(), KmsError> {
    let arn = &entry.meta.arn;
    if entry.meta.origin != "AWS_KMS" {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "{arn} origin is {} which is not valid for this operation.",
                entry.meta.origin
            ),
        ));
    }
    if entry.meta.spec != "SYMMETRIC_DEFAULT" {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "{arn} key spec is {} which is not valid for this operation: only symmetric encryption keys rotate.",
                entry.meta.spec
            ),
        ));
    }
    Ok(())
}

/// Only keys created with origin EXTERNAL take imported material.
fn check_external(entry: &KeyEntry) -> Result<(), KmsError> {
    if entry.meta.origin == "EXTERNAL" {
        Ok(())
    } else {
        Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "{} origin is {} which is not valid for this operation.",
                entry.meta.arn, entry.meta.origin
            ),
        ))
    }
}

impl Kms {
    /// EnableKeyRotation: automatic rotation every `RotationPeriodInDays` (90–2560, default
    /// 365), the first one period from now.
    pub fn enable_key_rotation(
        &self,
        caller: &Caller,
        request: &EnableKeyRotationRequest,
    ) -> Result<(), KmsError> {
        let days = request
            .rotation_period_in_days
            .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
        let days_text = days.to_string();
        // The condition key is present only when the request sets the period.
        let extra: Vec<(&str, &str)> = request
            .rotation_period_in_days
            .map(|_| ("kms:RotationPeriodInDays", days_text.as_str()))
            .into_iter()
            .collect();
        self.call(
            caller,
            Call::new(
                "EnableKeyRotation",
                json!({"keyId": request.key_id, "rotationPeriodInDays": request.rotation_period_in_days}),
            ),
            |call| {
                self.write_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:EnableKeyRotation",
                    StateClass::Rotation,
                    &extra,
                    |e| {
                        check_rotatable(e)?;
                        if !ROTATION_PERIOD_DAYS.contains(&days) {
                            return Err(KmsError::validation(format!(
                                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between {} and {}",
                                ROTATION_PERIOD_DAYS.start(),
                                ROTATION_PERIOD_DAYS.end()
                            )));
                        }
                        let now = epoch_seconds(self.clock.now());
                        e.meta.rotation_enabled = true;
                        e.meta.rotation_period_days = days;
                        e.meta.next_rotation = Some(now + u64::from(days) * DAY);
                        Ok(())
                    },
                )
            },
        )
    }

    /// DisableKeyRotation.
    pub fn disable_key_rotation(&self, caller: &Caller, key_id: &str) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new("DisableKeyRotation", json!({"keyId": key_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:DisableKeyRotation",
                    StateClass::Rotation,
                    &[],
                    |e| {
                        check_rotatable(e)?;
                        e.meta.rotation_enabled = false;
                        e.meta.next_rotation = None;
                        Ok(())
                    },
                )
            },
        )
    }

    /// GetKeyRotationStatus.
    pub fn get_key_rotation_status(
        &self,
        caller: &Caller,
        key_id: &str,
    ) -> Result<KeyRotationStatus, KmsError> {
        self.call(
            caller,
            Call::new("GetKeyRotationStatus", json!({"keyId": key_id})),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:GetKeyRotationStatus",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| {
                        check_rotatable(e)?;
                        let enabled = e.meta.rotation_enabled;
                        Ok(KeyRotationStatus {
                            key_id: e.meta.arn.clone(),
                            key_rotation_enabled: enabled,
                            rotation_period_in_days: enabled.then_some(e.meta.rotation_period_days),
                            next_rotation_date: enabled
                                .then_some(e.meta.next_rotation)
                                .flatten()
                                .map(from_epoch_seconds),
                            // On-demand rotations complete within the call here.
                            on_demand_rotation_start_date: None,
                        })
                    },
                )
            },
        )
    }

    /// RotateKeyOnDemand: new key material now, at most [`ON_DEMAND_ROTATION_LIMIT`] times per
    /// key; the automatic schedule is unchanged. A key of origin AWS_KMS gets generated
    /// material; an EXTERNAL one rotates to the material imported for it with
    /// `ImportType = NEW_KEY_MATERIAL` (AWS, 2025). The key state is checked first, as AWS
    /// does (an EXTERNAL key never imported is "pending import"). Returns the key ARN.
    pub fn rotate_key_on_demand(&self, caller: &Caller, key_id: &str) -> Result<String, KmsError> {
        self.call(
            caller,
            Call::new("RotateKeyOnDemand", json!({"keyId": key_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:RotateKeyOnDemand",
                    StateClass::OnDemandRotation,
                    &[],
                    |e| {
                        if e.meta.spec != "SYMMETRIC_DEFAULT" {
                            // AWS sends this one without a message.
                            return Err(KmsError {
                                code: ErrorCode::UnsupportedOperation,
                                message: None,
                            });
                        }
                        let on_demand = e.meta.rotations.iter().filter(|r| r.on_demand).count();
                        if on_demand >= ON_DEMAND_ROTATION_LIMIT {
                            return Err(KmsError::new(
                                ErrorCode::LimitExceeded,
                                format!(
                                    "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                                    e.meta.arn
                                ),
                            ));
                        }
                        let version = if e.meta.origin == "EXTERNAL" {
                            e.crypto.rotate_to_pending().ok_or_else(|| {
                                KmsError::invalid_state(format!(
                                    "No available key material pending rotation for the key: {}.",
                                    e.meta.arn
                                ))
                            })?
                        } else {
                            check_rotatable(e)?;
                            e.crypto.rotate()?
                        };
                        e.meta.rotations.push(RotationRecord {
                            version,
                            date: epoch_seconds(self.clock.now()),
                            on_demand: true,
                        });
                        Ok(e.meta.arn.clone())
                    },
                )
            },
        )
    }

    /// ListKeyRotations: every completed rotation, oldest first; with `IncludeKeyMaterial =
    /// ALL_KEY_MATERIAL` also the first key material and any imported material pending
    /// rotation. Each entry says its key material, its state and, for imported material, its
    /// import state and expiry.
    pub fn list_key_rotations(
        &self,
        caller: &Caller,
        request: &ListKeyRotationsRequest,
    ) -> Result<Page<RotationEntry>, KmsError> {
        let paging = &request.paging;
        self.call(
            caller,
            Call::new(
                "ListKeyRotations",
                json!({"keyId": request.key_id, "includeKeyMaterial": request.include_key_material, "limit": paging.limit, "marker": paging.marker}),
            ),
            |call| {
                let all = match request.include_key_material.as_deref() {
                    None | Some("ROTATIONS_ONLY") => false,
                    Some("ALL_KEY_MATERIAL") => true,
                    Some(other) => {
                        return Err(KmsError::validation(format!(
                            "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
                        )));
                    }
                };
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:ListKeyRotations",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| {
                        if e.meta.origin == "AWS_KMS" || e.meta.spec != "SYMMETRIC_DEFAULT" {
                            check_rotatable(e)?;
                        }
                        let imported = e.meta.origin == "EXTERNAL";
                        let entries: Vec<RotationEntry> = e
                            .crypto
                            .materials()
                            .into_iter()
                            .filter_map(|m| {
                                let rotation = e.meta.rotations.iter().find(|r| r.version == m.version);
                                if !all && rotation.is_none() {
                                    return None;
                                }
                                Some(RotationEntry {
                                    key_id: e.meta.arn.clone(),
                                    key_material_description: e
                                        .meta
                                        .material_descriptions
                                        .get(&m.material_id)
                                        .cloned(),
                                    import_state: imported.then_some(if m.present {
                                        "IMPORTED"
                                    } else {
                                        "PENDING_IMPORT"
                                    }),
                                    key_material_state: if m.pending {
                                        "PENDING_ROTATION"
                                    } else if m.current {
                                        "CURRENT"
                                    } else {
                                        "NON_CURRENT"
                                    },
                                    expiration_model: imported.then_some(if m.expires_at.is_some() {
                                        "KEY_MATERIAL_EXPIRES"
                                    } else {
                                        "KEY_MATERIAL_DOES_NOT_EXPIRE"
                                    }),
                                    valid_to: m.expires_at,
                                    rotation_date: rotation.map(|r| from_epoch_seconds(r.date)),
                                    rotation_type: rotation.map(|r| {
                                        if r.on_demand { "ON_DEMAND" } else { "AUTOMATIC" }
                                    }),
                                    key_material_id: m.material_id,
                                })
                            })
                            .collect();
                        paginate(entries, paging, 100, 1000)
                    },
                )
            },
        )
    }

    /// GetParametersForImport: a fresh RSA wrapping key and import token, valid 24 hours (and
    /// until the service restarts: they are kept in memory only).
    pub fn get_parameters_for_import(
        &self,
        caller: &Caller,
        request: &GetParametersForImportRequest,
    ) -> Result<GetParametersForImportResponse, KmsError> {
        self.call(
            caller,
            Call::new(
                "GetParametersForImport",
                json!({"keyId": request.key_id, "wrappingAlgorithm": request.wrapping_algorithm, "wrappingKeySpec": request.wrapping_key_spec}),
            ),
            |call| {
                self.housekeeping()?;
                let action = action("kms:GetParametersForImport")?;
                let mut state = self.write()?;
                let id = {
                    let (entry, named) = self.resolve(&state, caller, &request.key_id, action)?;
                    call.resources.push(entry.meta.arn.clone());
                    let context = self.context(
                        caller,
                        Some(entry),
                        &named,
                        &[],
                        &[
                            ("kms:WrappingAlgorithm", &request.wrapping_algorithm),
                            ("kms:WrappingKeySpec", &request.wrapping_key_spec),
                        ],
                    );
                    self.authorize(call, caller, Some(entry), action, &[], context)?;
                    if let Some(error) = state_error(entry, StateClass::NotPendingDeletion) {
                        return Err(error);
                    }
                    check_external(entry)?;
                    entry.meta.id.clone()
                };
                let entry = state
                    .keys
                    .get_mut(&id)
                    .ok_or_else(|| KmsError::internal("key vanished"))?;
                let algorithm = WrappingAlgorithm::parse(&request.wrapping_algorithm)?;
                let spec = WrappingKeySpec::parse(&request.wrapping_key_spec)?;
                let parameters =
                    ImportParameters::generate(&entry.crypto, algorithm, spec, self.clock.now())
                        .map_err(|e| KmsError::from(e).naming_key(&id, &entry.meta.arn))?;
                let response = GetParametersForImportResponse {
                    key_id: entry.meta.arn.clone(),
                    import_token: parameters.import_token().to_vec(),
                    public_key: parameters.public_key().to_vec(),
                    parameters_valid_to: parameters.valid_to(),
                };
                entry.import = Some(Arc::new(parameters));
                Ok(response)
            },
        )
    }

    /// ImportKeyMaterial: unwraps the material with the wrapping key of the last
    /// GetParametersForImport and installs it. `ImportType` `EXISTING_KEY_MATERIAL` brings back
    /// material the key had (the key leaves `PendingImport` once all of it is there);
    /// `NEW_KEY_MATERIAL` (symmetric keys only; the default before the first import) adds
    /// material that RotateKeyOnDemand makes current. Returns the key ARN and the material's
    /// `KeyMaterialId`.
    pub fn import_key_material(
        &self,
        caller: &Caller,
        request: &ImportKeyMaterialRequest,
    ) -> Result<ImportKeyMaterialResponse, KmsError> {
        let valid_to_text = request.valid_to.map(|t| epoch_seconds(t).to_string());
        let mut extra: Vec<(&str, &str)> = Vec::new();
        if let Some(model) = &request.expiration_model {
            extra.push(("kms:ExpirationModel", model));
        }
        if let Some(text) = &valid_to_text {
            extra.push(("kms:ValidTo", text));
        }
        self.call(
            caller,
            Call::new(
                "ImportKeyMaterial",
                json!({"keyId": request.key_id, "expirationModel": request.expiration_model, "validTo": valid_to_text, "importType": request.import_type, "keyMaterialId": request.key_material_id, "keyMaterialDescription": request.key_material_description}),
            ),
            |call| {
                let new_material = match request.import_type.as_deref() {
                    None => None,
                    Some("NEW_KEY_MATERIAL") => Some(true),
                    Some("EXISTING_KEY_MATERIAL") => Some(false),
                    Some(other) => {
                        return Err(KmsError::validation(format!(
                            "1 validation error detected: Value '{other}' at 'importType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_KEY_MATERIAL, EXISTING_KEY_MATERIAL]"
                        )));
                    }
                };
                if let Some(id) = &request.key_material_id {
                    let valid = id.len() == 64
                        && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                    if !valid {
                        return Err(KmsError::validation(format!(
                            "1 validation error detected: Value '{id}' at 'keyMaterialId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-f0-9]+$"
                        )));
                    }
                    if new_material == Some(true) {
                        return Err(KmsError::validation(
                            "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.",
                        ));
                    }
                }
                if let Some(description) = &request.key_material_description {
                    let valid = description.chars().count() <= 256
                        && description.chars().all(|c| {
                            c.is_ascii_alphanumeric() || c.is_whitespace() || ":/_.-".contains(c)
                        });
                    if !valid {
                        return Err(KmsError::validation(format!(
                            "1 validation error detected: Value '{description}' at 'keyMaterialDescription' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$"
                        )));
                    }
                }
                self.write_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:ImportKeyMaterial",
                    StateClass::NotPendingDeletion,
                    &extra,
                    |e| {
                        check_external(e)?;
                        let symmetric = e.meta.spec == "SYMMETRIC_DEFAULT";
                        if !symmetric && (request.import_type.is_some() || request.key_material_id.is_some()) {
                            return Err(KmsError::validation(
                                "ImportType and KeyMaterialId are supported only for symmetric encryption KMS keys: an asymmetric or HMAC key keeps the key material first imported into it.",
                            ));
                        }
                        let model = request
                            .expiration_model
                            .as_deref()
                            .unwrap_or("KEY_MATERIAL_EXPIRES");
                        let expiry = match (model, request.valid_to) {
                            ("KEY_MATERIAL_EXPIRES", Some(at)) => MaterialExpiry::ExpiresAt(at),
                            ("KEY_MATERIAL_EXPIRES", None) => {
                                return Err(KmsError::validation(
                                    "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
                                ));
                            }
                            ("KEY_MATERIAL_DOES_NOT_EXPIRE", None) => {
                                MaterialExpiry::DoesNotExpire
                            }
                            ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => {
                                return Err(KmsError::validation(
                                    "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
                                ));
                            }
                            (other, _) => {
                                return Err(KmsError::validation(format!(
                                    "1 validation error detected: Value '{other}' at 'expirationModel' failed to satisfy constraint: Member must satisfy enum value set: [KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE]"
                                )));
                            }
                        };
                        let parameters = e.import.clone().ok_or_else(|| {
                            KmsError::new(
                                ErrorCode::InvalidImportToken,
                                "The import token is not valid: call GetParametersForImport for this key first.",
                            )
                        })?;
                        // Omitted, ImportType is NEW before any material was imported and
                        // EXISTING after (API Reference).
                        let never_imported = e.crypto.materials().is_empty();
                        let version = if symmetric && new_material.unwrap_or(never_imported) {
                            e.crypto.import_new_material(
                                &parameters,
                                &request.import_token,
                                &request.encrypted_key_material,
                                expiry,
                                self.clock.now(),
                            )?
                        } else {
                            e.crypto.import_material(
                                &parameters,
                                &request.import_token,
                                &request.encrypted_key_material,
                                expiry,
                                self.clock.now(),
                            )?
                        };
                        let material_id = e.crypto.material_id(version).unwrap_or_default();
                        if let Some(named) = &request.key_material_id
                            && *named != material_id
                        {
                            return Err(KmsError::new(
                                ErrorCode::IncorrectKeyMaterial,
                                format!(
                                    "The key material does not match the key material ID {named} of KMS key {}.",
                                    e.meta.arn
                                ),
                            ));
                        }
                        if let Some(description) = &request.key_material_description {
                            e.meta
                                .material_descriptions
                                .insert(material_id.clone(), description.clone());
                        }
                        e.meta.expiration_model = Some(model.to_owned());
                        e.refresh_expiry();
                        Ok(ImportKeyMaterialResponse {
                            key_id: e.meta.arn.clone(),
                            key_material_id: material_id,
                        })
                    },
                )
            },
        )
    }

    /// DeleteImportedKeyMaterial: deletes the material `KeyMaterialId` names, or the current
    /// material; the key becomes `PendingImport` (unless pending deletion), and its ciphertexts
    /// under that material decrypt again only once the same material is imported. Material
    /// pending rotation is removed altogether.
    pub fn delete_imported_key_material(
        &self,
        caller: &Caller,
        request: &DeleteImportedKeyMaterialRequest,
    ) -> Result<DeleteImportedKeyMaterialResponse, KmsError> {
        self.call(
            caller,
            Call::new(
                "DeleteImportedKeyMaterial",
                json!({"keyId": request.key_id, "keyMaterialId": request.key_material_id}),
            ),
            |call| {
                self.write_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:DeleteImportedKeyMaterial",
                    StateClass::Any,
                    &[],
                    |e| {
                        check_external(e)?;
                        let deleted = e
                            .crypto
                            .delete_imported_material(request.key_material_id.as_deref())?;
                        e.refresh_expiry();
                        if !e.crypto.has_material() {
                            e.meta.expiration_model = None;
                        }
                        Ok(DeleteImportedKeyMaterialResponse {
                            key_id: e.meta.arn.clone(),
                            key_material_id: (!deleted.is_empty()).then_some(deleted),
                        })
                    },
                )
            },
        )
    }

    /// UpdateAlias: points an alias at another key of the same type and usage.
    /// `kms:UpdateAlias` is needed on the alias (identity policies), on the key it points to
    /// now and on the new key (key policies or delegated identity policies).
    pub fn update_alias(
        &self,
        caller: &Caller,
        alias_name: &str,
        target_key_id: &str,
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new(
                "UpdateAlias",
                json!({"aliasName": alias_name, "targetKeyId": target_key_id}),
            ),
            |call| {
                crate::ops::check_alias_name(alias_name)?;
                crate::ops::check_alias_target(target_key_id)?;
                self.housekeeping()?;
                let action = action("kms:UpdateAlias")?;
                let account = caller.account().to_owned();
                let mut state = self.write()?;
                let (old_id, new_id) = {
                    let current = self.resolve_alias(&state, caller, alias_name)?;
                    let (target, _) = self.resolve(&state, caller, target_key_id, action)?;
                    call.resources.push(current.meta.arn.clone());
                    call.resources.push(target.meta.arn.clone());
                    self.authorize_alias(call, caller, current, action, alias_name)?;
                    self.authorize_alias(call, caller, target, action, alias_name)?;
                    // The new target may not be pending deletion (the current one may).
                    if let Some(error) = state_error(target, StateClass::NotPendingDeletion) {
                        return Err(error);
                    }
                    let kind = |e: &KeyEntry| {
                        let family = if e.meta.spec == "SYMMETRIC_DEFAULT" {
                            "symmetric"
                        } else if e.meta.spec.starts_with("HMAC_") {
                            "HMAC"
                        } else {
                            "asymmetric"
                        };
                        (family, e.meta.usage.clone())
                    };
                    if kind(current) != kind(target) {
                        return Err(KmsError::validation(format!(
                            "{} is not the same type of key as {}: an alias can move only to a key of the same type and key usage.",
                            target.meta.arn, current.meta.arn
                        )));
                    }
                    (current.meta.id.clone(), target.meta.id.clone())
                };
                let created = state
                    .aliases
                    .get(&account, alias_name)
                    .map(|a| a.created)
                    .ok_or_else(|| KmsError::internal("alias vanished"))?;
                let record = self.alias_record(
                    &account,
                    alias_name,
                    &new_id,
                    created,
                    epoch_seconds(self.clock.now()),
                );
                self.persist(&[Change::PutAlias(record.clone())])?;
                state.aliases.insert(record);
                if let Some(old) = state.keys.get_mut(&old_id) {
                    old.aliases.retain(|a| a != alias_name);
                    old.refresh_context();
                }
                if let Some(new) = state.keys.get_mut(&new_id) {
                    new.aliases.push(alias_name.to_owned());
                    new.refresh_context();
                }
                Ok(())
            },
        )
    }

    /// ListRetirableGrants: the grants, on every key, whose retiring principal is
    /// `retiring_principal`. Identity policies alone decide; the principal must be in the
    /// caller's account (another account's is refused, failing closed).
    pub fn list_retirable_grants(
        &self,
        caller: &Caller,
        retiring_principal: &str,
        paging: &Paging,
    ) -> Result<Page<GrantListEntry>, KmsError> {
        self.call(
            caller,
            Call::new(
                "ListRetirableGrants",
                json!({"retiringPrincipal": retiring_principal, "limit": paging.limit, "marker": paging.marker}),
            ),
            |call| {
                let action = action("kms:ListRetirableGrants")?;
                let context = self.context(caller, None, &Named::default(), &[], &[]);
                self.authorize(call, caller, None, action, &[], context)?;
                let account = keyward_policy::principal::Principal::parse_caller(retiring_principal)
                    .ok()
                    .and_then(|p| p.account().map(str::to_owned));
                match account {
                    None => {
                        return Err(KmsError::validation(format!(
                            "1 validation error detected: Value '{retiring_principal}' at 'retiringPrincipal' failed to satisfy constraint: Member must be a principal ARN"
                        )));
                    }
                    Some(a) if a != caller.account() => {
                        return Err(KmsError::new(
                            ErrorCode::AccessDenied,
                            format!(
                                "User: {} is not authorized to perform: kms:ListRetirableGrants on resource: {retiring_principal}: the retiring principal is in another account",
                                caller.arn()
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                let state = self.read()?;
                let mut keys: Vec<&KeyEntry> = state.keys.values().collect();
                keys.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
                let grants: Vec<GrantListEntry> = keys
                    .into_iter()
                    .flat_map(|e| {
                        e.grants
                            .grants()
                            .iter()
                            .filter(|g| g.retiring_principal.as_deref() == Some(retiring_principal))
                            .map(|g| crate::ops::grant_entry(e, g))
                    })
                    .collect();
                paginate(grants, paging, 50, 100)
            },
        )
    }
}

/// One page of `items` (in a stable order): `Limit` between 1 and `max` (`default` when
/// absent), `Marker` the `NextMarker` of the previous page.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    paging: &Paging,
    default: u32,
    max: u32,
) -> Result<Page<T>, KmsError> {
    let limit = paging.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
        )));
    }
    let start = match &paging.marker {
        None => 0,
        Some(marker) => marker
            .strip_prefix("kw1.")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| {
                KmsError::new(
                    ErrorCode::InvalidMarker,
                    "The marker does not come from a previous call of this operation.",
                )
            })?,
    };
    let end = start.saturating_add(limit as usize).min(items.len());
    let truncated = end < items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page {
        items,
        next_marker: truncated.then(|| format!("kw1.{end}")),
        truncated,
    })
}

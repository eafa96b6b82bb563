//! Imported key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

use crate::caller::Caller;
use crate::clock::epoch_seconds;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, Call, KmsOperation, operation};
use crate::service::Kms;
use keyward_api::{
    DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse, ErrorCode,
    GetParametersForImportRequest, GetParametersForImportResponse, ImportKeyMaterialRequest,
    ImportKeyMaterialResponse,
};
use keyward_crypto::{
    ImportParameters, KeySpec, MaterialExpiry, Origin, WrappingAlgorithm, WrappingKeySpec,
};
use serde_json::json;
use std::sync::Arc;

/// Only keys created with origin EXTERNAL take imported material.
fn check_external(entry: &KeyEntry) -> Result<(), KmsError> {
    if entry.meta.origin == Origin::External {
        return Ok(());
    }
    Err(KmsError::unsupported(format!(
        "{} origin is {} which is not valid for this operation.",
        entry.meta.arn,
        entry.meta.origin.as_str()
    )))
}

operation! {
    /// GetParametersForImport: a fresh RSA wrapping key and import token, valid 24 hours (and
    /// until the service restarts: they are kept in memory only, so nothing is persisted).
    GetParametersForImport(GetParametersForImportRequest) -> GetParametersForImportResponse, via Own,
        action "GetParametersForImport", state NotPendingDeletion;
    audit |r| json!({"keyId": r.key_id, "wrappingAlgorithm": r.wrapping_algorithm, "wrappingKeySpec": r.wrapping_key_spec});
    context |r, keys| {
        keys.insert_single("kms:WrappingAlgorithm", &r.wrapping_algorithm);
        keys.insert_single("kms:WrappingKeySpec", &r.wrapping_key_spec);
    };
    run |kms, caller, call, r| parameters_for_import(kms, caller, call, r)
}

fn parameters_for_import(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &GetParametersForImportRequest,
) -> Result<GetParametersForImportResponse, KmsError> {
    kms.housekeeping()?;
    let (slot, named) = kms.resolve(caller, &r.key_id, GetParametersForImport::ACTION)?;
    let mut guard = slot.write()?;
    kms.admit::<GetParametersForImport>(&guard, &named, caller, call, r)?;
    check_external(&guard)?;
    let entry = &mut *guard;
    let algorithm = WrappingAlgorithm::parse(&r.wrapping_algorithm)?;
    let spec = WrappingKeySpec::parse(&r.wrapping_key_spec)?;
    let parameters = ImportParameters::generate(&entry.crypto, algorithm, spec, kms.clock.now())?;
    let response = GetParametersForImportResponse {
        key_id: entry.meta.arn.clone(),
        import_token: parameters.import_token().to_vec(),
        public_key: parameters.public_key().to_vec(),
        parameters_valid_to: parameters.valid_to(),
    };
    entry.import = Some(Arc::new(parameters));
    Ok(response)
}

/// `ImportType`: `Some(true)` for new material, `Some(false)` for existing, `None` when absent.
fn new_material(r: &ImportKeyMaterialRequest) -> Result<Option<bool>, KmsError> {
    match r.import_type.as_deref() {
        None => Ok(None),
        Some("NEW_KEY_MATERIAL") => Ok(Some(true)),
        Some("EXISTING_KEY_MATERIAL") => Ok(Some(false)),
        Some(other) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'importType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_KEY_MATERIAL, EXISTING_KEY_MATERIAL]"
        ))),
    }
}

/// The material's expiry, from `ExpirationModel` and `ValidTo`.
fn expiry(r: &ImportKeyMaterialRequest) -> Result<MaterialExpiry, KmsError> {
    match (model(r), r.valid_to) {
        ("KEY_MATERIAL_EXPIRES", Some(at)) => Ok(MaterialExpiry::ExpiresAt(at)),
        ("KEY_MATERIAL_EXPIRES", None) => Err(KmsError::validation(
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
        )),
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", None) => Ok(MaterialExpiry::DoesNotExpire),
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => Err(KmsError::validation(
            "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
        )),
        (other, _) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'expirationModel' failed to satisfy constraint: Member must satisfy enum value set: [KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE]"
        ))),
    }
}

/// `ExpirationModel`, `KEY_MATERIAL_EXPIRES` when absent.
fn model(r: &ImportKeyMaterialRequest) -> &str {
    r.expiration_model
        .as_deref()
        .unwrap_or("KEY_MATERIAL_EXPIRES")
}

/// ImportKeyMaterial's `ImportType`, `KeyMaterialId` and `KeyMaterialDescription`, as the API
/// constrains them.
fn check_import(r: &ImportKeyMaterialRequest) -> Result<(), KmsError> {
    let new = new_material(r)?;
    if let Some(id) = &r.key_material_id {
        let valid = id.len() == 64
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{id}' at 'keyMaterialId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-f0-9]+$"
            )));
        }
        if new == Some(true) {
            return Err(KmsError::validation(
                "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.",
            ));
        }
    }
    if let Some(description) = &r.key_material_description {
        let valid = description.chars().count() <= 256
            && description
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || ":/_.-".contains(c));
        if !valid {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{description}' at 'keyMaterialDescription' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$"
            )));
        }
    }
    Ok(())
}

/// What ImportKeyMaterial needs of the key: origin EXTERNAL, and for `ImportType` or
/// `KeyMaterialId` a symmetric key; and a valid expiry.
fn check_import_into(entry: &KeyEntry, r: &ImportKeyMaterialRequest) -> Result<(), KmsError> {
    check_external(entry)?;
    let symmetric = entry.meta.spec == KeySpec::SymmetricDefault;
    if !symmetric && (r.import_type.is_some() || r.key_material_id.is_some()) {
        return Err(KmsError::validation(
            "ImportType and KeyMaterialId are supported only for symmetric encryption KMS keys: an asymmetric or HMAC key keeps the key material first imported into it.",
        ));
    }
    expiry(r).map(drop)
}

operation! {
    /// ImportKeyMaterial: unwraps the material with the wrapping key of the last
    /// GetParametersForImport and installs it. `EXISTING_KEY_MATERIAL` brings back material
    /// the key had (the key leaves `PendingImport` once all of it is there);
    /// `NEW_KEY_MATERIAL` (symmetric keys only; the default before the first import) adds
    /// material that RotateKeyOnDemand makes current.
    ImportKeyMaterial(ImportKeyMaterialRequest) -> ImportKeyMaterialResponse, via Change,
        action "ImportKeyMaterial", state NotPendingDeletion;
    audit |r| json!({
        "keyId": r.key_id,
        "expirationModel": r.expiration_model,
        "validTo": r.valid_to.map(|t| epoch_seconds(t).to_string()),
        "importType": r.import_type,
        "keyMaterialId": r.key_material_id,
        "keyMaterialDescription": r.key_material_description,
    });
    check |r| check_import(r);
    context |r, keys| {
        if let Some(model) = &r.expiration_model {
            keys.insert_single("kms:ExpirationModel", model);
        }
        if let Some(valid_to) = r.valid_to {
            keys.insert_single("kms:ValidTo", &epoch_seconds(valid_to).to_string());
        }
    };
    validate |entry, r| check_import_into(entry, r);
    perform |op, entry, r| import(op, entry, r)
}

fn import(
    op: &mut Allowed<'_>,
    entry: &mut KeyEntry,
    r: &ImportKeyMaterialRequest,
) -> Result<ImportKeyMaterialResponse, KmsError> {
    let expiry = expiry(r)?;
    let parameters = entry.import.clone().ok_or_else(|| {
        KmsError::refused(
            ErrorCode::InvalidImportToken,
            "The import token is not valid: call GetParametersForImport for this key first.",
        )
    })?;
    let now = op.kms.clock.now();
    // Omitted, ImportType is NEW before any material was imported and EXISTING after (API
    // Reference).
    let never_imported = entry.crypto.materials().is_empty();
    let symmetric = entry.meta.spec == KeySpec::SymmetricDefault;
    let version = if symmetric && new_material(r)?.unwrap_or(never_imported) {
        entry.crypto.import_new_material(
            &parameters,
            &r.import_token,
            &r.encrypted_key_material,
            expiry,
            now,
        )?
    } else {
        entry.crypto.import_material(
            &parameters,
            &r.import_token,
            &r.encrypted_key_material,
            expiry,
            now,
        )?
    };
    let material_id = entry.crypto.material_id(version).unwrap_or_default();
    if let Some(named) = &r.key_material_id
        && *named != material_id
    {
        return Err(KmsError::refused(
            ErrorCode::IncorrectKeyMaterial,
            format!(
                "The key material does not match the key material ID {named} of KMS key {}.",
                entry.meta.arn
            ),
        ));
    }
    if let Some(description) = &r.key_material_description {
        entry
            .meta
            .material_descriptions
            .insert(material_id.clone(), description.clone());
    }
    entry.meta.expiration_model = Some(model(r).to_owned());
    Ok(ImportKeyMaterialResponse {
        key_id: entry.meta.arn.clone(),
        key_material_id: material_id,
    })
}

operation! {
    /// DeleteImportedKeyMaterial: deletes the material `KeyMaterialId` names, or the current
    /// material; the key becomes `PendingImport` (unless pending deletion), and its ciphertexts
    /// under that material decrypt again only once the same material is imported. Material
    /// pending rotation is removed altogether.
    DeleteImportedKeyMaterial(DeleteImportedKeyMaterialRequest) -> DeleteImportedKeyMaterialResponse, via Change,
        action "DeleteImportedKeyMaterial", state Any;
    audit |r| json!({"keyId": r.key_id, "keyMaterialId": r.key_material_id});
    validate |entry, _| check_external(entry);
    perform |_, entry, r| {
        let deleted = entry.crypto.delete_imported_material(r.key_material_id.as_deref())?;
        if !entry.crypto.has_material() {
            entry.meta.expiration_model = None;
        }
        let key_material_id = (!deleted.is_empty()).then_some(deleted);
        Ok(DeleteImportedKeyMaterialResponse { key_id: entry.meta.arn.clone(), key_material_id })
    }
}

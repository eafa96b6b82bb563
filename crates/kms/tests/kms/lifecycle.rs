//! Key lifecycle over time (the injectable clock): automatic rotation with its period,
//! on-demand rotation and its limit, the rotation history; imported material, its expiry and
//! its deletion; UpdateAlias; ReEncrypt's two authorizations; RetireGrant; ListRetirableGrants;
//! paging.

use crate::common::{
    self, ACCOUNT, DAY, DENIED, Fixture, Kind, USER, alias, all_aliases, caller, code, ec, fixture,
    grant, grants_of, import_request, parameters_for_import, start, tag,
};
use keyward_crypto::RootKey;
use keyward_kms::api::{
    CreateGrantRequest, DeleteImportedKeyMaterialRequest, DisableKeyRequest,
    DisableKeyRotationRequest, EnableKeyRequest, EnableKeyRotationRequest, ErrorCode,
    GenerateDataKeyRequest, GenerateRandomRequest, GetKeyRotationStatusRequest,
    GetParametersForImportRequest, ImportKeyMaterialRequest, ImportKeyMaterialResponse, KeyState,
    ListKeyRotationsRequest, ListKeyRotationsResponse, ListResourceTagsRequest,
    ListRetirableGrantsRequest, ReEncryptRequest, RetireGrantRequest, RotateKeyOnDemandRequest,
    UpdateAliasRequest,
};
use keyward_kms::clock::ManualClock;
use keyward_kms::store::{Change, Snapshot, SqliteStore, Store, StoreError};
use keyward_kms::{Caller, KmsError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

const SECRET: &[u8] = b"secret";

fn encrypt(f: &Fixture, key: &str) -> Result<Vec<u8>, KmsError> {
    common::encrypt(&f.kms, &f.admin, key, SECRET, &[]).map(|r| r.ciphertext_blob)
}

fn decrypt(f: &Fixture, blob: &[u8]) -> Result<Vec<u8>, KmsError> {
    common::decrypt(&f.kms, &f.admin, blob, &[]).map(|r| r.plaintext.expose().to_vec())
}

fn rotate(f: &Fixture, key: &str) -> Result<String, KmsError> {
    f.kms
        .rotate_key_on_demand(&f.admin, &RotateKeyOnDemandRequest::new(key))
        .map(|r| r.key_id)
}

fn rotations_page(
    f: &Fixture,
    key: &str,
    limit: Option<u32>,
    marker: Option<String>,
) -> Result<ListKeyRotationsResponse, KmsError> {
    f.kms.list_key_rotations(
        &f.admin,
        &ListKeyRotationsRequest {
            key_id: key.into(),
            include_key_material: None,
            limit,
            marker,
        },
    )
}

/// The rotation types of the key's rotations, oldest first (the first page).
fn rotations(f: &Fixture, key: &str) -> Vec<String> {
    rotations_page(f, key, None, None)
        .unwrap()
        .rotations
        .into_iter()
        .filter_map(|r| r.rotation_type)
        .collect()
}

#[test]
fn automatic_rotation_follows_the_period_and_old_ciphertexts_still_decrypt() {
    let f = fixture();
    let k = f.symmetric("");
    let before = encrypt(&f, &k).unwrap();
    let status = || {
        f.kms
            .get_key_rotation_status(&f.admin, &GetKeyRotationStatusRequest::new(&k))
            .unwrap()
    };
    let enable = |days| {
        f.kms.enable_key_rotation(
            &f.admin,
            &EnableKeyRotationRequest {
                key_id: k.clone(),
                rotation_period_in_days: Some(days),
            },
        )
    };
    let disable_rotation = || {
        f.kms
            .disable_key_rotation(&f.admin, &DisableKeyRotationRequest::new(&k))
    };
    let off = status();
    assert!(!off.key_rotation_enabled && off.rotation_period_in_days.is_none());
    assert_eq!(code(enable(89)), "ValidationException");
    enable(90).unwrap();
    let on = status();
    assert!(on.key_rotation_enabled);
    assert_eq!(on.rotation_period_in_days, Some(90));
    assert_eq!(on.next_rotation_date, Some(start() + DAY * 90));
    f.clock.advance(DAY * 89);
    assert!(rotations(&f, &k).is_empty(), "not yet due");
    f.clock.advance(DAY);
    assert_eq!(rotations(&f, &k), ["AUTOMATIC"]);
    let after = encrypt(&f, &k).unwrap();
    assert_eq!(decrypt(&f, &before).unwrap(), SECRET);
    assert_eq!(decrypt(&f, &after).unwrap(), SECRET);
    assert_ne!(before[..], after[..]);
    // A disabled key does not rotate.
    f.kms
        .disable_key(&f.admin, &DisableKeyRequest::new(&k))
        .unwrap();
    f.clock.advance(DAY * 200);
    assert_eq!(rotations(&f, &k), ["AUTOMATIC"]);
    disable_rotation().unwrap_err();
    // Re-enabled past its date, it rotates at once (AWS's rule for overdue keys).
    f.kms
        .enable_key(&f.admin, &EnableKeyRequest::new(&k))
        .unwrap();
    assert_eq!(rotations(&f, &k), ["AUTOMATIC", "AUTOMATIC"]);
    disable_rotation().unwrap();
    f.clock.advance(DAY * 400);
    assert_eq!(
        rotations(&f, &k),
        ["AUTOMATIC", "AUTOMATIC"],
        "rotation disabled"
    );
}

/// "You can perform on-demand key rotation a maximum of 25 times per KMS key" (API Reference,
/// RotateKeyOnDemand).
#[test]
fn on_demand_rotation_is_limited_to_twenty_five() {
    let f = fixture();
    let k = f.symmetric("");
    let blob = encrypt(&f, &k).unwrap();
    for _ in 0..25 {
        rotate(&f, &k).unwrap();
    }
    let e = rotate(&f, &k).unwrap_err();
    assert_eq!(e.code(), ErrorCode::LimitExceeded);
    assert!(
        e.message()
            .unwrap()
            .starts_with("The on-demand rotations limit has been reached for the given keyId.")
    );
    assert_eq!(rotations(&f, &k), ["ON_DEMAND"; 25]);
    assert_eq!(decrypt(&f, &blob).unwrap(), SECRET);
    // Paging through the history.
    let page = rotations_page(&f, &k, Some(4), None).unwrap();
    assert_eq!(page.rotations.len(), 4);
    assert!(page.truncated);
    let rest = rotations_page(&f, &k, Some(100), page.next_marker.clone()).unwrap();
    assert_eq!(rest.rotations.len(), 21);
    assert!(!rest.truncated && rest.next_marker.is_none());
    assert_eq!(
        code(rotations_page(&f, &k, None, Some("forged".into()))),
        "InvalidMarkerException"
    );
}

#[test]
fn rotation_refuses_keys_that_cannot_rotate() {
    let f = fixture();
    let sign = f.key(Kind::Sign, "");
    let e = rotate(&f, &sign).unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (ErrorCode::UnsupportedOperation, None)
    );
    assert_eq!(
        code(
            f.kms
                .enable_key_rotation(&f.admin, &EnableKeyRotationRequest::new(sign))
        ),
        "UnsupportedOperationException"
    );
    let disabled = f.symmetric("");
    f.kms
        .disable_key(&f.admin, &DisableKeyRequest::new(&disabled))
        .unwrap();
    let e = rotate(&f, &disabled).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Disabled);
    assert!(e.message().unwrap().ends_with(" is disabled."));
    let external = f.key(Kind::External, "");
    let e = f
        .kms
        .get_key_rotation_status(&f.admin, &GetKeyRotationStatusRequest::new(&external))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedOperation);
    assert!(
        e.message()
            .unwrap()
            .ends_with("origin is EXTERNAL which is not valid for this operation.")
    );
}

fn import(
    f: &Fixture,
    key: &str,
    material: &[u8],
    valid_to: Option<SystemTime>,
) -> Result<ImportKeyMaterialResponse, KmsError> {
    import_as(f, key, material, valid_to, None)
}

fn import_as(
    f: &Fixture,
    key: &str,
    material: &[u8],
    valid_to: Option<SystemTime>,
    import_type: Option<&str>,
) -> Result<ImportKeyMaterialResponse, KmsError> {
    let model = if valid_to.is_some() {
        "KEY_MATERIAL_EXPIRES"
    } else {
        "KEY_MATERIAL_DOES_NOT_EXPIRE"
    };
    let request = ImportKeyMaterialRequest {
        expiration_model: Some(model.into()),
        valid_to,
        import_type: import_type.map(str::to_owned),
        ..import_request(&f.kms, &f.admin, key, material)
    };
    f.kms.import_key_material(&f.admin, &request)
}

#[test]
fn imported_material_expires_and_can_be_deleted_and_imported_again() {
    let f = fixture();
    let k = f.key(Kind::External, "");
    let state = |f: &Fixture| f.describe(&k).key_state;
    assert_eq!(state(&f), KeyState::PendingImport);
    let e = encrypt(&f, &k).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KmsInvalidState);
    assert!(e.message().unwrap().ends_with(" is pending import."));
    // ExpirationModel defaults to KEY_MATERIAL_EXPIRES, which needs ValidTo.
    let e = f
        .kms
        .import_key_material(&f.admin, &import_request(&f.kms, &f.admin, &k, &[7; 32]))
        .unwrap_err();
    assert_eq!(
        e.message().as_deref(),
        Some("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
    );
    import(&f, &k, &[7; 32], Some(start() + DAY * 10)).unwrap();
    assert_eq!(state(&f), KeyState::Enabled);
    let meta = f.describe(&k);
    assert_eq!(
        meta.expiration_model.as_deref(),
        Some("KEY_MATERIAL_EXPIRES")
    );
    assert_eq!(meta.valid_to, Some(start() + DAY * 10));
    let blob = encrypt(&f, &k).unwrap();
    // The material expires with the clock.
    f.clock.advance(DAY * 10);
    assert_eq!(state(&f), KeyState::PendingImport);
    assert_eq!(code(decrypt(&f, &blob)), "KMSInvalidStateException");
    // Other material is refused; the same material brings the ciphertexts back.
    assert_eq!(
        code(import(&f, &k, &[8; 32], None)),
        "IncorrectKeyMaterialException"
    );
    import(&f, &k, &[7; 32], None).unwrap();
    assert_eq!(decrypt(&f, &blob).unwrap(), SECRET);
    f.kms
        .delete_imported_key_material(&f.admin, &DeleteImportedKeyMaterialRequest::new(&k))
        .unwrap();
    assert_eq!(state(&f), KeyState::PendingImport);
    // Import operations need an EXTERNAL key.
    let own = f.symmetric("");
    let e = f
        .kms
        .get_parameters_for_import(
            &f.admin,
            &GetParametersForImportRequest {
                wrapping_key_spec: "RSA_4096".into(),
                ..parameters_for_import(&own)
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedOperation);
    assert!(
        e.message()
            .unwrap()
            .ends_with("origin is AWS_KMS which is not valid for this operation.")
    );
}

#[test]
fn update_alias_moves_only_between_keys_of_the_same_type() {
    let f = fixture();
    let a = f.symmetric("");
    let b = f.symmetric("");
    let hmac = f.key(Kind::Hmac, "");
    let update = |target: &str| {
        f.kms.update_alias(
            &f.admin,
            &UpdateAliasRequest {
                alias_name: "alias/app".into(),
                target_key_id: target.into(),
            },
        )
    };
    f.kms
        .create_alias(&f.admin, &alias("alias/app", &a))
        .unwrap();
    assert_eq!(code(update(&hmac)), "ValidationException");
    update(&b).unwrap();
    let blob = encrypt(&f, "alias/app").unwrap();
    assert_eq!(
        keyward_crypto::ciphertext_key_id(&blob).unwrap(),
        b,
        "the alias now names the second key"
    );
    let aliases = all_aliases(&f.kms, &f.admin, Some(&b));
    assert_eq!(aliases.len(), 1);
    assert!(all_aliases(&f.kms, &f.admin, Some(&a)).is_empty());
    // kms:ResourceAliases (usable in identity policies only) follows the alias.
    let k = f.symmetric(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
    ));
    let user = caller(
        USER,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/app"}}}]}"#,
        ],
    );
    let try_encrypt = || common::encrypt(&f.kms, &user, &k, b"x", &[]);
    assert_eq!(code(try_encrypt()), DENIED);
    update(&k).unwrap();
    assert_eq!(code(try_encrypt()), "ok");
}

#[test]
fn re_encrypt_needs_from_on_the_source_and_to_on_the_destination() {
    let f = fixture();
    let from_only = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:ReEncryptFrom","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:stage":"old"}}}}}}"#
    );
    let to_only = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:ReEncryptTo","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:stage":"new"}}}}}}"#
    );
    let source = f.symmetric(&from_only);
    let destination = f.symmetric(&to_only);
    let blob = common::encrypt(&f.kms, &f.admin, &source, SECRET, &[("stage", "old")])
        .unwrap()
        .ciphertext_blob;
    let user = caller(USER, &[]);
    let re = |dest: &str, dest_stage: &str| {
        f.kms.re_encrypt(
            &user,
            &ReEncryptRequest {
                ciphertext_blob: blob.clone(),
                source_encryption_context: ec(&[("stage", "old")]),
                destination_key_id: dest.into(),
                destination_encryption_context: ec(&[("stage", dest_stage)]),
                ..ReEncryptRequest::default()
            },
        )
    };
    // The destination's condition sees the destination context.
    assert_eq!(code(re(&destination, "old")), DENIED);
    // The source key does not allow ReEncryptTo.
    assert_eq!(code(re(&source, "new")), DENIED);
    let r = re(&destination, "new").unwrap();
    assert!(r.source_key_id.ends_with(&source) && r.key_id.ends_with(&destination));
    let back = common::decrypt(&f.kms, &f.admin, &r.ciphertext_blob, &[("stage", "new")]).unwrap();
    assert_eq!(back.plaintext.expose(), SECRET);
}

#[test]
fn retire_grant_is_authorized_by_the_grant_not_the_key_policy_and_an_identity_deny_wins() {
    let f = fixture();
    // A key-policy statement giving RetireGrant has no effect.
    let k = f.symmetric(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:RetireGrant","Resource":"*"}}"#
    ));
    let make_grant = |retiring: Option<&str>| {
        f.kms
            .create_grant(
                &f.admin,
                &CreateGrantRequest {
                    retiring_principal: retiring.map(str::to_owned),
                    ..grant(&k, "arn:aws:iam::111122223333:role/Grantee", &["Decrypt"])
                },
            )
            .unwrap()
            .grant_id
    };
    let retire = |caller: &Caller, id: &str| {
        f.kms.retire_grant(
            caller,
            &RetireGrantRequest {
                key_id: Some(k.clone()),
                grant_id: Some(id.into()),
                grant_token: None,
                ..RetireGrantRequest::default()
            },
        )
    };
    let user = caller(USER, &[]);
    let first = make_grant(None);
    assert_eq!(code(retire(&user, &first)), DENIED);
    // The retiring principal may.
    let second = make_grant(Some(USER));
    assert_eq!(code(retire(&user, &second)), "ok");
    // So may the key's account through an identity policy.
    let delegated = caller(
        USER,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}]}"#,
        ],
    );
    assert_eq!(code(retire(&delegated, &first)), "ok");
    // An explicit deny in an identity policy stops even the retiring principal.
    let third = make_grant(Some(USER));
    let denying = caller(
        USER,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}"#,
        ],
    );
    assert_eq!(code(retire(&denying, &third)), DENIED);
    assert_eq!(code(retire(&user, &third)), "ok");
    // ListRetirableGrants: identity policies, own account only.
    make_grant(Some(USER));
    let lister = caller(
        USER,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListRetirableGrants","Resource":"*"}]}"#,
        ],
    );
    let listed = f
        .kms
        .list_retirable_grants(
            &lister,
            &ListRetirableGrantsRequest {
                retiring_principal: USER.into(),
                ..ListRetirableGrantsRequest::default()
            },
        )
        .unwrap()
        .grants;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].retiring_principal.as_deref(), Some(USER));
}

#[test]
fn list_retirable_grants_of_another_account_is_refused_fail_closed() {
    let f = fixture();
    let e = f
        .kms
        .list_retirable_grants(
            &f.admin,
            &ListRetirableGrantsRequest {
                retiring_principal: "arn:aws:iam::444455556666:role/Elsewhere".into(),
                ..ListRetirableGrantsRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AccessDenied);
}

#[test]
fn rotations_and_imported_material_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let root_path = dir.path().join("root.key");
    let clock = Arc::new(ManualClock::new(start()));
    let open = || {
        Fixture::over(
            Box::new(SqliteStore::open(&db).unwrap()),
            RootKey::load_or_create(&root_path).unwrap(),
            clock.clone(),
        )
    };
    let (k, external, blobs) = {
        let f = open();
        let k = f.symmetric("");
        let first = encrypt(&f, &k).unwrap();
        rotate(&f, &k).unwrap();
        let second = encrypt(&f, &k).unwrap();
        let external = f.key(Kind::External, "");
        import(&f, &external, &[9; 32], None).unwrap();
        let third = encrypt(&f, &external).unwrap();
        (k, external, [first, second, third])
    };
    let f = open();
    for blob in &blobs {
        assert_eq!(decrypt(&f, blob).unwrap(), SECRET);
    }
    assert_eq!(rotations(&f, &k), ["ON_DEMAND"]);
    assert_eq!(f.describe(&external).key_state, KeyState::Enabled);
}

/// A store whose writes fail on demand.
#[derive(Debug)]
struct Flaky {
    inner: SqliteStore,
    fail: Arc<AtomicBool>,
}

impl Store for Flaky {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Io {
                path: "keys.db".into(),
                source: std::io::Error::other("disk full"),
            });
        }
        self.inner.apply(changes)
    }
}

#[test]
fn a_change_the_store_refuses_is_undone_material_included() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let root_path = dir.path().join("root.key");
    let fail = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(ManualClock::new(start()));
    let f = Fixture::over(
        Box::new(Flaky {
            inner: SqliteStore::open(&db).unwrap(),
            fail: fail.clone(),
        }),
        RootKey::load_or_create(&root_path).unwrap(),
        clock.clone(),
    );
    let k = f.symmetric("");
    fail.store(true, Ordering::SeqCst);
    assert_eq!(code(rotate(&f, &k)), "KMSInternalException");
    assert_eq!(
        code(f.kms.tag_resource(&f.admin, &tag(&k, "a", "b"))),
        "KMSInternalException"
    );
    assert_eq!(
        code(f.kms.create_grant(&f.admin, &grant(&k, USER, &["Decrypt"]))),
        "KMSInternalException"
    );
    fail.store(false, Ordering::SeqCst);
    // Nothing of the refused calls stayed in memory...
    assert!(rotations(&f, &k).is_empty());
    assert!(
        f.kms
            .list_resource_tags(&f.admin, &ListResourceTagsRequest::new(&k))
            .unwrap()
            .tags
            .is_empty()
    );
    let grants = f.kms.list_grants(&f.admin, &grants_of(&k)).unwrap();
    assert!(grants.grants.is_empty());
    // ...material included: a ciphertext made now still decrypts after a restart, which it
    // would not if it used a version of the material that was never stored.
    let blob = encrypt(&f, &k).unwrap();
    // Changes that hold after the refused ones: what the key's head binds (its grants, its
    // tags) is what the store holds, so the key opens after a restart with them.
    f.kms
        .create_grant(&f.admin, &grant(&k, USER, &["Decrypt"]))
        .unwrap();
    f.kms.tag_resource(&f.admin, &tag(&k, "a", "b")).unwrap();
    drop(f);
    let f = Fixture::over(
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::load_or_create(&root_path).unwrap(),
        clock,
    );
    assert_eq!(decrypt(&f, &blob).unwrap(), SECRET);
    let grants = f.kms.list_grants(&f.admin, &grants_of(&k)).unwrap();
    assert_eq!(grants.grants.len(), 1);
    assert_eq!(
        f.kms
            .list_resource_tags(&f.admin, &ListResourceTagsRequest::new(&k))
            .unwrap()
            .tags
            .len(),
        1
    );
}

fn material_of_decrypt(f: &Fixture, blob: &[u8]) -> Option<String> {
    common::decrypt(&f.kms, &f.admin, blob, &[])
        .unwrap()
        .key_material_id
}

fn current_material(f: &Fixture, key: &str) -> Option<String> {
    f.describe(key).current_key_material_id
}

/// LocalStack's AWS recordings: `CurrentKeyMaterialId` is present for symmetric AWS_KMS keys
/// and imported ones after import, changes with RotateKeyOnDemand, and is absent for HMAC,
/// asymmetric and pending-import keys; Decrypt and GenerateDataKey name the material they
/// used.
#[test]
fn key_material_ids_are_reported_where_aws_reports_them() {
    let f = fixture();
    let k = f.symmetric("");
    let first = current_material(&f, &k).unwrap();
    assert_eq!(first.len(), 64);
    let old = encrypt(&f, &k).unwrap();
    assert_eq!(material_of_decrypt(&f, &old), Some(first.clone()));
    let rotated = rotate(&f, &k).unwrap();
    assert_eq!(
        rotated,
        f.describe(&k).arn,
        "RotateKeyOnDemand answers the key ARN"
    );
    let second = current_material(&f, &k).unwrap();
    assert_ne!(second, first);
    assert_eq!(material_of_decrypt(&f, &old), Some(first.clone()));
    let data_key = f
        .kms
        .generate_data_key(
            &f.admin,
            &GenerateDataKeyRequest {
                key_id: k.clone(),
                key_spec: Some("AES_256".into()),
                ..GenerateDataKeyRequest::default()
            },
        )
        .unwrap();
    assert_eq!(data_key.key_material_id, Some(second.clone()));
    for (spec, usage) in [
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("RSA_2048", "ENCRYPT_DECRYPT"),
    ] {
        let other = f.key_of(spec, usage, "AWS_KMS", "");
        assert_eq!(current_material(&f, &other), None, "{spec}");
    }
    let external = f.key(Kind::External, "");
    assert_eq!(current_material(&f, &external), None, "pending import");
    let imported = import(&f, &external, &[7; 32], None).unwrap();
    assert_eq!(
        current_material(&f, &external),
        Some(imported.key_material_id)
    );
}

/// Rotating imported key material (AWS, 2025): new material imported with
/// `ImportType = NEW_KEY_MATERIAL` waits, pending rotation, and RotateKeyOnDemand makes it
/// current; a second new material meanwhile is refused with AWS's words.
#[test]
fn imported_key_material_rotates_on_demand() {
    let f = fixture();
    let k = f.key(Kind::External, "");
    let arn = f.describe(&k).arn;
    // Before any import the key is pending import: the state is checked first.
    assert_eq!(
        rotate(&f, &k).unwrap_err().message(),
        Some(format!("{arn} is pending import."))
    );
    let first = import(&f, &k, &[1; 32], None).unwrap();
    assert_eq!(first.key_id, arn);
    // Nothing new to rotate to.
    let e = rotate(&f, &k).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KmsInvalidState);
    assert_eq!(
        e.message(),
        Some(format!(
            "No available key material pending rotation for the key: {arn}."
        ))
    );
    let old = encrypt(&f, &k).unwrap();
    let second = import_as(&f, &k, &[2; 32], None, Some("NEW_KEY_MATERIAL")).unwrap();
    assert_eq!(
        current_material(&f, &k),
        Some(first.key_material_id.clone()),
        "new material is not current until the rotation"
    );
    let refused = import_as(&f, &k, &[3; 32], None, Some("NEW_KEY_MATERIAL")).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::KmsInvalidState);
    let message = refused.message().unwrap();
    assert!(
        message.starts_with("New key material (id: ")
            && message.ends_with(&format!(
                "cannot be imported into KMS key {arn}, because another key material (id: {}) is pending rotation.",
                second.key_material_id
            )),
        "{message}"
    );
    let all = |include: &str| {
        f.kms
            .list_key_rotations(
                &f.admin,
                &ListKeyRotationsRequest {
                    key_id: k.clone(),
                    include_key_material: Some(include.into()),
                    ..ListKeyRotationsRequest::default()
                },
            )
            .unwrap()
            .rotations
    };
    let listed = all("ALL_KEY_MATERIAL");
    assert_eq!(
        listed
            .iter()
            .map(|r| (
                r.key_material_state.as_str(),
                r.import_state.as_deref(),
                r.rotation_type.as_deref()
            ))
            .collect::<Vec<_>>(),
        [
            ("CURRENT", Some("IMPORTED"), None),
            ("PENDING_ROTATION", Some("IMPORTED"), None)
        ]
    );
    assert!(all("ROTATIONS_ONLY").is_empty());
    assert_eq!(rotate(&f, &k).unwrap(), arn);
    assert_eq!(
        current_material(&f, &k),
        Some(second.key_material_id.clone())
    );
    let rotations = all("ROTATIONS_ONLY");
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].key_material_id, second.key_material_id);
    assert_eq!(rotations[0].rotation_type.as_deref(), Some("ON_DEMAND"));
    assert_eq!(rotations[0].key_material_state, "CURRENT");
    assert_eq!(
        material_of_decrypt(&f, &old),
        Some(first.key_material_id.clone())
    );
    let new = encrypt(&f, &k).unwrap();
    assert_eq!(
        material_of_decrypt(&f, &new),
        Some(second.key_material_id.clone())
    );
    // Deleting one material leaves the key pending import; re-importing it, named by its
    // ID, brings it back; a wrong ID is refused.
    let deleted = f
        .kms
        .delete_imported_key_material(
            &f.admin,
            &DeleteImportedKeyMaterialRequest {
                key_id: k.clone(),
                key_material_id: Some(first.key_material_id.clone()),
            },
        )
        .unwrap();
    assert_eq!(deleted.key_material_id, Some(first.key_material_id.clone()));
    assert_eq!(deleted.key_id, arn);
    assert_eq!(f.describe(&k).key_state, KeyState::PendingImport);
    let reimport = |material: &[u8], id: &str| {
        f.kms.import_key_material(
            &f.admin,
            &ImportKeyMaterialRequest {
                expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
                import_type: Some("EXISTING_KEY_MATERIAL".into()),
                key_material_id: Some(id.into()),
                ..import_request(&f.kms, &f.admin, &k, material)
            },
        )
    };
    assert_eq!(
        code(reimport(&[1; 32], &second.key_material_id)),
        "IncorrectKeyMaterialException"
    );
    reimport(&[1; 32], &first.key_material_id).unwrap();
    assert_eq!(f.describe(&k).key_state, KeyState::Enabled);
    assert_eq!(decrypt(&f, &old).unwrap(), SECRET);
}

#[test]
fn asymmetric_and_hmac_keys_refuse_an_import_type() {
    let f = fixture();
    let k = f.key_of("HMAC_256", "GENERATE_VERIFY_MAC", "EXTERNAL", "");
    let e = import_as(&f, &k, &[1; 32], None, Some("NEW_KEY_MATERIAL")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Validation);
    import(&f, &k, &[1; 32], None).unwrap();
}

/// LocalStack's AWS recordings (`test_create_key_with_invalid_tag_key`,
/// `test_key_with_long_tag_value_raises_error`): tag keys beginning with `aws:` in any case are
/// reserved; over-long keys and values get AWS's validation text naming the tag.
#[test]
fn tags_are_checked_with_aws_errors() {
    let f = fixture();
    let k = f.symmetric("");
    let tag_with = |key: &str, value: &str| {
        f.kms
            .tag_resource(&f.admin, &tag(&k, key, value))
            .map(drop)
            .map_err(|e| (e.code().as_str(), e.message().unwrap_or_default()))
    };
    for reserved in ["aws:key1", "AWS:key1", "Aws:x"] {
        assert_eq!(
            tag_with(reserved, "v"),
            Err((
                "TagException",
                "Tags beginning with aws: are reserved".to_owned()
            ))
        );
    }
    let long_key = "k".repeat(129);
    assert_eq!(
        tag_with(&long_key, "v"),
        Err((
            "ValidationException",
            format!(
                "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
            )
        ))
    );
    let long_value = "v".repeat(257);
    assert_eq!(
        tag_with("ok", &long_value),
        Err((
            "ValidationException",
            format!(
                "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
            )
        ))
    );
    assert_eq!(tag_with(&"k".repeat(128), &"v".repeat(256)), Ok(()));
}

/// LocalStack's AWS recordings (`test_generate_random_invalid_number_of_bytes`): one message
/// per bound.
#[test]
fn generate_random_out_of_range_gets_awss_two_messages() {
    let f = fixture();
    let random = |n| {
        f.kms.generate_random(
            &f.admin,
            &GenerateRandomRequest {
                number_of_bytes: Some(n),
                ..GenerateRandomRequest::default()
            },
        )
    };
    assert_eq!(
        random(0).unwrap_err().message().unwrap(),
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_eq!(
        random(1025).unwrap_err().message().unwrap(),
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
    assert_eq!(random(1024).unwrap().plaintext.expose().len(), 1024);
}

/// What may write decides where a server runs a call: changes, any call once a rotation is
/// due (its housekeeping rotates first), and a call naming an AWS managed key's alias.
#[test]
fn a_read_may_write_when_a_rotation_is_due_or_it_names_a_managed_key() {
    use keyward_kms::api::{EncryptRequest, Request};
    let f = fixture();
    let key = f.symmetric("");
    f.kms
        .enable_key_rotation(
            &f.admin,
            &EnableKeyRotationRequest {
                key_id: key.clone(),
                rotation_period_in_days: Some(90),
            },
        )
        .unwrap();
    let encrypt_request = Request::Encrypt(EncryptRequest {
        key_id: key.clone(),
        plaintext: b"payload".to_vec().into(),
        ..EncryptRequest::default()
    });
    assert!(!f.kms.may_write(&encrypt_request));
    assert!(f.kms.may_write(&Request::CreateKey(Default::default())));
    assert!(f.kms.may_write(&Request::DescribeKey(
        keyward_kms::api::DescribeKeyRequest::new("alias/aws/s3")
    )));
    f.clock.advance(DAY * 91);
    assert!(f.kms.may_write(&encrypt_request), "a rotation is due");
    f.kms.handle(&f.admin, &encrypt_request).unwrap();
    assert!(!f.kms.may_write(&encrypt_request), "rotated: nothing due");
}

/// `audit_sync = "per-request"`: every call waits for its record's sync before it answers, so
/// a server runs every call where blocking is allowed (its async workers never wait for a
/// disk); batched or unsynced records leave a read on the workers.
#[test]
fn a_read_audited_per_request_waits_for_a_disk_and_runs_where_blocking_is_allowed() {
    use keyward_kms::api::{EncryptRequest, Request};
    use keyward_kms::audit::{AuditSink, AuditSync, JsonLinesFile};
    let dir = tempfile::tempdir().unwrap();
    let interval = std::time::Duration::from_millis(10);
    for (sync, waits) in [
        (AuditSync::PerRequest, true),
        (AuditSync::Batched { interval }, false),
        (AuditSync::None { interval }, false),
    ] {
        let path = dir.path().join(format!("{sync:?}.jsonl"));
        let audit: Arc<dyn AuditSink> = Arc::new(JsonLinesFile::open_with(&path, sync).unwrap());
        assert_eq!(audit.waits_for_disk(), waits, "{sync:?}");
        let kms = keyward_kms::Kms::open(
            common::config(),
            Box::new(keyward_kms::store::MemoryStore::new()),
            RootKey::generate().unwrap(),
            audit,
            Arc::new(ManualClock::new(start())),
        )
        .unwrap();
        let admin = caller(common::ADMIN, &[common::ALLOW_ALL]);
        let kind = ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS");
        let key = common::create_key_of(&kms, &admin, kind, "");
        let encrypt_request = Request::Encrypt(EncryptRequest {
            key_id: key,
            plaintext: b"payload".to_vec().into(),
            ..EncryptRequest::default()
        });
        assert_eq!(kms.may_write(&encrypt_request), waits, "{sync:?}");
    }
}

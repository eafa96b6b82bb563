//! Key lifecycle over time (the injectable clock): automatic rotation with its period,
//! on-demand rotation and its limit, the rotation history; imported material, its expiry and
//! its deletion; UpdateAlias; ReEncrypt's two authorizations; RetireGrant; ListRetirableGrants;
//! paging.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use keyward_crypto::RootKey;
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::ManualClock;
use keyward_kms::model::*;
use keyward_kms::store::{MemoryStore, SqliteStore, Store};
use keyward_kms::{Caller, Kms, KmsConfig, KmsError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const ACCOUNT: &str = "111122223333";
const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const USER: &str = "arn:aws:iam::111122223333:role/User";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const DAY: Duration = Duration::from_secs(86_400);

struct Fixture {
    kms: Kms,
    clock: Arc<ManualClock>,
    admin: Caller,
}

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn open(store: Box<dyn Store>, root: RootKey, clock: Arc<ManualClock>) -> Fixture {
    let kms = Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: ACCOUNT.into(),
        },
        store,
        root,
        Arc::new(MemoryAudit::new()),
        clock.clone(),
    )
    .unwrap();
    Fixture {
        kms,
        clock,
        admin: Caller::new(ADMIN, &[ALLOW_ALL]).unwrap(),
    }
}

fn fixture() -> Fixture {
    open(
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    )
}

fn policy(extra: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    )
}

fn key(f: &Fixture, spec: &str, usage: &str, origin: &str, extra: &str) -> String {
    f.kms
        .create_key(
            &f.admin,
            &CreateKeyRequest {
                key_spec: Some(spec.into()),
                key_usage: Some(usage.into()),
                origin: Some(origin.into()),
                policy: Some(policy(extra)),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_id
}

fn symmetric(f: &Fixture) -> String {
    key(f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS", "")
}

fn encrypt(f: &Fixture, key: &str) -> Result<Vec<u8>, KmsError> {
    f.kms
        .encrypt(
            &f.admin,
            &EncryptRequest {
                key_id: key.into(),
                plaintext: b"secret".to_vec(),
                ..EncryptRequest::default()
            },
        )
        .map(|r| r.ciphertext_blob)
}

fn decrypt(f: &Fixture, blob: &[u8]) -> Result<Vec<u8>, KmsError> {
    f.kms
        .decrypt(
            &f.admin,
            &DecryptRequest {
                ciphertext_blob: blob.to_vec(),
                ..DecryptRequest::default()
            },
        )
        .map(|r| r.plaintext.expose().to_vec())
}

fn code<T>(r: Result<T, KmsError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn rotations_page(f: &Fixture, key: &str, paging: Paging) -> Result<Page<RotationEntry>, KmsError> {
    f.kms.list_key_rotations(
        &f.admin,
        &ListKeyRotationsRequest {
            key_id: key.into(),
            include_key_material: None,
            paging,
        },
    )
}

fn rotations(f: &Fixture, key: &str) -> Vec<&'static str> {
    rotations_page(f, key, Paging::default())
        .unwrap()
        .items
        .iter()
        .filter_map(|r| r.rotation_type)
        .collect()
}

#[test]
fn automatic_rotation_follows_the_period_and_old_ciphertexts_still_decrypt() {
    let f = fixture();
    let k = symmetric(&f);
    let before = encrypt(&f, &k).unwrap();
    let status = f.kms.get_key_rotation_status(&f.admin, &k).unwrap();
    assert!(!status.key_rotation_enabled && status.rotation_period_in_days.is_none());
    assert_eq!(
        code(f.kms.enable_key_rotation(
            &f.admin,
            &EnableKeyRotationRequest {
                key_id: k.clone(),
                rotation_period_in_days: Some(89),
            },
        )),
        "ValidationException"
    );
    f.kms
        .enable_key_rotation(
            &f.admin,
            &EnableKeyRotationRequest {
                key_id: k.clone(),
                rotation_period_in_days: Some(90),
            },
        )
        .unwrap();
    let status = f.kms.get_key_rotation_status(&f.admin, &k).unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    assert_eq!(status.next_rotation_date, Some(start() + DAY * 90));
    f.clock.advance(DAY * 89);
    assert!(rotations(&f, &k).is_empty(), "not yet due");
    f.clock.advance(DAY);
    assert_eq!(rotations(&f, &k), ["AUTOMATIC"]);
    let after = encrypt(&f, &k).unwrap();
    assert_eq!(decrypt(&f, &before).unwrap(), b"secret");
    assert_eq!(decrypt(&f, &after).unwrap(), b"secret");
    assert_ne!(before[..], after[..]);
    // A disabled key does not rotate.
    f.kms.disable_key(&f.admin, &k).unwrap();
    f.clock.advance(DAY * 200);
    assert_eq!(rotations(&f, &k), ["AUTOMATIC"]);
    f.kms.disable_key_rotation(&f.admin, &k).unwrap_err();
    // Re-enabled past its date, it rotates at once (AWS's rule for overdue keys).
    f.kms.enable_key(&f.admin, &k).unwrap();
    assert_eq!(rotations(&f, &k), ["AUTOMATIC", "AUTOMATIC"]);
    f.kms.disable_key_rotation(&f.admin, &k).unwrap();
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
    let k = symmetric(&f);
    let blob = encrypt(&f, &k).unwrap();
    for _ in 0..25 {
        f.kms.rotate_key_on_demand(&f.admin, &k).unwrap();
    }
    let e = f.kms.rotate_key_on_demand(&f.admin, &k).unwrap_err();
    assert_eq!(e.code(), "LimitExceededException");
    assert!(
        e.message
            .unwrap()
            .starts_with("The on-demand rotations limit has been reached for the given keyId.")
    );
    assert_eq!(rotations(&f, &k), ["ON_DEMAND"; 25]);
    assert_eq!(decrypt(&f, &blob).unwrap(), b"secret");
    // Paging through the history.
    let page = rotations_page(
        &f,
        &k,
        Paging {
            limit: Some(4),
            marker: None,
        },
    )
    .unwrap();
    assert_eq!(page.items.len(), 4);
    assert!(page.truncated);
    let rest = rotations_page(
        &f,
        &k,
        Paging {
            limit: Some(100),
            marker: page.next_marker.clone(),
        },
    )
    .unwrap();
    assert_eq!(rest.items.len(), 21);
    assert!(!rest.truncated && rest.next_marker.is_none());
    assert_eq!(
        code(rotations_page(
            &f,
            &k,
            Paging {
                limit: None,
                marker: Some("forged".into()),
            },
        )),
        "InvalidMarkerException"
    );
}

#[test]
fn rotation_refuses_keys_that_cannot_rotate() {
    let f = fixture();
    let sign = key(&f, "ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS", "");
    let e = f.kms.rotate_key_on_demand(&f.admin, &sign).unwrap_err();
    assert_eq!(
        (e.code(), e.message),
        ("UnsupportedOperationException", None)
    );
    assert_eq!(
        code(f.kms.enable_key_rotation(
            &f.admin,
            &EnableKeyRotationRequest {
                key_id: sign,
                rotation_period_in_days: None,
            },
        )),
        "UnsupportedOperationException"
    );
    let disabled = symmetric(&f);
    f.kms.disable_key(&f.admin, &disabled).unwrap();
    let e = f.kms.rotate_key_on_demand(&f.admin, &disabled).unwrap_err();
    assert_eq!(e.code(), "DisabledException");
    assert!(e.message.unwrap().ends_with(" is disabled."));
    let external = key(&f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL", "");
    let e = f
        .kms
        .get_key_rotation_status(&f.admin, &external)
        .unwrap_err();
    assert_eq!(e.code(), "UnsupportedOperationException");
    assert!(
        e.message
            .unwrap()
            .ends_with("origin is EXTERNAL which is not valid for this operation.")
    );
}

fn wrap(public_key_der: &[u8], material: &[u8]) -> Vec<u8> {
    let public =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(public_key_der).unwrap())
            .unwrap();
    let mut out = vec![0; public.ciphertext_size()];
    let n = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, material, &mut out, None)
        .unwrap()
        .len();
    out.truncate(n);
    out
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
    let parameters = f
        .kms
        .get_parameters_for_import(
            &f.admin,
            &GetParametersForImportRequest {
                key_id: key.into(),
                wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                wrapping_key_spec: "RSA_2048".into(),
            },
        )
        .unwrap();
    f.kms.import_key_material(
        &f.admin,
        &ImportKeyMaterialRequest {
            key_id: key.into(),
            import_token: parameters.import_token,
            encrypted_key_material: wrap(&parameters.public_key, material),
            expiration_model: Some(
                if valid_to.is_some() {
                    "KEY_MATERIAL_EXPIRES"
                } else {
                    "KEY_MATERIAL_DOES_NOT_EXPIRE"
                }
                .into(),
            ),
            valid_to,
            import_type: import_type.map(str::to_owned),
            ..ImportKeyMaterialRequest::default()
        },
    )
}

#[test]
fn imported_material_expires_and_can_be_deleted_and_imported_again() {
    let f = fixture();
    let k = key(&f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL", "");
    let state = |f: &Fixture| f.kms.describe_key(&f.admin, &k).unwrap().key_state;
    assert_eq!(state(&f), KeyState::PendingImport);
    let e = encrypt(&f, &k).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException");
    assert!(e.message.unwrap().ends_with(" is pending import."));
    // ExpirationModel defaults to KEY_MATERIAL_EXPIRES, which needs ValidTo.
    let parameters = f
        .kms
        .get_parameters_for_import(
            &f.admin,
            &GetParametersForImportRequest {
                key_id: k.clone(),
                wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                wrapping_key_spec: "RSA_2048".into(),
            },
        )
        .unwrap();
    let e = f
        .kms
        .import_key_material(
            &f.admin,
            &ImportKeyMaterialRequest {
                key_id: k.clone(),
                import_token: parameters.import_token,
                encrypted_key_material: wrap(&parameters.public_key, &[7; 32]),
                ..ImportKeyMaterialRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.message.as_deref(),
        Some("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
    );
    import(&f, &k, &[7; 32], Some(start() + DAY * 10)).unwrap();
    assert_eq!(state(&f), KeyState::Enabled);
    let meta = f.kms.describe_key(&f.admin, &k).unwrap();
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
    assert_eq!(decrypt(&f, &blob).unwrap(), b"secret");
    f.kms
        .delete_imported_key_material(
            &f.admin,
            &DeleteImportedKeyMaterialRequest {
                key_id: k.clone(),
                key_material_id: None,
            },
        )
        .unwrap();
    assert_eq!(state(&f), KeyState::PendingImport);
    // Import operations need an EXTERNAL key.
    let own = symmetric(&f);
    let e = f
        .kms
        .get_parameters_for_import(
            &f.admin,
            &GetParametersForImportRequest {
                key_id: own,
                wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                wrapping_key_spec: "RSA_4096".into(),
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), "UnsupportedOperationException");
    assert!(
        e.message
            .unwrap()
            .ends_with("origin is AWS_KMS which is not valid for this operation.")
    );
}

#[test]
fn update_alias_moves_only_between_keys_of_the_same_type() {
    let f = fixture();
    let a = symmetric(&f);
    let b = symmetric(&f);
    let hmac = key(&f, "HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS", "");
    f.kms.create_alias(&f.admin, "alias/app", &a).unwrap();
    assert_eq!(
        code(f.kms.update_alias(&f.admin, "alias/app", &hmac)),
        "ValidationException"
    );
    f.kms.update_alias(&f.admin, "alias/app", &b).unwrap();
    let blob = encrypt(&f, "alias/app").unwrap();
    assert_eq!(
        keyward_crypto::ciphertext_key_id(&blob).unwrap(),
        b,
        "the alias now names the second key"
    );
    let aliases = f.kms.list_aliases(&f.admin, Some(&b)).unwrap();
    assert_eq!(aliases.len(), 1);
    assert!(f.kms.list_aliases(&f.admin, Some(&a)).unwrap().is_empty());
    // kms:ResourceAliases (usable in identity policies only) follows the alias.
    let k = key(
        &f,
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "AWS_KMS",
        &format!(
            r#",{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
        ),
    );
    let user = Caller::new(
        USER,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/app"}}}]}"#],
    )
    .unwrap();
    let try_encrypt = || {
        f.kms.encrypt(
            &user,
            &EncryptRequest {
                key_id: k.clone(),
                plaintext: b"x".to_vec(),
                ..EncryptRequest::default()
            },
        )
    };
    assert_eq!(code(try_encrypt()), "AccessDeniedException");
    f.kms.update_alias(&f.admin, "alias/app", &k).unwrap();
    assert_eq!(code(try_encrypt()), "ok");
}

#[test]
fn re_encrypt_needs_from_on_the_source_and_to_on_the_destination() {
    let f = fixture();
    let from_only = format!(
        r#",{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:ReEncryptFrom","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:stage":"old"}}}}}}"#
    );
    let to_only = format!(
        r#",{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:ReEncryptTo","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:stage":"new"}}}}}}"#
    );
    let source = key(
        &f,
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "AWS_KMS",
        &from_only,
    );
    let destination = key(
        &f,
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "AWS_KMS",
        &to_only,
    );
    let stage = |s: &str| -> BTreeMap<String, String> { [("stage".into(), s.into())].into() };
    let blob = f
        .kms
        .encrypt(
            &f.admin,
            &EncryptRequest {
                key_id: source.clone(),
                plaintext: b"secret".to_vec(),
                encryption_context: stage("old"),
                ..EncryptRequest::default()
            },
        )
        .unwrap()
        .ciphertext_blob;
    let user = Caller::new(USER, &[]).unwrap();
    let re = |dest: &str, dest_stage: &str| {
        f.kms.re_encrypt(
            &user,
            &ReEncryptRequest {
                ciphertext_blob: blob.clone(),
                source_encryption_context: stage("old"),
                destination_key_id: dest.into(),
                destination_encryption_context: stage(dest_stage),
                ..ReEncryptRequest::default()
            },
        )
    };
    // The destination's condition sees the destination context.
    assert_eq!(code(re(&destination, "old")), "AccessDeniedException");
    // The source key does not allow ReEncryptTo.
    assert_eq!(code(re(&source, "new")), "AccessDeniedException");
    let r = re(&destination, "new").unwrap();
    assert!(r.source_key_id.ends_with(&source) && r.key_id.ends_with(&destination));
    let back = f
        .kms
        .decrypt(
            &f.admin,
            &DecryptRequest {
                ciphertext_blob: r.ciphertext_blob,
                encryption_context: stage("new"),
                ..DecryptRequest::default()
            },
        )
        .unwrap();
    assert_eq!(back.plaintext.expose(), b"secret");
}

#[test]
fn retire_grant_is_authorized_by_the_grant_not_the_key_policy_and_an_identity_deny_wins() {
    let f = fixture();
    // A key-policy statement giving RetireGrant has no effect.
    let k = key(
        &f,
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "AWS_KMS",
        &format!(
            r#",{{"Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:RetireGrant","Resource":"*"}}"#
        ),
    );
    let grant = |retiring: Option<&str>| {
        f.kms
            .create_grant(
                &f.admin,
                &CreateGrantRequest {
                    key_id: k.clone(),
                    grantee_principal: "arn:aws:iam::111122223333:role/Grantee".into(),
                    retiring_principal: retiring.map(str::to_owned),
                    operations: vec!["Decrypt".into()],
                    ..CreateGrantRequest::default()
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
            },
        )
    };
    let user = Caller::new(USER, &[]).unwrap();
    let first = grant(None);
    assert_eq!(code(retire(&user, &first)), "AccessDeniedException");
    // The retiring principal may.
    let second = grant(Some(USER));
    assert_eq!(code(retire(&user, &second)), "ok");
    // So may the key's account through an identity policy.
    let delegated = Caller::new(
        USER,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}]}"#],
    )
    .unwrap();
    assert_eq!(code(retire(&delegated, &first)), "ok");
    // An explicit deny in an identity policy stops even the retiring principal.
    let third = grant(Some(USER));
    let denying = Caller::new(
        USER,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:RetireGrant","Resource":"*"}]}"#],
    )
    .unwrap();
    assert_eq!(code(retire(&denying, &third)), "AccessDeniedException");
    assert_eq!(code(retire(&user, &third)), "ok");
    // ListRetirableGrants: identity policies, own account only.
    grant(Some(USER));
    let lister = Caller::new(
        USER,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListRetirableGrants","Resource":"*"}]}"#],
    )
    .unwrap();
    let listed = f
        .kms
        .list_retirable_grants(&lister, USER, &Paging::default())
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].retiring_principal.as_deref(), Some(USER));
}

#[test]
fn list_retirable_grants_of_another_account_is_refused_fail_closed() {
    let f = fixture();
    let e = f
        .kms
        .list_retirable_grants(
            &f.admin,
            "arn:aws:iam::444455556666:role/Elsewhere",
            &Paging::default(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "AccessDeniedException");
}

#[test]
fn rotations_and_imported_material_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let root_path = dir.path().join("root.key");
    let clock = Arc::new(ManualClock::new(start()));
    let (k, external, blobs) = {
        let f = open(
            Box::new(SqliteStore::open(&db).unwrap()),
            RootKey::load_or_create(&root_path).unwrap(),
            clock.clone(),
        );
        let k = symmetric(&f);
        let first = encrypt(&f, &k).unwrap();
        f.kms.rotate_key_on_demand(&f.admin, &k).unwrap();
        let second = encrypt(&f, &k).unwrap();
        let external = key(&f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL", "");
        import(&f, &external, &[9; 32], None).unwrap();
        let third = encrypt(&f, &external).unwrap();
        (k, external, [first, second, third])
    };
    let f = open(
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::load_or_create(&root_path).unwrap(),
        clock,
    );
    for blob in &blobs {
        assert_eq!(decrypt(&f, blob).unwrap(), b"secret");
    }
    assert_eq!(rotations(&f, &k), ["ON_DEMAND"]);
    assert_eq!(
        f.kms.describe_key(&f.admin, &external).unwrap().key_state,
        KeyState::Enabled
    );
}

/// A store whose writes fail on demand.
#[derive(Debug)]
struct Flaky {
    inner: SqliteStore,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

impl Store for Flaky {
    fn load(&self) -> Result<keyward_kms::store::Snapshot, keyward_kms::store::StoreError> {
        self.inner.load()
    }

    fn apply(
        &self,
        changes: &[keyward_kms::store::Change],
    ) -> Result<(), keyward_kms::store::StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(keyward_kms::store::StoreError::Io {
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
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clock = Arc::new(ManualClock::new(start()));
    let f = open(
        Box::new(Flaky {
            inner: SqliteStore::open(&db).unwrap(),
            fail: fail.clone(),
        }),
        RootKey::load_or_create(&root_path).unwrap(),
        clock.clone(),
    );
    let k = symmetric(&f);
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        code(f.kms.rotate_key_on_demand(&f.admin, &k)),
        "KMSInternalException"
    );
    assert_eq!(
        code(
            f.kms
                .tag_resource(&f.admin, &k, &[("a".into(), "b".into())])
        ),
        "KMSInternalException"
    );
    assert_eq!(
        code(f.kms.create_grant(
            &f.admin,
            &CreateGrantRequest {
                key_id: k.clone(),
                grantee_principal: USER.into(),
                operations: vec!["Decrypt".into()],
                ..CreateGrantRequest::default()
            },
        )),
        "KMSInternalException"
    );
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    // Nothing of the refused calls stayed in memory...
    assert!(rotations(&f, &k).is_empty());
    assert!(f.kms.list_resource_tags(&f.admin, &k).unwrap().is_empty());
    let grants = f
        .kms
        .list_grants(
            &f.admin,
            &ListGrantsRequest {
                key_id: k.clone(),
                ..ListGrantsRequest::default()
            },
        )
        .unwrap();
    assert!(grants.items.is_empty());
    // ...material included: a ciphertext made now still decrypts after a restart, which it
    // would not if it used a version of the material that was never stored.
    let blob = encrypt(&f, &k).unwrap();
    drop(f);
    let f = open(
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::load_or_create(&root_path).unwrap(),
        clock,
    );
    assert_eq!(decrypt(&f, &blob).unwrap(), b"secret");
}

fn material_of_decrypt(f: &Fixture, blob: &[u8]) -> Option<String> {
    f.kms
        .decrypt(
            &f.admin,
            &DecryptRequest {
                ciphertext_blob: blob.to_vec(),
                ..DecryptRequest::default()
            },
        )
        .unwrap()
        .key_material_id
}

fn current_material(f: &Fixture, key: &str) -> Option<String> {
    f.kms
        .describe_key(&f.admin, key)
        .unwrap()
        .current_key_material_id
}

/// LocalStack's AWS recordings: `CurrentKeyMaterialId` is present for symmetric AWS_KMS keys
/// and imported ones after import, changes with RotateKeyOnDemand, and is absent for HMAC,
/// asymmetric and pending-import keys; Decrypt and GenerateDataKey name the material they
/// used.
#[test]
fn key_material_ids_are_reported_where_aws_reports_them() {
    let f = fixture();
    let k = symmetric(&f);
    let first = current_material(&f, &k).unwrap();
    assert_eq!(first.len(), 64);
    let old = encrypt(&f, &k).unwrap();
    assert_eq!(material_of_decrypt(&f, &old), Some(first.clone()));
    let rotated = f.kms.rotate_key_on_demand(&f.admin, &k).unwrap();
    assert_eq!(
        rotated,
        f.kms.describe_key(&f.admin, &k).unwrap().arn,
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
        let other = key(&f, spec, usage, "AWS_KMS", "");
        assert_eq!(current_material(&f, &other), None, "{spec}");
    }
    let external = key(&f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL", "");
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
    let k = key(&f, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL", "");
    let arn = f.kms.describe_key(&f.admin, &k).unwrap().arn;
    // Before any import the key is pending import: the state is checked first.
    assert_eq!(
        f.kms
            .rotate_key_on_demand(&f.admin, &k)
            .unwrap_err()
            .message,
        Some(format!("{arn} is pending import."))
    );
    let first = import(&f, &k, &[1; 32], None).unwrap();
    assert_eq!(first.key_id, arn);
    // Nothing new to rotate to.
    let e = f.kms.rotate_key_on_demand(&f.admin, &k).unwrap_err();
    assert_eq!(e.code(), "KMSInvalidStateException");
    assert_eq!(
        e.message,
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
    assert_eq!(refused.code(), "KMSInvalidStateException");
    let message = refused.message.unwrap();
    assert!(
        message.starts_with("New key material (id: ")
            && message.ends_with(&format!(
                "cannot be imported into KMS key {k}, because another key material (id: {}) is pending rotation.",
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
                    paging: Paging::default(),
                },
            )
            .unwrap()
            .items
    };
    let listed = all("ALL_KEY_MATERIAL");
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.key_material_state, r.import_state, r.rotation_type))
            .collect::<Vec<_>>(),
        [
            ("CURRENT", Some("IMPORTED"), None),
            ("PENDING_ROTATION", Some("IMPORTED"), None)
        ]
    );
    assert!(all("ROTATIONS_ONLY").is_empty());
    assert_eq!(f.kms.rotate_key_on_demand(&f.admin, &k).unwrap(), arn);
    assert_eq!(
        current_material(&f, &k),
        Some(second.key_material_id.clone())
    );
    let rotations = all("ROTATIONS_ONLY");
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].key_material_id, second.key_material_id);
    assert_eq!(rotations[0].rotation_type, Some("ON_DEMAND"));
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
    assert_eq!(
        f.kms.describe_key(&f.admin, &k).unwrap().key_state,
        KeyState::PendingImport
    );
    let parameters = |f: &Fixture| {
        f.kms
            .get_parameters_for_import(
                &f.admin,
                &GetParametersForImportRequest {
                    key_id: k.clone(),
                    wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                    wrapping_key_spec: "RSA_2048".into(),
                },
            )
            .unwrap()
    };
    let reimport = |material: &[u8], id: &str| {
        let p = parameters(&f);
        f.kms.import_key_material(
            &f.admin,
            &ImportKeyMaterialRequest {
                key_id: k.clone(),
                import_token: p.import_token,
                encrypted_key_material: wrap(&p.public_key, material),
                expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
                import_type: Some("EXISTING_KEY_MATERIAL".into()),
                key_material_id: Some(id.into()),
                ..ImportKeyMaterialRequest::default()
            },
        )
    };
    assert_eq!(
        code(reimport(&[1; 32], &second.key_material_id)),
        "IncorrectKeyMaterialException"
    );
    reimport(&[1; 32], &first.key_material_id).unwrap();
    assert_eq!(
        f.kms.describe_key(&f.admin, &k).unwrap().key_state,
        KeyState::Enabled
    );
    assert_eq!(decrypt(&f, &old).unwrap(), b"secret");
}

#[test]
fn asymmetric_and_hmac_keys_refuse_an_import_type() {
    let f = fixture();
    let k = key(&f, "HMAC_256", "GENERATE_VERIFY_MAC", "EXTERNAL", "");
    let e = import_as(&f, &k, &[1; 32], None, Some("NEW_KEY_MATERIAL")).unwrap_err();
    assert_eq!(e.code(), "ValidationException");
    import(&f, &k, &[1; 32], None).unwrap();
}

/// LocalStack's AWS recordings (`test_create_key_with_invalid_tag_key`,
/// `test_key_with_long_tag_value_raises_error`): tag keys beginning with `aws:` in any case are
/// reserved; over-long keys and values get AWS's validation text naming the tag.
#[test]
fn tags_are_checked_with_aws_errors() {
    let f = fixture();
    let k = symmetric(&f);
    let tag = |key: &str, value: &str| {
        f.kms
            .tag_resource(&f.admin, &k, &[(key.into(), value.into())])
            .map_err(|e| (e.code(), e.message.unwrap_or_default()))
    };
    for reserved in ["aws:key1", "AWS:key1", "Aws:x"] {
        assert_eq!(
            tag(reserved, "v"),
            Err((
                "TagException",
                "Tags beginning with aws: are reserved".to_owned()
            ))
        );
    }
    let long_key = "k".repeat(129);
    assert_eq!(
        tag(&long_key, "v"),
        Err((
            "ValidationException",
            format!(
                "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
            )
        ))
    );
    let long_value = "v".repeat(257);
    assert_eq!(
        tag("ok", &long_value),
        Err((
            "ValidationException",
            format!(
                "1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
            )
        ))
    );
    assert_eq!(tag(&"k".repeat(128), &"v".repeat(256)), Ok(()));
}

/// LocalStack's AWS recordings (`test_generate_random_invalid_number_of_bytes`): one message
/// per bound.
#[test]
fn generate_random_out_of_range_gets_awss_two_messages() {
    let f = fixture();
    let message = |n| {
        f.kms
            .generate_random(&f.admin, n)
            .unwrap_err()
            .message
            .unwrap()
    };
    assert_eq!(
        message(0),
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_eq!(
        message(1025),
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
    assert_eq!(f.kms.generate_random(&f.admin, 1024).unwrap().len(), 1024);
}

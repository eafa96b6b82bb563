//! Every operation is gated: denied without permission, allowed by the key policy, by
//! delegation to an identity policy, or by a grant, and an explicit deny wins. Conditions on
//! the encryption context, kms:ViaService, kms:RequestAlias, kms:ResourceAliases and
//! aws:ResourceTag gate real Encrypt/Decrypt calls. Every call leaves one audit record.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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
const APP: &str = "arn:aws:iam::111122223333:role/App";
const OTHER: &str = "arn:aws:iam::111122223333:role/Other";
const FOREIGN: &str = "arn:aws:iam::444455556666:role/Outsider";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

struct Fixture {
    kms: Kms,
    audit: Arc<MemoryAudit>,
    clock: Arc<ManualClock>,
    admin: Caller,
}

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn fixture_with(store: Box<dyn Store>, root: RootKey) -> Fixture {
    let audit = Arc::new(MemoryAudit::new());
    let clock = Arc::new(ManualClock::new(start()));
    let kms = Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: ACCOUNT.into(),
        },
        store,
        root,
        audit.clone(),
        clock.clone(),
    )
    .unwrap();
    Fixture {
        kms,
        audit,
        clock,
        admin: Caller::new(ADMIN, &[ALLOW_ALL]).unwrap(),
    }
}

fn fixture() -> Fixture {
    fixture_with(Box::new(MemoryStore::new()), RootKey::generate().unwrap())
}

/// A key policy: the admin may do everything, plus `statements`.
fn policy(statements: &str) -> String {
    let extra = if statements.is_empty() {
        String::new()
    } else {
        format!(",{statements}")
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    )
}

fn create(f: &Fixture, statements: &str) -> String {
    f.kms
        .create_key(
            &f.admin,
            &CreateKeyRequest {
                policy: Some(policy(statements)),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_id
}

fn ec(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn encrypt(
    f: &Fixture,
    caller: &Caller,
    key: &str,
    context: &[(&str, &str)],
) -> Result<Vec<u8>, KmsError> {
    f.kms
        .encrypt(
            caller,
            &EncryptRequest {
                key_id: key.into(),
                plaintext: b"the plaintext".to_vec(),
                encryption_context: ec(context),
                ..EncryptRequest::default()
            },
        )
        .map(|r| r.ciphertext_blob)
}

fn decrypt(
    f: &Fixture,
    caller: &Caller,
    blob: &[u8],
    context: &[(&str, &str)],
) -> Result<Vec<u8>, KmsError> {
    f.kms
        .decrypt(
            caller,
            &DecryptRequest {
                ciphertext_blob: blob.to_vec(),
                encryption_context: ec(context),
                ..DecryptRequest::default()
            },
        )
        .map(|r| r.plaintext.expose().to_vec())
}

fn grants_of(key: &str) -> ListGrantsRequest {
    ListGrantsRequest {
        key_id: key.into(),
        ..ListGrantsRequest::default()
    }
}

fn code<T>(r: Result<T, KmsError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn app() -> Caller {
    Caller::new(APP, &[]).unwrap()
}

#[test]
fn encrypt_is_denied_without_permission_and_allowed_by_the_key_policy() {
    let f = fixture();
    let closed = create(&f, "");
    let error = encrypt(&f, &app(), &closed, &[]).unwrap_err();
    assert_eq!(error.code(), "AccessDeniedException");
    let message = error.message.unwrap();
    assert!(
        message.starts_with(&format!("User: {APP} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:{ACCOUNT}:key/{closed}")),
        "{message}"
    );
    let open = create(
        &f,
        &format!(
            r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}}"#
        ),
    );
    let blob = encrypt(&f, &app(), &open, &[]).unwrap();
    assert_eq!(decrypt(&f, &app(), &blob, &[]).unwrap(), b"the plaintext");
    // Another role of the same account, not named: denied.
    let other = Caller::new(OTHER, &[ALLOW_ALL]).unwrap();
    assert_eq!(
        code(decrypt(&f, &other, &blob, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn delegation_to_the_account_needs_an_identity_policy() {
    let f = fixture();
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
        ),
    );
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[])),
        "AccessDeniedException"
    );
    let with_iam = Caller::new(
        APP,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#],
    )
    .unwrap();
    assert_eq!(code(encrypt(&f, &with_iam, &key, &[])), "ok");
    // The identity policy gives Encrypt only.
    let blob = encrypt(&f, &with_iam, &key, &[]).unwrap();
    assert_eq!(
        code(decrypt(&f, &with_iam, &blob, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn explicit_deny_wins_over_every_allow() {
    let f = fixture();
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"NoDecrypt","Effect":"Deny","Principal":{{"AWS":"{APP}"}},"Action":"kms:Decrypt","Resource":"*"}}"#
        ),
    );
    let blob = encrypt(&f, &app(), &key, &[]).unwrap();
    let error = decrypt(&f, &app(), &blob, &[]).unwrap_err();
    assert_eq!(error.code(), "AccessDeniedException");
    assert!(
        error
            .message
            .unwrap()
            .contains("with an explicit deny in a resource-based policy")
    );
    // A grant does not override a deny either.
    f.kms
        .create_grant(
            &f.admin,
            &CreateGrantRequest {
                key_id: key.clone(),
                grantee_principal: APP.into(),
                operations: vec!["Decrypt".into()],
                ..CreateGrantRequest::default()
            },
        )
        .unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn grant_allows_its_grantee_within_its_constraint_until_retired() {
    let f = fixture();
    let key = create(&f, "");
    let blob = encrypt(&f, &f.admin, &key, &[("tenant", "acme")]).unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("tenant", "acme")])),
        "AccessDeniedException"
    );
    let grant = f
        .kms
        .create_grant(
            &f.admin,
            &CreateGrantRequest {
                key_id: key.clone(),
                grantee_principal: APP.into(),
                retiring_principal: Some(APP.into()),
                operations: vec!["Decrypt".into()],
                encryption_context_subset: Some(ec(&[("tenant", "acme")])),
                ..CreateGrantRequest::default()
            },
        )
        .unwrap();
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("tenant", "acme")]).unwrap(),
        b"the plaintext"
    );
    // The constraint: another tenant's ciphertext is not covered.
    let other = encrypt(&f, &f.admin, &key, &[("tenant", "umbrella")]).unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &other, &[("tenant", "umbrella")])),
        "AccessDeniedException"
    );
    // Only Decrypt was granted.
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[("tenant", "acme")])),
        "AccessDeniedException"
    );
    let listed = f.kms.list_grants(&f.admin, &grants_of(&key)).unwrap().items;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].grant_id, grant.grant_id);
    f.kms
        .retire_grant(
            &app(),
            &RetireGrantRequest {
                grant_token: Some(grant.grant_token.clone()),
                ..RetireGrantRequest::default()
            },
        )
        .unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("tenant", "acme")])),
        "AccessDeniedException"
    );
    assert!(
        f.kms
            .list_grants(&f.admin, &grants_of(&key))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn revoke_grant_needs_the_key_policy_and_stops_the_grant() {
    let f = fixture();
    let key = create(&f, "");
    let grant = f
        .kms
        .create_grant(
            &f.admin,
            &CreateGrantRequest {
                key_id: key.clone(),
                grantee_principal: APP.into(),
                operations: vec!["Encrypt".into()],
                ..CreateGrantRequest::default()
            },
        )
        .unwrap();
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), "ok");
    assert_eq!(
        code(f.kms.revoke_grant(&app(), &key, &grant.grant_id)),
        "AccessDeniedException"
    );
    f.kms.revoke_grant(&f.admin, &key, &grant.grant_id).unwrap();
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn encryption_context_condition_gates_encrypt_and_decrypt() {
    let f = fixture();
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"Finance","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:dept":"finance"}}}}}}"#
        ),
    );
    let blob = encrypt(&f, &app(), &key, &[("dept", "finance")]).unwrap();
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[("dept", "sales")])),
        "AccessDeniedException"
    );
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[])),
        "AccessDeniedException"
    );
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("dept", "finance")]).unwrap(),
        b"the plaintext"
    );
    // Authorized for dept=sales? No: the decision comes before the crypto.
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("dept", "sales")])),
        "AccessDeniedException"
    );
}

#[test]
fn via_service_condition_gates_decrypt() {
    let f = fixture();
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"ViaS3","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}}}}"#
        ),
    );
    let via_s3 = app().via_service("s3.us-east-1.amazonaws.com");
    let blob = encrypt(&f, &via_s3, &key, &[]).unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[])),
        "AccessDeniedException"
    );
    let via_sqs = app().via_service("sqs.us-east-1.amazonaws.com");
    assert_eq!(
        code(decrypt(&f, &via_sqs, &blob, &[])),
        "AccessDeniedException"
    );
    assert_eq!(code(decrypt(&f, &via_s3, &blob, &[])), "ok");
}

#[test]
fn request_alias_condition_needs_the_key_named_by_that_alias() {
    let f = fixture();
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"ByAlias","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:RequestAlias":"alias/payments"}}}}}}"#
        ),
    );
    f.kms
        .create_alias(&f.admin, "alias/payments", &key)
        .unwrap();
    f.kms.create_alias(&f.admin, "alias/other", &key).unwrap();
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[])),
        "AccessDeniedException"
    );
    assert_eq!(
        code(encrypt(&f, &app(), "alias/other", &[])),
        "AccessDeniedException"
    );
    assert_eq!(code(encrypt(&f, &app(), "alias/payments", &[])), "ok");
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/payments");
    assert_eq!(code(encrypt(&f, &app(), &alias_arn, &[])), "ok");
}

#[test]
fn resource_aliases_and_resource_tag_in_identity_policies_gate_encrypt() {
    let f = fixture();
    let delegate = format!(
        r#"{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
    );
    let key = create(&f, &delegate);
    let by_alias = Caller::new(
        APP,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/team-a"}}}]}"#],
    )
    .unwrap();
    assert_eq!(
        code(encrypt(&f, &by_alias, &key, &[])),
        "AccessDeniedException"
    );
    f.kms.create_alias(&f.admin, "alias/team-a", &key).unwrap();
    assert_eq!(code(encrypt(&f, &by_alias, &key, &[])), "ok");
    f.kms.delete_alias(&f.admin, "alias/team-a").unwrap();
    assert_eq!(
        code(encrypt(&f, &by_alias, &key, &[])),
        "AccessDeniedException"
    );

    let by_tag = Caller::new(
        APP,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"a"}}}]}"#],
    )
    .unwrap();
    assert_eq!(
        code(encrypt(&f, &by_tag, &key, &[])),
        "AccessDeniedException"
    );
    f.kms
        .tag_resource(&f.admin, &key, &[("team".into(), "a".into())])
        .unwrap();
    assert_eq!(code(encrypt(&f, &by_tag, &key, &[])), "ok");
    f.kms
        .untag_resource(&f.admin, &key, &["team".into()])
        .unwrap();
    assert_eq!(
        code(encrypt(&f, &by_tag, &key, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn key_state_is_checked_after_authorization() {
    let f = fixture();
    let key = create(&f, "");
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    f.kms.disable_key(&f.admin, &key).unwrap();
    let error = encrypt(&f, &f.admin, &key, &[]).unwrap_err();
    assert_eq!(error.code(), "DisabledException");
    assert_eq!(error.message.unwrap(), format!("{arn} is disabled."));
    // Someone without permission learns nothing about the state.
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[])),
        "AccessDeniedException"
    );
    f.kms.enable_key(&f.admin, &key).unwrap();
    assert_eq!(code(encrypt(&f, &f.admin, &key, &[])), "ok");
}

#[test]
fn scheduled_deletion_destroys_the_key_when_the_window_passes() {
    let f = fixture();
    let key = create(&f, "");
    let blob = encrypt(&f, &f.admin, &key, &[]).unwrap();
    assert_eq!(
        code(f.kms.schedule_key_deletion(&f.admin, &key, Some(6))),
        "ValidationException"
    );
    let meta = f
        .kms
        .schedule_key_deletion(&f.admin, &key, Some(7))
        .unwrap();
    assert_eq!(meta.key_state, KeyState::PendingDeletion);
    assert_eq!(
        meta.deletion_date,
        Some(start() + Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        code(decrypt(&f, &f.admin, &blob, &[])),
        "KMSInvalidStateException"
    );
    f.kms.cancel_key_deletion(&f.admin, &key).unwrap();
    assert_eq!(
        f.kms.describe_key(&f.admin, &key).unwrap().key_state,
        KeyState::Disabled
    );
    f.kms.enable_key(&f.admin, &key).unwrap();
    assert_eq!(code(decrypt(&f, &f.admin, &blob, &[])), "ok");
    f.kms
        .schedule_key_deletion(&f.admin, &key, Some(7))
        .unwrap();
    f.clock.advance(Duration::from_secs(7 * 86_400 - 1));
    assert_eq!(code(f.kms.describe_key(&f.admin, &key)), "ok");
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(
        code(f.kms.describe_key(&f.admin, &key)),
        "NotFoundException"
    );
    assert_eq!(
        code(decrypt(&f, &f.admin, &blob, &[])),
        "AccessDeniedException"
    );
}

#[test]
fn put_key_policy_refuses_a_policy_that_locks_the_caller_out() {
    let f = fixture();
    let key = create(&f, "");
    let lockout = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let error = f
        .kms
        .put_key_policy(&f.admin, &key, &lockout, None, None)
        .unwrap_err();
    assert_eq!(error.code(), "MalformedPolicyDocumentException");
    assert_eq!(
        error.message.unwrap(),
        "The new key policy will not allow you to update the key policy in the future."
    );
    // The old policy still applies.
    assert_eq!(code(encrypt(&f, &f.admin, &key, &[])), "ok");
    assert_eq!(
        code(f.kms.put_key_policy(&f.admin, &key, "{", None, None)),
        "MalformedPolicyDocumentException"
    );
    f.kms
        .put_key_policy(&f.admin, &key, &lockout, None, Some(true))
        .unwrap();
    assert_eq!(
        code(encrypt(&f, &f.admin, &key, &[])),
        "AccessDeniedException"
    );
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), "ok");
    assert_eq!(f.kms.get_key_policy(&app(), &key, None).unwrap(), lockout);
}

#[test]
fn create_key_is_decided_by_identity_policies_and_checks_the_lockout() {
    let f = fixture();
    assert_eq!(
        code(f.kms.create_key(&app(), &CreateKeyRequest::default())),
        "AccessDeniedException"
    );
    let only_symmetric = Caller::new(
        APP,
        &[r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeySpec":"SYMMETRIC_DEFAULT"}}}]}"#],
    )
    .unwrap();
    assert_eq!(
        code(
            f.kms
                .create_key(&only_symmetric, &CreateKeyRequest::default())
        ),
        "ok"
    );
    assert_eq!(
        code(f.kms.create_key(
            &only_symmetric,
            &CreateKeyRequest {
                key_spec: Some("ECC_NIST_P256".into()),
                key_usage: Some("SIGN_VERIFY".into()),
                ..CreateKeyRequest::default()
            }
        )),
        "AccessDeniedException"
    );
    // A policy that would lock its creator out.
    let error = f
        .kms
        .create_key(
            &f.admin,
            &CreateKeyRequest {
                policy: Some(format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:Encrypt","Resource":"*"}}]}}"#
                )),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.code(), "MalformedPolicyDocumentException");
}

#[test]
fn another_account_cannot_tell_a_missing_key_from_a_forbidden_one() {
    let f = fixture();
    let key = create(&f, "");
    let outsider = Caller::new(FOREIGN, &[ALLOW_ALL]).unwrap();
    let existing = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    let missing =
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000");
    let a = encrypt(&f, &outsider, &existing, &[]).unwrap_err();
    let b = encrypt(&f, &outsider, &missing, &[]).unwrap_err();
    assert_eq!(
        (a.code(), b.code()),
        ("AccessDeniedException", "AccessDeniedException")
    );
    // In the key's own account, a missing key is NotFound.
    let error = encrypt(&f, &f.admin, &missing, &[]).unwrap_err();
    assert_eq!(error.code(), "NotFoundException");
    assert_eq!(
        error.message.unwrap(),
        format!("Key '{missing}' does not exist")
    );
    assert_eq!(
        code(encrypt(&f, &f.admin, "not-a-key", &[])),
        "NotFoundException"
    );
}

#[test]
fn every_call_leaves_one_audit_record_without_secrets() {
    let f = fixture();
    let key = create(&f, "");
    let blob = encrypt(&f, &f.admin, &key, &[("tenant", "acme")]).unwrap();
    let _ = decrypt(&f, &app(), &blob, &[("tenant", "acme")]);
    decrypt(&f, &f.admin, &blob, &[("tenant", "acme")]).unwrap();
    let records = f.audit.records();
    assert_eq!(records.len(), 4);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CreateKey", "Encrypt", "Decrypt", "Decrypt"]);
    let denied = &records[2];
    assert_eq!(denied["errorCode"], "AccessDeniedException");
    assert_eq!(denied["userIdentity"]["arn"], APP);
    assert_eq!(denied["keyward"]["decisions"][0]["verdict"], "ImplicitDeny");
    let allowed = &records[3];
    assert_eq!(allowed["errorCode"], serde_json::Value::Null);
    assert_eq!(
        allowed["requestParameters"]["encryptionContext"]["tenant"],
        "acme"
    );
    assert_eq!(
        allowed["resources"][0]["ARN"],
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}")
    );
    assert_eq!(
        allowed["keyward"]["decisions"][0]["reasons"][0]["sid"],
        "Admin"
    );
    assert_eq!(allowed["eventTime"], "2027-01-15T08:00:00Z");
    let all = serde_json::to_string(&records).unwrap();
    assert!(!all.contains("the plaintext"));
    assert!(!all.contains(&hex(b"the plaintext")));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sqlite_store_keeps_keys_grants_aliases_and_policies_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let root_path = dir.path().join("root.key");
    let (key, blob, token) = {
        let f = fixture_with(
            Box::new(SqliteStore::open(&db).unwrap()),
            RootKey::load_or_create(&root_path).unwrap(),
        );
        let key = create(&f, "");
        f.kms.create_alias(&f.admin, "alias/kept", &key).unwrap();
        f.kms
            .tag_resource(&f.admin, &key, &[("team".into(), "a".into())])
            .unwrap();
        let blob = encrypt(&f, &f.admin, "alias/kept", &[("k", "v")]).unwrap();
        let grant = f
            .kms
            .create_grant(
                &f.admin,
                &CreateGrantRequest {
                    key_id: key.clone(),
                    grantee_principal: APP.into(),
                    retiring_principal: Some(APP.into()),
                    operations: vec!["Decrypt".into()],
                    ..CreateGrantRequest::default()
                },
            )
            .unwrap();
        (key, blob, grant.grant_token)
    };
    let f = fixture_with(
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::load_or_create(&root_path).unwrap(),
    );
    assert_eq!(
        decrypt(&f, &f.admin, &blob, &[("k", "v")]).unwrap(),
        b"the plaintext"
    );
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("k", "v")]).unwrap(),
        b"the plaintext"
    );
    assert_eq!(
        f.kms.describe_key(&f.admin, "alias/kept").unwrap().key_id,
        key
    );
    assert_eq!(
        f.kms.list_resource_tags(&f.admin, &key).unwrap(),
        [("team".to_owned(), "a".to_owned())]
    );
    // A grant token issued before the restart still retires its grant.
    f.kms
        .retire_grant(
            &app(),
            &RetireGrantRequest {
                grant_token: Some(token),
                ..RetireGrantRequest::default()
            },
        )
        .unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("k", "v")])),
        "AccessDeniedException"
    );
    // Another root key cannot open the store.
    let other = Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: ACCOUNT.into(),
        },
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::generate().unwrap(),
        Arc::new(MemoryAudit::new()),
        Arc::new(ManualClock::new(start())),
    );
    assert_eq!(code(other), "KMSInternalException");
}

#[test]
fn kms_is_shared_across_eight_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Kms>();
    let f = Arc::new(fixture());
    let key = create(
        &f,
        &format!(
            r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}}"#
        ),
    );
    let before = f.audit.len();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let f = Arc::clone(&f);
            let key = key.clone();
            std::thread::spawn(move || {
                let mut calls = 0;
                for i in 0..50 {
                    let tenant = format!("t{t}-{i}");
                    let blob = encrypt(&f, &app(), &key, &[("tenant", &tenant)]).unwrap();
                    assert_eq!(
                        decrypt(&f, &app(), &blob, &[("tenant", &tenant)]).unwrap(),
                        b"the plaintext"
                    );
                    assert_eq!(
                        code(decrypt(&f, &app(), &blob, &[("tenant", "wrong")])),
                        "InvalidCiphertextException"
                    );
                    let other = Caller::new(OTHER, &[]).unwrap();
                    assert_eq!(
                        code(decrypt(&f, &other, &blob, &[("tenant", &tenant)])),
                        "AccessDeniedException"
                    );
                    calls += 4;
                    if i % 10 == 0 {
                        let alias = format!("alias/t{t}-{i}");
                        f.kms.create_alias(&f.admin, &alias, &key).unwrap();
                        assert_eq!(encrypt(&f, &app(), &alias, &[]).map(|_| ()), Ok(()));
                        f.kms.delete_alias(&f.admin, &alias).unwrap();
                        calls += 3;
                    }
                }
                calls
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 8 * (50 * 4 + 5 * 3));
    assert_eq!(f.audit.len() - before, total);
    // Only AWS's predefined aliases (no target) remain.
    assert!(
        f.kms
            .list_aliases(&f.admin, None)
            .unwrap()
            .iter()
            .all(|a| a.target_key_id.is_none())
    );
}

#[test]
fn open_in_keeps_store_root_key_and_a_json_lines_audit_trail_in_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = KmsConfig {
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
    };
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let blob = {
        let kms = Kms::open_in(config.clone(), dir.path()).unwrap();
        let key = kms
            .create_key(&admin, &CreateKeyRequest::default())
            .unwrap()
            .key_id;
        let stranger = Caller::new(OTHER, &[]).unwrap();
        let denied = kms.describe_key(&stranger, &key).unwrap_err();
        assert_eq!(denied.code(), "AccessDeniedException");
        kms.encrypt(
            &admin,
            &EncryptRequest {
                key_id: key,
                plaintext: b"never in the trail".to_vec(),
                ..EncryptRequest::default()
            },
        )
        .unwrap()
        .ciphertext_blob
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("root.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let kms = Kms::open_in(config, dir.path()).unwrap();
    assert_eq!(
        kms.decrypt(
            &admin,
            &DecryptRequest {
                ciphertext_blob: blob,
                ..DecryptRequest::default()
            },
        )
        .unwrap()
        .plaintext
        .expose(),
        b"never in the trail"
    );
    let trail = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CreateKey", "DescribeKey", "Encrypt", "Decrypt"]);
    assert_eq!(records[1]["errorCode"], "AccessDeniedException");
    assert_eq!(records[1]["userIdentity"]["arn"], OTHER);
    assert!(!trail.contains("never in the trail"));
    let base64_plaintext = "bmV2ZXIgaW4gdGhlIHRyYWls";
    assert!(!trail.contains(base64_plaintext));
}

/// CreateKey with `Tags` needs `kms:TagResource` in an IAM policy (the key does not exist yet,
/// so no key policy can give it); without it the key is not created.
#[test]
fn create_key_with_tags_needs_tag_resource_in_an_iam_policy() {
    let f = fixture();
    let tags = vec![("env".to_owned(), "prod".to_owned())];
    let request = CreateKeyRequest {
        tags: tags.clone(),
        ..Default::default()
    };
    let key = f.kms.create_key(&f.admin, &request).unwrap().key_id;
    assert_eq!(f.kms.list_resource_tags(&f.admin, &key).unwrap(), tags);
    let create_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateKey","kms:ListKeys"],"Resource":"*"}]}"#;
    let creator = Caller::new(APP, &[create_only]).unwrap();
    let denied = f.kms.create_key(&creator, &request).unwrap_err();
    assert_eq!(denied.code(), "AccessDeniedException");
    assert_eq!(
        denied.message.as_deref().unwrap(),
        "User: arn:aws:iam::111122223333:role/App is not authorized to perform: kms:TagResource on resource: * because no identity-based policy allows the kms:TagResource action"
    );
    assert_eq!(
        f.kms.list_keys(&f.admin).unwrap().len(),
        1,
        "no key was created"
    );
    f.kms
        .create_key(&creator, &CreateKeyRequest::default())
        .unwrap();
}

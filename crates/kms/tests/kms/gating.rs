//! Every operation is gated: denied without permission, allowed by the key policy, by
//! delegation to an identity policy, or by a grant, and an explicit deny wins. Conditions on
//! the encryption context, kms:ViaService, kms:RequestAlias, kms:ResourceAliases and
//! aws:ResourceTag gate real Encrypt/Decrypt calls. Every call leaves one audit record.

use crate::common::{
    self, ACCOUNT, ADMIN, ALLOW_ALL, APP, DENIED, Fixture, OTHER, alias, all_aliases, all_keys,
    caller, code, config, default_key, ec, fixture, grant, grants_of, start, tag,
};
use keyward_crypto::RootKey;
use keyward_kms::api::{
    CancelKeyDeletionRequest, CreateGrantRequest, CreateKeyRequest, DeleteAliasRequest,
    DescribeKeyRequest, DisableKeyRequest, EnableKeyRequest, ErrorCode, GetKeyPolicyRequest,
    GrantConstraints, KeyState, ListResourceTagsRequest, PutKeyPolicyRequest, RetireGrantRequest,
    RevokeGrantRequest, ScheduleKeyDeletionRequest, Tag, UntagResourceRequest,
};
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::ManualClock;
use keyward_kms::store::SqliteStore;
use keyward_kms::{Caller, Kms, KmsError, OpenError};
use std::sync::Arc;
use std::time::Duration;

const FOREIGN: &str = "arn:aws:iam::444455556666:role/Outsider";
const PLAINTEXT: &[u8] = b"the plaintext";

fn encrypt(
    f: &Fixture,
    caller: &Caller,
    key: &str,
    context: &[(&str, &str)],
) -> Result<Vec<u8>, KmsError> {
    common::encrypt(&f.kms, caller, key, PLAINTEXT, context).map(|r| r.ciphertext_blob)
}

fn decrypt(
    f: &Fixture,
    caller: &Caller,
    blob: &[u8],
    context: &[(&str, &str)],
) -> Result<Vec<u8>, KmsError> {
    common::decrypt(&f.kms, caller, blob, context).map(|r| r.plaintext.expose().to_vec())
}

fn app() -> Caller {
    caller(APP, &[])
}

/// A grant of Decrypt on `key` to the app, which the app may retire.
fn decrypt_retirable_by_app(key: &str) -> CreateGrantRequest {
    CreateGrantRequest {
        retiring_principal: Some(APP.into()),
        ..grant(key, APP, &["Decrypt"])
    }
}

#[test]
fn encrypt_is_denied_without_permission_and_allowed_by_the_key_policy() {
    let f = fixture();
    let closed = f.symmetric("");
    let error = encrypt(&f, &app(), &closed, &[]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::AccessDenied);
    let message = error.message().unwrap();
    assert!(
        message.starts_with(&format!("User: {APP} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:{ACCOUNT}:key/{closed}")),
        "{message}"
    );
    let open = f.symmetric(&format!(
        r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}}"#
    ));
    let blob = encrypt(&f, &app(), &open, &[]).unwrap();
    assert_eq!(decrypt(&f, &app(), &blob, &[]).unwrap(), PLAINTEXT);
    // Another role of the same account, not named: denied.
    let other = caller(OTHER, &[ALLOW_ALL]);
    assert_eq!(code(decrypt(&f, &other, &blob, &[])), DENIED);
}

#[test]
fn delegation_to_the_account_needs_an_identity_policy() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"Delegate","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}"#
    ));
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), DENIED);
    let with_iam = caller(
        APP,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#,
        ],
    );
    assert_eq!(code(encrypt(&f, &with_iam, &key, &[])), "ok");
    // The identity policy gives Encrypt only.
    let blob = encrypt(&f, &with_iam, &key, &[]).unwrap();
    assert_eq!(code(decrypt(&f, &with_iam, &blob, &[])), DENIED);
}

#[test]
fn explicit_deny_wins_over_every_allow() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"NoDecrypt","Effect":"Deny","Principal":{{"AWS":"{APP}"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
    let blob = encrypt(&f, &app(), &key, &[]).unwrap();
    let error = decrypt(&f, &app(), &blob, &[]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::AccessDenied);
    assert!(
        error
            .message()
            .unwrap()
            .contains("with an explicit deny in a resource-based policy")
    );
    // A grant does not override a deny either.
    f.kms
        .create_grant(&f.admin, &grant(&key, APP, &["Decrypt"]))
        .unwrap();
    assert_eq!(code(decrypt(&f, &app(), &blob, &[])), DENIED);
}

#[test]
fn grant_allows_its_grantee_within_its_constraint_until_retired() {
    let f = fixture();
    let key = f.symmetric("");
    let blob = encrypt(&f, &f.admin, &key, &[("tenant", "acme")]).unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("tenant", "acme")])),
        DENIED
    );
    let grant = f
        .kms
        .create_grant(
            &f.admin,
            &CreateGrantRequest {
                constraints: Some(GrantConstraints {
                    encryption_context_subset: Some(ec(&[("tenant", "acme")])),
                    ..GrantConstraints::default()
                }),
                ..decrypt_retirable_by_app(&key)
            },
        )
        .unwrap();
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("tenant", "acme")]).unwrap(),
        PLAINTEXT
    );
    // The constraint: another tenant's ciphertext is not covered.
    let other = encrypt(&f, &f.admin, &key, &[("tenant", "umbrella")]).unwrap();
    assert_eq!(
        code(decrypt(&f, &app(), &other, &[("tenant", "umbrella")])),
        DENIED
    );
    // Only Decrypt was granted.
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[("tenant", "acme")])),
        DENIED
    );
    let listed = f
        .kms
        .list_grants(&f.admin, &grants_of(&key))
        .unwrap()
        .grants;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].grant_id, grant.grant_id);
    // ListGrants shows the constraint and when the grant was made, as AWS does.
    assert_eq!(
        listed[0].constraints,
        Some(GrantConstraints {
            encryption_context_subset: Some(ec(&[("tenant", "acme")])),
            ..GrantConstraints::default()
        })
    );
    assert!(listed[0].creation_date.is_some());
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
        DENIED
    );
    assert!(
        f.kms
            .list_grants(&f.admin, &grants_of(&key))
            .unwrap()
            .grants
            .is_empty()
    );
}

#[test]
fn revoke_grant_needs_the_key_policy_and_stops_the_grant() {
    let f = fixture();
    let key = f.symmetric("");
    let grant = f
        .kms
        .create_grant(&f.admin, &grant(&key, APP, &["Encrypt"]))
        .unwrap();
    let revoke = RevokeGrantRequest {
        key_id: key.clone(),
        grant_id: grant.grant_id,
        ..RevokeGrantRequest::default()
    };
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), "ok");
    assert_eq!(code(f.kms.revoke_grant(&app(), &revoke)), DENIED);
    f.kms.revoke_grant(&f.admin, &revoke).unwrap();
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), DENIED);
}

#[test]
fn encryption_context_condition_gates_encrypt_and_decrypt() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"Finance","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:dept":"finance"}}}}}}"#
    ));
    let blob = encrypt(&f, &app(), &key, &[("dept", "finance")]).unwrap();
    assert_eq!(
        code(encrypt(&f, &app(), &key, &[("dept", "sales")])),
        DENIED
    );
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), DENIED);
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("dept", "finance")]).unwrap(),
        PLAINTEXT
    );
    // Authorized for dept=sales? No: the decision comes before the crypto.
    assert_eq!(
        code(decrypt(&f, &app(), &blob, &[("dept", "sales")])),
        DENIED
    );
}

#[test]
fn via_service_condition_gates_decrypt() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"ViaS3","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}}}}"#
    ));
    let via_s3 = app().via_service("s3.us-east-1.amazonaws.com");
    let blob = encrypt(&f, &via_s3, &key, &[]).unwrap();
    assert_eq!(code(decrypt(&f, &app(), &blob, &[])), DENIED);
    let via_sqs = app().via_service("sqs.us-east-1.amazonaws.com");
    assert_eq!(code(decrypt(&f, &via_sqs, &blob, &[])), DENIED);
    assert_eq!(code(decrypt(&f, &via_s3, &blob, &[])), "ok");
}

#[test]
fn request_alias_condition_needs_the_key_named_by_that_alias() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"ByAlias","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:RequestAlias":"alias/payments"}}}}}}"#
    ));
    f.kms
        .create_alias(&f.admin, &alias("alias/payments", &key))
        .unwrap();
    f.kms
        .create_alias(&f.admin, &alias("alias/other", &key))
        .unwrap();
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), DENIED);
    assert_eq!(code(encrypt(&f, &app(), "alias/other", &[])), DENIED);
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
    let key = f.symmetric(&delegate);
    let by_alias = caller(
        APP,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/team-a"}}}]}"#,
        ],
    );
    assert_eq!(code(encrypt(&f, &by_alias, &key, &[])), DENIED);
    f.kms
        .create_alias(&f.admin, &alias("alias/team-a", &key))
        .unwrap();
    assert_eq!(code(encrypt(&f, &by_alias, &key, &[])), "ok");
    f.kms
        .delete_alias(
            &f.admin,
            &DeleteAliasRequest {
                alias_name: "alias/team-a".into(),
            },
        )
        .unwrap();
    assert_eq!(code(encrypt(&f, &by_alias, &key, &[])), DENIED);

    let by_tag = caller(
        APP,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"a"}}}]}"#,
        ],
    );
    assert_eq!(code(encrypt(&f, &by_tag, &key, &[])), DENIED);
    f.kms
        .tag_resource(&f.admin, &tag(&key, "team", "a"))
        .unwrap();
    assert_eq!(code(encrypt(&f, &by_tag, &key, &[])), "ok");
    f.kms
        .untag_resource(
            &f.admin,
            &UntagResourceRequest {
                key_id: key.clone(),
                tag_keys: vec!["team".into()],
            },
        )
        .unwrap();
    assert_eq!(code(encrypt(&f, &by_tag, &key, &[])), DENIED);
}

#[test]
fn key_state_is_checked_after_authorization() {
    let f = fixture();
    let key = f.symmetric("");
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    f.kms
        .disable_key(&f.admin, &DisableKeyRequest::new(&key))
        .unwrap();
    let error = encrypt(&f, &f.admin, &key, &[]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::Disabled);
    assert_eq!(error.message().unwrap(), format!("{arn} is disabled."));
    // Someone without permission learns nothing about the state.
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), DENIED);
    f.kms
        .enable_key(&f.admin, &EnableKeyRequest::new(&key))
        .unwrap();
    assert_eq!(code(encrypt(&f, &f.admin, &key, &[])), "ok");
}

#[test]
fn scheduled_deletion_destroys_the_key_when_the_window_passes() {
    let f = fixture();
    let key = f.symmetric("");
    let blob = encrypt(&f, &f.admin, &key, &[]).unwrap();
    let schedule = |days| {
        f.kms.schedule_key_deletion(
            &f.admin,
            &ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(days),
            },
        )
    };
    let describe = || f.kms.describe_key(&f.admin, &DescribeKeyRequest::new(&key));
    assert_eq!(code(schedule(6)), "ValidationException");
    let scheduled = schedule(7).unwrap();
    assert_eq!(scheduled.key_state, KeyState::PendingDeletion);
    assert_eq!(
        scheduled.deletion_date,
        Some(start() + Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        code(decrypt(&f, &f.admin, &blob, &[])),
        "KMSInvalidStateException"
    );
    f.kms
        .cancel_key_deletion(&f.admin, &CancelKeyDeletionRequest::new(&key))
        .unwrap();
    assert_eq!(
        describe().unwrap().key_metadata.key_state,
        KeyState::Disabled
    );
    f.kms
        .enable_key(&f.admin, &EnableKeyRequest::new(&key))
        .unwrap();
    assert_eq!(code(decrypt(&f, &f.admin, &blob, &[])), "ok");
    schedule(7).unwrap();
    f.clock.advance(Duration::from_secs(7 * 86_400 - 1));
    assert_eq!(code(describe()), "ok");
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(code(describe()), "NotFoundException");
    assert_eq!(code(decrypt(&f, &f.admin, &blob, &[])), DENIED);
}

#[test]
fn put_key_policy_refuses_a_policy_that_locks_the_caller_out() {
    let f = fixture();
    let key = f.symmetric("");
    let lockout = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let put = |policy: &str, bypass: Option<bool>| {
        f.kms.put_key_policy(
            &f.admin,
            &PutKeyPolicyRequest {
                key_id: key.clone(),
                policy_name: None,
                policy: policy.into(),
                bypass_policy_lockout_safety_check: bypass,
            },
        )
    };
    let error = put(&lockout, None).unwrap_err();
    assert_eq!(error.code(), ErrorCode::MalformedPolicyDocument);
    assert_eq!(
        error.message().unwrap(),
        "The new key policy will not allow you to update the key policy in the future."
    );
    // The old policy still applies.
    assert_eq!(code(encrypt(&f, &f.admin, &key, &[])), "ok");
    assert_eq!(code(put("{", None)), "MalformedPolicyDocumentException");
    put(&lockout, Some(true)).unwrap();
    assert_eq!(code(encrypt(&f, &f.admin, &key, &[])), DENIED);
    assert_eq!(code(encrypt(&f, &app(), &key, &[])), "ok");
    assert_eq!(
        f.kms
            .get_key_policy(&app(), &GetKeyPolicyRequest::new(&key))
            .unwrap()
            .policy,
        lockout
    );
}

#[test]
fn create_key_is_decided_by_identity_policies_and_checks_the_lockout() {
    let f = fixture();
    assert_eq!(
        code(f.kms.create_key(&app(), &CreateKeyRequest::default())),
        DENIED
    );
    let only_symmetric = caller(
        APP,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeySpec":"SYMMETRIC_DEFAULT"}}}]}"#,
        ],
    );
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
        DENIED
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
    assert_eq!(error.code(), ErrorCode::MalformedPolicyDocument);
}

#[test]
fn another_account_cannot_tell_a_missing_key_from_a_forbidden_one() {
    let f = fixture();
    let key = f.symmetric("");
    let outsider = caller(FOREIGN, &[ALLOW_ALL]);
    let existing = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    let missing =
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000");
    let a = encrypt(&f, &outsider, &existing, &[]).unwrap_err();
    let b = encrypt(&f, &outsider, &missing, &[]).unwrap_err();
    assert_eq!(
        (a.code(), b.code()),
        (ErrorCode::AccessDenied, ErrorCode::AccessDenied)
    );
    // In the key's own account, a missing key is NotFound.
    let error = encrypt(&f, &f.admin, &missing, &[]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
    assert_eq!(
        error.message().unwrap(),
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
    let key = f.symmetric("");
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
    // Every record names the instance (by default the host and the process).
    for record in &records {
        assert_eq!(
            record["keyward"]["instance"],
            keyward_kms::default_instance()
        );
    }
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
    let hex: String = PLAINTEXT.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!all.contains(&hex));
}

#[test]
fn sqlite_store_keeps_keys_grants_aliases_and_policies_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let root_path = dir.path().join("root.key");
    let open = || {
        Fixture::over(
            Box::new(SqliteStore::open(&db).unwrap()),
            RootKey::load_or_create(&root_path).unwrap(),
            Arc::new(ManualClock::new(start())),
        )
    };
    let (key, blob, token) = {
        let f = open();
        let key = f.symmetric("");
        f.kms
            .create_alias(&f.admin, &alias("alias/kept", &key))
            .unwrap();
        f.kms
            .tag_resource(&f.admin, &tag(&key, "team", "a"))
            .unwrap();
        let blob = encrypt(&f, &f.admin, "alias/kept", &[("k", "v")]).unwrap();
        let grant = f
            .kms
            .create_grant(&f.admin, &decrypt_retirable_by_app(&key))
            .unwrap();
        (key, blob, grant.grant_token)
    };
    let f = open();
    assert_eq!(
        decrypt(&f, &f.admin, &blob, &[("k", "v")]).unwrap(),
        PLAINTEXT
    );
    assert_eq!(
        decrypt(&f, &app(), &blob, &[("k", "v")]).unwrap(),
        PLAINTEXT
    );
    assert_eq!(f.describe("alias/kept").key_id, key);
    assert_eq!(
        f.kms
            .list_resource_tags(&f.admin, &ListResourceTagsRequest::new(&key))
            .unwrap()
            .tags,
        [Tag::new("team", "a")]
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
    assert_eq!(code(decrypt(&f, &app(), &blob, &[("k", "v")])), DENIED);
    // Another root key cannot open the store: the rows it did not tag are refused.
    let other = Kms::open(
        config(),
        Box::new(SqliteStore::open(&db).unwrap()),
        RootKey::generate().unwrap(),
        Arc::new(MemoryAudit::new()),
        Arc::new(ManualClock::new(start())),
    );
    assert!(
        matches!(other, Err(OpenError::Tampered { .. })),
        "{other:?}"
    );
}

#[test]
fn kms_is_shared_across_eight_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Kms>();
    let f = Arc::new(fixture());
    let key = f.symmetric(&format!(
        r#"{{"Sid":"Use","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}}"#
    ));
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
                        PLAINTEXT
                    );
                    assert_eq!(
                        code(decrypt(&f, &app(), &blob, &[("tenant", "wrong")])),
                        "InvalidCiphertextException"
                    );
                    let other = caller(OTHER, &[]);
                    assert_eq!(
                        code(decrypt(&f, &other, &blob, &[("tenant", &tenant)])),
                        DENIED
                    );
                    calls += 4;
                    if i % 10 == 0 {
                        let name = format!("alias/t{t}-{i}");
                        f.kms.create_alias(&f.admin, &alias(&name, &key)).unwrap();
                        assert_eq!(code(encrypt(&f, &app(), &name, &[])), "ok");
                        f.kms
                            .delete_alias(&f.admin, &DeleteAliasRequest { alias_name: name })
                            .unwrap();
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
        all_aliases(&f.kms, &f.admin, None)
            .iter()
            .all(|a| a.target_key_id.is_none())
    );
}

#[test]
fn open_in_keeps_store_root_key_and_a_json_lines_audit_trail_in_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let blob = {
        let kms = Kms::open_in(config(), dir.path()).unwrap();
        let key = default_key(&kms, &admin).key_id;
        let stranger = caller(OTHER, &[]);
        let denied = kms
            .describe_key(&stranger, &DescribeKeyRequest::new(&key))
            .unwrap_err();
        assert_eq!(denied.code(), ErrorCode::AccessDenied);
        common::encrypt(&kms, &admin, &key, b"never in the trail", &[])
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
    let kms = Kms::open_in(config(), dir.path()).unwrap();
    assert_eq!(
        common::decrypt(&kms, &admin, &blob, &[])
            .unwrap()
            .plaintext
            .expose(),
        b"never in the trail"
    );
    // The trail is written by its batching writer: flushed, as the server does at stop.
    kms.flush().unwrap();
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
    let tags = vec![Tag::new("env", "prod")];
    let request = CreateKeyRequest {
        tags: tags.clone(),
        ..Default::default()
    };
    let key = f
        .kms
        .create_key(&f.admin, &request)
        .unwrap()
        .key_metadata
        .key_id;
    assert_eq!(
        f.kms
            .list_resource_tags(&f.admin, &ListResourceTagsRequest::new(&key))
            .unwrap()
            .tags,
        tags
    );
    let create_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateKey","kms:ListKeys"],"Resource":"*"}]}"#;
    let creator = caller(APP, &[create_only]);
    let denied = f.kms.create_key(&creator, &request).unwrap_err();
    assert_eq!(denied.code(), ErrorCode::AccessDenied);
    assert_eq!(
        denied.message().unwrap(),
        "User: arn:aws:iam::111122223333:role/App is not authorized to perform: kms:TagResource on resource: * because no identity-based policy allows the kms:TagResource action"
    );
    assert_eq!(all_keys(&f.kms, &f.admin).len(), 1, "no key was created");
    default_key(&f.kms, &creator);
}

/// AWS sets `aws:PrincipalType` and `aws:PrincipalIsAWSService` on every signed request; the
/// key service does too, from the caller.
#[test]
fn the_principal_type_and_is_aws_service_keys_come_from_the_caller() {
    let f = fixture();
    let key = f.symmetric(&format!(
        r#"{{"Sid":"RolesOnly","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:Encrypt","Resource":"*",
            "Condition":{{"StringEquals":{{"aws:PrincipalType":"AssumedRole"}},"Bool":{{"aws:PrincipalIsAWSService":"false"}}}}}}"#
    ));
    let session = caller(
        &format!("arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"),
        &[ALLOW_ALL],
    );
    encrypt(&f, &session, &key, &[]).unwrap();
    let user = caller(&format!("arn:aws:iam::{ACCOUNT}:user/alice"), &[ALLOW_ALL]);
    assert_eq!(code(encrypt(&f, &user, &key, &[])), DENIED);
}

/// A request's source address (`with_source_ip`, as `keyward serve` sets it from the
/// connection) is the `aws:SourceIp` its policies read and its audit record's
/// `sourceIPAddress`; it overrides one the caller was given as a context key; and a caller
/// without one is denied by a `NotIpAddress` Deny, whose missing key holds.
#[test]
fn the_source_address_of_a_request_is_aws_source_ip() {
    let f = fixture();
    let key = f.symmetric(
        r#"{"Sid":"OnlyFromTheOffice","Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
    );
    let from = |ip: &str| f.admin.clone().with_source_ip(ip);
    assert_eq!(
        code(common::encrypt(
            &f.kms,
            &from("203.0.113.7"),
            &key,
            b"x",
            &[]
        )),
        "ok"
    );
    let records = f.audit.records();
    assert_eq!(records.last().unwrap()["sourceIPAddress"], "203.0.113.7");
    assert_eq!(
        code(common::encrypt(
            &f.kms,
            &from("198.51.100.1"),
            &key,
            b"x",
            &[]
        )),
        DENIED
    );
    assert_eq!(
        code(common::encrypt(&f.kms, &f.admin, &key, b"x", &[])),
        DENIED
    );
    // Given as a context key, then overridden by the request's address.
    let given = f.admin.clone().with_context(
        "aws:SourceIp",
        keyward_conditions::ContextValue::single("198.51.100.1"),
    );
    assert_eq!(
        code(common::encrypt(&f.kms, &given, &key, b"x", &[])),
        DENIED
    );
    assert_eq!(
        f.audit.records().last().unwrap()["sourceIPAddress"],
        "198.51.100.1"
    );
    let overridden = given.with_source_ip("203.0.113.9");
    assert_eq!(
        code(common::encrypt(&f.kms, &overridden, &key, b"x", &[])),
        "ok"
    );
    assert_eq!(
        f.audit.records().last().unwrap()["sourceIPAddress"],
        "203.0.113.9"
    );
}

//! The key service's trust fixes, each test named after its rule: keys live in the caller's
//! account; how each operation accepts a key ID; stored rows are authenticated; the store's
//! files are its owner's; a store without its root key is refused.

use crate::common::{
    self, ACCOUNT, ADMIN, ALLOW_ALL, DENIED, admin_policy, alias, all_aliases, all_keys, caller,
    code, config, default_key, fixture, grant, grants_of, message, tag,
};
use keyward_kms::api::{
    CreateKeyRequest, DeleteAliasRequest, DescribeKeyRequest, DisableKeyRequest, EnableKeyRequest,
    EnableKeyRotationRequest, EncryptRequest, EncryptResponse, EncryptionContext, ErrorCode,
    GetKeyPolicyRequest, GetKeyRotationStatusRequest, ListKeyRotationsRequest,
    ListResourceTagsRequest, RotateKeyOnDemandRequest, ScheduleKeyDeletionRequest,
    UpdateAliasRequest, UpdateKeyDescriptionRequest,
};
use keyward_kms::{Caller, Kms, KmsError};

/// The server's account: where a server's own identity lives, and alice's.
const SERVER_ACCOUNT: &str = ACCOUNT;
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::444455556666:user/bob";

fn encrypt(kms: &Kms, caller: &Caller, key: &str) -> Result<EncryptResponse, KmsError> {
    common::encrypt(kms, caller, key, b"secret", &[])
}

/// Issue: a principal of another account called CreateKey and got a key in the server's
/// account whose policy locked the owner out. KMS creates a key in the caller's account.
#[test]
fn create_key_makes_the_key_in_the_callers_account() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let bob = caller(BOB, &[ALLOW_ALL]);
    let mine = default_key(kms, &bob);
    assert_eq!(mine.aws_account_id, "444455556666");
    assert_eq!(
        mine.arn,
        format!("arn:aws:kms:us-east-1:444455556666:key/{}", mine.key_id)
    );
    let policy = kms
        .get_key_policy(&bob, &GetKeyPolicyRequest::new(&mine.key_id))
        .unwrap()
        .policy;
    assert!(
        policy.contains("arn:aws:iam::444455556666:root"),
        "the default policy delegates to the key's own account: {policy}"
    );
    // Bob uses it by bare key ID; alice's account has no key of that ID.
    encrypt(kms, &bob, &mine.key_id).unwrap();
    assert_eq!(
        message(encrypt(kms, &alice, &mine.key_id)),
        format!(
            "Key 'arn:aws:kms:us-east-1:111122223333:key/{}' does not exist",
            mine.key_id
        )
    );
    // By ARN, alice is another account: the key policy does not let her in, and she cannot
    // tell that from a key that does not exist.
    assert_eq!(code(encrypt(kms, &alice, &mine.arn)), DENIED);
    let missing = "arn:aws:kms:us-east-1:444455556666:key/00000000-0000-0000-0000-000000000000";
    assert_eq!(code(encrypt(kms, &alice, missing)), DENIED);
}

#[test]
fn each_account_lists_only_its_own_keys_and_aliases() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let bob = caller(BOB, &[ALLOW_ALL]);
    let a = default_key(kms, &alice);
    let b = default_key(kms, &bob);
    let ids = |caller: &Caller| -> Vec<String> {
        all_keys(kms, caller)
            .into_iter()
            .map(|k| k.key_id)
            .collect()
    };
    assert_eq!(ids(&alice), vec![a.key_id.clone()]);
    assert_eq!(ids(&bob), vec![b.key_id.clone()]);
    // The same alias name in both accounts, each its own.
    kms.create_alias(&alice, &alias("alias/app", &a.key_id))
        .unwrap();
    kms.create_alias(&bob, &alias("alias/app", &b.key_id))
        .unwrap();
    assert_eq!(encrypt(kms, &alice, "alias/app").unwrap().key_id, a.arn);
    assert_eq!(encrypt(kms, &bob, "alias/app").unwrap().key_id, b.arn);
    let targets = |caller: &Caller| -> Vec<String> {
        all_aliases(kms, caller, None)
            .into_iter()
            .filter_map(|e| e.target_key_id)
            .collect()
    };
    assert_eq!(targets(&alice), vec![a.key_id.clone()]);
    assert_eq!(targets(&bob), vec![b.key_id.clone()]);
    let bobs = all_aliases(kms, &bob, None);
    let app = bobs.iter().find(|e| e.alias_name == "alias/app").unwrap();
    assert_eq!(
        app.alias_arn,
        "arn:aws:kms:us-east-1:444455556666:alias/app"
    );
    // Alice cannot move or delete Bob's alias: hers is the one she names.
    kms.delete_alias(
        &alice,
        &DeleteAliasRequest {
            alias_name: "alias/app".into(),
        },
    )
    .unwrap();
    assert_eq!(encrypt(kms, &bob, "alias/app").unwrap().key_id, b.arn);
}

/// Across accounts a key is named by its ARN (or an alias ARN), and both the key policy and an
/// identity policy in the caller's account must allow.
#[test]
fn another_accounts_key_is_usable_by_arn_when_both_sides_allow() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let bob = caller(BOB, &[ALLOW_ALL]);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Sid":"Owner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{SERVER_ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
            {{"Sid":"Bob","Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"}}]}}"#
    );
    let key = kms
        .create_key(
            &alice,
            &CreateKeyRequest {
                policy: Some(policy),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_metadata;
    kms.create_alias(&alice, &alias("alias/shared", &key.key_id))
        .unwrap();
    assert_eq!(encrypt(kms, &bob, &key.arn).unwrap().key_id, key.arn);
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/shared";
    assert_eq!(encrypt(kms, &bob, alias_arn).unwrap().key_id, key.arn);
    // A bare alias name is Bob's own account's.
    assert_eq!(
        code(encrypt(kms, &bob, "alias/shared")),
        "NotFoundException"
    );
    // Bob's account has no say over the key policy.
    assert_eq!(
        code(kms.get_key_policy(&bob, &GetKeyPolicyRequest::new(&key.arn))),
        DENIED
    );
}

/// LocalStack's AWS recordings: a well-formed but missing `mrk-` key is "does not exist"; a
/// UUID without hyphens is "Invalid keyId".
#[test]
fn describe_key_answers_missing_and_malformed_ids_as_aws_does() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let describe = |key: &str| kms.describe_key(&alice, &DescribeKeyRequest::new(key));
    let mrk = "mrk-d3b95762d3b95762d3b95762d3b95762";
    assert_eq!(
        message(describe(mrk)),
        format!("Key 'arn:aws:kms:us-east-1:111122223333:key/{mrk}' does not exist")
    );
    assert_eq!(
        message(describe("134f2428cec14b25a1ae9048164dba47")),
        "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"
    );
    let key = default_key(kms, &alice);
    assert_eq!(
        message(describe(&format!("key/{}", key.key_id))),
        format!("Invalid keyId 'key/{}'", key.key_id)
    );
}

/// An ARN of another partition than the Region's names no key here.
#[test]
fn an_arn_of_another_partition_is_refused() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let key = default_key(kms, &alice);
    let china = key.arn.replacen("arn:aws:", "arn:aws-cn:", 1);
    assert_eq!(code(encrypt(kms, &alice, &china)), "InvalidArnException");
    assert_eq!(encrypt(kms, &alice, &key.arn).unwrap().key_id, key.arn);
}

/// Item 19: AWS refuses an alias where an operation takes only a key ID or key ARN.
#[test]
fn operations_that_take_only_a_key_refuse_an_alias_as_aws_does() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let key = default_key(kms, &alice);
    kms.create_alias(&alice, &alias("alias/app", &key.key_id))
        .unwrap();
    let named = "alias/app";
    let invalid = "Invalid keyId 'alias/app'";
    let refusals = [
        (
            "EnableKeyRotation",
            message(kms.enable_key_rotation(&alice, &EnableKeyRotationRequest::new(named))),
        ),
        (
            "GetKeyPolicy",
            message(kms.get_key_policy(&alice, &GetKeyPolicyRequest::new(named))),
        ),
        (
            "TagResource",
            message(kms.tag_resource(&alice, &tag(named, "a", "b"))),
        ),
        (
            "ListResourceTags",
            message(kms.list_resource_tags(&alice, &ListResourceTagsRequest::new(named))),
        ),
        (
            "ListGrants",
            message(kms.list_grants(&alice, &grants_of(named))),
        ),
        (
            "CreateGrant",
            message(kms.create_grant(&alice, &grant(named, ALICE, &["Decrypt"]))),
        ),
        (
            "DisableKey",
            message(kms.disable_key(&alice, &DisableKeyRequest::new(named))),
        ),
        (
            "EnableKey",
            message(kms.enable_key(&alice, &EnableKeyRequest::new(named))),
        ),
        (
            "UpdateKeyDescription",
            message(kms.update_key_description(
                &alice,
                &UpdateKeyDescriptionRequest {
                    key_id: named.into(),
                    description: "d".into(),
                },
            )),
        ),
        (
            "GetKeyRotationStatus",
            message(kms.get_key_rotation_status(&alice, &GetKeyRotationStatusRequest::new(named))),
        ),
        (
            "ListKeyRotations",
            message(kms.list_key_rotations(&alice, &ListKeyRotationsRequest::new(named))),
        ),
        (
            "RotateKeyOnDemand",
            message(kms.rotate_key_on_demand(&alice, &RotateKeyOnDemandRequest::new(named))),
        ),
        (
            "ScheduleKeyDeletion",
            message(kms.schedule_key_deletion(&alice, &ScheduleKeyDeletionRequest::new(named))),
        ),
    ];
    for (operation, refusal) in refusals {
        assert_eq!(refusal, invalid, "{operation}");
    }
    // CreateAlias's target: AWS's own words.
    let e = kms
        .create_alias(&alice, &alias("alias/other", named))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Validation);
    assert_eq!(
        e.message().as_deref(),
        Some("Aliases must refer to keys. Not aliases")
    );
    assert_eq!(
        message(kms.update_alias(
            &alice,
            &UpdateAliasRequest {
                alias_name: named.into(),
                target_key_id: "arn:aws:kms:us-east-1:111122223333:alias/app".into(),
            }
        )),
        "Aliases must refer to keys. Not aliases"
    );
    // Where the API takes an alias, it works.
    assert_eq!(
        kms.describe_key(&alice, &DescribeKeyRequest::new(named))
            .unwrap()
            .key_metadata
            .key_id,
        key.key_id
    );
}

#[test]
fn alias_names_take_only_letters_digits_slash_underscore_and_dash() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let key = default_key(kms, &alice);
    for bad in ["alias/a:b", "alias/a b", "alias/é", "alias/"] {
        let e = kms
            .create_alias(&alice, &alias(bad, &key.key_id))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Validation, "{bad}");
    }
    kms.create_alias(&alice, &alias("alias/Team_1/app-2", &key.key_id))
        .unwrap();
}

/// The API Reference: ListAliases "might also include aliases that have no TargetKeyId field.
/// These are predefined aliases that AWS has created but has not yet associated with a KMS key."
#[test]
fn list_aliases_shows_the_predefined_aws_aliases_without_a_target() {
    let f = fixture();
    let kms = &f.kms;
    let alice = caller(ALICE, &[ALLOW_ALL]);
    let aliases = all_aliases(kms, &alice, None);
    let s3 = aliases
        .iter()
        .find(|a| a.alias_name == "alias/aws/s3")
        .unwrap();
    assert_eq!(s3.target_key_id, None);
    assert_eq!(
        s3.alias_arn,
        "arn:aws:kms:us-east-1:111122223333:alias/aws/s3"
    );
    let key = default_key(kms, &alice);
    assert!(
        all_aliases(kms, &alice, Some(&key.key_id)).is_empty(),
        "a key's aliases are its own"
    );
}

/// The service's directory: keys.db rows are authenticated under a key derived from the root
/// key. An edited row (alice given Decrypt in a policy, without touching the root key) is
/// refused loudly at start.
#[test]
fn a_row_edited_outside_the_service_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let alice = caller(ALICE, &[]);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let (key, blob) = {
        let kms = Kms::open_in(config(), dir.path()).unwrap();
        let key = kms
            .create_key(
                &admin,
                &CreateKeyRequest {
                    policy: Some(admin_policy("")),
                    ..CreateKeyRequest::default()
                },
            )
            .unwrap()
            .key_metadata;
        kms.create_alias(&admin, &alias("alias/app", &key.key_id))
            .unwrap();
        let blob = encrypt(&kms, &admin, &key.key_id).unwrap().ciphertext_blob;
        assert_eq!(code(common::decrypt(&kms, &alice, &blob, &[])), DENIED);
        (key, blob)
    };
    let db = dir.path().join("keys.db");
    let edit = |sql: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    };
    let set_metadata = |metadata: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute(
                "UPDATE keys SET metadata = ?1 WHERE id = ?2",
                [metadata, &key.key_id],
            )
            .unwrap();
    };
    // Loosen the policy inside the stored metadata.
    let connection = rusqlite::Connection::open(&db).unwrap();
    let metadata: String = connection
        .query_row(
            "SELECT metadata FROM keys WHERE id = ?1",
            [&key.key_id],
            |r| r.get(0),
        )
        .unwrap();
    drop(connection);
    let loosened = metadata.replace(ADMIN, "*");
    assert_ne!(loosened, metadata);
    set_metadata(&loosened);
    let refused = Kms::open_in(config(), dir.path()).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("does not match its integrity tag"),
        "{refused}"
    );
    // Put it back: it opens, and alice is still denied.
    set_metadata(&metadata);
    let kms = Kms::open_in(config(), dir.path()).unwrap();
    assert_eq!(code(common::decrypt(&kms, &alice, &blob, &[])), DENIED);
    drop(kms);
    // An alias row pointed at another key, or a row moved to another ID: refused as well.
    edit("UPDATE aliases SET key_id = 'another' WHERE name = 'alias/app'");
    let refused = Kms::open_in(config(), dir.path()).unwrap_err();
    assert!(refused.to_string().contains("alias alias/app"), "{refused}");
}

#[test]
fn a_store_without_its_root_key_is_refused_not_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let admin = caller(ALICE, &[ALLOW_ALL]);
    {
        let kms = Kms::open_in(config(), dir.path()).unwrap();
        default_key(&kms, &admin);
    }
    std::fs::remove_file(dir.path().join("root.key")).unwrap();
    let refused = Kms::open_in(config(), dir.path()).unwrap_err().to_string();
    assert!(refused.contains("root.key does not"), "{refused}");
    assert!(
        !dir.path().join("root.key").exists(),
        "no new root key was made"
    );
}

#[cfg(unix)]
#[test]
fn the_store_and_the_audit_log_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let admin = caller(ALICE, &[ALLOW_ALL]);
    let kms = Kms::open_in(config(), dir.path()).unwrap();
    default_key(&kms, &admin);
    kms.flush().unwrap();
    for file in [
        "keys.db",
        "keys.db-wal",
        "keys.db-shm",
        "root.key",
        "audit.jsonl",
    ] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
    }
}

/// Review finding: an unbounded EncryptionContext made every denied call write ~450 KB of
/// audit and cost up to 0.8 s of CPU. AWS documents no bound, so Keyward fails closed at
/// 8,192 bytes of keys and values with a ValidationException, before any policy reads it, and
/// the record of a refused call stays small.
#[test]
fn an_oversized_encryption_context_is_refused_before_authorization_and_audited_small() {
    let f = fixture();
    let kms = &f.kms;
    let admin = caller(ALICE, &[ALLOW_ALL]);
    let stranger = caller("arn:aws:iam::999999999999:role/Nobody", &[]);
    let key = default_key(kms, &admin);
    let huge: EncryptionContext = (0..20_000)
        .map(|i| (format!("key-{i:05}"), "v".repeat(8)))
        .collect();
    let encrypt_in = |caller: &Caller, key: &str, context: EncryptionContext| {
        kms.encrypt(
            caller,
            &EncryptRequest {
                key_id: key.into(),
                plaintext: b"x".to_vec().into(),
                encryption_context: context,
                ..EncryptRequest::default()
            },
        )
    };
    let started = std::time::Instant::now();
    let error = encrypt_in(&stranger, &key.arn, huge).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(error.code(), ErrorCode::Validation);
    assert!(
        error.message().unwrap().contains("at most 8192 bytes"),
        "{error:?}"
    );
    let record = serde_json::to_string(f.audit.records().last().unwrap()).unwrap();
    assert!(record.len() < 2048, "{} bytes: {record}", record.len());
    assert!(record.contains("omitted"));
    // At the bound it is read.
    let at_bound: EncryptionContext = [("k".to_owned(), "v".repeat(8191))].into_iter().collect();
    encrypt_in(&admin, &key.key_id, at_bound).unwrap();
}

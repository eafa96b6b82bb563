//! The key service's trust fixes, each test named after its rule: keys live in the caller's
//! account; how each operation accepts a key ID; stored rows are authenticated; the store's
//! files are its owner's; a store without its root key is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_crypto::RootKey;
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::model::*;
use keyward_kms::store::MemoryStore;
use keyward_kms::{Caller, Kms, KmsConfig, KmsError};
use std::sync::Arc;

const SERVER_ACCOUNT: &str = "111122223333";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::444455556666:user/bob";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

fn config() -> KmsConfig {
    KmsConfig {
        region: "us-east-1".into(),
        account: SERVER_ACCOUNT.into(),
    }
}

fn kms() -> Kms {
    Kms::open(
        config(),
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        Arc::new(MemoryAudit::new()),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn code<T>(r: Result<T, KmsError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn message<T: std::fmt::Debug>(r: Result<T, KmsError>) -> String {
    r.unwrap_err().message.unwrap_or_default()
}

fn encrypt(kms: &Kms, caller: &Caller, key: &str) -> Result<EncryptResponse, KmsError> {
    kms.encrypt(
        caller,
        &EncryptRequest {
            key_id: key.into(),
            plaintext: b"secret".to_vec(),
            ..EncryptRequest::default()
        },
    )
}

/// Issue: a principal of another account called CreateKey and got a key in the server's
/// account whose policy locked the owner out. KMS creates a key in the caller's account.
#[test]
fn create_key_makes_the_key_in_the_callers_account() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let bob = Caller::new(BOB, &[ALLOW_ALL]).unwrap();
    let mine = kms.create_key(&bob, &CreateKeyRequest::default()).unwrap();
    assert_eq!(mine.aws_account_id, "444455556666");
    assert_eq!(
        mine.arn,
        format!("arn:aws:kms:us-east-1:444455556666:key/{}", mine.key_id)
    );
    let policy = kms.get_key_policy(&bob, &mine.key_id, None).unwrap();
    assert!(
        policy.contains("arn:aws:iam::444455556666:root"),
        "the default policy delegates to the key's own account: {policy}"
    );
    // Bob uses it by bare key ID; alice's account has no key of that ID.
    encrypt(&kms, &bob, &mine.key_id).unwrap();
    assert_eq!(
        message(encrypt(&kms, &alice, &mine.key_id)),
        format!(
            "Key 'arn:aws:kms:us-east-1:111122223333:key/{}' does not exist",
            mine.key_id
        )
    );
    // By ARN, alice is another account: the key policy does not let her in, and she cannot
    // tell that from a key that does not exist.
    assert_eq!(
        code(encrypt(&kms, &alice, &mine.arn)),
        "AccessDeniedException"
    );
    let missing = "arn:aws:kms:us-east-1:444455556666:key/00000000-0000-0000-0000-000000000000";
    assert_eq!(
        code(encrypt(&kms, &alice, missing)),
        "AccessDeniedException"
    );
}

#[test]
fn each_account_lists_only_its_own_keys_and_aliases() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let bob = Caller::new(BOB, &[ALLOW_ALL]).unwrap();
    let a = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    let b = kms.create_key(&bob, &CreateKeyRequest::default()).unwrap();
    let ids = |caller: &Caller| -> Vec<String> {
        kms.list_keys(caller)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(ids(&alice), vec![a.key_id.clone()]);
    assert_eq!(ids(&bob), vec![b.key_id.clone()]);
    // The same alias name in both accounts, each its own.
    kms.create_alias(&alice, "alias/app", &a.key_id).unwrap();
    kms.create_alias(&bob, "alias/app", &b.key_id).unwrap();
    assert_eq!(encrypt(&kms, &alice, "alias/app").unwrap().key_id, a.arn);
    assert_eq!(encrypt(&kms, &bob, "alias/app").unwrap().key_id, b.arn);
    let targets = |caller: &Caller| -> Vec<String> {
        kms.list_aliases(caller, None)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.target_key_id)
            .collect()
    };
    assert_eq!(targets(&alice), vec![a.key_id.clone()]);
    assert_eq!(targets(&bob), vec![b.key_id.clone()]);
    let bobs = kms.list_aliases(&bob, None).unwrap();
    let app = bobs.iter().find(|e| e.alias_name == "alias/app").unwrap();
    assert_eq!(
        app.alias_arn,
        "arn:aws:kms:us-east-1:444455556666:alias/app"
    );
    // Alice cannot move or delete Bob's alias: hers is the one she names.
    kms.delete_alias(&alice, "alias/app").unwrap();
    assert_eq!(encrypt(&kms, &bob, "alias/app").unwrap().key_id, b.arn);
}

/// Across accounts a key is named by its ARN (or an alias ARN), and both the key policy and an
/// identity policy in the caller's account must allow.
#[test]
fn another_accounts_key_is_usable_by_arn_when_both_sides_allow() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let bob = Caller::new(BOB, &[ALLOW_ALL]).unwrap();
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
        .unwrap();
    kms.create_alias(&alice, "alias/shared", &key.key_id)
        .unwrap();
    assert_eq!(encrypt(&kms, &bob, &key.arn).unwrap().key_id, key.arn);
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/shared";
    assert_eq!(encrypt(&kms, &bob, alias_arn).unwrap().key_id, key.arn);
    // A bare alias name is Bob's own account's.
    assert_eq!(
        code(encrypt(&kms, &bob, "alias/shared")),
        "NotFoundException"
    );
    // Bob's account has no say over the key policy.
    assert_eq!(
        code(kms.get_key_policy(&bob, &key.arn, None)),
        "AccessDeniedException"
    );
}

/// LocalStack's AWS recordings: a well-formed but missing `mrk-` key is "does not exist"; a
/// UUID without hyphens is "Invalid keyId".
#[test]
fn describe_key_answers_missing_and_malformed_ids_as_aws_does() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let mrk = "mrk-d3b95762d3b95762d3b95762d3b95762";
    assert_eq!(
        message(kms.describe_key(&alice, mrk)),
        format!("Key 'arn:aws:kms:us-east-1:111122223333:key/{mrk}' does not exist")
    );
    assert_eq!(
        message(kms.describe_key(&alice, "134f2428cec14b25a1ae9048164dba47")),
        "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"
    );
    let key = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    assert_eq!(
        message(kms.describe_key(&alice, &format!("key/{}", key.key_id))),
        format!("Invalid keyId 'key/{}'", key.key_id)
    );
}

/// An ARN of another partition than the Region's names no key here.
#[test]
fn an_arn_of_another_partition_is_refused() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let key = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    let china = key.arn.replacen("arn:aws:", "arn:aws-cn:", 1);
    assert_eq!(code(encrypt(&kms, &alice, &china)), "InvalidArnException");
    assert_eq!(encrypt(&kms, &alice, &key.arn).unwrap().key_id, key.arn);
}

/// Item 19: AWS refuses an alias where an operation takes only a key ID or key ARN.
#[test]
fn operations_that_take_only_a_key_refuse_an_alias_as_aws_does() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let key = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    kms.create_alias(&alice, "alias/app", &key.key_id).unwrap();
    let invalid = "Invalid keyId 'alias/app'";
    assert_eq!(
        message(kms.enable_key_rotation(
            &alice,
            &EnableKeyRotationRequest {
                key_id: "alias/app".into(),
                rotation_period_in_days: None
            }
        )),
        invalid
    );
    assert_eq!(
        message(kms.get_key_policy(&alice, "alias/app", None)),
        invalid
    );
    assert_eq!(
        message(kms.tag_resource(&alice, "alias/app", &[("a".into(), "b".into())])),
        invalid
    );
    assert_eq!(
        message(kms.list_resource_tags(&alice, "alias/app")),
        invalid
    );
    assert_eq!(
        message(kms.list_grants(
            &alice,
            &ListGrantsRequest {
                key_id: "alias/app".into(),
                ..ListGrantsRequest::default()
            }
        )),
        invalid
    );
    assert_eq!(
        message(kms.create_grant(
            &alice,
            &CreateGrantRequest {
                key_id: "alias/app".into(),
                grantee_principal: ALICE.into(),
                operations: vec!["Decrypt".into()],
                ..CreateGrantRequest::default()
            }
        )),
        invalid
    );
    assert_eq!(message(kms.disable_key(&alice, "alias/app")), invalid);
    assert_eq!(message(kms.enable_key(&alice, "alias/app")), invalid);
    assert_eq!(
        message(kms.update_key_description(&alice, "alias/app", "d")),
        invalid
    );
    assert_eq!(
        message(kms.get_key_rotation_status(&alice, "alias/app")),
        invalid
    );
    assert_eq!(
        message(kms.list_key_rotations(
            &alice,
            &ListKeyRotationsRequest {
                key_id: "alias/app".into(),
                ..ListKeyRotationsRequest::default()
            }
        )),
        invalid
    );
    assert_eq!(
        message(kms.rotate_key_on_demand(&alice, "alias/app")),
        invalid
    );
    assert_eq!(
        message(kms.schedule_key_deletion(&alice, "alias/app", None)),
        invalid
    );
    // CreateAlias's target: AWS's own words.
    let e = kms
        .create_alias(&alice, "alias/other", "alias/app")
        .unwrap_err();
    assert_eq!(e.code(), "ValidationException");
    assert_eq!(
        e.message.as_deref(),
        Some("Aliases must refer to keys. Not aliases")
    );
    assert_eq!(
        message(kms.update_alias(
            &alice,
            "alias/app",
            "arn:aws:kms:us-east-1:111122223333:alias/app"
        )),
        "Aliases must refer to keys. Not aliases"
    );
    // Where the API takes an alias, it works.
    assert_eq!(
        kms.describe_key(&alice, "alias/app").unwrap().key_id,
        key.key_id
    );
}

#[test]
fn alias_names_take_only_letters_digits_slash_underscore_and_dash() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let key = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    for bad in ["alias/a:b", "alias/a b", "alias/é", "alias/"] {
        let e = kms.create_alias(&alice, bad, &key.key_id).unwrap_err();
        assert_eq!(e.code(), "ValidationException", "{bad}");
    }
    kms.create_alias(&alice, "alias/Team_1/app-2", &key.key_id)
        .unwrap();
}

/// The API Reference: ListAliases "might also include aliases that have no TargetKeyId field.
/// These are predefined aliases that AWS has created but has not yet associated with a KMS key."
#[test]
fn list_aliases_shows_the_predefined_aws_aliases_without_a_target() {
    let kms = kms();
    let alice = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let aliases = kms.list_aliases(&alice, None).unwrap();
    let s3 = aliases
        .iter()
        .find(|a| a.alias_name == "alias/aws/s3")
        .unwrap();
    assert_eq!(s3.target_key_id, None);
    assert_eq!(
        s3.alias_arn,
        "arn:aws:kms:us-east-1:111122223333:alias/aws/s3"
    );
    let key = kms
        .create_key(&alice, &CreateKeyRequest::default())
        .unwrap();
    assert!(
        kms.list_aliases(&alice, Some(&key.key_id))
            .unwrap()
            .is_empty(),
        "a key's aliases are its own"
    );
}

/// The service's directory: keys.db rows are authenticated under a key derived from the root
/// key. An edited row (alice given Decrypt in a policy, without touching the root key) is
/// refused loudly at start.
#[test]
fn a_row_edited_outside_the_service_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let alice = Caller::new(ALICE, &[]).unwrap();
    let admin = Caller::new("arn:aws:iam::111122223333:role/Admin", &[ALLOW_ALL]).unwrap();
    let (key, blob) = {
        let kms = Kms::open_in(config(), dir.path()).unwrap();
        let key = kms
            .create_key(
                &admin,
                &CreateKeyRequest {
                    policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:*","Resource":"*"}]}"#.into()),
                    ..CreateKeyRequest::default()
                },
            )
            .unwrap();
        kms.create_alias(&admin, "alias/app", &key.key_id).unwrap();
        let blob = encrypt(&kms, &admin, &key.key_id).unwrap().ciphertext_blob;
        assert_eq!(
            code(kms.decrypt(
                &alice,
                &DecryptRequest {
                    ciphertext_blob: blob.clone(),
                    ..DecryptRequest::default()
                }
            )),
            "AccessDeniedException"
        );
        (key, blob)
    };
    let db = dir.path().join("keys.db");
    let edit = |sql: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(sql)
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
    let loosened = metadata.replace("arn:aws:iam::111122223333:role/Admin", "*");
    assert_ne!(loosened, metadata);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE keys SET metadata = ?1 WHERE id = ?2",
            [&loosened, &key.key_id],
        )
        .unwrap();
    let refused = Kms::open_in(config(), dir.path()).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("does not match its integrity tag"),
        "{refused}"
    );
    // Put it back: it opens, and alice is still denied.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE keys SET metadata = ?1 WHERE id = ?2",
            [&metadata, &key.key_id],
        )
        .unwrap();
    let kms = Kms::open_in(config(), dir.path()).unwrap();
    assert_eq!(
        code(kms.decrypt(
            &alice,
            &DecryptRequest {
                ciphertext_blob: blob,
                ..DecryptRequest::default()
            }
        )),
        "AccessDeniedException"
    );
    drop(kms);
    // An alias row pointed at another key, or a row moved to another ID: refused as well.
    edit("UPDATE aliases SET key_id = 'another' WHERE name = 'alias/app'");
    let refused = Kms::open_in(config(), dir.path()).unwrap_err();
    assert!(refused.to_string().contains("alias alias/app"), "{refused}");
}

#[test]
fn a_store_without_its_root_key_is_refused_not_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let admin = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    {
        let kms = Kms::open_in(config(), dir.path()).unwrap();
        kms.create_key(&admin, &CreateKeyRequest::default())
            .unwrap();
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
    let admin = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let kms = Kms::open_in(config(), dir.path()).unwrap();
    kms.create_key(&admin, &CreateKeyRequest::default())
        .unwrap();
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
    let audit = Arc::new(MemoryAudit::new());
    let kms = Kms::open(
        config(),
        Box::new(MemoryStore::new()),
        RootKey::generate().unwrap(),
        audit.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let admin = Caller::new(ALICE, &[ALLOW_ALL]).unwrap();
    let stranger = Caller::new("arn:aws:iam::999999999999:role/Nobody", &[]).unwrap();
    let key = kms
        .create_key(&admin, &CreateKeyRequest::default())
        .unwrap();
    let huge: std::collections::BTreeMap<String, String> = (0..20_000)
        .map(|i| (format!("key-{i:05}"), "v".repeat(8)))
        .collect();
    let started = std::time::Instant::now();
    let error = kms
        .encrypt(
            &stranger,
            &EncryptRequest {
                key_id: key.arn.clone(),
                plaintext: b"x".to_vec(),
                encryption_context: huge,
                ..EncryptRequest::default()
            },
        )
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(error.code(), "ValidationException");
    assert!(
        error
            .message
            .as_deref()
            .unwrap()
            .contains("at most 8192 bytes"),
        "{error:?}"
    );
    let record = serde_json::to_string(audit.records().last().unwrap()).unwrap();
    assert!(record.len() < 2048, "{} bytes: {record}", record.len());
    assert!(record.contains("omitted"));
    // At the bound it is read.
    let at_bound: std::collections::BTreeMap<String, String> =
        [("k".to_owned(), "v".repeat(8191))].into_iter().collect();
    kms.encrypt(
        &admin,
        &EncryptRequest {
            key_id: key.key_id.clone(),
            plaintext: b"x".to_vec(),
            encryption_context: at_bound,
            ..EncryptRequest::default()
        },
    )
    .unwrap();
}

//! Several services on one PostgreSQL database, as several `keyward serve` instances are: a key
//! made through one serves the next call through another; a change through one reaches the
//! other's decisions within the bound; grant tokens work at once; conflicting writes are put one
//! after the other and neither is lost; lost notices make an instance refuse calls until it has
//! read everything again. Needs PostgreSQL as `postgres.rs` says.
//!
//! A "deaf" instance hears no notices ([`Deaf`]): what it gets right, it gets from reads on a
//! miss, grant tokens and conflicts alone, deterministically.

use crate::common::*;
use crate::postgres::TestDatabase;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_crypto::RootKey;
use keyward_kms::api::{
    DecryptRequest, DisableKeyRequest, ListAliasesRequest, PutKeyPolicyRequest, RetireGrantRequest,
    RevokeGrantRequest, ScheduleKeyDeletionRequest, UpdateAliasRequest,
};
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::{
    AliasRecord, Change, KeyLock, KeyRecord, KeyRows, PartKind, PostgresStore, Snapshot, Store,
    StoreError, StoreEvent, grant_rows_digest, head_binding,
};
use keyward_kms::{Caller, Kms, KmsConfig, KmsError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

/// The bound the README states: a change through one instance is in another's decisions
/// within this time.
const BOUND: Duration = Duration::from_millis(100);

/// A PostgreSQL store whose notices never come (unless [`counted`] makes it hear them): the
/// instance over it hears nothing. It counts its reads of a key and its row locks.
#[derive(Debug)]
struct Deaf {
    inner: PostgresStore,
    key_reads: Arc<AtomicUsize>,
    locks: Arc<AtomicUsize>,
    /// Held, never sent on.
    _silence: std::sync::Mutex<Option<Sender<StoreEvent>>>,
    silent: std::sync::Mutex<Option<Receiver<StoreEvent>>>,
}

impl Deaf {
    fn over(inner: PostgresStore) -> Self {
        let (send, receive) = std::sync::mpsc::channel();
        Self {
            inner,
            key_reads: Arc::default(),
            locks: Arc::default(),
            _silence: std::sync::Mutex::new(Some(send)),
            silent: std::sync::Mutex::new(Some(receive)),
        }
    }
}

impl Store for Deaf {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }
    fn load_versioned(&self) -> Result<(Snapshot, HashMap<String, u64>), StoreError> {
        self.inner.load_versioned()
    }
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.inner.apply(changes)
    }
    fn shared(&self) -> bool {
        true
    }
    fn load_key(&self, id: &str) -> Result<Option<KeyRows>, StoreError> {
        self.key_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.load_key(id)
    }
    fn key_version(&self, id: &str) -> Result<Option<u64>, StoreError> {
        self.inner.key_version(id)
    }
    fn lock_key(
        &self,
        id: &str,
    ) -> Result<Option<(Box<dyn KeyLock>, Option<KeyRows>)>, StoreError> {
        self.locks.fetch_add(1, Ordering::SeqCst);
        self.inner.lock_key(id)
    }
    fn load_alias(&self, account: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        self.inner.load_alias(account, name)
    }
    fn load_aliases(&self) -> Result<Vec<AliasRecord>, StoreError> {
        self.inner.load_aliases()
    }
    fn grant_owner(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.grant_owner(grant_id)
    }
    fn changes(&self) -> Option<Receiver<StoreEvent>> {
        self.silent.lock().unwrap().take()
    }
}

/// An instance on `database`, sharing the root key in `root`, following the store's notices.
fn instance(database: &TestDatabase, root: &Path) -> Arc<Kms> {
    open(
        Box::new(PostgresStore::connect(&database.url(), "us-east-1").unwrap()),
        root,
    )
}

/// An instance that hears no notices, and its counts of key reads and row locks.
fn deaf(database: &TestDatabase, root: &Path) -> Arc<Kms> {
    deaf_counted(database, root).0
}

fn deaf_counted(
    database: &TestDatabase,
    root: &Path,
) -> (Arc<Kms>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    counted(database, root, false)
}

/// An instance whose store counts its reads of a key and its row locks, hearing the notices
/// or not.
fn counted(
    database: &TestDatabase,
    root: &Path,
    hears: bool,
) -> (Arc<Kms>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let store = Deaf::over(PostgresStore::connect(&database.url(), "us-east-1").unwrap());
    if hears {
        *store.silent.lock().unwrap() = store.inner.changes();
    }
    let (reads, locks) = (Arc::clone(&store.key_reads), Arc::clone(&store.locks));
    (open(Box::new(store), root), reads, locks)
}

fn open(store: Box<dyn Store>, root: &Path) -> Arc<Kms> {
    let kms = Arc::new(
        Kms::open(
            KmsConfig::new("us-east-1", ACCOUNT),
            store,
            RootKey::load_or_create(&root.join("root.key")).unwrap(),
            Arc::new(NoAudit),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    kms.follow().unwrap();
    kms
}

/// A key whose policy lets the account administer it and `APP` decrypt and encrypt, and
/// a ciphertext under it.
fn app_key(kms: &Kms, admin: &Caller) -> (String, Vec<u8>) {
    let key = default_key(kms, admin).key_id;
    put_policy(kms, admin, &key, true);
    let blob = encrypt(kms, admin, &key, b"payload", &[])
        .unwrap()
        .ciphertext_blob;
    (key, blob)
}

fn put_policy(kms: &Kms, admin: &Caller, key: &str, app: bool) {
    let statement = if app {
        format!(
            r#"{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}}"#
        )
    } else {
        r#"{"Sid":"NoApp","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Nobody"},"Action":"kms:Decrypt","Resource":"*"}"#.to_owned()
    };
    kms.put_key_policy(
        admin,
        &PutKeyPolicyRequest {
            key_id: key.into(),
            policy: admin_policy(&statement),
            ..Default::default()
        },
    )
    .unwrap();
}

/// How long until `refused` holds, polled; panics past five seconds.
fn time_until(refused: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !refused() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never reflected"
        );
        std::thread::yield_now();
    }
    started.elapsed()
}

#[test]
fn a_key_and_alias_made_through_one_instance_serve_the_next_call_through_another() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let a = instance(&database, root.path());
    // Deaf: only a read on a miss can find what A made.
    let b = deaf(&database, root.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let key = default_key(&a, &admin).key_id;
    a.create_alias(&admin, &alias("alias/orders", &key))
        .unwrap();
    let blob = encrypt(&b, &admin, "alias/orders", b"order 1", &[])
        .unwrap()
        .ciphertext_blob;
    let plain = decrypt(&a, &admin, &blob, &[]).unwrap().plaintext;
    assert_eq!(plain.expose(), b"order 1");
    // A ciphertext of a key B never held names it.
    let other = default_key(&a, &admin).key_id;
    let blob = encrypt(&a, &admin, &other, b"order 2", &[])
        .unwrap()
        .ciphertext_blob;
    assert_eq!(
        decrypt(&b, &admin, &blob, &[]).unwrap().plaintext.expose(),
        b"order 2"
    );
    // B knows the alias on its key too (`kms:ResourceAliases`, ListAliases by key).
    let listed = b
        .list_aliases(
            &admin,
            &ListAliasesRequest {
                key_id: Some(key.clone()),
                ..Default::default()
            },
        )
        .unwrap()
        .aliases;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].alias_name, "alias/orders");
    // A key that exists nowhere is still not found.
    let missing = encrypt(
        &b,
        &admin,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        b"x",
        &[],
    );
    assert_eq!(code(missing), "NotFoundException");
}

#[test]
fn changes_through_one_instance_reach_the_others_decisions_within_the_bound() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (
        instance(&database, root.path()),
        instance(&database, root.path()),
    );
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let app = caller(APP, &[]);
    let decrypts = |blob: &[u8]| decrypt(&b, &app, blob, &[]).is_ok();
    let mut seen: Vec<(&str, Duration)> = Vec::new();

    // PutKeyPolicy taking APP out.
    let (key, blob) = app_key(&a, &admin);
    assert!(decrypts(&blob));
    put_policy(&a, &admin, &key, false);
    seen.push(("PutKeyPolicy", time_until(|| !decrypts(&blob))));

    // DisableKey.
    let (key, blob) = app_key(&a, &admin);
    assert!(decrypts(&blob));
    a.disable_key(&admin, &DisableKeyRequest { key_id: key })
        .unwrap();
    seen.push(("DisableKey", time_until(|| !decrypts(&blob))));

    // ScheduleKeyDeletion.
    let (key, blob) = app_key(&a, &admin);
    assert!(decrypts(&blob));
    a.schedule_key_deletion(
        &admin,
        &ScheduleKeyDeletionRequest {
            key_id: key,
            pending_window_in_days: Some(7),
        },
    )
    .unwrap();
    seen.push(("ScheduleKeyDeletion", time_until(|| !decrypts(&blob))));

    // RevokeGrant and RetireGrant: APP decrypts through a grant only.
    for retire in [false, true] {
        let key = default_key(&a, &admin).key_id;
        let blob = encrypt(&a, &admin, &key, b"payload", &[])
            .unwrap()
            .ciphertext_blob;
        let mut request = grant(&key, APP, &["Decrypt", "RetireGrant"]);
        request.retiring_principal = Some(ADMIN.into());
        let grant_id = a.create_grant(&admin, &request).unwrap().grant_id;
        let through_grant = || decrypt(&b, &app, &blob, &[]).is_ok();
        time_until(through_grant);
        if retire {
            a.retire_grant(
                &admin,
                &RetireGrantRequest {
                    key_id: Some(key.clone()),
                    grant_id: Some(grant_id),
                    ..Default::default()
                },
            )
            .unwrap();
            seen.push(("RetireGrant", time_until(|| !through_grant())));
        } else {
            a.revoke_grant(
                &admin,
                &RevokeGrantRequest {
                    key_id: key.clone(),
                    grant_id,
                    ..Default::default()
                },
            )
            .unwrap();
            seen.push(("RevokeGrant", time_until(|| !through_grant())));
        }
    }
    eprintln!("reflected on the other instance after: {seen:?}");
    for (what, after) in seen {
        assert!(
            after < BOUND,
            "{what} reached the other instance after {after:?}"
        );
    }
}

#[test]
fn a_grant_token_works_at_once_through_an_instance_that_has_not_heard_of_the_grant() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let a = instance(&database, root.path());
    let (b, reads, _) = deaf_counted(&database, root.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let app = caller(APP, &[]);
    let key = default_key(&a, &admin).key_id;
    let blob = encrypt(&a, &admin, &key, b"payload", &[])
        .unwrap()
        .ciphertext_blob;
    // B holds the key, before the grant.
    assert_eq!(code(decrypt(&b, &app, &blob, &[])), DENIED);
    let mut request = grant(&key, APP, &["Decrypt", "RetireGrant"]);
    request.retiring_principal = Some(APP.into());
    let made = a.create_grant(&admin, &request).unwrap();
    let token = made.grant_token.clone();
    let with_token = DecryptRequest {
        ciphertext_blob: blob.clone(),
        grant_tokens: vec![token.clone()],
        ..Default::default()
    };
    assert_eq!(
        b.decrypt(&app, &with_token).unwrap().plaintext.expose(),
        b"payload"
    );
    // A forged token (one character of its tag changed) is refused as always, and costs no
    // read of the store.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = DecryptRequest {
        grant_tokens: vec![String::from_utf8(forged).unwrap()],
        ..with_token.clone()
    };
    let before = reads.load(Ordering::SeqCst);
    assert_eq!(code(b.decrypt(&app, &forged)), "InvalidGrantTokenException");
    assert_eq!(reads.load(Ordering::SeqCst), before);
    // And retired by its token through a third instance that never held the key.
    let c = deaf(&database, root.path());
    c.retire_grant(
        &app,
        &RetireGrantRequest {
            grant_token: Some(token),
            ..Default::default()
        },
    )
    .unwrap();
    // The token of the retired grant, through an instance that hears the notices: denied,
    // and it costs no read of the key, however often it is sent (only its version is looked
    // up, unchanged).
    let (d, d_reads, _) = counted(&database, root.path(), true);
    assert_eq!(code(d.decrypt(&app, &with_token)), DENIED);
    let after_one = d_reads.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(code(d.decrypt(&app, &with_token)), DENIED);
    }
    assert_eq!(d_reads.load(Ordering::SeqCst), after_one);
}

/// PutKeyPolicy through A racing TagResource and CreateGrant through B, which read the key
/// before A's changes: B's writes are refused by the store, and each call decided again on the
/// key as it is now, under a lock of its row. Without the guard, B's TagResource, which
/// writes the key's row read before A's change, would put the old policy back; and B's
/// CreateGrant by USER would be decided on a policy that no longer lets USER create grants.
#[test]
fn put_key_policy_racing_create_grant_on_two_instances_loses_neither() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let a = instance(&database, root.path());
    let (b, _, locks) = deaf_counted(&database, root.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let user = caller(USER, &[]);
    let may_grant = |sid: &str| {
        admin_policy(&format!(
            r#"{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"{USER}"}},"Action":"kms:CreateGrant","Resource":"*"}}"#
        ))
    };
    let key = default_key(&a, &admin).key_id;
    let put = |kms: &Kms, policy: String| {
        kms.put_key_policy(
            &admin,
            &PutKeyPolicyRequest {
                key_id: key.clone(),
                policy,
                ..Default::default()
            },
        )
    };
    put(&a, may_grant("UserGrants")).unwrap();
    // B holds the key now: USER may create grants.
    b.create_grant(&user, &grant(&key, APP, &["Decrypt"]))
        .unwrap();
    // Through A: USER may not any more.
    put(&a, admin_policy(r#"{"Sid":"FromA","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Nobody"},"Action":"kms:Decrypt","Resource":"*"}"#)).unwrap();
    let locks_before = locks.load(Ordering::SeqCst);
    assert_eq!(
        code(b.create_grant(&user, &grant(&key, APP, &["Decrypt"]))),
        DENIED
    );
    b.tag_resource(&admin, &tag(&key, "team", "payments"))
        .unwrap();
    // Each refused write was decided again under the row's lock.
    assert!(locks.load(Ordering::SeqCst) > locks_before);
    let c = instance(&database, root.path());
    let policy = c
        .get_key_policy(
            &admin,
            &keyward_kms::api::GetKeyPolicyRequest {
                key_id: key.clone(),
                ..Default::default()
            },
        )
        .unwrap()
        .policy;
    assert!(policy.contains("FromA"), "{policy}");
    let tags = c
        .list_resource_tags(
            &admin,
            &keyward_kms::api::ListResourceTagsRequest::new(&key),
        )
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 1);
    assert_eq!(
        c.list_grants(&admin, &grants_of(&key))
            .unwrap()
            .grants
            .len(),
        1
    );
}

/// Two UpdateAlias on two instances: B saw the alias on K1 and decides on K1 and K3, but A
/// moved it to K2 first, whose policy refuses B's caller. B's write is refused, the alias read
/// again, and the call decided again on K2: denied. Without the alias guard B would have moved
/// an alias off a key it may not touch.
#[test]
fn update_alias_on_two_instances_is_decided_on_where_the_alias_points_now() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let a = instance(&database, root.path());
    let b = deaf(&database, root.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    // USER may update aliases (its identity policy) on keys whose policy delegates to the
    // account; K2's policy does not.
    let user = caller(USER, &[ALLOW_ALL]);
    let k1 = default_key(&a, &admin).key_id;
    let k3 = default_key(&a, &admin).key_id;
    let k2 = default_key(&a, &admin).key_id;
    a.put_key_policy(
        &admin,
        &PutKeyPolicyRequest {
            key_id: k2.clone(),
            policy: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ADMIN}"}},"Action":"kms:*","Resource":"*"}}]}}"#
            ),
            ..Default::default()
        },
    )
    .unwrap();
    a.create_alias(&admin, &alias("alias/shared", &k1)).unwrap();
    // B holds the alias on K1.
    encrypt(&b, &admin, "alias/shared", b"x", &[]).unwrap();
    let update = |target: &str| UpdateAliasRequest {
        alias_name: "alias/shared".into(),
        target_key_id: target.into(),
    };
    a.update_alias(&admin, &update(&k2)).unwrap();
    assert_eq!(code(b.update_alias(&user, &update(&k3))), DENIED);
    // The admin may: moved from K2, where it is now, to K3.
    b.update_alias(&admin, &update(&k3)).unwrap();
    let points_to_k3 = |kms: &Kms| {
        kms.list_aliases(
            &admin,
            &ListAliasesRequest {
                key_id: Some(k3.clone()),
                ..Default::default()
            },
        )
        .unwrap()
        .aliases
        .iter()
        .any(|a| a.alias_name == "alias/shared")
    };
    // B wrote it; A hears it within the bound.
    assert!(points_to_k3(&b));
    assert!(time_until(|| points_to_k3(&a)) < BOUND);
    // One CreateAlias of a name wins; the other instance says it exists.
    a.create_alias(&admin, &alias("alias/once", &k1)).unwrap();
    let again = b.create_alias(&admin, &alias("alias/once", &k3));
    assert_eq!(code(again), "AlreadyExistsException");
}

#[test]
fn an_instance_that_loses_the_notices_refuses_calls_until_it_has_read_everything_again() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (
        instance(&database, root.path()),
        instance(&database, root.path()),
    );
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let app = caller(APP, &[]);
    let (key, blob) = app_key(&a, &admin);
    decrypt(&b, &app, &blob, &[]).unwrap();
    // The listening sessions end (a database restart would end them the same way).
    database.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'keyward-listener' AND datname = current_database()
           AND pid <> pg_backend_pid()",
    );
    // Refused while it cannot vouch for what it holds...
    let refused = time_until(
        || matches!(decrypt(&b, &app, &blob, &[]), Err(KmsError::Internal(m)) if m.contains("reading its shared store")),
    );
    eprintln!("refused after {refused:?}");
    // ... meanwhile the key changes (through a third instance, whose notices do not matter);
    let c = deaf(&database, root.path());
    put_policy(&c, &admin, &key, false);
    // ... and once B has read everything again (or heard the change, if it was back first),
    // it serves, with the change in.
    let back = time_until(|| code(decrypt(&b, &app, &blob, &[])) == DENIED);
    eprintln!("B served again, with the change, after {back:?}");
    assert!(back < Duration::from_secs(2), "{back:?}");
}

/// A PostgreSQL store that loses a call's final audit record when told to: as if the instance
/// died between the call's commit and that write.
#[derive(Debug)]
struct LosingFinalRecords {
    inner: PostgresStore,
    lose: Arc<std::sync::atomic::AtomicBool>,
}

impl Store for LosingFinalRecords {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }
    fn load_versioned(&self) -> Result<(Snapshot, HashMap<String, u64>), StoreError> {
        self.inner.load_versioned()
    }
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if self.lose.load(Ordering::SeqCst) && matches!(changes, [Change::Audit { .. }]) {
            return Err(StoreError::Poisoned);
        }
        self.inner.apply(changes)
    }
    fn shared(&self) -> bool {
        true
    }
    fn load_key(&self, id: &str) -> Result<Option<KeyRows>, StoreError> {
        self.inner.load_key(id)
    }
    fn changes(&self) -> Option<Receiver<StoreEvent>> {
        self.inner.changes()
    }
}

#[test]
fn with_the_audit_table_every_call_has_its_record_and_a_committed_change_has_it_with_the_change() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let lose = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let audit = Arc::new(keyward_kms::audit::MemoryAudit::new());
    let kms = Arc::new(
        Kms::open(
            KmsConfig {
                audit_in_store: true,
                ..KmsConfig::new("us-east-1", ACCOUNT)
            },
            Box::new(LosingFinalRecords {
                inner: PostgresStore::connect(&database.url(), "us-east-1").unwrap(),
                lose: Arc::clone(&lose),
            }),
            RootKey::load_or_create(&root.path().join("root.key")).unwrap(),
            audit.clone(),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    kms.follow().unwrap();
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let app = caller(APP, &[]);
    let (key, blob) = app_key(&kms, &admin);
    put_policy(&kms, &admin, &key, false);
    assert_eq!(code(decrypt(&kms, &app, &blob, &[])), DENIED);
    // Every call's final record is in the table, as the audit sink has it.
    let records = |sql: &str| -> Vec<serde_json::Value> {
        database
            .query(sql)
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    };
    let stored = records("SELECT record::text FROM audit ORDER BY recorded, event_id");
    let sunk = audit.records();
    assert_eq!(stored.len(), sunk.len());
    for record in &sunk {
        let id = &record["eventID"];
        let found = stored.iter().find(|r| &r["eventID"] == id).unwrap();
        assert_eq!(found, record);
        assert!(found["keyward"].get("provisional").is_none());
    }
    assert!(
        stored
            .iter()
            .any(|r| r["eventName"] == "Decrypt" && r["errorCode"] == DENIED)
    );
    assert_eq!(kms.audit_table_failures(), 0);
    // The final records lost (the instance dying after each commit): the change's record
    // is there all the same, written with it; a read leaves none.
    lose.store(true, Ordering::SeqCst);
    put_policy(&kms, &admin, &key, true);
    decrypt(&kms, &app, &blob, &[]).unwrap();
    assert_eq!(kms.audit_table_failures(), 2);
    let provisional =
        records("SELECT record::text FROM audit WHERE record->'keyward'->>'provisional' = 'true'");
    assert_eq!(provisional.len(), 1);
    assert_eq!(provisional[0]["eventName"], "PutKeyPolicy");
    let last = audit.records();
    let put = last
        .iter()
        .rev()
        .find(|r| r["eventName"] == "PutKeyPolicy")
        .unwrap();
    assert_eq!(provisional[0]["eventID"], put["eventID"]);
    assert_eq!(
        records("SELECT record::text FROM audit").len(),
        sunk.len() + 1
    );
}

/// A key's row of the earlier format (its whole material and its schedules in it), written by
/// an instance of an earlier version while this one runs, is refused when read after start
/// (on a miss, a notice, or under its row's lock), never taken and written back in this
/// format, which would lose what the row holds.
#[test]
fn a_row_of_the_earlier_format_read_after_start_is_refused_and_left_as_it_is() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let a = instance(&database, root.path());
    let b = deaf(&database, root.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let key = default_key(&a, &admin).key_id;
    // The key's row as an instance of the earlier version writes it.
    let root_key = RootKey::load_or_create(&root.path().join("root.key")).unwrap();
    let store = PostgresStore::connect(&database.url(), "us-east-1").unwrap();
    let rows = store.load_key(&key).unwrap().unwrap();
    let versions: Vec<(u32, Vec<u8>)> = rows
        .parts
        .iter()
        .filter(|p| p.kind == PartKind::Version)
        .map(|p| (p.name.parse().unwrap(), STANDARD.decode(&p.record).unwrap()))
        .collect();
    let versions: Vec<(u32, &[u8])> = versions.iter().map(|(n, v)| (*n, &v[..])).collect();
    let bound = head_binding(
        rows.parts
            .iter()
            .map(|p| (p.kind, p.name.as_str(), p.record.as_str())),
        &grant_rows_digest(&root_key.record_key(), "us-east-1", &rows.grants),
    );
    let whole = keyward_crypto::CryptoKey::unseal_parts(
        &key,
        &rows.key.sealed,
        &versions,
        &bound,
        &root_key,
    )
    .unwrap()
    .seal(&root_key)
    .unwrap();
    let mut metadata: serde_json::Value = serde_json::from_str(&rows.key.metadata).unwrap();
    metadata["rotation_period_days"] = 365.into();
    let mut legacy = KeyRecord {
        id: key.clone(),
        metadata: metadata.to_string(),
        sealed: whole.clone(),
        tag: Vec::new(),
    };
    legacy.tag = root_key.record_key().tag(&legacy.fields());
    store.apply(&[Change::PutKey(legacy)]).unwrap();
    // B reads the key on a miss: refused, with why.
    let error = encrypt(&b, &admin, &key, b"x", &[]).unwrap_err();
    assert!(error.to_string().contains("earlier"), "{error}");
    // A change through B is refused too, and the row is as the earlier version wrote it.
    let put = b.put_key_policy(
        &admin,
        &PutKeyPolicyRequest {
            key_id: key.clone(),
            policy: admin_policy(""),
            ..Default::default()
        },
    );
    assert!(put.is_err());
    let after = store.load_key(&key).unwrap().unwrap();
    assert_eq!(after.key.sealed, whole);
}

/// A rotation and an import through one instance reach the other: a ciphertext under the new
/// material decrypts through it, its next change writes the key's rows whole (a third
/// instance, opened after, decrypts every ciphertext), and material deleted through one is
/// gone through the other.
#[test]
fn material_rotated_imported_or_deleted_through_one_instance_is_used_so_through_another() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (
        instance(&database, root.path()),
        instance(&database, root.path()),
    );
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let (key, first) = app_key(&a, &admin);
    assert!(decrypt(&b, &admin, &first, &[]).is_ok());
    a.rotate_key_on_demand(
        &admin,
        &keyward_kms::api::RotateKeyOnDemandRequest::new(&key),
    )
    .unwrap();
    let second = encrypt(&a, &admin, &key, b"second", &[])
        .unwrap()
        .ciphertext_blob;
    time_until(|| decrypt(&b, &admin, &second, &[]).is_ok());
    // A change through B, on the key as A left it.
    put_policy(&b, &admin, &key, true);
    let external = create_key_of(&a, &admin, Kind::External.spec_usage_origin(), "");
    a.import_key_material(
        &admin,
        &keyward_kms::api::ImportKeyMaterialRequest {
            expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
            ..import_request(&a, &admin, &external, &[5u8; 32])
        },
    )
    .unwrap();
    let imported = encrypt(&a, &admin, &external, b"imported", &[])
        .unwrap()
        .ciphertext_blob;
    time_until(|| decrypt(&b, &admin, &imported, &[]).is_ok());
    let c = instance(&database, root.path());
    for (blob, plain) in [
        (&first, &b"payload"[..]),
        (&second, b"second"),
        (&imported, b"imported"),
    ] {
        assert_eq!(
            decrypt(&c, &admin, blob, &[]).unwrap().plaintext.expose(),
            plain
        );
    }
    b.delete_imported_key_material(
        &admin,
        &keyward_kms::api::DeleteImportedKeyMaterialRequest::new(&external),
    )
    .unwrap();
    time_until(|| decrypt(&a, &admin, &imported, &[]).is_err());
    assert_eq!(
        code(decrypt(
            &instance(&database, root.path()),
            &admin,
            &imported,
            &[]
        )),
        "KMSInvalidStateException"
    );
}

//! The store row by row: a change writes only the rows it changes (a grant is one row, a key's
//! metadata and material another), grants come back in creation order, and a database of the
//! earlier format (grants inside their key's row) is migrated when opened, losing nothing.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_crypto::RootKey;
use keyward_kms::api::{
    CreateGrantRequest, ListGrantsRequest, ListResourceTagsRequest, RevokeGrantRequest,
    RotateKeyOnDemandRequest, Tag,
};
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::{ManualClock, SystemClock};
use keyward_kms::store::{
    Change, GrantRow, KeyRecord, MemoryStore, PartKind, Snapshot, SqliteStore, Store, StoreError,
    grant_rows_digest, head_binding,
};
use keyward_kms::{Kms, KmsConfig, OpenError};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A memory store that keeps every write it is asked for.
#[derive(Debug, Default)]
struct RecordingStore {
    inner: MemoryStore,
    writes: Arc<Mutex<Vec<Vec<Change>>>>,
}

impl Store for RecordingStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load()
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.writes.lock().unwrap().push(changes.to_vec());
        self.inner.apply(changes)
    }
}

/// What a write touched, by kind: `key`, `grant`, `-grant`, `alias`, ...
fn kinds(write: &[Change]) -> Vec<&'static str> {
    write
        .iter()
        .map(|c| match c {
            Change::PutKey(_) => "key",
            Change::DeleteKey(_) => "-key",
            Change::PutGrant(_) => "grant",
            Change::DeleteGrant { .. } => "-grant",
            Change::PutAlias(_) => "alias",
            Change::DeleteAlias { .. } => "-alias",
            Change::Guard { .. } => "guard",
            Change::AliasGuard { .. } => "alias-guard",
            Change::Audit { .. } => "audit",
            Change::PutPart(p) => match p.kind {
                PartKind::Tag => "tag",
                PartKind::Schedule => "schedule",
                PartKind::Version => "version",
                PartKind::Import => "import",
            },
            Change::DeletePart { .. } => "-part",
            Change::PutKeyStore(_) => "key-store",
            Change::DeleteKeyStore(_) => "-key-store",
        })
        .collect()
}

#[test]
fn a_change_writes_only_the_rows_it_changes() {
    let store = RecordingStore::default();
    let writes = Arc::clone(&store.writes);
    let fixture = Fixture::over(
        Box::new(store),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    );
    let key = fixture.symmetric("");
    let kms = &fixture.kms;
    let admin = &fixture.admin;
    for n in 0..20 {
        kms.create_grant(admin, &grant(&key, &format!("{APP}{n}"), &["Encrypt"]))
            .unwrap();
    }
    let last = |writes: &Mutex<Vec<Vec<Change>>>| writes.lock().unwrap().last().cloned().unwrap();
    // The twenty-first grant: its row and the key's (whose head binds its grants), whatever
    // the key already has: no other grant's row.
    let grant_id = kms
        .create_grant(admin, &grant(&key, APP, &["Decrypt"]))
        .unwrap()
        .grant_id;
    let write = last(&writes);
    assert_eq!(kinds(&write), ["key", "grant"]);
    let Change::PutGrant(row) = &write[1] else {
        unreachable!()
    };
    assert_eq!(
        (row.key_id.as_str(), row.grant_id.as_str()),
        (key.as_str(), grant_id.as_str())
    );
    kms.revoke_grant(
        admin,
        &RevokeGrantRequest {
            key_id: key.clone(),
            grant_id: grant_id.clone(),
            ..RevokeGrantRequest::default()
        },
    )
    .unwrap();
    assert_eq!(kinds(&last(&writes)), ["key", "-grant"]);
    // A tag: its row, and the key's (whose head binds its tags, schedules, import state and
    // grants, so that one of their rows put back as it was is found); a schedule likewise; no
    // version's row, no grant's.
    kms.tag_resource(admin, &tag(&key, "team", "payments"))
        .unwrap();
    assert_eq!(kinds(&last(&writes)), ["key", "tag"]);
    kms.untag_resource(
        admin,
        &keyward_kms::api::UntagResourceRequest {
            key_id: key.clone(),
            tag_keys: vec!["team".into()],
        },
    )
    .unwrap();
    assert_eq!(kinds(&last(&writes)), ["key", "-part"]);
    kms.enable_key_rotation(
        admin,
        &keyward_kms::api::EnableKeyRotationRequest {
            key_id: key.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(kinds(&last(&writes)), ["key", "schedule"]);
    // A new version of material: its row, and the key's (whose head names its versions);
    // the earlier versions' rows stay as they are.
    kms.rotate_key_on_demand(admin, &RotateKeyOnDemandRequest::new(&key))
        .unwrap();
    assert_eq!(kinds(&last(&writes)), ["key", "version"]);
    // Material imported into an EXTERNAL key: its version's row, the key's head (which names
    // the material), and the imported material's state; no tag's, schedule's or grant's.
    let external = fixture.key(Kind::External, "");
    let material = [7u8; 32];
    let import = keyward_kms::api::ImportKeyMaterialRequest {
        expiration_model: Some("KEY_MATERIAL_DOES_NOT_EXPIRE".into()),
        ..import_request(kms, admin, &external, &material)
    };
    kms.import_key_material(admin, &import).unwrap();
    let mut written = kinds(&last(&writes));
    written.sort_unstable();
    assert_eq!(written, ["import", "key", "version"]);
    // A CreateGrant that finds the same grant already there writes nothing.
    let count = writes.lock().unwrap().len();
    let again = CreateGrantRequest {
        name: Some("same".into()),
        ..grant(&key, USER, &["Encrypt"])
    };
    let first = kms.create_grant(admin, &again).unwrap().grant_id;
    assert_eq!(writes.lock().unwrap().len(), count + 1);
    assert_eq!(kms.create_grant(admin, &again).unwrap().grant_id, first);
    assert_eq!(writes.lock().unwrap().len(), count + 1);
}

/// A service over the SQLite store in `dir`, or why it does not open.
fn try_open(dir: &Path) -> Result<Kms, OpenError> {
    Kms::open(
        KmsConfig::new("us-east-1", ACCOUNT),
        Box::new(SqliteStore::open(&dir.join("keys.db")).unwrap()),
        RootKey::load_or_create(&dir.join("root.key")).unwrap(),
        Arc::new(NoAudit),
        Arc::new(SystemClock),
    )
}

fn open(dir: &Path) -> Kms {
    try_open(dir).unwrap()
}

/// The grant IDs of `key`, as ListGrants gives them.
fn grant_ids(kms: &Kms, key: &str) -> Vec<String> {
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    kms.list_grants(
        &admin,
        &ListGrantsRequest {
            limit: Some(100),
            ..grants_of(key)
        },
    )
    .unwrap()
    .grants
    .into_iter()
    .map(|g| g.grant_id)
    .collect()
}

/// A key with `n` grants, made through a service over the SQLite store in `dir`; the key ID
/// and its grant IDs in creation order.
fn key_with_grants(dir: &Path, n: usize) -> (String, Vec<String>) {
    let kms = open(dir);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let key = default_key(&kms, &admin).key_id;
    let ids: Vec<String> = (0..n)
        .map(|i| {
            kms.create_grant(&admin, &grant(&key, &format!("{APP}{i}"), &["Encrypt"]))
                .unwrap()
                .grant_id
        })
        .collect();
    assert_eq!(grant_ids(&kms, &key), ids);
    (key, ids)
}

#[test]
fn grants_are_rows_of_their_own_and_come_back_in_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ids) = key_with_grants(dir.path(), 12);
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let rows: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM grants WHERE key_id = ?1",
            [&key],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 12);
    let metadata: String = db
        .query_row("SELECT metadata FROM keys WHERE id = ?1", [&key], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!metadata.contains("\"grants\""), "{metadata}");
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    drop(db);
    let kms = open(dir.path());
    assert_eq!(grant_ids(&kms, &key), ids, "creation order after a restart");
}

#[test]
fn a_grant_row_changed_outside_the_service_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ids) = key_with_grants(dir.path(), 2);
    let other = default_key(&open(dir.path()), &caller(ADMIN, &[ALLOW_ALL])).key_id;
    // A grant moved to a key it was not made on.
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    db.execute(
        "UPDATE grants SET key_id = ?1 WHERE grant_id = ?2",
        [&other, &ids[0]],
    )
    .unwrap();
    drop(db);
    let error = try_open(dir.path()).unwrap_err().to_string();
    assert!(error.contains(&ids[0]), "{error}");
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    // A grant widened, on its own key.
    db.execute(
        "UPDATE grants SET key_id = ?1, record = replace(record, '\"Encrypt\"', '\"Decrypt\"') WHERE grant_id = ?2",
        [&key, &ids[0]],
    )
    .unwrap();
    drop(db);
    let error = try_open(dir.path()).unwrap_err().to_string();
    assert!(error.contains(&ids[0]), "{error}");
}

#[test]
fn a_tag_or_schedule_row_changed_outside_the_service_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = key_with_grants(dir.path(), 0);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let other = default_key(&open(dir.path()), &admin).key_id;
    open(dir.path())
        .tag_resource(&admin, &tag(&key, "tier", "restricted"))
        .unwrap();
    for (tamper, undo) in [
        // A tag that a policy tests (`aws:ResourceTag/tier`), changed.
        (
            "UPDATE tags SET record = 'open' WHERE name = 'tier'",
            "UPDATE tags SET record = 'restricted' WHERE name = 'tier'",
        ),
        // Moved to another key.
        (
            &*format!("UPDATE tags SET key_id = '{other}' WHERE name = 'tier'"),
            &*format!("UPDATE tags SET key_id = '{key}' WHERE name = 'tier'"),
        ),
        // A deletion brought forward.
        (
            "UPDATE schedules SET record = replace(record, 'null', '1') WHERE name = 'deletion'",
            "",
        ),
        // The rotation schedule's row deleted: not taken for a row of the earlier format.
        ("DELETE FROM schedules WHERE name = 'rotation'", ""),
    ] {
        let db = Connection::open(dir.path().join("keys.db")).unwrap();
        db.execute_batch(tamper).unwrap();
        drop(db);
        let error = try_open(dir.path()).unwrap_err();
        assert!(matches!(error, OpenError::Tampered { .. }), "{error}");
        if !undo.is_empty() {
            Connection::open(dir.path().join("keys.db"))
                .unwrap()
                .execute_batch(undo)
                .unwrap();
            try_open(dir.path()).unwrap();
        }
    }
}

#[test]
fn a_deletion_schedule_and_its_cancellation_survive_a_restart_each_in_its_rows() {
    let store = RecordingStore::default();
    let writes = Arc::clone(&store.writes);
    let fixture = Fixture::over(
        Box::new(store),
        RootKey::generate().unwrap(),
        Arc::new(ManualClock::new(start())),
    );
    let key = fixture.symmetric("");
    let (kms, admin) = (&fixture.kms, &fixture.admin);
    let last = || writes.lock().unwrap().last().cloned().unwrap();
    kms.schedule_key_deletion(
        admin,
        &keyward_kms::api::ScheduleKeyDeletionRequest {
            key_id: key.clone(),
            pending_window_in_days: Some(7),
        },
    )
    .unwrap();
    // Its state in the key's row, its date in the deletion schedule's.
    assert_eq!(kinds(&last()), ["key", "schedule"]);
    kms.cancel_key_deletion(
        admin,
        &keyward_kms::api::CancelKeyDeletionRequest {
            key_id: key.clone(),
        },
    )
    .unwrap();
    assert_eq!(kinds(&last()), ["key", "schedule"]);

    // Through a restart, on SQLite.
    let dir = tempfile::tempdir().unwrap();
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let key = default_key(&open(dir.path()), &admin).key_id;
    let describe = |kms: &Kms| {
        kms.describe_key(
            &admin,
            &keyward_kms::api::DescribeKeyRequest {
                key_id: key.clone(),
                ..Default::default()
            },
        )
        .unwrap()
        .key_metadata
    };
    open(dir.path())
        .schedule_key_deletion(
            &admin,
            &keyward_kms::api::ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(9),
            },
        )
        .unwrap();
    let scheduled = describe(&open(dir.path()));
    assert_eq!(
        scheduled.key_state,
        keyward_kms::api::KeyState::PendingDeletion
    );
    assert_eq!(scheduled.pending_deletion_window_in_days, Some(9));
    assert!(scheduled.deletion_date.is_some());
    open(dir.path())
        .cancel_key_deletion(
            &admin,
            &keyward_kms::api::CancelKeyDeletionRequest {
                key_id: key.clone(),
            },
        )
        .unwrap();
    let cancelled = describe(&open(dir.path()));
    assert_eq!(cancelled.key_state, keyward_kms::api::KeyState::Disabled);
    assert_eq!(cancelled.deletion_date, None);
}

#[test]
fn a_version_of_material_deleted_or_replayed_outside_the_service_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = key_with_grants(dir.path(), 0);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let kms = open(dir.path());
    kms.rotate_key_on_demand(&admin, &RotateKeyOnDemandRequest::new(&key))
        .unwrap();
    drop(kms);
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let versions: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM key_versions WHERE key_id = ?1",
            [&key],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(versions, 2);
    // Each version's row on its own: the key's row holds none of the material.
    let head: Vec<u8> = db
        .query_row("SELECT sealed FROM keys WHERE id = ?1", [&key], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(keyward_crypto::CryptoKey::is_sealed_head(&head));
    // The first version's row put in the second's place (its tag made again would need the
    // root key; even so the version is bound to its number): refused.
    let (first, first_tag): (String, Vec<u8>) = db
        .query_row(
            "SELECT record, tag FROM key_versions WHERE key_id = ?1 AND name = '1'",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let (second, second_tag): (String, Vec<u8>) = db
        .query_row(
            "SELECT record, tag FROM key_versions WHERE key_id = ?1 AND name = '2'",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute(
        "UPDATE key_versions SET record = ?1, tag = ?2 WHERE key_id = ?3 AND name = '2'",
        rusqlite::params![first, first_tag, key],
    )
    .unwrap();
    assert!(matches!(
        try_open(dir.path()).unwrap_err(),
        OpenError::Tampered { .. }
    ));
    db.execute(
        "UPDATE key_versions SET record = ?1, tag = ?2 WHERE key_id = ?3 AND name = '2'",
        rusqlite::params![second, second_tag, key],
    )
    .unwrap();
    try_open(dir.path()).unwrap();
    // The newest version's row deleted: the key's head names it, so the key does not open.
    db.execute(
        "DELETE FROM key_versions WHERE key_id = ?1 AND name = '2'",
        [&key],
    )
    .unwrap();
    let error = try_open(dir.path()).unwrap_err();
    assert!(matches!(error, OpenError::Unseal { .. }), "{error}");
}

/// Turns the store in `dir` back into format 2: each key's grants inside its row (its tag
/// made again over the row, as format 2 wrote it), no grants table.
fn back_to_format_2(dir: &Path) {
    back_to_format(dir, 2);
}

/// Rewrites the SQLite store in `dir` as Keyward wrote format 3 (tags and schedules in the
/// key's metadata) or 2 (its grants too), every row's tag made again with the root key.
fn back_to_format(dir: &Path, format: i64) {
    let records = RootKey::load_or_create(&dir.join("root.key"))
        .unwrap()
        .record_key();
    let db = Connection::open(dir.join("keys.db")).unwrap();
    let keys: Vec<(String, String, Vec<u8>)> = db
        .prepare("SELECT id, metadata, sealed FROM keys")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let rows = |sql: &str, id: &str| -> Vec<(String, String)> {
        db.prepare(sql)
            .unwrap()
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let root = RootKey::load_or_create(&dir.join("root.key")).unwrap();
    for (id, metadata, sealed) in keys {
        // The material whole in the key's row, as before each version had a row.
        let versions: Vec<(u32, Vec<u8>)> = rows(
            "SELECT name, record FROM key_versions WHERE key_id = ?1",
            &id,
        )
        .into_iter()
        .map(|(n, r)| (n.parse().unwrap(), STANDARD.decode(r).unwrap()))
        .collect();
        let versions: Vec<(u32, &[u8])> = versions.iter().map(|(n, v)| (*n, &v[..])).collect();
        let mut parts: Vec<(PartKind, String, String)> = Vec::new();
        for (kind, table) in [
            (PartKind::Tag, "tags"),
            (PartKind::Schedule, "schedules"),
            (PartKind::Import, "imports"),
        ] {
            let sql = format!("SELECT name, record FROM {table} WHERE key_id = ?1");
            parts.extend(rows(&sql, &id).into_iter().map(|(n, r)| (kind, n, r)));
        }
        let grants: Vec<GrantRow> = db
            .prepare("SELECT grant_id, record, tag FROM grants WHERE key_id = ?1")
            .unwrap()
            .query_map([&id], |r| {
                Ok(GrantRow {
                    key_id: id.clone(),
                    grant_id: r.get(0)?,
                    record: r.get(1)?,
                    tag: r.get(2)?,
                })
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let bound = head_binding(
            parts.iter().map(|(k, n, r)| (*k, n.as_str(), r.as_str())),
            &grant_rows_digest(&records, "us-east-1", &grants),
        );
        let crypto =
            keyward_crypto::CryptoKey::unseal_parts(&id, &sealed, &versions, &bound, &root)
                .unwrap();
        let sealed = crypto.seal(&root).unwrap();
        let mut metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
        // When the first material present expires, as those formats kept it in the row.
        metadata["valid_to"] = crypto
            .materials()
            .iter()
            .filter(|m| m.present)
            .filter_map(|m| m.expires_at)
            .min()
            .map(|at| at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
            .into();
        let tags: serde_json::Map<String, serde_json::Value> =
            rows("SELECT name, record FROM tags WHERE key_id = ?1", &id)
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect();
        metadata["tags"] = tags.into();
        for (_, record) in rows("SELECT name, record FROM imports WHERE key_id = ?1", &id) {
            let import: serde_json::Value = serde_json::from_str(&record).unwrap();
            metadata["expiration_model"] = import["expiration_model"].clone();
            metadata["material_descriptions"] = import["descriptions"].clone();
        }
        for (name, record) in rows("SELECT name, record FROM schedules WHERE key_id = ?1", &id) {
            let schedule: serde_json::Value = serde_json::from_str(&record).unwrap();
            if name == "rotation" {
                metadata["rotation_enabled"] = schedule["enabled"].clone();
                metadata["rotation_period_days"] = schedule["period_days"].clone();
                metadata["next_rotation"] = schedule["next"].clone();
            } else {
                metadata["deletion_date"] = schedule["date"].clone();
                metadata["pending_window_days"] = schedule["window_days"].clone();
            }
        }
        if format == 2 {
            let grants: Vec<serde_json::Value> = db
                .prepare("SELECT record FROM grants WHERE key_id = ?1 ORDER BY stored")
                .unwrap()
                .query_map([&id], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|g| serde_json::from_str(&g.unwrap()).unwrap())
                .collect();
            metadata["grants"] = grants.into();
        }
        let record = KeyRecord {
            id: id.clone(),
            metadata: metadata.to_string(),
            sealed,
            tag: Vec::new(),
        };
        let tag = records.tag(&record.fields());
        db.execute(
            "UPDATE keys SET metadata = ?1, sealed = ?2, tag = ?3 WHERE id = ?4",
            rusqlite::params![record.metadata, record.sealed, tag, id],
        )
        .unwrap();
    }
    db.execute_batch(
        "DROP TABLE tags; DROP TABLE schedules; DROP TABLE key_versions; DROP TABLE imports;
         DROP TABLE key_stores;",
    )
    .unwrap();
    if format == 2 {
        db.execute_batch("DROP TABLE grants;").unwrap();
    }
    db.execute_batch(&format!("PRAGMA user_version = {format};"))
        .unwrap();
}

#[test]
fn a_store_of_format_3_is_migrated_when_opened_its_tags_and_schedules_moved_to_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ids) = key_with_grants(dir.path(), 2);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    // A key rotated once, and an EXTERNAL key with imported material that expires, each with
    // a ciphertext made before the migration.
    let valid_to = std::time::SystemTime::now() + std::time::Duration::from_secs(30 * 86_400);
    let (rotated, external, blobs) = {
        let kms = open(dir.path());
        kms.tag_resource(&admin, &tag(&key, "team", "payments"))
            .unwrap();
        kms.enable_key_rotation(
            &admin,
            &keyward_kms::api::EnableKeyRotationRequest {
                key_id: key.clone(),
                rotation_period_in_days: Some(90),
            },
        )
        .unwrap();
        let rotated = default_key(&kms, &admin).key_id;
        let first = encrypt(&kms, &admin, &rotated, b"first", &[]).unwrap();
        kms.rotate_key_on_demand(&admin, &RotateKeyOnDemandRequest::new(&rotated))
            .unwrap();
        let second = encrypt(&kms, &admin, &rotated, b"second", &[]).unwrap();
        let external = create_key_of(&kms, &admin, Kind::External.spec_usage_origin(), "");
        kms.import_key_material(
            &admin,
            &keyward_kms::api::ImportKeyMaterialRequest {
                expiration_model: Some("KEY_MATERIAL_EXPIRES".into()),
                valid_to: Some(valid_to),
                key_material_description: Some("from the HSM".into()),
                ..import_request(&kms, &admin, &external, &[9u8; 32])
            },
        )
        .unwrap();
        let third = encrypt(&kms, &admin, &external, b"third", &[]).unwrap();
        let blobs = [first, second, third].map(|r| r.ciphertext_blob);
        (rotated, external, blobs)
    };
    back_to_format(dir.path(), 3);
    let kms = open(dir.path());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    assert_eq!(grant_ids(&kms, &key), ids);
    let tags = kms
        .list_resource_tags(&admin, &ListResourceTagsRequest::new(&key))
        .unwrap()
        .tags;
    assert_eq!(tags, [Tag::new("team", "payments")]);
    let status = kms
        .get_key_rotation_status(
            &admin,
            &keyward_kms::api::GetKeyRotationStatusRequest {
                key_id: key.clone(),
            },
        )
        .unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    // Every version's material, and the imported material's state, came through.
    for (blob, plain) in blobs.iter().zip([&b"first"[..], b"second", b"third"]) {
        assert_eq!(
            decrypt(&kms, &admin, blob, &[]).unwrap().plaintext.expose(),
            plain
        );
    }
    let described = kms
        .describe_key(
            &admin,
            &keyward_kms::api::DescribeKeyRequest::new(&external),
        )
        .unwrap()
        .key_metadata;
    assert_eq!(
        described.expiration_model.as_deref(),
        Some("KEY_MATERIAL_EXPIRES")
    );
    let seconds =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(described.valid_to.map(seconds), Some(seconds(valid_to)));
    let rotations = kms
        .list_key_rotations(
            &admin,
            &keyward_kms::api::ListKeyRotationsRequest {
                key_id: external.clone(),
                include_key_material: Some("ALL_KEY_MATERIAL".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .rotations;
    assert_eq!(
        rotations[0].key_material_description.as_deref(),
        Some("from the HSM")
    );
    drop(kms);
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    // Three keys' two schedules each; versions: one, two (rotated), one (imported).
    assert_eq!(
        (
            count("tags"),
            count("schedules"),
            count("key_versions"),
            count("imports")
        ),
        (1, 6, 4, 1)
    );
    let rotated_versions: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM key_versions WHERE key_id = ?1",
            [&rotated],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rotated_versions, 2);
    let metadata: String = db
        .query_row("SELECT metadata FROM keys WHERE id = ?1", [&key], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!metadata.contains("\"tags\""), "{metadata}");
    assert!(!metadata.contains("\"rotation_enabled\""), "{metadata}");
    drop(db);
    // And again, from the migrated store.
    let kms = open(dir.path());
    assert_eq!(
        kms.list_resource_tags(&admin, &ListResourceTagsRequest::new(&key))
            .unwrap()
            .tags
            .len(),
        1
    );
}

#[test]
fn a_store_of_format_2_is_migrated_when_opened_and_loses_no_grant() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ids) = key_with_grants(dir.path(), 5);
    back_to_format_2(dir.path());
    let kms = open(dir.path());
    assert_eq!(grant_ids(&kms, &key), ids);
    // The grants decide as before: the first grantee may encrypt.
    let grantee = caller(&format!("{APP}0"), &[]);
    encrypt(&kms, &grantee, &key, b"payload", &[]).unwrap();
    drop(kms);
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM grants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 5);
    let metadata: String = db
        .query_row("SELECT metadata FROM keys WHERE id = ?1", [&key], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!metadata.contains("\"grants\""), "{metadata}");
    drop(db);
    // And again, from the migrated store.
    assert_eq!(grant_ids(&open(dir.path()), &key), ids);
}

/// The row of `name` of `key` in `table` (record, tag), if there is one.
fn part_row(db: &Connection, table: &str, key: &str, name: &str) -> Option<(String, Vec<u8>)> {
    db.query_row(
        &format!("SELECT record, tag FROM {table} WHERE key_id = ?1 AND name = ?2"),
        [key, name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

/// Puts `row` (or no row) in place of the row of `name` of `key` in `table`.
fn put_part_row(
    db: &Connection,
    table: &str,
    key: &str,
    name: &str,
    row: Option<&(String, Vec<u8>)>,
) {
    db.execute(
        &format!("DELETE FROM {table} WHERE key_id = ?1 AND name = ?2"),
        [key, name],
    )
    .unwrap();
    if let Some((record, tag)) = row {
        db.execute(
            &format!("INSERT INTO {table} (key_id, name, record, tag) VALUES (?1, ?2, ?3, ?4)"),
            rusqlite::params![key, name, record, tag],
        )
        .unwrap();
    }
}

/// A part's row put back as it was before a change, each with its own valid tag (a version of
/// material after DeleteImportedKeyMaterial, a tag after UntagResource, the deletion schedule
/// after CancelKeyDeletion), or the imported material's state deleted, is refused at start:
/// the key's head names each version's state and binds its tags, schedules and import state.
/// With every row as the service left it, the key opens, and the imported material's expiry
/// (from its sealed version, not from a row's word for it) still holds after a restart.
#[test]
fn a_row_put_back_as_it_was_before_a_change_or_an_import_state_deleted_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::over(
        Box::new(SqliteStore::open(&dir.path().join("keys.db")).unwrap()),
        RootKey::load_or_create(&dir.path().join("root.key")).unwrap(),
        Arc::new(ManualClock::new(start())),
    );
    let (kms, admin) = (&fixture.kms, &fixture.admin);
    let expires = start() + std::time::Duration::from_secs(86_400);
    let import = |key: &str| keyward_kms::api::ImportKeyMaterialRequest {
        expiration_model: Some("KEY_MATERIAL_EXPIRES".into()),
        valid_to: Some(expires),
        ..import_request(kms, admin, key, &[7u8; 32])
    };
    let deleted = fixture.key(Kind::External, "");
    kms.import_key_material(admin, &import(&deleted)).unwrap();
    let expiring = fixture.key(Kind::External, "");
    kms.import_key_material(admin, &import(&expiring)).unwrap();
    let other = fixture.symmetric("");
    kms.tag_resource(admin, &tag(&other, "team", "payments"))
        .unwrap();
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let tagged = part_row(&db, "tags", &other, "team").unwrap();
    kms.untag_resource(
        admin,
        &keyward_kms::api::UntagResourceRequest {
            key_id: other.clone(),
            tag_keys: vec!["team".into()],
        },
    )
    .unwrap();
    kms.schedule_key_deletion(
        admin,
        &keyward_kms::api::ScheduleKeyDeletionRequest {
            key_id: other.clone(),
            pending_window_in_days: Some(7),
        },
    )
    .unwrap();
    let with_material = part_row(&db, "key_versions", &deleted, "1").unwrap();
    let scheduled = part_row(&db, "schedules", &other, "deletion").unwrap();
    kms.delete_imported_key_material(
        admin,
        &keyward_kms::api::DeleteImportedKeyMaterialRequest::new(&deleted),
    )
    .unwrap();
    kms.cancel_key_deletion(
        admin,
        &keyward_kms::api::CancelKeyDeletionRequest {
            key_id: other.clone(),
        },
    )
    .unwrap();
    drop(fixture);
    let import_state = part_row(&db, "imports", &expiring, "import").unwrap();
    for (table, key, name, put_back) in [
        ("key_versions", &deleted, "1", Some(&with_material)),
        ("tags", &other, "team", Some(&tagged)),
        ("schedules", &other, "deletion", Some(&scheduled)),
        ("imports", &expiring, "import", None),
    ] {
        let now = part_row(&db, table, key, name);
        assert_ne!(now.as_ref(), put_back, "{table} {name}");
        put_part_row(&db, table, key, name, put_back);
        let error = try_open(dir.path()).map(|_| ()).unwrap_err();
        assert!(error.to_string().contains(key.as_str()), "{table}: {error}");
        put_part_row(&db, table, key, name, now.as_ref());
    }
    assert!(part_row(&db, "imports", &expiring, "import") == Some(import_state));
    // As the service left them: they open, and the material expires when it was to.
    let later = Fixture::over(
        Box::new(SqliteStore::open(&dir.path().join("keys.db")).unwrap()),
        RootKey::load_or_create(&dir.path().join("root.key")).unwrap(),
        Arc::new(ManualClock::new(
            start() + std::time::Duration::from_secs(3 * 86_400),
        )),
    );
    assert_eq!(
        later.describe(&expiring).key_state,
        keyward_kms::api::KeyState::PendingImport
    );
    assert!(encrypt(&later.kms, &later.admin, &expiring, b"x", &[]).is_err());
}

/// A grant's row put back after RevokeGrant (its own tag still valid), or a grant's row
/// deleted, is refused at start: the key's head binds its grants' rows (their sum of keyed
/// terms, which the store never holds). Put as the service left them, the key opens and the
/// revoked grant allows nothing.
#[test]
fn a_revoked_grants_row_put_back_or_a_grants_row_deleted_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (key, ids) = key_with_grants(dir.path(), 3);
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let row_of = |grant_id: &str| -> (i64, String, Vec<u8>) {
        db.query_row(
            "SELECT stored, record, tag FROM grants WHERE key_id = ?1 AND grant_id = ?2",
            [&key, grant_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let put_back = |grant_id: &str, (stored, record, tag): &(i64, String, Vec<u8>)| {
        db.execute(
            "INSERT INTO grants (key_id, grant_id, stored, record, tag) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![key, grant_id, stored, record, tag],
        )
        .unwrap();
    };
    let delete = |grant_id: &str| {
        db.execute(
            "DELETE FROM grants WHERE key_id = ?1 AND grant_id = ?2",
            [&key, grant_id],
        )
        .unwrap();
    };
    let revoked = row_of(&ids[0]);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    open(dir.path())
        .revoke_grant(
            &admin,
            &RevokeGrantRequest {
                key_id: key.clone(),
                grant_id: ids[0].clone(),
                ..RevokeGrantRequest::default()
            },
        )
        .unwrap();
    put_back(&ids[0], &revoked);
    let error = try_open(dir.path()).map(|_| ()).unwrap_err();
    assert!(error.to_string().contains(&key), "{error}");
    delete(&ids[0]);
    let kept = row_of(&ids[1]);
    delete(&ids[1]);
    let error = try_open(dir.path()).map(|_| ()).unwrap_err();
    assert!(error.to_string().contains(&key), "{error}");
    put_back(&ids[1], &kept);
    let kms = open(dir.path());
    assert_eq!(grant_ids(&kms, &key), ids[1..]);
    let grantee = caller(&format!("{APP}0"), &[]);
    assert!(encrypt(&kms, &grantee, &key, b"payload", &[]).is_err());
}

/// A registered custom key store's row is tagged over its ID, record and Region: one changed,
/// or put in by hand, stops the service from opening, as any row does; one whose store needs
/// a PKCS#11 module the configuration does not name is refused, naming what to set.
#[test]
fn a_key_store_row_changed_or_without_its_module_stops_the_service_from_opening() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let db = Connection::open(dir.path().join("keys.db")).unwrap();
    let records = RootKey::load_or_create(&dir.path().join("root.key"))
        .unwrap()
        .record_key();
    let mut row = keyward_kms::store::KeyStoreRow {
        id: "cks-1234567890abcdef0".into(),
        record: r#"{"name":"hsm","token_label":"t","trust_anchor":"c","created":1,"connected":false,"pin":"AAAA"}"#.into(),
        tag: vec![0; 32],
    };
    db.execute(
        "INSERT INTO key_stores (id, record, tag) VALUES (?1, ?2, ?3)",
        rusqlite::params![row.id, row.record, row.tag],
    )
    .unwrap();
    let error = try_open(dir.path()).err().unwrap();
    assert!(
        matches!(&error, OpenError::Tampered { what } if what.contains("custom key store")),
        "{error}"
    );
    // Tagged as the service tags it: read, and refused for the module it needs.
    row.tag = records.tag(&row.fields("us-east-1"));
    db.execute(
        "UPDATE key_stores SET tag = ?1 WHERE id = ?2",
        rusqlite::params![row.tag, row.id],
    )
    .unwrap();
    let error = try_open(dir.path()).err().unwrap().to_string();
    assert!(error.contains("pkcs11_module"), "{error}");
}

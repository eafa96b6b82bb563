//! The PostgreSQL store against a real server: `KEYWARD_TEST_POSTGRES` names an admin URL
//! (`bash .ci/postgres start` prints it), through which each test makes a database of its
//! own and drops it after. Without it the tests say so and pass, except where
//! `KEYWARD_REQUIRE_POSTGRES=1` (CI), where they fail.

use crate::common::*;
use keyward_crypto::RootKey;
use keyward_kms::api::{CreateAliasRequest, DecryptRequest};
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::{
    AliasRecord, Change, GrantRow, KeyRecord, PartKind, PartRow, PostgresStore, Store, StoreError,
    StoreEvent, StoreLocation,
};
use keyward_kms::{Kms, KmsConfig, OpenError, Regions};
use std::sync::Arc;
use std::time::Duration;

/// A database of one test's, dropped with it.
pub(crate) struct TestDatabase {
    admin: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl TestDatabase {
    /// A new database, or `None` (the test to pass, said on stderr) when no server is given
    /// and none is required.
    pub(crate) fn create() -> Option<Self> {
        let Ok(admin) = std::env::var("KEYWARD_TEST_POSTGRES") else {
            assert!(
                std::env::var("KEYWARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "KEYWARD_REQUIRE_POSTGRES=1 and no KEYWARD_TEST_POSTGRES: start a server with `eval \"$(bash .ci/postgres start)\"`"
            );
            eprintln!(
                "skipped: no PostgreSQL (KEYWARD_TEST_POSTGRES unset; `eval \"$(bash .ci/postgres start)\"` starts one)"
            );
            return None;
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!(
            "keyward_test_{}_{}",
            std::process::id(),
            crate::store_conformance::next()
        );
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
        });
        Some(Self {
            admin,
            name,
            runtime,
        })
    }

    /// The database's URL.
    pub(crate) fn url(&self) -> String {
        match self.admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{}", self.name),
            None => panic!("KEYWARD_TEST_POSTGRES has no database: {}", self.admin),
        }
    }

    /// The first column (as text) of each row `sql` returns.
    pub(crate) fn query(&self, sql: &str) -> Vec<String> {
        let url = self.url();
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect()
        })
    }

    /// Runs SQL in the database, as its administrator would.
    pub(crate) fn execute(&self, sql: &str) {
        let url = self.url();
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        });
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        self.runtime.block_on(async move {
            if let Ok((client, connection)) =
                tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
            {
                tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        });
    }
}

/// The store of `region` in the database at `url`.
pub(crate) fn connect(url: &str, region: &str) -> PostgresStore {
    PostgresStore::connect(url, region).unwrap()
}

fn key(id: &str) -> KeyRecord {
    KeyRecord {
        id: id.into(),
        metadata: "{}".into(),
        sealed: vec![1],
        tag: vec![7; 32],
    }
}

#[test]
fn a_write_that_fails_leaves_nothing_of_itself() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let store = connect(&database.url(), "us-east-1");
    // PostgreSQL refuses a NUL in text: the second change fails, and the first with it.
    let error = store
        .apply(&[Change::PutKey(key("k1")), Change::PutKey(key("k\0"))])
        .unwrap_err();
    assert!(matches!(error, StoreError::Postgres { .. }), "{error}");
    assert!(store.load().unwrap().keys.is_empty());
}

#[test]
fn each_region_reads_only_its_own_rows() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let east = connect(&database.url(), "us-east-1");
    let west = connect(&database.url(), "us-west-2");
    let part = |kind: PartKind, name: &str, value: &str| PartRow {
        kind,
        key_id: "mrk-1".into(),
        name: name.into(),
        record: value.into(),
        tag: vec![3; 32],
    };
    // A key's parts of every kind: a tag, a version of its material, its import state.
    let parts = |region: &str| {
        vec![
            part(PartKind::Tag, "team", region),
            part(PartKind::Version, "1", region),
            part(PartKind::Import, "import", region),
        ]
    };
    let mut changes = vec![Change::PutKey(key("mrk-1"))];
    changes.extend(parts("east").into_iter().map(Change::PutPart));
    east.apply(&changes).unwrap();
    let mut changes = vec![Change::PutKey(key("mrk-1")), Change::PutKey(key("k2"))];
    changes.extend(parts("west").into_iter().map(Change::PutPart));
    west.apply(&changes).unwrap();
    assert_eq!(east.load().unwrap().keys, [key("mrk-1")]);
    assert_eq!(west.load().unwrap().keys.len(), 2);
    // The same key's parts, one per Region.
    assert_eq!(east.load().unwrap().parts, parts("east"));
    assert_eq!(
        east.load_key("mrk-1").unwrap().unwrap().parts,
        parts("east")
    );
    assert_eq!(
        west.load_key("mrk-1").unwrap().unwrap().parts,
        parts("west")
    );
    west.apply(&[Change::DeleteKey("mrk-1".into())]).unwrap();
    assert_eq!(east.load().unwrap().keys, [key("mrk-1")]);
    assert_eq!(east.load().unwrap().parts, parts("east"));
    assert!(west.load().unwrap().parts.is_empty());
}

#[test]
fn two_stores_on_one_region_both_write_and_each_hears_the_others_changes() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let (a, b) = (
        connect(&database.url(), "us-east-1"),
        connect(&database.url(), "us-east-1"),
    );
    let (heard_a, heard_b) = (a.changes().unwrap(), b.changes().unwrap());
    // Taken once.
    assert!(a.changes().is_none());
    let west = connect(&database.url(), "eu-west-1");
    let heard_west = west.changes().unwrap();
    a.apply(&[Change::PutKey(key("k1"))]).unwrap();
    let wait = Duration::from_secs(10);
    // Both hear it, the writer too, with the key's version after the write.
    for heard in [&heard_a, &heard_b] {
        assert_eq!(
            heard.recv_timeout(wait).unwrap(),
            StoreEvent::Key {
                id: "k1".into(),
                version: Some(1)
            }
        );
    }
    // A write guarded by the version it read: B's, read at 1, holds; A's, at 1 too, is
    // refused whole, its grant with it.
    b.apply(&[
        Change::Guard {
            key_id: "k1".into(),
            version: 1,
        },
        Change::PutKey(key("k1")),
    ])
    .unwrap();
    let error = a
        .apply(&[
            Change::Guard {
                key_id: "k1".into(),
                version: 1,
            },
            Change::PutGrant(grant_row("k1", "g1")),
        ])
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Conflict { key_id } if key_id == "k1"),
        "{error}"
    );
    assert!(b.load().unwrap().grants.is_empty());
    assert_eq!(
        heard_a.recv_timeout(wait).unwrap(),
        StoreEvent::Key {
            id: "k1".into(),
            version: Some(2)
        }
    );
    // An alias made once: the second maker, who saw none, is refused.
    let made = |store: &PostgresStore, target: &str| {
        store.apply(&[
            Change::AliasGuard {
                account: ACCOUNT.into(),
                name: "alias/a".into(),
                key_id: None,
            },
            Change::PutAlias(alias_row("alias/a", target)),
        ])
    };
    made(&a, "k1").unwrap();
    let error = made(&b, "k2").unwrap_err();
    assert!(
        matches!(&error, StoreError::AliasConflict { name, .. } if name == "alias/a"),
        "{error}"
    );
    assert_eq!(
        b.load_alias(ACCOUNT, "alias/a").unwrap().unwrap().key_id,
        "k1"
    );
    // Moved or deleted only from where the writer saw it.
    let moved = b.apply(&[
        Change::AliasGuard {
            account: ACCOUNT.into(),
            name: "alias/a".into(),
            key_id: Some("k2".into()),
        },
        Change::DeleteAlias {
            account: ACCOUNT.into(),
            name: "alias/a".into(),
        },
    ]);
    assert!(matches!(moved, Err(StoreError::AliasConflict { .. })));
    assert!(b.load_alias(ACCOUNT, "alias/a").unwrap().is_some());
    assert_eq!(
        heard_b.recv_timeout(wait).unwrap(),
        StoreEvent::Key {
            id: "k1".into(),
            version: Some(2)
        }
    );
    assert_eq!(
        heard_b.recv_timeout(wait).unwrap(),
        StoreEvent::Alias {
            account: ACCOUNT.into(),
            name: "alias/a".into()
        }
    );
    // Refused writes announce nothing; another Region's store hears nothing of this one.
    assert!(heard_b.recv_timeout(Duration::from_millis(200)).is_err());
    assert!(heard_west.try_recv().is_err());
    // A deleted key is announced without a version; its grant is found by its ID until then.
    a.apply(&[Change::PutGrant(grant_row("k1", "g1"))]).unwrap();
    assert_eq!(b.grant_owner("g1").unwrap().as_deref(), Some("k1"));
    a.apply(&[Change::DeleteKey("k1".into())]).unwrap();
    assert_eq!(b.grant_owner("g1").unwrap(), None);
    let last = std::iter::from_fn(|| heard_b.recv_timeout(Duration::from_millis(500)).ok())
        .last()
        .unwrap();
    assert_eq!(
        last,
        StoreEvent::Key {
            id: "k1".into(),
            version: None
        }
    );
}

fn grant_row(key_id: &str, grant_id: &str) -> GrantRow {
    GrantRow {
        key_id: key_id.into(),
        grant_id: grant_id.into(),
        record: "{}".into(),
        tag: vec![7; 32],
    }
}

fn alias_row(name: &str, key_id: &str) -> AliasRecord {
    AliasRecord {
        account: ACCOUNT.into(),
        name: name.into(),
        key_id: key_id.into(),
        created: 1,
        updated: 1,
        tag: vec![7; 32],
    }
}

#[test]
fn a_newer_schema_is_refused_and_the_migrations_run_once() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    drop(connect(&database.url(), "us-east-1"));
    // Opened again: the schema is there, and nothing is migrated twice.
    let store = connect(&database.url(), "us-east-1");
    store.apply(&[Change::PutKey(key("k1"))]).unwrap();
    drop(store);
    assert_eq!(
        connect(&database.url(), "us-east-1").load().unwrap().keys,
        [key("k1")]
    );
    database.execute("UPDATE keyward_schema SET version = 99");
    let error = PostgresStore::connect(&database.url(), "us-east-1").unwrap_err();
    assert!(
        matches!(error, StoreError::Format { found: 99, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("newer Keyward"), "{error}");
    assert!(!error.to_string().contains("password"), "{error}");
    // Refused the same way from inside a runtime, where `keyward serve` opens its stores
    // (the failed store's runtime may not be dropped the blocking way there).
    let inside = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = database.url();
    let error = inside
        .block_on(async move { PostgresStore::connect(&url, "us-east-1").map(drop) })
        .unwrap_err();
    assert!(matches!(error, StoreError::Format { .. }), "{error}");
}

#[test]
fn a_service_over_postgres_keeps_its_keys_grants_and_aliases_across_a_restart() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let open = || {
        let kms = Arc::new(
            Kms::open(
                KmsConfig::new("us-east-1", ACCOUNT),
                Box::new(connect(&database.url(), "us-east-1")),
                RootKey::load_or_create(&root.path().join("root.key")).unwrap(),
                Arc::new(NoAudit),
                Arc::new(SystemClock),
            )
            .unwrap(),
        );
        kms.follow().unwrap();
        kms
    };
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let kms = open();
    let key = default_key(&kms, &admin).key_id;
    let grant_id = kms
        .create_grant(&admin, &grant(&key, APP, &["Decrypt"]))
        .unwrap()
        .grant_id;
    kms.create_alias(
        &admin,
        &CreateAliasRequest {
            alias_name: "alias/payments".into(),
            target_key_id: key.clone(),
        },
    )
    .unwrap();
    let sealed = encrypt(&kms, &admin, "alias/payments", b"payload", &[])
        .unwrap()
        .ciphertext_blob;
    drop(kms);
    let kms = open();
    // The grantee decrypts through the grant, with the material unsealed from the database.
    let app = caller(APP, &[]);
    let plain = kms
        .decrypt(
            &app,
            &DecryptRequest {
                ciphertext_blob: sealed,
                ..DecryptRequest::default()
            },
        )
        .unwrap();
    assert_eq!(plain.plaintext.expose(), b"payload");
    assert_eq!(
        kms.list_grants(&admin, &grants_of(&key)).unwrap().grants[0].grant_id,
        grant_id
    );
    assert_eq!(
        all_aliases(&kms, &admin, Some(&key))[0]
            .target_key_id
            .as_deref(),
        Some(key.as_str())
    );
    // A row changed by the database's administrator is refused at start.
    drop(kms);
    database.execute("UPDATE grants SET record = replace(record, 'Decrypt', 'Encrypt')");
    let error = Kms::open(
        KmsConfig::new("us-east-1", ACCOUNT),
        Box::new(connect(&database.url(), "us-east-1")),
        RootKey::load_or_create(&root.path().join("root.key")).unwrap(),
        Arc::new(NoAudit),
        Arc::new(SystemClock),
    )
    .unwrap_err();
    assert!(error.to_string().contains(&grant_id), "{error}");
}

#[test]
fn regions_over_postgres_refuse_to_start_without_the_root_key_that_sealed_the_rows() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let store = StoreLocation::Postgres(database.url());
    let config = KmsConfig::new("us-east-1", ACCOUNT);
    let regions = ["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let first = tempfile::tempdir().unwrap();
    let audit = first.path().join("audit.jsonl");
    let opened = Regions::open_with(&config, &regions, first.path(), &audit, &store).unwrap();
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    // A key in the second Region only: the first Region's rows are none.
    let key = default_key(opened.get("eu-west-1").unwrap(), &admin).key_id;
    drop(opened);
    // Another data folder: no root key. Refused, naming the database (no password) and the
    // root key's path, rather than a new root key made that opens nothing.
    let elsewhere = tempfile::tempdir().unwrap();
    // Serving only the first Region, whose rows are none: the database's keys are still
    // rows this folder's root key would not open.
    let first_only = ["us-east-1".to_owned()];
    let error =
        Regions::open_with(&config, &first_only, elsewhere.path(), &audit, &store).unwrap_err();
    assert!(matches!(error, OpenError::MissingRootKey { .. }), "{error}");
    assert!(error.to_string().contains("root.key"), "{error}");
    assert!(!elsewhere.path().join("root.key").exists());
    // The same folder again: the key is there.
    let reopened = Regions::open_with(&config, &regions, first.path(), &audit, &store).unwrap();
    encrypt(
        reopened.get("eu-west-1").unwrap(),
        &admin,
        &key,
        b"payload",
        &[],
    )
    .unwrap();
}

#[test]
fn a_grant_row_copied_to_another_regions_copy_of_a_multi_region_key_is_refused() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let store = StoreLocation::Postgres(database.url());
    let config = KmsConfig::new("us-east-1", ACCOUNT);
    let regions = ["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let open = || Regions::open_with(&config, &regions, dir.path(), &audit, &store);
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let opened = open().unwrap();
    let east = opened.default_region();
    let key = east
        .create_key(
            &admin,
            &keyward_kms::api::CreateKeyRequest {
                multi_region: Some(true),
                ..keyward_kms::api::CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_metadata
        .key_id;
    east.replicate_key(
        &admin,
        &keyward_kms::api::ReplicateKeyRequest {
            key_id: key.clone(),
            replica_region: "eu-west-1".into(),
            ..keyward_kms::api::ReplicateKeyRequest::default()
        },
    )
    .unwrap();
    // A grant on the primary only.
    let grant_id = east
        .create_grant(&admin, &grant(&key, APP, &["Decrypt"]))
        .unwrap()
        .grant_id;
    let single = default_key(east, &admin).key_id;
    drop(opened);
    // The database's administrator copies it to the replica's rows: same key ID, valid tag
    // for the primary's Region.
    database.execute(
        "INSERT INTO grants (region, key_id, grant_id, record, tag)
         SELECT 'eu-west-1', key_id, grant_id, record, tag FROM grants WHERE region = 'us-east-1'",
    );
    let error = open().map(drop).unwrap_err();
    assert!(matches!(error, OpenError::Tampered { .. }), "{error}");
    assert!(error.to_string().contains(&grant_id), "{error}");
    // A single-Region key's row copied to another Region, without its schedules' rows
    // (which could not be copied: their tags name their Region): refused for them.
    database.execute(&format!(
        "DELETE FROM grants WHERE region = 'eu-west-1';
         INSERT INTO keys (region, id, metadata, sealed, tag)
         SELECT 'eu-west-1', id, metadata, sealed, tag FROM keys WHERE id = '{single}'"
    ));
    let error = open().map(drop).unwrap_err();
    assert!(matches!(error, OpenError::Tampered { .. }), "{error}");
    assert!(error.to_string().contains("schedules"), "{error}");
    // With them copied too: refused for them, their tags naming their own Region.
    database.execute(&format!(
        "INSERT INTO schedules (region, key_id, name, record, tag)
         SELECT 'eu-west-1', key_id, name, record, tag FROM schedules WHERE key_id = '{single}'"
    ));
    let error = open().map(drop).unwrap_err();
    assert!(matches!(error, OpenError::Tampered { .. }), "{error}");
    assert!(error.to_string().contains("schedule"), "{error}");
}

//! The PostgreSQL store against a real server: `KEYWARD_TEST_POSTGRES` names an admin URL
//! (`bash .ci/postgres start` prints it), through which each test makes a database of its
//! own and drops it after. Without it the tests say so and pass, except where
//! `KEYWARD_REQUIRE_POSTGRES=1` (CI), where they fail.

use crate::common::*;
use keyward_crypto::RootKey;
use keyward_kms::api::{CreateAliasRequest, DecryptRequest};
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::{Change, KeyRecord, PostgresStore, Store, StoreError, StoreLocation};
use keyward_kms::{Kms, KmsConfig, OpenError, Regions};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The store of `region` in the database at `url`, waited for while a store just dropped
/// still holds the Region (its session ends a moment after).
pub(crate) fn connect(url: &str, region: &str) -> PostgresStore {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match PostgresStore::connect(url, region) {
            Ok(store) => return store,
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
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
    east.apply(&[Change::PutKey(key("mrk-1"))]).unwrap();
    west.apply(&[Change::PutKey(key("mrk-1")), Change::PutKey(key("k2"))])
        .unwrap();
    assert_eq!(east.load().unwrap().keys, [key("mrk-1")]);
    assert_eq!(west.load().unwrap().keys.len(), 2);
    west.apply(&[Change::DeleteKey("mrk-1".into())]).unwrap();
    assert_eq!(east.load().unwrap().keys, [key("mrk-1")]);
}

#[test]
fn a_second_instance_on_a_region_is_refused_until_the_first_is_gone() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let first = connect(&database.url(), "us-east-1");
    let error = PostgresStore::connect(&database.url(), "us-east-1").unwrap_err();
    assert!(matches!(error, StoreError::InUse { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("another Keyward instance"), "{message}");
    assert!(!message.contains("password"), "{message}");
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
    assert!(matches!(error, StoreError::InUse { .. }), "{error}");
    drop(inside);
    // Another Region of the same database is free.
    drop(connect(&database.url(), "eu-west-1"));
    drop(first);
    drop(connect(&database.url(), "us-east-1"));
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
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        match PostgresStore::connect(&database.url(), "us-east-1") {
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(
        matches!(error, StoreError::Format { found: 99, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("newer Keyward"), "{error}");
}

#[test]
fn a_service_over_postgres_keeps_its_keys_grants_and_aliases_across_a_restart() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let open = || {
        Kms::open(
            KmsConfig::new("us-east-1", ACCOUNT),
            Box::new(connect(&database.url(), "us-east-1")),
            RootKey::load_or_create(&root.path().join("root.key")).unwrap(),
            Arc::new(NoAudit),
            Arc::new(SystemClock),
        )
        .unwrap()
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
    let deadline = Instant::now() + Duration::from_secs(10);
    // Serving only the first Region, whose rows are none: the database's keys are still
    // rows this folder's root key would not open.
    let first_only = ["us-east-1".to_owned()];
    let error = loop {
        match Regions::open_with(&config, &first_only, elsewhere.path(), &audit, &store) {
            Err(OpenError::Store(StoreError::InUse { .. })) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(matches!(error, OpenError::MissingRootKey { .. }), "{error}");
    assert!(error.to_string().contains("root.key"), "{error}");
    assert!(!elsewhere.path().join("root.key").exists());
    // The same folder again: the key is there.
    let reopened = loop {
        match Regions::open_with(&config, &regions, first.path(), &audit, &store) {
            Err(OpenError::Store(StoreError::InUse { .. })) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
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
    let open = || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Regions::open_with(&config, &regions, dir.path(), &audit, &store) {
                Err(OpenError::Store(StoreError::InUse { .. })) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other,
            }
        }
    };
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
    // A single-Region key's row copied to another Region: its record names its own.
    database.execute(&format!(
        "DELETE FROM grants WHERE region = 'eu-west-1';
         INSERT INTO keys (region, id, metadata, sealed, tag)
         SELECT 'eu-west-1', id, metadata, sealed, tag FROM keys WHERE id = '{single}'"
    ));
    let error = open().map(drop).unwrap_err();
    assert!(matches!(error, OpenError::Record { .. }), "{error}");
    assert!(error.to_string().contains("Region us-east-1"), "{error}");
}

/// WIP (multi-instance): two services on one database change the same key at once; the one
/// that writes second finds the key changed, reads it again and decides again: neither
/// change is lost (without the guard, B's key row, read before A's PutKeyPolicy, would put
/// the old policy back).
#[test]
fn two_instances_changing_one_key_lose_neither_change() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let open = || {
        Kms::open(
            KmsConfig::new("us-east-1", ACCOUNT),
            Box::new(PostgresStore::connect_shared(&database.url(), "us-east-1").unwrap()),
            RootKey::load_or_create(&root.path().join("root.key")).unwrap(),
            Arc::new(NoAudit),
            Arc::new(SystemClock),
        )
        .unwrap()
    };
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let key = default_key(&open(), &admin).key_id;
    let (a, b) = (open(), open());
    let policy = admin_policy(&format!(
        r#"{{"Sid":"FromA","Effect":"Allow","Principal":{{"AWS":"{APP}"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
    a.put_key_policy(
        &admin,
        &keyward_kms::api::PutKeyPolicyRequest {
            key_id: key.clone(),
            policy,
            ..Default::default()
        },
    )
    .unwrap();
    // B read the key before A's change: its write conflicts, and it retries on the key as
    // it is now.
    b.tag_resource(&admin, &tag(&key, "team", "payments"))
        .unwrap();
    let c = open();
    let stored = c
        .get_key_policy(
            &admin,
            &keyward_kms::api::GetKeyPolicyRequest {
                key_id: key.clone(),
                ..Default::default()
            },
        )
        .unwrap()
        .policy;
    assert!(stored.contains("FromA"), "{stored}");
    let tags = c
        .list_resource_tags(
            &admin,
            &keyward_kms::api::ListResourceTagsRequest::new(&key),
        )
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 1);
}

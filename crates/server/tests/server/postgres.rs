//! `keyward serve` over a PostgreSQL store (`store = "postgres://..."`): the boto3 suite, and
//! keys that outlive a restart of the server. A real server: `KEYWARD_TEST_POSTGRES` names an
//! admin URL (`bash .ci/postgres start` prints it), through which each test makes a database
//! of its own. Without it the tests say so and pass, except where `KEYWARD_REQUIRE_POSTGRES=1`
//! (CI), where they fail.

use crate::common::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A database of one test's, dropped with it.
pub(crate) struct TestDatabase {
    admin: String,
    name: String,
}

impl TestDatabase {
    fn admin(sql: &str, admin: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        });
    }

    /// A new database, or `None` when no server is given and none is required.
    pub(crate) fn create() -> Option<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let Ok(admin) = std::env::var("KEYWARD_TEST_POSTGRES") else {
            assert!(
                std::env::var("KEYWARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "KEYWARD_REQUIRE_POSTGRES=1 and no KEYWARD_TEST_POSTGRES: start a server with `eval \"$(bash .ci/postgres start)\"`"
            );
            eprintln!("SKIPPED: no PostgreSQL (KEYWARD_TEST_POSTGRES unset; see .ci/postgres)");
            return None;
        };
        let name = format!(
            "keyward_serve_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self::admin(&format!("CREATE DATABASE {name}"), &admin);
        Some(Self { admin, name })
    }

    /// The first column, as text, of each row `sql` returns in the database.
    pub(crate) fn query(&self, sql: &str) -> Vec<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = self.url();
        runtime.block_on(async {
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

    /// The database's URL.
    pub(crate) fn url(&self) -> String {
        let (server, _) = self.admin.rsplit_once('/').unwrap();
        format!("{server}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        Self::admin(
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            &self.admin,
        );
    }
}

#[test]
fn boto3_suite_over_postgres() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    crate::clients::run_suite_with("test_boto3", &format!("store = \"{}\"", database.url()));
}

#[test]
fn keys_grants_and_aliases_outlive_a_restart_over_postgres() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = format!("store = \"{}\"", database.url());
    let server = TestServer::start_configured(dir.path(), &settings);
    let key = server.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.ok(
        ADMIN,
        "CreateAlias",
        &json!({"AliasName": "alias/orders", "TargetKeyId": key}),
    );
    server.ok(
        ADMIN,
        "CreateGrant",
        &json!({"KeyId": key, "GranteePrincipal": ALICE.arn, "Operations": ["Decrypt"]}),
    );
    let blob = server.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": "alias/orders", "Plaintext": b64(b"order 1")}),
    )["CiphertextBlob"]
        .clone();
    server.stop().unwrap();
    // Nothing of the keys is in the data folder: only the root key.
    assert!(!dir.path().join("keys.db").exists());
    let server = TestServer::start_configured(dir.path(), &settings);
    let plain = server.ok(ALICE, "Decrypt", &json!({"CiphertextBlob": blob}));
    assert_eq!(unb64(&plain["Plaintext"]), b"order 1");
    let described = server.ok(ADMIN, "DescribeKey", &json!({"KeyId": "alias/orders"}));
    assert_eq!(described["KeyMetadata"]["KeyId"], key.as_str());
}

#[test]
fn with_audit_postgres_every_call_has_its_record_in_the_database_as_in_the_file() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = format!("store = \"{}\"\naudit = \"postgres\"", database.url());
    let server = TestServer::start_configured(dir.path(), &settings);
    let key = server.ok(ADMIN, "CreateKey", &json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.ok(
        ADMIN,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    let denied = server.call(
        ALICE,
        "Encrypt",
        &json!({"KeyId": key, "Plaintext": b64(b"x")}),
    );
    assert_eq!(denied.status, 400);
    server.stop().unwrap();
    let file: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let table: Vec<serde_json::Value> = database
        .query("SELECT record::text FROM audit")
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert_eq!(file.len(), 3);
    assert_eq!(table.len(), file.len());
    for record in &file {
        assert!(table.contains(record), "{record}");
    }
}

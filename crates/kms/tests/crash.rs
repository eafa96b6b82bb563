//! Committed changes survive a crash: a child process (this test binary, running the ignored
//! `writer` test) writes to a SQLite store as fast as it can and records, after each call
//! returns, what that call committed; the parent kills it with SIGKILL mid-run, reopens the
//! store, and checks that everything recorded is there and usable, that SQLite finds no
//! corruption, and that every stored key unseals. Three rounds on the same database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_crypto::RootKey;
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::model::*;
use keyward_kms::store::SqliteStore;
use keyward_kms::{Caller, Kms, KmsConfig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "arn:aws:iam::111122223333:role/Admin";
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
const DIR_VARIABLE: &str = "KEYWARD_CRASH_TEST_DIR";

fn open(dir: &Path) -> Kms {
    Kms::open(
        KmsConfig {
            region: "us-east-1".into(),
            account: "111122223333".into(),
        },
        Box::new(SqliteStore::open(&dir.join("keys.db")).unwrap()),
        RootKey::load_or_create(&dir.join("root.key")).unwrap(),
        Arc::new(NoAudit),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The child: creates keys, tags them, points aliases at them and encrypts under them, and
/// after each call returns appends (and fsyncs) a line saying what is now committed.
#[test]
#[ignore = "run by `committed_changes_survive_a_killed_writer` in a child process"]
fn writer() {
    let Ok(dir) = std::env::var(DIR_VARIABLE) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let kms = open(&dir);
    let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("committed.log"))
        .unwrap();
    let round = std::process::id();
    for i in 0.. {
        let key = kms
            .create_key(&admin, &CreateKeyRequest::default())
            .unwrap()
            .key_id;
        let tag = format!("{round}-{i}");
        kms.tag_resource(&admin, &key, &[("n".into(), tag.clone())])
            .unwrap();
        let alias = format!("alias/w{round}-{i}");
        kms.create_alias(&admin, &alias, &key).unwrap();
        let blob = kms
            .encrypt(
                &admin,
                &EncryptRequest {
                    key_id: alias.clone(),
                    plaintext: tag.as_bytes().to_vec(),
                    ..EncryptRequest::default()
                },
            )
            .unwrap()
            .ciphertext_blob;
        writeln!(log, "{key} {tag} {alias} {}", hex(&blob)).unwrap();
        log.sync_data().unwrap();
    }
}

fn committed(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("committed.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').count() == 4)
        .map(str::to_owned)
        .collect()
}

#[test]
fn committed_changes_survive_a_killed_writer() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = 0;
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer", "--ignored", "--test-threads=1"])
            .env(DIR_VARIABLE, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it commit a good number of calls, then kill it wherever it is.
        let deadline = Instant::now() + Duration::from_secs(120);
        while committed(dir.path()).len() < seen + 25 {
            assert!(
                Instant::now() < deadline,
                "round {round}: the writer made no progress"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the writer stopped by itself"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let lines = committed(dir.path());
        assert!(lines.len() >= seen + 25);
        seen = lines.len();

        // SQLite finds no corruption.
        let db = rusqlite::Connection::open(dir.path().join("keys.db")).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        drop(db);

        // Reopening unseals every stored key (Kms::open fails on any that does not), and
        // everything the writer recorded as committed is there.
        let kms = open(dir.path());
        let admin = Caller::new(ADMIN, &[ALLOW_ALL]).unwrap();
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            let (key, tag, alias, blob) = (parts[0], parts[1], parts[2], unhex(parts[3]));
            let tags = kms.list_resource_tags(&admin, key).unwrap();
            assert_eq!(tags, [("n".to_owned(), tag.to_owned())], "round {round}");
            let aliases = kms.list_aliases(&admin, Some(key)).unwrap();
            assert_eq!(aliases.len(), 1);
            assert_eq!(aliases[0].alias_name, alias);
            let plain = kms
                .decrypt(
                    &admin,
                    &DecryptRequest {
                        ciphertext_blob: blob,
                        ..DecryptRequest::default()
                    },
                )
                .unwrap();
            assert_eq!(plain.plaintext.expose(), tag.as_bytes());
        }
        // Keys the writer created but had not yet recorded may be there too (their call
        // committed before the kill); nothing else is.
        let keys = kms.list_keys(&admin).unwrap();
        assert!(keys.len() >= lines.len() && keys.len() <= lines.len() + 1 + round);
    }
}

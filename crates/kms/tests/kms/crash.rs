//! Committed changes survive a crash: a child process (this test binary, running the ignored
//! `writer` test) writes to a SQLite store as fast as it can and records, after each call
//! returns, what that call committed; the parent kills it with SIGKILL mid-run, reopens the
//! store, and checks that everything recorded is there and usable, that SQLite finds no
//! corruption, and that every stored key unseals. Three rounds on the same database, for the
//! SQLite store and for the PostgreSQL store (a real server, `crate::postgres`).

use crate::common::{
    ADMIN, ALLOW_ALL, APP, alias, all_aliases, all_keys, caller, config, decrypt, default_key,
    encrypt, grant, grants_of,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_crypto::RootKey;
use keyward_kms::Kms;
use keyward_kms::api::{ListResourceTagsRequest, Tag, TagResourceRequest};
use keyward_kms::audit::NoAudit;
use keyward_kms::clock::SystemClock;
use keyward_kms::store::{SqliteStore, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DIR_VARIABLE: &str = "KEYWARD_CRASH_TEST_DIR";
/// The PostgreSQL database the child writes to, when it is not the SQLite store.
const STORE_VARIABLE: &str = "KEYWARD_CRASH_TEST_STORE";
/// The child's test, by its path in this binary.
const WRITER: &str = "crash::writer";

fn open(dir: &Path, store: Option<&str>) -> Arc<Kms> {
    let store: Box<dyn Store> = match store {
        None => Box::new(SqliteStore::open(&dir.join("keys.db")).unwrap()),
        Some(url) => Box::new(crate::postgres::connect(url, "us-east-1")),
    };
    let kms = Arc::new(
        Kms::open(
            config(),
            store,
            RootKey::load_or_create(&dir.join("root.key")).unwrap(),
            Arc::new(NoAudit),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    kms.follow().unwrap();
    kms
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
    let store = std::env::var(STORE_VARIABLE).ok();
    let kms = open(&dir, store.as_deref());
    let admin = caller(ADMIN, &[ALLOW_ALL]);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("committed.log"))
        .unwrap();
    let round = std::process::id();
    for i in 0.. {
        let key = default_key(&kms, &admin).key_id;
        let tag = format!("{round}-{i}");
        kms.tag_resource(
            &admin,
            &TagResourceRequest {
                key_id: key.clone(),
                tags: vec![Tag::new("n", &tag)],
            },
        )
        .unwrap();
        let name = format!("alias/w{round}-{i}");
        kms.create_alias(&admin, &alias(&name, &key)).unwrap();
        let grant_id = kms
            .create_grant(&admin, &grant(&key, APP, &["Decrypt"]))
            .unwrap()
            .grant_id;
        let blob = encrypt(&kms, &admin, &name, tag.as_bytes(), &[])
            .unwrap()
            .ciphertext_blob;
        // One write, so that a kill leaves the line whole or absent.
        let line = format!("{key} {tag} {name} {grant_id} {}\n", STANDARD.encode(&blob));
        log.write_all(line.as_bytes()).unwrap();
        log.sync_data().unwrap();
    }
}

fn committed(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("committed.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').count() == 5)
        .map(str::to_owned)
        .collect()
}

#[test]
fn committed_changes_survive_a_killed_writer() {
    killed_writer_rounds(None);
}

#[test]
fn committed_changes_survive_a_killed_writer_on_postgres() {
    let Some(database) = crate::postgres::TestDatabase::create() else {
        return;
    };
    killed_writer_rounds(Some(&database.url()));
}

/// Three rounds of a writer killed mid-run over the store (`None`: SQLite in the folder).
fn killed_writer_rounds(store: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seen = 0;
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args(["--exact", WRITER, "--ignored", "--test-threads=1"])
            .env(DIR_VARIABLE, dir.path())
            .envs(store.map(|url| (STORE_VARIABLE, url)))
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
        if store.is_none() {
            let db = rusqlite::Connection::open(dir.path().join("keys.db")).unwrap();
            let check: String = db
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok", "round {round}");
        }

        // Reopening unseals every stored key (Kms::open fails on any that does not), and
        // everything the writer recorded as committed is there.
        let kms = open(dir.path(), store);
        let admin = caller(ADMIN, &[ALLOW_ALL]);
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            let (key, tag, name, grant_id) = (parts[0], parts[1], parts[2], parts[3]);
            let blob = STANDARD.decode(parts[4]).unwrap();
            let grants = kms.list_grants(&admin, &grants_of(key)).unwrap().grants;
            assert_eq!(grants.len(), 1, "round {round}");
            assert_eq!(grants[0].grant_id, grant_id, "round {round}");
            let tags = kms
                .list_resource_tags(&admin, &ListResourceTagsRequest::new(key))
                .unwrap()
                .tags;
            assert_eq!(tags, [Tag::new("n", tag)], "round {round}");
            let aliases = all_aliases(&kms, &admin, Some(key));
            assert_eq!(aliases.len(), 1);
            assert_eq!(aliases[0].alias_name, name);
            let plain = decrypt(&kms, &admin, &blob, &[]).unwrap();
            assert_eq!(plain.plaintext.expose(), tag.as_bytes());
        }
        // Keys the writer created but had not yet recorded may be there too (their call
        // committed before the kill); nothing else is.
        let keys = all_keys(&kms, &admin);
        assert!(keys.len() >= lines.len() && keys.len() <= lines.len() + 1 + round);
    }
}

//! One conformance suite for every store backend: what `apply` writes, `load` reads back
//! (after the store is opened again), row by row, with a key's grants in creation order. It
//! runs against the SQLite store and against PostgreSQL (a real server: `.ci/postgres`).

use keyward_kms::store::{
    AliasRecord, Change, GrantRow, KeyRecord, KeyStoreRow, PartKind, PartRow, Snapshot,
    SqliteStore, Store,
};
use std::sync::atomic::{AtomicUsize, Ordering};

fn key(id: &str, metadata: &str) -> KeyRecord {
    KeyRecord {
        id: id.into(),
        metadata: metadata.into(),
        sealed: vec![1, 2, 3, id.len() as u8],
        tag: vec![7; 32],
    }
}

fn grant(key_id: &str, grant_id: &str, record: &str) -> GrantRow {
    GrantRow {
        key_id: key_id.into(),
        grant_id: grant_id.into(),
        record: record.into(),
        tag: vec![8; 32],
    }
}

fn alias(account: &str, name: &str, key_id: &str, updated: u64) -> AliasRecord {
    AliasRecord {
        account: account.into(),
        name: name.into(),
        key_id: key_id.into(),
        created: 5,
        updated,
        tag: vec![9; 32],
    }
}

fn part(kind: PartKind, key_id: &str, name: &str, record: &str) -> PartRow {
    PartRow {
        kind,
        key_id: key_id.into(),
        name: name.into(),
        record: record.into(),
        tag: vec![5; 32],
    }
}

/// The suite: `open` opens the same store again each time it is called (the previous one
/// dropped first).
fn conformance(open: &dyn Fn() -> Box<dyn Store>) {
    let store = open();
    assert_eq!(
        store.load().unwrap(),
        Snapshot::default(),
        "a new store is empty"
    );
    // Grants stored out of their IDs' order: they come back in the order stored.
    store
        .apply(&[
            Change::PutKey(key("k1", "{\"v\":1}")),
            Change::PutKey(key("k2", "{}")),
            Change::PutGrant(grant("k1", "g3", "{\"n\":3}")),
            Change::PutGrant(grant("k1", "g1", "{\"n\":1}")),
            Change::PutAlias(alias("111122223333", "alias/a", "k1", 5)),
            Change::PutAlias(alias("444455556666", "alias/a", "k2", 5)),
            Change::PutPart(part(PartKind::Tag, "k1", "team", "payments")),
            Change::PutPart(part(PartKind::Schedule, "k1", "rotation", "{}")),
            Change::PutPart(part(PartKind::Tag, "k2", "team", "orders")),
            Change::PutPart(part(PartKind::Version, "k1", "1", "b25l")),
            Change::PutPart(part(PartKind::Version, "k1", "2", "dHdv")),
            Change::PutPart(part(PartKind::Import, "k1", "import", "{}")),
        ])
        .unwrap();
    store
        .apply(&[
            Change::PutGrant(grant("k1", "g2", "{\"n\":2}")),
            Change::PutGrant(grant("k2", "g0", "{\"n\":0}")),
        ])
        .unwrap();
    drop(store);
    let store = open();
    assert_eq!(
        store.load().unwrap(),
        Snapshot {
            keys: vec![key("k1", "{\"v\":1}"), key("k2", "{}")],
            grants: vec![
                grant("k1", "g3", "{\"n\":3}"),
                grant("k1", "g1", "{\"n\":1}"),
                grant("k1", "g2", "{\"n\":2}"),
                grant("k2", "g0", "{\"n\":0}"),
            ],
            aliases: vec![
                alias("111122223333", "alias/a", "k1", 5),
                alias("444455556666", "alias/a", "k2", 5),
            ],
            parts: vec![
                part(PartKind::Tag, "k1", "team", "payments"),
                part(PartKind::Tag, "k2", "team", "orders"),
                part(PartKind::Schedule, "k1", "rotation", "{}"),
                part(PartKind::Version, "k1", "1", "b25l"),
                part(PartKind::Version, "k1", "2", "dHdv"),
                part(PartKind::Import, "k1", "import", "{}"),
            ],
            key_stores: Vec::new(),
        }
    );
    // A part replaced in place, one deleted: each in its kind's table.
    store
        .apply(&[
            Change::PutPart(part(PartKind::Tag, "k1", "team", "billing")),
            Change::DeletePart {
                kind: PartKind::Tag,
                key_id: "k2".into(),
                name: "team".into(),
            },
            // Another kind's part of the same name is another row.
            Change::DeletePart {
                kind: PartKind::Schedule,
                key_id: "k1".into(),
                name: "team".into(),
            },
            Change::DeletePart {
                kind: PartKind::Version,
                key_id: "k1".into(),
                name: "2".into(),
            },
            Change::PutPart(part(PartKind::Import, "k1", "import", "{\"m\":1}")),
        ])
        .unwrap();
    assert_eq!(
        store.load().unwrap().parts,
        [
            part(PartKind::Tag, "k1", "team", "billing"),
            part(PartKind::Schedule, "k1", "rotation", "{}"),
            part(PartKind::Version, "k1", "1", "b25l"),
            part(PartKind::Import, "k1", "import", "{\"m\":1}"),
        ]
    );
    // Rows replaced in place: a grant keeps its place, a key and an alias their rows.
    store
        .apply(&[
            Change::PutGrant(grant("k1", "g3", "{\"n\":33}")),
            Change::PutKey(key("k1", "{\"v\":2}")),
            Change::PutAlias(alias("111122223333", "alias/a", "k2", 6)),
        ])
        .unwrap();
    let snapshot = store.load().unwrap();
    assert_eq!(snapshot.keys[0], key("k1", "{\"v\":2}"));
    assert_eq!(
        snapshot.grants[..3],
        [
            grant("k1", "g3", "{\"n\":33}"),
            grant("k1", "g1", "{\"n\":1}"),
            grant("k1", "g2", "{\"n\":2}"),
        ]
    );
    assert_eq!(
        snapshot.aliases[0],
        alias("111122223333", "alias/a", "k2", 6)
    );
    // Deleting a grant, then a key with its grants, then the aliases.
    store
        .apply(&[Change::DeleteGrant {
            key_id: "k1".into(),
            grant_id: "g1".into(),
        }])
        .unwrap();
    assert_eq!(
        store.load().unwrap().grants,
        [
            grant("k1", "g3", "{\"n\":33}"),
            grant("k1", "g2", "{\"n\":2}"),
            grant("k2", "g0", "{\"n\":0}"),
        ]
    );
    store.apply(&[Change::DeleteKey("k1".into())]).unwrap();
    store
        .apply(&[
            Change::DeleteAlias {
                account: "111122223333".into(),
                name: "alias/a".into(),
            },
            Change::DeleteAlias {
                account: "444455556666".into(),
                name: "alias/a".into(),
            },
        ])
        .unwrap();
    drop(store);
    assert_eq!(
        open().load().unwrap(),
        Snapshot {
            keys: vec![key("k2", "{}")],
            grants: vec![grant("k2", "g0", "{\"n\":0}")],
            aliases: Vec::new(),
            // k1's went with it.
            parts: Vec::new(),
            key_stores: Vec::new(),
        }
    );
    // Custom key stores registered at run time: put, replaced, deleted, read back by ID.
    let store = open();
    store
        .apply(&[
            Change::PutKeyStore(key_store("cks-bbbbbbbbbbbbbbbbb", "{\"n\":1}")),
            Change::PutKeyStore(key_store("cks-aaaaaaaaaaaaaaaaa", "{\"n\":2}")),
            Change::PutKeyStore(key_store("cks-ccccccccccccccccc", "{\"n\":3}")),
        ])
        .unwrap();
    store
        .apply(&[
            Change::PutKeyStore(key_store("cks-bbbbbbbbbbbbbbbbb", "{\"n\":4}")),
            Change::DeleteKeyStore("cks-ccccccccccccccccc".into()),
        ])
        .unwrap();
    drop(store);
    assert_eq!(
        open().load().unwrap().key_stores,
        vec![
            key_store("cks-aaaaaaaaaaaaaaaaa", "{\"n\":2}"),
            key_store("cks-bbbbbbbbbbbbbbbbb", "{\"n\":4}"),
        ]
    );
}

fn key_store(id: &str, record: &str) -> KeyStoreRow {
    KeyStoreRow {
        id: id.into(),
        record: record.into(),
        tag: vec![4; 32],
    }
}

#[test]
fn the_sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    conformance(&|| Box::new(SqliteStore::open(&path).unwrap()));
}

#[test]
fn the_postgres_store_conforms() {
    let Some(database) = crate::postgres::TestDatabase::create() else {
        return;
    };
    let url = database.url();
    conformance(&|| Box::new(crate::postgres::connect(&url, "us-east-1")));
}

/// A counter for names unique within the test binary.
pub(crate) fn next() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

//! The embedded SQLite store (`rusqlite`, bundled SQLite): write-ahead log, `synchronous =
//! FULL`, one transaction per call, so a committed call survives a crash or power loss.
//!
//! The database file and its `-wal` and `-shm` companions are readable by their owner only
//! (`0600`; SQLite gives the companions the database file's mode), and a symbolic link in the
//! database's place is refused. The format is versioned (`PRAGMA user_version`): a database of
//! another format is refused with what to do, never read as if it were this one; a database of
//! an earlier format that this one extends is migrated, in one transaction, when opened.

use super::{
    AliasRecord, Change, GrantRow, KeyRecord, KeyStoreRow, PartKind, PartRow, Snapshot, Store,
    StoreError,
};
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::Mutex;

/// The format this store writes: 5 adds the custom key stores registered at run time
/// (`key_stores`); 4 gives each tag, each schedule (rotation, deletion) and each
/// version of material of a key a row of its own (`tags`, `schedules`, `key_versions`); 3 did
/// so for grants (`grants`). Format 2 added
/// the integrity tag of every row and made alias names per account; format 1, before it, had
/// neither.
pub(super) const FORMAT: i64 = 5;

/// The tables of a key's parts (format 4).
const PART_TABLES: &str = "CREATE TABLE tags (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    tag BLOB NOT NULL,
    PRIMARY KEY (key_id, name)
);
CREATE TABLE schedules (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    tag BLOB NOT NULL,
    PRIMARY KEY (key_id, name)
);
CREATE TABLE key_versions (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    tag BLOB NOT NULL,
    PRIMARY KEY (key_id, name)
);
CREATE TABLE imports (
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    tag BLOB NOT NULL,
    PRIMARY KEY (key_id, name)
);";

/// The table of parts of `kind`.
fn part_table(kind: PartKind) -> &'static str {
    match kind {
        PartKind::Tag => "tags",
        PartKind::Schedule => "schedules",
        PartKind::Version => "key_versions",
        PartKind::Import => "imports",
    }
}

/// The grants table (format 3). `stored` numbers rows in the order they were first written
/// (a row updated keeps its number; a `VACUUM`, which may renumber `rowid`s, leaves it), so
/// reading in its order gives a key's grants in creation order.
/// The custom key stores registered at run time (format 5).
const KEY_STORES_TABLE: &str = "CREATE TABLE key_stores (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    tag BLOB NOT NULL
);";

const GRANTS_TABLE: &str = "CREATE TABLE grants (
    key_id TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    stored INTEGER NOT NULL,
    record TEXT NOT NULL,
    tag BLOB NOT NULL,
    PRIMARY KEY (key_id, grant_id)
);";

/// Keys and aliases in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

fn error(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        context: context.to_owned(),
        source,
    }
}

/// Makes `path` (if it exists) readable and writable by its owner only.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(
                "is a symbolic link; the store opens only a regular file it can vouch for",
            ),
        }),
        Ok(meta) if meta.permissions().mode() & 0o777 != 0o600 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |source| StoreError::Io {
                    path: path.display().to_string(),
                    source,
                },
            )
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// Creates `path` empty with mode `0600` when it does not exist, so SQLite never creates it
/// with the process's default mode.
fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, owner-only, in this store's format.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        create_owner_only(path)?;
        for file in [
            path.to_path_buf(),
            path.with_extension("db-wal"),
            path.with_extension("db-shm"),
        ] {
            owner_only(&file)?;
        }
        let connection = Connection::open(path).map_err(error(&shown))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(error(&shown))?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(error(&shown))?;
        let has_tables: bool = connection
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keys')",
                [],
                |row| row.get(0),
            )
            .map_err(error(&shown))?;
        match (version, has_tables) {
            (0, false) => connection
                .execute_batch(&format!(
                    "BEGIN;
                     CREATE TABLE keys (
                         id TEXT PRIMARY KEY,
                         metadata TEXT NOT NULL,
                         sealed BLOB NOT NULL,
                         tag BLOB NOT NULL
                     );
                     CREATE TABLE aliases (
                         account TEXT NOT NULL,
                         name TEXT NOT NULL,
                         key_id TEXT NOT NULL,
                         created INTEGER NOT NULL,
                         updated INTEGER NOT NULL,
                         tag BLOB NOT NULL,
                         PRIMARY KEY (account, name)
                     );
                     {GRANTS_TABLE}
                     {PART_TABLES}
                     {KEY_STORES_TABLE}
                     PRAGMA user_version = {FORMAT};
                     COMMIT;"
                ))
                .map_err(error(&shown))?,
            (FORMAT, _) => {}
            // Format 4 has no table of custom key stores.
            (4, true) => connection
                .execute_batch(&format!(
                    "BEGIN;
                     {KEY_STORES_TABLE}
                     PRAGMA user_version = {FORMAT};
                     COMMIT;"
                ))
                .map_err(error(&shown))?,
            // Format 3 keeps a key's tags and schedules in its metadata and its material in its
            // row: their tables are added here, and the service moves them into rows when it
            // opens.
            (3, true) => connection
                .execute_batch(&format!(
                    "BEGIN;
                     {PART_TABLES}
                     {KEY_STORES_TABLE}
                     PRAGMA user_version = {FORMAT};
                     COMMIT;"
                ))
                .map_err(error(&shown))?,
            // Format 2 keeps a key's grants in its metadata: the grants table is added here,
            // and the service moves each key's grants into it when it opens (their rows
            // tagged, the key's row rewritten without them, in one transaction).
            (2, true) => connection
                .execute_batch(&format!(
                    "BEGIN;
                     {GRANTS_TABLE}
                     {PART_TABLES}
                     {KEY_STORES_TABLE}
                     PRAGMA user_version = {FORMAT};
                     COMMIT;"
                ))
                .map_err(error(&shown))?,
            (0, true) => {
                return Err(StoreError::Format {
                    path: shown,
                    found: 1,
                    expected: FORMAT,
                    advice: "it was written by an earlier Keyward, whose rows carry no integrity tag, so nothing proves they were not changed; move keys.db (with its -wal and -shm files) aside to start with an empty store",
                });
            }
            (found, _) => {
                return Err(StoreError::Format {
                    path: shown,
                    found,
                    expected: FORMAT,
                    advice: if found > FORMAT {
                        "it was written by a newer Keyward; run that version"
                    } else {
                        "this format is not one Keyward wrote"
                    },
                });
            }
        }
        // SQLite created the companions (on the first write) with the database's mode; make
        // sure of it for ones left by an earlier run.
        for file in [path.with_extension("db-wal"), path.with_extension("db-shm")] {
            owner_only(&file)?;
        }
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let connection = self.connection.lock().map_err(|_| StoreError::Poisoned)?;
        let mut keys = Vec::new();
        let mut statement = connection
            .prepare("SELECT id, metadata, sealed, tag FROM keys ORDER BY id")
            .map_err(error("reading keys"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(KeyRecord {
                    id: row.get(0)?,
                    metadata: row.get(1)?,
                    sealed: row.get(2)?,
                    tag: row.get(3)?,
                })
            })
            .map_err(error("reading keys"))?;
        for row in rows {
            keys.push(row.map_err(error("reading keys"))?);
        }
        let mut aliases = Vec::new();
        let mut statement = connection
            .prepare(
                "SELECT account, name, key_id, created, updated, tag FROM aliases ORDER BY account, name",
            )
            .map_err(error("reading aliases"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(AliasRecord {
                    account: row.get(0)?,
                    name: row.get(1)?,
                    key_id: row.get(2)?,
                    created: to_u64(row.get(3)?),
                    updated: to_u64(row.get(4)?),
                    tag: row.get(5)?,
                })
            })
            .map_err(error("reading aliases"))?;
        for row in rows {
            aliases.push(row.map_err(error("reading aliases"))?);
        }
        let mut grants = Vec::new();
        let mut statement = connection
            .prepare("SELECT key_id, grant_id, record, tag FROM grants ORDER BY key_id, stored")
            .map_err(error("reading grants"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(GrantRow {
                    key_id: row.get(0)?,
                    grant_id: row.get(1)?,
                    record: row.get(2)?,
                    tag: row.get(3)?,
                })
            })
            .map_err(error("reading grants"))?;
        for row in rows {
            grants.push(row.map_err(error("reading grants"))?);
        }
        let mut parts = Vec::new();
        for kind in [
            PartKind::Tag,
            PartKind::Schedule,
            PartKind::Version,
            PartKind::Import,
        ] {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT key_id, name, record, tag FROM {} ORDER BY key_id, name",
                    part_table(kind)
                ))
                .map_err(error("reading a key's parts"))?;
            let rows = statement
                .query_map([], |row| {
                    Ok(PartRow {
                        kind,
                        key_id: row.get(0)?,
                        name: row.get(1)?,
                        record: row.get(2)?,
                        tag: row.get(3)?,
                    })
                })
                .map_err(error("reading a key's parts"))?;
            for row in rows {
                parts.push(row.map_err(error("reading a key's parts"))?);
            }
        }
        let mut key_stores = Vec::new();
        let mut statement = connection
            .prepare("SELECT id, record, tag FROM key_stores ORDER BY id")
            .map_err(error("reading the custom key stores"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(KeyStoreRow {
                    id: row.get(0)?,
                    record: row.get(1)?,
                    tag: row.get(2)?,
                })
            })
            .map_err(error("reading the custom key stores"))?;
        for row in rows {
            key_stores.push(row.map_err(error("reading the custom key stores"))?);
        }
        drop(statement);
        Ok(Snapshot {
            keys,
            grants,
            aliases,
            parts,
            key_stores,
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut connection = self.connection.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = connection.transaction().map_err(error("begin"))?;
        for change in changes {
            match change {
                Change::PutKey(k) => tx.execute(
                    "INSERT INTO keys (id, metadata, sealed, tag) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET metadata = excluded.metadata,
                         sealed = excluded.sealed, tag = excluded.tag",
                    params![k.id, k.metadata, k.sealed, k.tag],
                ),
                Change::DeleteKey(id) => tx
                    .execute("DELETE FROM grants WHERE key_id = ?1", params![id])
                    .and_then(|_| tx.execute("DELETE FROM tags WHERE key_id = ?1", params![id]))
                    .and_then(|_| {
                        tx.execute("DELETE FROM schedules WHERE key_id = ?1", params![id])
                    })
                    .and_then(|_| {
                        tx.execute("DELETE FROM key_versions WHERE key_id = ?1", params![id])
                    })
                    .and_then(|_| tx.execute("DELETE FROM imports WHERE key_id = ?1", params![id]))
                    .and_then(|_| tx.execute("DELETE FROM keys WHERE id = ?1", params![id])),
                Change::PutPart(p) => tx.execute(
                    &format!(
                        "INSERT INTO {} (key_id, name, record, tag) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(key_id, name) DO UPDATE SET record = excluded.record,
                             tag = excluded.tag",
                        part_table(p.kind)
                    ),
                    params![p.key_id, p.name, p.record, p.tag],
                ),
                Change::DeletePart { kind, key_id, name } => tx.execute(
                    &format!(
                        "DELETE FROM {} WHERE key_id = ?1 AND name = ?2",
                        part_table(*kind)
                    ),
                    params![key_id, name],
                ),
                Change::PutGrant(g) => tx.execute(
                    "INSERT INTO grants (key_id, grant_id, stored, record, tag)
                     VALUES (?1, ?2, (SELECT COALESCE(MAX(stored), 0) + 1 FROM grants), ?3, ?4)
                     ON CONFLICT(key_id, grant_id) DO UPDATE SET record = excluded.record,
                         tag = excluded.tag",
                    params![g.key_id, g.grant_id, g.record, g.tag],
                ),
                // One instance: nothing else writes; no audit table.
                Change::Guard { .. } | Change::AliasGuard { .. } | Change::Audit { .. } => Ok(0),
                Change::DeleteGrant { key_id, grant_id } => tx.execute(
                    "DELETE FROM grants WHERE key_id = ?1 AND grant_id = ?2",
                    params![key_id, grant_id],
                ),
                Change::PutKeyStore(k) => tx.execute(
                    "INSERT INTO key_stores (id, record, tag) VALUES (?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET record = excluded.record, tag = excluded.tag",
                    params![k.id, k.record, k.tag],
                ),
                Change::DeleteKeyStore(id) => {
                    tx.execute("DELETE FROM key_stores WHERE id = ?1", params![id])
                }
                Change::PutAlias(a) => tx.execute(
                    "INSERT INTO aliases (account, name, key_id, created, updated, tag)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(account, name) DO UPDATE SET key_id = excluded.key_id,
                         updated = excluded.updated, tag = excluded.tag",
                    params![
                        a.account,
                        a.name,
                        a.key_id,
                        to_i64(a.created),
                        to_i64(a.updated),
                        a.tag
                    ],
                ),
                Change::DeleteAlias { account, name } => tx.execute(
                    "DELETE FROM aliases WHERE account = ?1 AND name = ?2",
                    params![account, name],
                ),
            }
            .map_err(error("write"))?;
        }
        tx.commit().map_err(error("commit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias() -> AliasRecord {
        AliasRecord {
            account: "111122223333".into(),
            name: "alias/a".into(),
            key_id: "k1".into(),
            created: 5,
            updated: 5,
            tag: vec![9; 32],
        }
    }

    #[test]
    fn sqlite_store_applies_changes_atomically_and_reloads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let store = SqliteStore::open(&path).unwrap();
        let key = KeyRecord {
            id: "k1".into(),
            metadata: "{}".into(),
            sealed: vec![1, 2, 3],
            tag: vec![7; 32],
        };
        let other_account = AliasRecord {
            account: "444455556666".into(),
            ..alias()
        };
        store
            .apply(&[
                Change::PutKey(key.clone()),
                Change::PutAlias(alias()),
                Change::PutAlias(other_account.clone()),
            ])
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        let snapshot = reopened.load().unwrap();
        assert_eq!(snapshot.keys, vec![key]);
        assert_eq!(
            snapshot.aliases,
            vec![alias(), other_account],
            "the same alias name in two accounts"
        );
        reopened
            .apply(&[
                Change::DeleteAlias {
                    account: "111122223333".into(),
                    name: "alias/a".into(),
                },
                Change::DeleteAlias {
                    account: "444455556666".into(),
                    name: "alias/a".into(),
                },
                Change::DeleteKey("k1".into()),
            ])
            .unwrap();
        assert_eq!(reopened.load().unwrap(), Snapshot::default());
    }

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_companions_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let store = SqliteStore::open(&path).unwrap();
        store.apply(&[Change::PutAlias(alias())]).unwrap();
        for file in ["keys.db", "keys.db-wal", "keys.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
        }
        drop(store);
        // A database left world-readable by an earlier run is closed down when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(SqliteStore::open(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_in_place_of_the_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.db");
        std::fs::write(&target, b"").unwrap();
        let path = dir.path().join("keys.db");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let error = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
    }

    #[test]
    fn a_database_of_another_format_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        {
            let legacy = Connection::open(&path).unwrap();
            legacy
                .execute_batch(
                    "CREATE TABLE keys (id TEXT PRIMARY KEY, metadata TEXT NOT NULL, sealed BLOB NOT NULL);",
                )
                .unwrap();
        }
        let error = SqliteStore::open(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::Format { found: 1, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("move keys.db"), "{error}");
        let newer = dir.path().join("newer.db");
        Connection::open(&newer)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        let error = SqliteStore::open(&newer).unwrap_err();
        assert!(error.to_string().contains("newer Keyward"), "{error}");
    }
}

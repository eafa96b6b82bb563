//! The embedded SQLite store (`rusqlite`, bundled SQLite): write-ahead log, `synchronous =
//! FULL`, one transaction per call, so a committed call survives a crash or power loss.

use super::{AliasRecord, Change, KeyRecord, Snapshot, Store, StoreError};
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::Mutex;

/// Keys and aliases in one SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

fn error(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError(format!("{context}: {e}"))
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let connection = Connection::open(path).map_err(error(&shown))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 CREATE TABLE IF NOT EXISTS keys (
                     id TEXT PRIMARY KEY,
                     metadata TEXT NOT NULL,
                     sealed BLOB NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS aliases (
                     name TEXT PRIMARY KEY,
                     key_id TEXT NOT NULL,
                     created INTEGER NOT NULL,
                     updated INTEGER NOT NULL
                 );",
            )
            .map_err(error(&shown))?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| StoreError("sqlite lock poisoned".into()))?;
        let mut keys = Vec::new();
        let mut statement = connection
            .prepare("SELECT id, metadata, sealed FROM keys ORDER BY id")
            .map_err(error("reading keys"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(KeyRecord {
                    id: row.get(0)?,
                    metadata: row.get(1)?,
                    sealed: row.get(2)?,
                })
            })
            .map_err(error("reading keys"))?;
        for row in rows {
            keys.push(row.map_err(error("reading keys"))?);
        }
        let mut aliases = Vec::new();
        let mut statement = connection
            .prepare("SELECT name, key_id, created, updated FROM aliases ORDER BY name")
            .map_err(error("reading aliases"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(AliasRecord {
                    name: row.get(0)?,
                    key_id: row.get(1)?,
                    created: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                    updated: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                })
            })
            .map_err(error("reading aliases"))?;
        for row in rows {
            aliases.push(row.map_err(error("reading aliases"))?);
        }
        Ok(Snapshot { keys, aliases })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| StoreError("sqlite lock poisoned".into()))?;
        let tx = connection.transaction().map_err(error("begin"))?;
        for change in changes {
            match change {
                Change::PutKey(k) => tx.execute(
                    "INSERT INTO keys (id, metadata, sealed) VALUES (?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET metadata = excluded.metadata, sealed = excluded.sealed",
                    params![k.id, k.metadata, k.sealed],
                ),
                Change::DeleteKey(id) => tx.execute("DELETE FROM keys WHERE id = ?1", params![id]),
                Change::PutAlias(a) => tx.execute(
                    "INSERT INTO aliases (name, key_id, created, updated) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(name) DO UPDATE SET key_id = excluded.key_id, updated = excluded.updated",
                    params![
                        a.name,
                        a.key_id,
                        i64::try_from(a.created).unwrap_or(i64::MAX),
                        i64::try_from(a.updated).unwrap_or(i64::MAX)
                    ],
                ),
                Change::DeleteAlias(name) => {
                    tx.execute("DELETE FROM aliases WHERE name = ?1", params![name])
                }
            }
            .map_err(error("write"))?;
        }
        tx.commit().map_err(error("commit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_store_applies_changes_atomically_and_reloads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let store = SqliteStore::open(&path).unwrap();
        let key = KeyRecord {
            id: "k1".into(),
            metadata: "{}".into(),
            sealed: vec![1, 2, 3],
        };
        let alias = AliasRecord {
            name: "alias/a".into(),
            key_id: "k1".into(),
            created: 5,
            updated: 5,
        };
        store
            .apply(&[Change::PutKey(key.clone()), Change::PutAlias(alias.clone())])
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        let snapshot = reopened.load().unwrap();
        assert_eq!(snapshot.keys, vec![key]);
        assert_eq!(snapshot.aliases, vec![alias]);
        reopened
            .apply(&[
                Change::DeleteAlias("alias/a".into()),
                Change::DeleteKey("k1".into()),
            ])
            .unwrap();
        assert_eq!(reopened.load().unwrap(), Snapshot::default());
    }
}

//! The PostgreSQL store (`tokio-postgres` with a `deadpool` pool): the same rows as the SQLite
//! store, sealed and tagged by the service in the same way, one transaction per call, in tables
//! shared by every Region (each row names its Region).
//!
//! The client is asynchronous and runs on a small runtime of the store's own: the service calls
//! the store from its own threads (never from a server's async workers, which hand writes to
//! blocking threads), and each call waits for its answer from that runtime.
//!
//! The schema is versioned (`keyward_schema`): the migrations this Keyward knows run at start,
//! in one transaction under an advisory lock, and a database of a newer schema is refused.
//! Until instances share a database with their caches kept consistent, one instance serves a
//! Region of a database: a session advisory lock per Region, held while the store is open,
//! refuses a second one with what to do.

use super::{AliasRecord, Change, GrantRow, KeyRecord, Snapshot, Store, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

/// The schema version this store writes.
pub(super) const SCHEMA: i32 = 2;

/// The migrations, in order: step `n` takes the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE keys (
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        metadata TEXT NOT NULL,
        sealed BYTEA NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, id)
    );
    CREATE TABLE grants (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        stored BIGSERIAL NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, key_id, grant_id)
    );
    CREATE TABLE aliases (
        region TEXT NOT NULL,
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        key_id TEXT NOT NULL,
        created BIGINT NOT NULL,
        updated BIGINT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, account, name)
    );",
    // 2: each key's version, the count of writes to it, which every write checks and moves.
    "ALTER TABLE keys ADD COLUMN version BIGINT NOT NULL DEFAULT 0;",
];

/// The advisory locks' class (`KW`): the migrations' transaction lock, and with a Region's
/// hash, the lock of the instance serving the Region.
const LOCK_CLASS: i32 = 0x4b57;

/// The most connections the pool keeps.
const POOL_SIZE: usize = 8;

/// How long connecting, waiting for a pooled connection, and any one statement may take:
/// a database that stops answering fails the call (and releases the locks it holds) rather
/// than hanging every call behind it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a call waits for the store's answer (a transaction's statements, each under
/// the server's `statement_timeout` of [`CONNECT_TIMEOUT`]).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The store's runtime, shut down in the background when dropped: a runtime may not be
/// dropped the ordinary way where blocking is not allowed (inside a server's runtime, where
/// `keyward serve` opens its stores), on a failed connect as on a store's end.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Keys, grants and aliases of one Region in a PostgreSQL database.
pub struct PostgresStore {
    /// Runs the client.
    runtime: OwnRuntime,
    pool: Pool,
    /// Set when the session holding the Region's instance lock ended (a database restart, a
    /// network failure): the lock is gone, another instance may have taken the Region, so
    /// every write is refused from then on.
    lock_lost: Arc<AtomicBool>,
    region: String,
    /// The database as shown in errors: host, port, database and user, never a password.
    shown: String,
    /// The session holding the Region's advisory lock while the store is open.
    _instance: tokio_postgres::Client,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shown)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn database_error(context: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |source| StoreError::Postgres {
        context: context.to_owned(),
        source,
    }
}

/// The database of `config` as shown: `user@host:port/dbname`, never the password.
pub(super) fn shown(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) for `region`:
    /// migrates its schema, and takes the Region's instance lock.
    pub fn connect(url: &str, region: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, region, true)
    }

    /// WIP (multi-instance): as [`PostgresStore::connect`] without the instance lock, for
    /// several instances on one Region. Not wired into `keyward serve` until caches are kept
    /// consistent (LISTEN/NOTIFY, reads on a miss).
    pub fn connect_shared(url: &str, region: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, region, false)
    }

    fn connect_with(url: &str, region: &str, exclusive: bool) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|source| StoreError::Postgres {
                context: "the store's URL does not parse".into(),
                source,
            })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.options(format!(
            "-c statement_timeout={}",
            CONNECT_TIMEOUT.as_millis()
        ));
        let shown = shown(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("keyward-postgres")
            .enable_all()
            .build()
            .map_err(|source| StoreError::Io {
                path: shown.clone(),
                source,
            })?;
        let runtime = OwnRuntime(Some(runtime));
        let handle = runtime
            .0
            .as_ref()
            .map(|r| r.handle().clone())
            .ok_or_else(|| unanswered(&shown))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool {
                context: format!("{shown}: building the connection pool"),
                message: e.to_string(),
            })?;
        let lock_lost = Arc::new(AtomicBool::new(false));
        let instance = {
            let (shown_here, region, pool) = (shown.clone(), region.to_owned(), pool.clone());
            let lost = Arc::clone(&lock_lost);
            run(&handle, &shown, async move {
                let shown = shown_here;
                let (client, connection) = config
                    .connect(NoTls)
                    .await
                    .map_err(database_error(&shown))?;
                tokio::spawn(async move {
                    let _ = connection.await;
                    lost.store(true, Ordering::Release);
                });
                migrate(&pool, &shown).await?;
                if !exclusive {
                    return Ok(client);
                }
                let held: bool = client
                    .query_one(
                        "SELECT pg_try_advisory_lock($1, hashtext($2))",
                        &[&LOCK_CLASS, &region],
                    )
                    .await
                    .map_err(database_error("taking the Region's instance lock"))?
                    .get(0);
                if !held {
                    return Err(StoreError::InUse {
                        database: shown,
                        region,
                    });
                }
                Ok(client)
            })?
        };
        Ok(Self {
            runtime,
            pool,
            lock_lost,
            region: region.to_owned(),
            shown,
            _instance: instance,
        })
    }

    /// Whether the database holds any key, of any Region (served here or not): rows that
    /// only the root key that sealed them opens.
    pub fn holds_keys(&self) -> Result<bool, StoreError> {
        let (pool, shown) = (self.pool.clone(), self.shown.clone());
        run(&self.handle()?, &self.shown, async move {
            let client = PostgresStore::client(&pool, &shown).await?;
            Ok(client
                .query_one("SELECT EXISTS (SELECT 1 FROM keys)", &[])
                .await
                .map_err(database_error("reading keys"))?
                .get(0))
        })
    }

    fn handle(&self) -> Result<tokio::runtime::Handle, StoreError> {
        self.runtime
            .0
            .as_ref()
            .map(|r| r.handle().clone())
            .ok_or_else(|| unanswered(&self.shown))
    }

    async fn client(pool: &Pool, shown: &str) -> Result<deadpool_postgres::Client, StoreError> {
        pool.get().await.map_err(|e| StoreError::Pool {
            context: format!("{shown}: a connection"),
            message: e.to_string(),
        })
    }
}

fn unanswered(shown: &str) -> StoreError {
    StoreError::Unanswered {
        database: shown.to_owned(),
    }
}

/// Runs `future` on the store's runtime and waits for it on this thread (which may be any
/// thread but one of that runtime's own), at most [`ANSWER_TIMEOUT`].
fn run<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    shown: &str,
    future: impl Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = send.send(future.await);
    });
    receive
        .recv_timeout(ANSWER_TIMEOUT)
        .map_err(|_| unanswered(shown))?
}

/// Brings the schema to [`SCHEMA`], in one transaction under the migrations' lock; refuses a
/// newer one.
async fn migrate(pool: &Pool, shown: &str) -> Result<(), StoreError> {
    let mut client = PostgresStore::client(pool, shown).await?;
    let tx = client
        .transaction()
        .await
        .map_err(database_error("migrating: begin"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_CLASS])
        .await
        .map_err(database_error("migrating: the lock"))?;
    // Created once: a role without the right to create tables can run a migrated database.
    let exists: bool = tx
        .query_one("SELECT to_regclass('keyward_schema') IS NOT NULL", &[])
        .await
        .map_err(database_error("migrating: the schema's version"))?
        .get(0);
    if !exists {
        tx.batch_execute("CREATE TABLE keyward_schema (version INTEGER NOT NULL)")
            .await
            .map_err(database_error("migrating: the schema's version"))?;
    }
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM keyward_schema", &[])
        .await
        .map_err(database_error("migrating: the schema's version"))?
        .map(|row| row.get(0));
    let found = match found {
        Some(v) => v,
        None => {
            tx.execute("INSERT INTO keyward_schema (version) VALUES (0)", &[])
                .await
                .map_err(database_error("migrating: the schema's version"))?;
            0
        }
    };
    if found > SCHEMA {
        return Err(StoreError::Format {
            path: shown.to_owned(),
            found: i64::from(found),
            expected: i64::from(SCHEMA),
            advice: "the schema was migrated by a newer Keyward; run that version",
        });
    }
    for (version, step) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.batch_execute(step)
            .await
            .map_err(database_error("migrating"))?;
        let next = i32::try_from(version + 1).unwrap_or(SCHEMA);
        tx.execute("UPDATE keyward_schema SET version = $1", &[&next])
            .await
            .map_err(database_error("migrating: the schema's version"))?;
    }
    tx.commit()
        .await
        .map_err(database_error("migrating: commit"))
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store for PostgresStore {
    fn shared(&self) -> bool {
        true
    }

    fn load_key(&self, id: &str) -> Result<Option<super::KeyRows>, StoreError> {
        let (pool, shown, region, id) = (
            self.pool.clone(),
            self.shown.clone(),
            self.region.clone(),
            id.to_owned(),
        );
        run(&self.handle()?, &self.shown, async move {
            let mut client = PostgresStore::client(&pool, &shown).await?;
            // One snapshot of the key and its grants.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(database_error("reading a key"))?;
            let Some(row) = tx
                .query_opt(
                    "SELECT id, metadata, sealed, tag, version FROM keys WHERE region = $1 AND id = $2",
                    &[&region, &id],
                )
                .await
                .map_err(database_error("reading a key"))?
            else {
                return Ok(None);
            };
            let key = KeyRecord {
                id: row.get(0),
                metadata: row.get(1),
                sealed: row.get(2),
                tag: row.get(3),
            };
            let version = to_u64(row.get(4));
            let grants = tx
                .query(
                    "SELECT key_id, grant_id, record, tag FROM grants
                     WHERE region = $1 AND key_id = $2 ORDER BY stored",
                    &[&region, &id],
                )
                .await
                .map_err(database_error("reading a key's grants"))?
                .into_iter()
                .map(|row| GrantRow {
                    key_id: row.get(0),
                    grant_id: row.get(1),
                    record: row.get(2),
                    tag: row.get(3),
                })
                .collect();
            tx.commit().await.map_err(database_error("reading a key"))?;
            Ok(Some(super::KeyRows {
                key,
                grants,
                version,
            }))
        })
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        let (pool, shown, region) = (self.pool.clone(), self.shown.clone(), self.region.clone());
        run(&self.handle()?, &self.shown, async move {
            let client = PostgresStore::client(&pool, &shown).await?;
            let keys = client
                .query(
                    "SELECT id, metadata, sealed, tag FROM keys WHERE region = $1 ORDER BY id",
                    &[&region],
                )
                .await
                .map_err(database_error("reading keys"))?
                .into_iter()
                .map(|row| KeyRecord {
                    id: row.get(0),
                    metadata: row.get(1),
                    sealed: row.get(2),
                    tag: row.get(3),
                })
                .collect();
            let grants = client
                .query(
                    "SELECT key_id, grant_id, record, tag FROM grants WHERE region = $1
                     ORDER BY key_id, stored",
                    &[&region],
                )
                .await
                .map_err(database_error("reading grants"))?
                .into_iter()
                .map(|row| GrantRow {
                    key_id: row.get(0),
                    grant_id: row.get(1),
                    record: row.get(2),
                    tag: row.get(3),
                })
                .collect();
            let aliases = client
                .query(
                    "SELECT account, name, key_id, created, updated, tag FROM aliases
                     WHERE region = $1 ORDER BY account, name",
                    &[&region],
                )
                .await
                .map_err(database_error("reading aliases"))?
                .into_iter()
                .map(|row| AliasRecord {
                    account: row.get(0),
                    name: row.get(1),
                    key_id: row.get(2),
                    created: to_u64(row.get(3)),
                    updated: to_u64(row.get(4)),
                    tag: row.get(5),
                })
                .collect();
            Ok(Snapshot {
                keys,
                grants,
                aliases,
            })
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if self.lock_lost.load(Ordering::Acquire) {
            return Err(StoreError::InUse {
                database: self.shown.clone(),
                region: self.region.clone(),
            });
        }
        let (pool, shown, region) = (self.pool.clone(), self.shown.clone(), self.region.clone());
        let changes = changes.to_vec();
        run(&self.handle()?, &self.shown, async move {
            let mut client = PostgresStore::client(&pool, &shown).await?;
            let tx = client
                .transaction()
                .await
                .map_err(database_error("begin"))?;
            for change in &changes {
                match change {
                    Change::PutKey(k) => {
                        tx.execute(
                            "INSERT INTO keys (region, id, metadata, sealed, tag)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (region, id) DO UPDATE SET metadata = excluded.metadata,
                                 sealed = excluded.sealed, tag = excluded.tag",
                            &[&region, &k.id, &k.metadata, &k.sealed, &k.tag],
                        )
                        .await
                    }
                    Change::DeleteKey(id) => {
                        tx.execute(
                            "DELETE FROM grants WHERE region = $1 AND key_id = $2",
                            &[&region, id],
                        )
                        .await
                        .map_err(database_error("write"))?;
                        tx.execute(
                            "DELETE FROM keys WHERE region = $1 AND id = $2",
                            &[&region, id],
                        )
                        .await
                    }
                    Change::PutGrant(g) => {
                        tx.execute(
                            "INSERT INTO grants (region, key_id, grant_id, record, tag)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (region, key_id, grant_id) DO UPDATE
                                 SET record = excluded.record, tag = excluded.tag",
                            &[&region, &g.key_id, &g.grant_id, &g.record, &g.tag],
                        )
                        .await
                    }
                    Change::Guard { key_id, version } => {
                        let moved = tx
                            .execute(
                                "UPDATE keys SET version = version + 1
                                 WHERE region = $1 AND id = $2 AND version = $3",
                                &[&region, key_id, &to_i64(*version)],
                            )
                            .await
                            .map_err(database_error("write"))?;
                        if moved != 1 {
                            return Err(StoreError::Conflict {
                                key_id: key_id.clone(),
                            });
                        }
                        Ok(moved)
                    }
                    Change::DeleteGrant { key_id, grant_id } => {
                        tx.execute(
                            "DELETE FROM grants WHERE region = $1 AND key_id = $2 AND grant_id = $3",
                            &[&region, key_id, grant_id],
                        )
                        .await
                    }
                    Change::PutAlias(a) => {
                        tx.execute(
                            "INSERT INTO aliases (region, account, name, key_id, created, updated, tag)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)
                             ON CONFLICT (region, account, name) DO UPDATE
                                 SET key_id = excluded.key_id, updated = excluded.updated,
                                     tag = excluded.tag",
                            &[
                                &region,
                                &a.account,
                                &a.name,
                                &a.key_id,
                                &to_i64(a.created),
                                &to_i64(a.updated),
                                &a.tag,
                            ],
                        )
                        .await
                    }
                    Change::DeleteAlias { account, name } => {
                        tx.execute(
                            "DELETE FROM aliases WHERE region = $1 AND account = $2 AND name = $3",
                            &[&region, account, name],
                        )
                        .await
                    }
                }
                .map_err(database_error("write"))?;
            }
            tx.commit().await.map_err(database_error("commit"))
        })
    }
}

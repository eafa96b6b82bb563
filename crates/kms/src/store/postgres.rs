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
//!
//! Several instances serve a Region from one database. Each key has a version, moved once by
//! every write that touches the key; a write made on the strength of what an instance read
//! checks that version first ([`Change::Guard`]), and an alias's target likewise
//! ([`Change::AliasGuard`]), so a write decided on stale rows is refused, never applied. Every
//! write announces what it touched, in its own transaction (`NOTIFY`, delivered at commit), and
//! each store listens on a session of its own ([`Store::changes`]), so that every instance can
//! read the rows again within moments of the commit.
use super::{
    AliasRecord, Change, GrantRow, KeyRecord, KeyStoreRow, PartKind, PartRow, Snapshot, Store,
    StoreError,
};
use super::{KeyLock, KeyRows, StoreEvent};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, GenericClient, NoTls};

/// The schema version this store writes.
pub(super) const SCHEMA: i32 = 5;

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
    // 2: each key's version, moved by every write to it (and checked by the writes that
    // depend on what they read); grants found by their ID (a grant token names only that).
    "ALTER TABLE keys ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX grants_by_id ON grants (region, grant_id);",
    // 3: the audit table of `audit = \"postgres\"`, a record per call (a call that changes
    // something has its record written in the change's transaction).
    "CREATE TABLE audit (
        event_id TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        recorded TIMESTAMPTZ NOT NULL DEFAULT now(),
        record JSONB NOT NULL
    );
    CREATE INDEX audit_by_time ON audit (recorded);",
    // 4: each tag, each schedule (rotation, deletion), each version of material and the
    // imported material's state of a key in a row of its own; a key whose row still holds them has them moved out when a service
    // opens.
    "CREATE TABLE tags (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        name TEXT NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, key_id, name)
    );
    CREATE TABLE schedules (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        name TEXT NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, key_id, name)
    );
    CREATE TABLE key_versions (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        name TEXT NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, key_id, name)
    );
    CREATE TABLE imports (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        name TEXT NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, key_id, name)
    );",
    // 5: the custom key stores registered at run time (CreateCustomKeyStore).
    "CREATE TABLE key_stores (
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        record TEXT NOT NULL,
        tag BYTEA NOT NULL,
        PRIMARY KEY (region, id)
    );",
];

/// The advisory locks' class (`KW`): the migrations' transaction lock.
const LOCK_CLASS: i32 = 0x4b57;
/// The advisory locks' class of aliases (`KA`): with the hash of an alias's Region, account
/// and name, held by a transaction that checks the alias ([`Change::AliasGuard`]), so two
/// instances creating one alias at once are put one after the other.
const ALIAS_LOCK_CLASS: i32 = 0x4b41;

/// The advisory locks' class of keys (`KK`), taken by [`Change::Guard`].
const KEY_LOCK_CLASS: i32 = 0x4b4b;

/// The `application_name` of each store's listening session.
const LISTENER_NAME: &str = "keyward-listener";

/// The channel every write's notices go to.
const CHANNEL: &str = "keyward_changes";

/// How often the listening session proves it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long its proof may take: a session that stopped answering is taken as lost after at
/// most [`HEARTBEAT`] and this (a loaded machine may be slow, never this slow).
const HEARTBEAT_ANSWER: Duration = Duration::from_secs(10);

/// How long the listening session waits before connecting again after it ended.
const LISTEN_RETRY: Duration = Duration::from_millis(500);

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
    region: String,
    /// The database as shown in errors: host, port, database and user, never a password.
    shown: String,
    /// The notices of changes, until the service takes them ([`Store::changes`]); the
    /// listening session (a task on the store's runtime) sends to its other end from the
    /// moment the store is open.
    changes: Mutex<Option<Receiver<StoreEvent>>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shown)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The error of `context`, with what the server said (its SQLSTATE and message: the
/// client's own text for a server error is only "db error").
fn database_error(context: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |source| StoreError::Postgres {
        context: match source.as_db_error() {
            Some(said) => format!("{context} ({} {})", said.code().code(), said.message()),
            None => context.to_owned(),
        },
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
    /// migrates its schema, and starts listening for the changes every instance on the
    /// database announces (the store's notices, from now on: [`Store::changes`]).
    pub fn connect(url: &str, region: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|source| StoreError::Postgres {
                context: "the store's URL does not parse".into(),
                source,
            })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        // Named, for a database administrator's `pg_stat_activity`.
        if config.get_application_name().is_none() {
            config.application_name("keyward");
        }
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
        let (notices, changes) = std::sync::mpsc::channel();
        {
            let (shown_here, pool) = (shown.clone(), pool.clone());
            let (region, config) = (region.to_owned(), config.clone());
            run(&handle, &shown, async move {
                migrate(&pool, &shown_here).await?;
                // Listening before the service reads anything: whatever is committed after
                // its first read is announced.
                let session = Listener::start(&config, &shown_here).await?;
                tokio::spawn(session.follow(config, shown_here, region, notices));
                Ok(())
            })?;
        }
        Ok(Self {
            runtime,
            pool,
            region: region.to_owned(),
            shown,
            changes: Mutex::new(Some(changes)),
        })
    }

    /// Whether the database holds any key, of any Region (served here or not): rows that
    /// only the root key that sealed them opens.
    pub fn holds_keys(&self) -> Result<bool, StoreError> {
        self.on_connection(|client, _| async move {
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

    /// Runs `work` on a connection from the pool, with this store's Region, on the store's
    /// runtime, and waits for its answer ([`run`]).
    fn on_connection<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (pool, shown, region) = (self.pool.clone(), self.shown.clone(), self.region.clone());
        run(&self.handle()?, &self.shown, async move {
            let client = PostgresStore::client(&pool, &shown).await?;
            work(client, region).await
        })
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

/// A read-only transaction that sees one snapshot of every table (`what` names the read in
/// an error).
async fn snapshot<'a>(
    client: &'a mut deadpool_postgres::Client,
    what: &'static str,
) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(database_error(what))
}

/// Every alias of a Region, in the order a snapshot lists them.
/// The Region's custom key stores registered at run time, by ID.
const KEY_STORES_OF_REGION: &str =
    "SELECT id, record, tag FROM key_stores WHERE region = $1 ORDER BY id";

/// Rows of [`KEY_STORES_OF_REGION`] as the store's rows.
fn key_store_rows(rows: Vec<tokio_postgres::Row>) -> Vec<KeyStoreRow> {
    rows.into_iter()
        .map(|row| KeyStoreRow {
            id: row.get(0),
            record: row.get(1),
            tag: row.get(2),
        })
        .collect()
}

const ALIASES_OF_REGION: &str = "SELECT account, name, key_id, created, updated, tag FROM aliases
     WHERE region = $1 ORDER BY account, name";

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

    fn load_key(&self, id: &str) -> Result<Option<KeyRows>, StoreError> {
        let id = id.to_owned();
        self.on_connection(move |mut client, region| async move {
            // One snapshot of the key and its grants.
            let tx = snapshot(&mut client, "reading a key").await?;
            let rows = read_key(&*tx, &region, &id).await?;
            tx.commit().await.map_err(database_error("reading a key"))?;
            Ok(rows)
        })
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(self.load_versioned()?.0)
    }

    fn load_versioned(&self) -> Result<(Snapshot, HashMap<String, u64>), StoreError> {
        self.on_connection(|mut client, region| async move {
            // One snapshot of every table.
            let tx = snapshot(&mut client, "reading keys").await?;
            let mut versions = HashMap::new();
            let keys = tx
                .query(
                    "SELECT id, metadata, sealed, tag, version FROM keys WHERE region = $1
                     ORDER BY id",
                    &[&region],
                )
                .await
                .map_err(database_error("reading keys"))?
                .into_iter()
                .map(|row| {
                    let record = KeyRecord {
                        id: row.get(0),
                        metadata: row.get(1),
                        sealed: row.get(2),
                        tag: row.get(3),
                    };
                    versions.insert(record.id.clone(), to_u64(row.get(4)));
                    record
                })
                .collect();
            let grants = tx
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
            let aliases = alias_rows(
                tx.query(ALIASES_OF_REGION, &[&region])
                    .await
                    .map_err(database_error("reading aliases"))?,
            );
            let mut parts = Vec::new();
            for kind in [
                PartKind::Tag,
                PartKind::Schedule,
                PartKind::Version,
                PartKind::Import,
            ] {
                parts.extend(part_rows(
                    kind,
                    tx.query(
                        &format!(
                            "SELECT key_id, name, record, tag FROM {} WHERE region = $1
                             ORDER BY key_id, name",
                            part_table(kind)
                        ),
                        &[&region],
                    )
                    .await
                    .map_err(database_error("reading a key's parts"))?,
                ));
            }
            let key_stores = key_store_rows(
                tx.query(KEY_STORES_OF_REGION, &[&region])
                    .await
                    .map_err(database_error("reading the custom key stores"))?,
            );
            tx.commit().await.map_err(database_error("reading keys"))?;
            Ok((
                Snapshot {
                    keys,
                    grants,
                    aliases,
                    parts,
                    key_stores,
                },
                versions,
            ))
        })
    }

    fn key_version(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let id = id.to_owned();
        self.on_connection(move |client, region| async move {
            Ok(client
                .query_opt(
                    "SELECT version FROM keys WHERE region = $1 AND id = $2",
                    &[&region, &id],
                )
                .await
                .map_err(database_error("reading a key's version"))?
                .map(|row| to_u64(row.get(0))))
        })
    }

    fn load_alias(&self, account: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        let (account, name) = (account.to_owned(), name.to_owned());
        self.on_connection(move |client, region| async move {
            let rows = client
                .query(
                    "SELECT account, name, key_id, created, updated, tag FROM aliases
                     WHERE region = $1 AND account = $2 AND name = $3",
                    &[&region, &account, &name],
                )
                .await
                .map_err(database_error("reading an alias"))?;
            Ok(alias_rows(rows).pop())
        })
    }

    fn load_key_stores(&self) -> Result<Vec<KeyStoreRow>, StoreError> {
        self.on_connection(|client, region| async move {
            Ok(key_store_rows(
                client
                    .query(KEY_STORES_OF_REGION, &[&region])
                    .await
                    .map_err(database_error("reading the custom key stores"))?,
            ))
        })
    }

    fn load_aliases(&self) -> Result<Vec<AliasRecord>, StoreError> {
        self.on_connection(|client, region| async move {
            let rows = client
                .query(ALIASES_OF_REGION, &[&region])
                .await
                .map_err(database_error("reading aliases"))?;
            Ok(alias_rows(rows))
        })
    }

    fn grant_owner(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        let grant_id = grant_id.to_owned();
        self.on_connection(move |client, region| async move {
            Ok(client
                .query_opt(
                    "SELECT key_id FROM grants WHERE region = $1 AND grant_id = $2 LIMIT 1",
                    &[&region, &grant_id],
                )
                .await
                .map_err(database_error("finding a grant"))?
                .map(|row| row.get(0)))
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let changes = changes.to_vec();
        self.on_connection(move |mut client, region| async move {
            let tx = client
                .transaction()
                .await
                .map_err(database_error("begin"))?;
            apply_in(&*tx, &region, &changes).await?;
            tx.commit().await.map_err(database_error("commit"))
        })
    }

    fn lock_key(
        &self,
        id: &str,
    ) -> Result<Option<(Box<dyn KeyLock>, Option<KeyRows>)>, StoreError> {
        let (pool, shown, region) = (self.pool.clone(), self.shown.clone(), self.region.clone());
        let handle = self.handle()?;
        let id = id.to_owned();
        let (region_here, shown_here, handle_here) =
            (region.clone(), shown.clone(), handle.clone());
        let (lock, rows) = run(&handle, &self.shown, async move {
            let client = PostgresStore::client(&pool, &shown).await?;
            // From here on, however this ends (an error, or an answer no one waits for any
            // more), the transaction is rolled back before the connection goes back to the
            // pool: the lock's drop sees to it.
            let lock = PostgresKeyLock {
                client: Some(client),
                handle: handle_here,
                region: region_here,
                shown: shown_here,
            };
            let client = lock.client.as_ref().ok_or_else(|| unanswered(&shown))?;
            client
                .batch_execute("BEGIN")
                .await
                .map_err(database_error("locking a key"))?;
            // The key's lock before its row's, as every guarded write takes them.
            client
                .execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&KEY_LOCK_CLASS, &format!("{region}\t{id}")],
                )
                .await
                .map_err(database_error("locking a key"))?;
            let locked = client
                .query_opt(
                    "SELECT version FROM keys WHERE region = $1 AND id = $2 FOR UPDATE",
                    &[&region, &id],
                )
                .await
                .map_err(database_error("locking a key"))?;
            let rows = match locked {
                Some(_) => read_key(&***client, &region, &id).await?,
                None => None,
            };
            Ok((lock, rows))
        })?;
        Ok(Some((Box::new(lock), rows)))
    }

    fn changes(&self) -> Option<Receiver<StoreEvent>> {
        self.changes.lock().ok()?.take()
    }
}

/// Applies `changes` in the transaction open on `client`, and announces what they touched
/// (each key's version moved once) when it commits.
async fn apply_in<C: GenericClient + Sync>(
    client: &C,
    region: &str,
    changes: &[Change],
) -> Result<(), StoreError> {
    // What the write touches: keys (`true` when deleted) and aliases.
    let mut keys: Vec<(&str, bool)> = Vec::new();
    let mut aliases: BTreeSet<(&str, &str)> = BTreeSet::new();
    for change in changes {
        apply_one(client, region, change).await?;
        match change {
            Change::PutKey(k) => touch_key(&mut keys, &k.id, false),
            Change::DeleteKey(id) => touch_key(&mut keys, id, true),
            Change::PutGrant(GrantRow { key_id, .. })
            | Change::DeleteGrant { key_id, .. }
            | Change::PutPart(PartRow { key_id, .. })
            | Change::DeletePart { key_id, .. } => touch_key(&mut keys, key_id, false),
            Change::PutAlias(a) => {
                aliases.insert((&a.account, &a.name));
            }
            Change::DeleteAlias { account, name } => {
                aliases.insert((account, name));
            }
            // Another instance reads the stores when it starts (not announced).
            Change::Guard { .. }
            | Change::AliasGuard { .. }
            | Change::Audit { .. }
            | Change::PutKeyStore(_)
            | Change::DeleteKeyStore(_) => {}
        }
    }
    for (id, deleted) in keys {
        let version: Option<i64> = if deleted {
            None
        } else {
            client
                .query_opt(
                    "UPDATE keys SET version = version + 1 WHERE region = $1 AND id = $2
                     RETURNING version",
                    &[&region, &id],
                )
                .await
                .map_err(database_error("write"))?
                .map(|row| row.get(0))
        };
        let version = version.map_or_else(|| "-".to_owned(), |v| v.to_string());
        notify(client, &format!("k\t{region}\t{id}\t{version}")).await?;
    }
    for (account, name) in aliases {
        notify(client, &format!("a\t{region}\t{account}\t{name}")).await?;
    }
    Ok(())
}

/// Key `id`'s rows and version, read on `client` (in one snapshot when `client` is in a
/// transaction that makes one).
async fn read_key<C: GenericClient + Sync>(
    client: &C,
    region: &str,
    id: &str,
) -> Result<Option<KeyRows>, StoreError> {
    let Some(row) = client
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
    let grants = client
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
    let mut parts = Vec::new();
    for kind in [
        PartKind::Tag,
        PartKind::Schedule,
        PartKind::Version,
        PartKind::Import,
    ] {
        parts.extend(part_rows(
            kind,
            client
                .query(
                    &format!(
                        "SELECT key_id, name, record, tag FROM {} WHERE region = $1 AND key_id = $2
                         ORDER BY name",
                        part_table(kind)
                    ),
                    &[&region, &id],
                )
                .await
                .map_err(database_error("reading a key's parts"))?,
        ));
    }
    Ok(Some(KeyRows {
        key,
        grants,
        parts,
        version,
    }))
}

/// A key's row held locked by an open transaction ([`Store::lock_key`]).
#[derive(Debug)]
struct PostgresKeyLock {
    /// The connection whose transaction holds the lock; `None` once committed.
    client: Option<deadpool_postgres::Object>,
    handle: tokio::runtime::Handle,
    region: String,
    shown: String,
}

impl KeyLock for PostgresKeyLock {
    fn apply(mut self: Box<Self>, changes: &[Change]) -> Result<(), StoreError> {
        let client = self.client.take().ok_or_else(|| unanswered(&self.shown))?;
        let (region, changes) = (self.region.clone(), changes.to_vec());
        run(&self.handle, &self.shown, async move {
            let applied = apply_in(&**client, &region, &changes).await;
            let end = if applied.is_ok() {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            client
                .batch_execute(end)
                .await
                .map_err(database_error("commit"))?;
            applied
        })
    }
}

impl Drop for PostgresKeyLock {
    fn drop(&mut self) {
        // Unused: rolled back before the connection goes back to the pool.
        if let Some(client) = self.client.take() {
            self.handle.spawn(async move {
                let _ = client.batch_execute("ROLLBACK").await;
            });
        }
    }
}

/// The table of parts of `kind`.
fn part_table(kind: PartKind) -> &'static str {
    match kind {
        PartKind::Tag => "tags",
        PartKind::Schedule => "schedules",
        PartKind::Version => "key_versions",
        PartKind::Import => "imports",
    }
}

/// Part rows of `kind` read as records (columns: key ID, name, record, tag).
fn part_rows(kind: PartKind, rows: Vec<tokio_postgres::Row>) -> Vec<PartRow> {
    rows.into_iter()
        .map(|row| PartRow {
            kind,
            key_id: row.get(0),
            name: row.get(1),
            record: row.get(2),
            tag: row.get(3),
        })
        .collect()
}

/// Alias rows read as records (columns: account, name, key ID, created, updated, tag).
fn alias_rows(rows: Vec<tokio_postgres::Row>) -> Vec<AliasRecord> {
    rows.into_iter()
        .map(|row| AliasRecord {
            account: row.get(0),
            name: row.get(1),
            key_id: row.get(2),
            created: to_u64(row.get(3)),
            updated: to_u64(row.get(4)),
            tag: row.get(5),
        })
        .collect()
}

/// Adds key `id` to the keys a write touches, once (deleted if any change deletes it).
fn touch_key<'a>(keys: &mut Vec<(&'a str, bool)>, id: &'a str, deleted: bool) {
    match keys.iter_mut().find(|(k, _)| *k == id) {
        Some((_, was)) => *was = *was || deleted,
        None => keys.push((id, deleted)),
    }
}

/// Announces `payload` on [`CHANNEL`] when the transaction open on `tx` commits.
async fn notify<C: GenericClient + Sync>(tx: &C, payload: &str) -> Result<(), StoreError> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
        .await
        .map_err(database_error("announcing a change"))?;
    Ok(())
}

/// Applies one change in `tx`.
async fn apply_one<C: GenericClient + Sync>(
    tx: &C,
    region: &str,
    change: &Change,
) -> Result<(), StoreError> {
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
            for table in ["grants", "tags", "schedules", "key_versions", "imports"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE region = $1 AND key_id = $2"),
                    &[&region, id],
                )
                .await
                .map_err(database_error("write"))?;
            }
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
            // The key's lock, whether or not its row exists yet (two instances making a key
            // of one ID, a seed's or a replica's, are put one after the other), then its row's
            // (held to the end of the transaction: no other write to the key comes between
            // the check and this one).
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&KEY_LOCK_CLASS, &format!("{region}\t{key_id}")],
            )
            .await
            .map_err(database_error("write"))?;
            let now: Option<i64> = tx
                .query_opt(
                    "SELECT version FROM keys WHERE region = $1 AND id = $2 FOR UPDATE",
                    &[&region, key_id],
                )
                .await
                .map_err(database_error("write"))?
                .map(|row| row.get(0));
            // A key not stored yet is at version 0.
            if now.unwrap_or(0) != to_i64(*version) {
                return Err(StoreError::Conflict {
                    key_id: key_id.clone(),
                });
            }
            return Ok(());
        }
        Change::AliasGuard {
            account,
            name,
            key_id,
        } => {
            // The alias's lock, whether or not its row exists yet, to the end of the
            // transaction; the check reads what was committed before it was granted.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&ALIAS_LOCK_CLASS, &format!("{region}\t{account}\t{name}")],
            )
            .await
            .map_err(database_error("write"))?;
            let now: Option<String> = tx
                .query_opt(
                    "SELECT key_id FROM aliases WHERE region = $1 AND account = $2 AND name = $3",
                    &[&region, account, name],
                )
                .await
                .map_err(database_error("write"))?
                .map(|row| row.get(0));
            if now != *key_id {
                return Err(StoreError::AliasConflict {
                    account: account.clone(),
                    name: name.clone(),
                });
            }
            return Ok(());
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
        Change::PutKeyStore(k) => {
            tx.execute(
                "INSERT INTO key_stores (region, id, record, tag) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (region, id) DO UPDATE SET record = excluded.record, tag = excluded.tag",
                &[&region, &k.id, &k.record, &k.tag],
            )
            .await
        }
        Change::DeleteKeyStore(id) => {
            tx.execute(
                "DELETE FROM key_stores WHERE region = $1 AND id = $2",
                &[&region, id],
            )
            .await
        }
        Change::PutPart(p) => {
            tx.execute(
                &format!(
                    "INSERT INTO {} (region, key_id, name, record, tag) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (region, key_id, name) DO UPDATE
                         SET record = excluded.record, tag = excluded.tag",
                    part_table(p.kind)
                ),
                &[&region, &p.key_id, &p.name, &p.record, &p.tag],
            )
            .await
        }
        Change::DeletePart { kind, key_id, name } => {
            tx.execute(
                &format!(
                    "DELETE FROM {} WHERE region = $1 AND key_id = $2 AND name = $3",
                    part_table(*kind)
                ),
                &[&region, key_id, name],
            )
            .await
        }
        Change::Audit { event_id, record } => {
            tx.execute(
                "INSERT INTO audit (event_id, region, record) VALUES ($1, $2, $3::text::jsonb)
                 ON CONFLICT (event_id) DO UPDATE
                     SET record = excluded.record, region = excluded.region",
                &[event_id, &region, record],
            )
            .await
        }
    }
    .map(|_| ())
    .map_err(database_error("write"))
}

/// The session that listens for every instance's notices of changes.
struct Listener {
    client: tokio_postgres::Client,
    /// Ends when the session does.
    pump: tokio::task::JoinHandle<()>,
    /// The notices' payloads, as they come.
    payloads: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Listener {
    /// Connects and listens on [`CHANNEL`].
    async fn start(config: &tokio_postgres::Config, shown: &str) -> Result<Self, StoreError> {
        let mut config = config.clone();
        config.application_name(LISTENER_NAME);
        let (client, mut connection) =
            config.connect(NoTls).await.map_err(database_error(shown))?;
        let (send, payloads) = tokio::sync::mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                if let AsyncMessage::Notification(notice) = message
                    && send.send(notice.payload().to_owned()).is_err()
                {
                    return;
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(database_error("listening for changes"))?;
        Ok(Self {
            client,
            pump,
            payloads,
        })
    }

    /// Sends the notices of `region` to `notices` as events, for as long as anyone takes
    /// them; when the session ends, [`StoreEvent::Lost`], then a new session as soon as the
    /// database answers again, and [`StoreEvent::Resumed`].
    async fn follow(
        mut self,
        config: tokio_postgres::Config,
        shown: String,
        region: String,
        notices: Sender<StoreEvent>,
    ) {
        loop {
            // A session that dies without a word (a network that drops packets) is found by
            // a heartbeat: a query every HEARTBEAT, each answered within HEARTBEAT_ANSWER.
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    payload = self.payloads.recv() => {
                        let Some(payload) = payload else { break };
                        let Some(event) = parse_notice(&payload, &region) else {
                            continue;
                        };
                        if notices.send(event).is_err() {
                            return;
                        }
                    }
                    _ = beat.tick() => {
                        let answered =
                            tokio::time::timeout(HEARTBEAT_ANSWER, self.client.simple_query("SELECT 1"))
                                .await;
                        if !matches!(answered, Ok(Ok(_))) {
                            break;
                        }
                    }
                }
            }
            self.pump.abort();
            drop(self.client);
            if notices.send(StoreEvent::Lost).is_err() {
                return;
            }
            self = loop {
                tokio::time::sleep(LISTEN_RETRY).await;
                if let Ok(session) = Listener::start(&config, &shown).await {
                    break session;
                }
            };
            if notices.send(StoreEvent::Resumed).is_err() {
                return;
            }
        }
    }
}

/// The event a notice's payload announces, when it is of `region`: `k<TAB>region<TAB>id<TAB>
/// version` (`-` once deleted) or `a<TAB>region<TAB>account<TAB>name`.
fn parse_notice(payload: &str, region: &str) -> Option<StoreEvent> {
    let mut fields = payload.split('\t');
    let (kind, of, first, second) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if of != region || fields.next().is_some() {
        return None;
    }
    match kind {
        "k" => Some(StoreEvent::Key {
            id: first.to_owned(),
            version: second.parse::<u64>().ok(),
        }),
        "a" => Some(StoreEvent::Alias {
            account: first.to_owned(),
            name: second.to_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_of_other_regions_and_unknown_kinds_are_ignored() {
        assert_eq!(
            parse_notice("k\tus-east-1\tk1\t7", "us-east-1"),
            Some(StoreEvent::Key {
                id: "k1".into(),
                version: Some(7)
            })
        );
        assert_eq!(
            parse_notice("k\tus-east-1\tk1\t-", "us-east-1"),
            Some(StoreEvent::Key {
                id: "k1".into(),
                version: None
            })
        );
        assert_eq!(
            parse_notice("a\tus-east-1\t111122223333\talias/a", "us-east-1"),
            Some(StoreEvent::Alias {
                account: "111122223333".into(),
                name: "alias/a".into()
            })
        );
        assert_eq!(parse_notice("k\teu-west-1\tk1\t7", "us-east-1"), None);
        assert_eq!(parse_notice("x\tus-east-1\tk1\t7", "us-east-1"), None);
        assert_eq!(parse_notice("k\tus-east-1\tk1", "us-east-1"), None);
        assert_eq!(
            parse_notice("k\tus-east-1\tk1\t7\textra", "us-east-1"),
            None
        );
    }
}

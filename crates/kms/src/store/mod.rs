//! Durable storage behind a small trait: the service keeps its state in memory and writes
//! every change through before answering, so what a call reported done survives a crash.
//! A change writes only the rows it changes: a key's row (its metadata and sealed head) when
//! they change, and one row per grant, tag, schedule and version of material, so what a call
//! leaves alone costs it nothing.
//! [`SqliteStore`] is the embedded database; [`MemoryStore`] serves tests; [`PostgresStore`]
//! is shared by several instances, and so also guards writes made on what an instance read
//! ([`Change::Guard`], [`Change::AliasGuard`]), reads single keys and aliases, and announces
//! every change ([`Store::changes`]): `crate::follow` keeps each instance's memory as the store
//! has it.
//!
//! Every row carries a tag: an HMAC under a key derived from the root key
//! ([`keyward_crypto::RecordKey`]) over all its fields. The service computes the tags and
//! checks them when it loads; the store only keeps them. So a row edited outside the service
//! (a policy loosened, a grant added, an alias pointed elsewhere) is refused at start, loudly,
//! and the material itself is sealed under the root key besides. What a tag cannot show is an
//! older version of the same row put back, or a row deleted.

mod memory;
mod postgres;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Where a service's rows live: the embedded SQLite store (the default, a file per Region
/// under the data folder) or a PostgreSQL database (every Region's rows in one database).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum StoreLocation {
    /// `keys.db` files under the data folder.
    #[default]
    Sqlite,
    /// The database at this URL (`postgres://user@host:port/database`).
    Postgres(String),
}

impl StoreLocation {
    /// Reads the config's word: `sqlite`, or a `postgres://` (or `postgresql://`) URL that
    /// parses; what is wrong, otherwise.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "sqlite" {
            return Ok(Self::Sqlite);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return match text.parse::<tokio_postgres::Config>() {
                Ok(config) if config.get_dbname().is_some() => Ok(Self::Postgres(text.to_owned())),
                Ok(_) => Err(
                    "the PostgreSQL URL names no database (postgres://user@host:port/database)"
                        .into(),
                ),
                Err(e) => Err(format!("the PostgreSQL URL does not parse: {e}")),
            };
        }
        Err("is neither \"sqlite\" nor a postgres:// URL".into())
    }

    /// The location as shown: `sqlite`, or the database without its password.
    pub fn shown(&self) -> String {
        match self {
            Self::Sqlite => "sqlite".into(),
            Self::Postgres(url) => url.parse::<tokio_postgres::Config>().map_or_else(
                |_| "postgres://(unreadable URL)".into(),
                |c| postgres::shown(&c),
            ),
        }
    }
}

/// Shown without a password the URL may hold.
impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

/// A key as stored: its metadata (JSON, no secrets; its grants, tags, schedules and versions
/// of material in rows of their own), its head sealed under the root key, and the tag over
/// both. (A row written before those had rows of their own keeps them, its material whole;
/// the service moves them out when it opens.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key ID (the row's primary key).
    pub id: String,
    /// The key's metadata as JSON (ARN, state, spec, usage, policy, ...).
    pub metadata: String,
    /// The key's head, sealed under the root key: what names each version of its material in
    /// its state and binds the key's other parts and its grants ([`head_binding`],
    /// [`keyward_crypto::CryptoKey::seal_head`]; in a row written before, the material whole,
    /// [`keyward_crypto::CryptoKey::seal`]).
    pub sealed: Vec<u8>,
    /// HMAC over the other fields ([`KeyRecord::fields`]).
    pub tag: Vec<u8>,
}

impl KeyRecord {
    /// What the tag covers.
    pub fn fields(&self) -> [&[u8]; 4] {
        [
            b"key",
            self.id.as_bytes(),
            self.metadata.as_bytes(),
            &self.sealed,
        ]
    }
}

/// A grant as stored, one row each: the key it is on, its ID, the grant (JSON), and the tag
/// over all three and the Region of the service that wrote it, so that a row cannot be moved
/// to another key, nor to another Region's copy of a multi-Region key (whose ID is the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// The ID of the key the grant is on.
    pub key_id: String,
    /// The grant ID.
    pub grant_id: String,
    /// The grant as JSON.
    pub record: String,
    /// HMAC over the other fields and the Region ([`GrantRow::fields`]).
    pub tag: Vec<u8>,
}

impl GrantRow {
    /// What the tag covers, for a row of `region`.
    pub fn fields<'a>(&'a self, region: &'a str) -> [&'a [u8]; 5] {
        [
            b"grant",
            region.as_bytes(),
            self.key_id.as_bytes(),
            self.grant_id.as_bytes(),
            self.record.as_bytes(),
        ]
    }
}

/// What a key's part kept in a row of its own is, and so its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartKind {
    /// A tag (`tags`): its name is the tag key, its record the value.
    Tag,
    /// A schedule (`schedules`): `rotation` or `deletion`, its record JSON.
    Schedule,
    /// A version of the key's material (`key_versions`): its name is its number, its record
    /// the version (material, origin, expiry, whether pending) sealed under the root key,
    /// base64.
    Version,
    /// The state of a key's imported material (`imports`: expiration model, the materials'
    /// descriptions; when it expires is in the sealed versions), named `import`, its record
    /// JSON.
    Import,
}

impl PartKind {
    /// The name its rows' tag covers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tag => "tag",
            Self::Schedule => "schedule",
            Self::Version => "version",
            Self::Import => "import",
        }
    }
}

/// What a key's head binds beside its versions ([`keyward_crypto::CryptoKey::seal_head`]):
/// every tag, schedule and import state, as (kind, name, record), in one order whatever order
/// they come in, each field length-prefixed, then the digest of its grant rows
/// ([`grant_rows_digest`]). The versions are named by the head itself. A part's or a grant's
/// row dropped, added, changed or put back as it was before then no longer matches the head.
pub fn head_binding<'a>(
    parts: impl IntoIterator<Item = (PartKind, &'a str, &'a str)>,
    grants_digest: &[u8; 32],
) -> Vec<u8> {
    let mut parts: Vec<(PartKind, &str, &str)> = parts
        .into_iter()
        .filter(|(kind, _, _)| *kind != PartKind::Version)
        .collect();
    parts.sort_unstable();
    let mut out = Vec::new();
    for (kind, name, record) in parts {
        for field in [kind.as_str(), name, record] {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.extend_from_slice(grants_digest);
    out
}

/// The digest of a key's grant rows of `region` as its head binds them: the sum of a keyed
/// term of each row, which the store never holds (see `grant_binding`).
pub fn grant_rows_digest(
    records: &keyward_crypto::RecordKey,
    region: &str,
    rows: &[GrantRow],
) -> [u8; 32] {
    crate::grant_binding::GrantBinding::of(rows.iter().map(|row| {
        (
            row.grant_id.clone(),
            crate::grant_binding::GrantBinding::term(records, row, region),
        )
    }))
    .digest()
}

/// A part of a key in a row of its own, in its kind's table (a tag, a rotation or deletion
/// schedule), so that changing it writes that row alone; tagged over its fields and the
/// Region, as a grant's row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    /// Its kind.
    pub kind: PartKind,
    /// The key it is of.
    pub key_id: String,
    /// Its name within the key (the tag key; `rotation` or `deletion`).
    pub name: String,
    /// Its content (the tag value; the schedule as JSON).
    pub record: String,
    /// HMAC over the other fields and the Region ([`PartRow::fields`]).
    pub tag: Vec<u8>,
}

impl PartRow {
    /// What the tag covers, for a row of `region`.
    pub fn fields<'a>(&'a self, region: &'a str) -> [&'a [u8]; 5] {
        [
            self.kind.as_str().as_bytes(),
            region.as_bytes(),
            self.key_id.as_bytes(),
            self.name.as_bytes(),
            self.record.as_bytes(),
        ]
    }
}

/// A custom key store registered at run time (CreateCustomKeyStore), in a row of its own:
/// its ID and its record (JSON: name, token label, trust anchor, creation time, and the PIN
/// sealed under the root key), tagged over them and the Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStoreRow {
    /// `cks-...`.
    pub id: String,
    /// The store, as JSON.
    pub record: String,
    /// HMAC over the other fields and the Region ([`KeyStoreRow::fields`]).
    pub tag: Vec<u8>,
}

impl KeyStoreRow {
    /// What the tag covers, for a row of `region`.
    pub fn fields<'a>(&'a self, region: &'a str) -> [&'a [u8]; 4] {
        [
            b"key store",
            region.as_bytes(),
            self.id.as_bytes(),
            self.record.as_bytes(),
        ]
    }
}

/// An alias as stored: alias names are per account (and Region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    /// The account the alias belongs to (the account of its key).
    pub account: String,
    /// `alias/...`.
    pub name: String,
    /// The ID of the key the alias points at.
    pub key_id: String,
    /// When the alias was created, in epoch seconds.
    pub created: u64,
    /// When the alias was last pointed at a key (created or updated), in epoch seconds.
    pub updated: u64,
    /// HMAC over the other fields ([`AliasRecord::fields`]).
    pub tag: Vec<u8>,
}

impl AliasRecord {
    /// What the tag covers.
    pub fn fields(&self) -> [Vec<u8>; 6] {
        [
            b"alias".to_vec(),
            self.account.as_bytes().to_vec(),
            self.name.as_bytes().to_vec(),
            self.key_id.as_bytes().to_vec(),
            self.created.to_be_bytes().to_vec(),
            self.updated.to_be_bytes().to_vec(),
        ]
    }
}

/// One change; a call's changes are applied together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Stores the key, replacing any record with the same key ID.
    PutKey(KeyRecord),
    /// Deletes the key record with this key ID, and its grants and parts.
    DeleteKey(String),
    /// Stores the part, replacing any of the same kind, key and name.
    PutPart(PartRow),
    /// Deletes part `name` of kind `kind` of key `key_id`.
    DeletePart {
        /// Its kind.
        kind: PartKind,
        /// The key.
        key_id: String,
        /// Its name.
        name: String,
    },
    /// Stores the grant, replacing any grant with the same key and grant ID.
    PutGrant(GrantRow),
    /// Checks that key `key_id` is still at `version` (no other instance changed it since it
    /// was read; version 0 for a key the writer makes, which must not be stored yet): a
    /// store shared by several instances refuses the whole write with
    /// [`StoreError::Conflict`] otherwise (and moves the version of every key a write
    /// touches, once). A store of one instance has nothing to check.
    Guard {
        /// The key.
        key_id: String,
        /// The version the writer read.
        version: u64,
    },
    /// Deletes grant `grant_id` of key `key_id`.
    DeleteGrant {
        /// The key the grant is on.
        key_id: String,
        /// The grant ID.
        grant_id: String,
    },
    /// Stores the custom key store, replacing any of the same ID.
    PutKeyStore(KeyStoreRow),
    /// Deletes the custom key store with this ID.
    DeleteKeyStore(String),
    /// Stores the alias, replacing any alias of the same account and name.
    PutAlias(AliasRecord),
    /// Deletes the alias of `account` named `name`.
    DeleteAlias {
        /// The account the alias belongs to.
        account: String,
        /// The alias name, `alias/...`.
        name: String,
    },
    /// Keeps audit record `record` (one call's, as JSON) under `event_id`, replacing a record
    /// of the same ID (a call's provisional record, written with its change, by its final
    /// one). Only a store with an audit table keeps it (`audit = "postgres"`); the others
    /// ignore it.
    Audit {
        /// The record's `eventID`.
        event_id: String,
        /// The record, as JSON.
        record: String,
    },
    /// Checks that alias `name` of `account` points at `key_id` now (`None`: that it does not
    /// exist): a store shared by several instances refuses the whole write with
    /// [`StoreError::AliasConflict`] otherwise, so that an alias is never created twice nor
    /// moved or deleted on the strength of a decision about a key it no longer names. A store
    /// of one instance has nothing to check.
    AliasGuard {
        /// The account the alias belongs to.
        account: String,
        /// The alias name, `alias/...`.
        name: String,
        /// The key the writer saw it point at, or `None` when it saw no such alias.
        key_id: Option<String>,
    },
}

impl Change {
    /// The change that keeps audit record `record` under `event_id`.
    pub fn audit(event_id: uuid::Uuid, record: &serde_json::Value) -> Self {
        Self::Audit {
            event_id: event_id.to_string(),
            record: record.to_string(),
        }
    }
}

/// What another instance (or this one) changed in a shared store, as its change notices
/// say; [`Store::changes`] delivers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// Key `id` was written (created, changed, its grants changed) or deleted; `version` is
    /// its version after the write, `None` when it was deleted.
    Key {
        /// The key ID.
        id: String,
        /// Its version now.
        version: Option<u64>,
    },
    /// Alias `name` of `account` was created, moved or deleted.
    Alias {
        /// The account.
        account: String,
        /// The alias name.
        name: String,
    },
    /// The notices stopped (the store's listening session ended): changes may be missed from
    /// here until [`StoreEvent::Resumed`].
    Lost,
    /// The notices flow again; what changed meanwhile was not announced, so read everything
    /// held again.
    Resumed,
}

/// Everything stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every key record.
    pub keys: Vec<KeyRecord>,
    /// Every grant, of every key: a key's grants in the order they were first stored (their
    /// creation order, which ListGrants keeps).
    pub grants: Vec<GrantRow>,
    /// Every alias record, of every account.
    pub aliases: Vec<AliasRecord>,
    /// Every key's parts (tags, schedules), by kind, key and name.
    pub parts: Vec<PartRow>,
    /// The custom key stores registered at run time, by ID.
    pub key_stores: Vec<KeyStoreRow>,
}

/// A storage failure, with its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("key store {context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file of the store could not be created or given its permissions.
    #[error("key store {path}: {source}")]
    Io {
        /// The file's path, as displayed.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by another version of the store.
    #[error("key store {path}: format {found}, and this Keyward reads format {expected}: {advice}")]
    Format {
        /// The database file's path, as displayed.
        path: String,
        /// The format version the database holds: its SQLite `user_version`, or 1 for a
        /// database of the earlier, untagged format, which left it unset.
        found: i64,
        /// The format version this store reads and writes.
        expected: i64,
        /// What to do about it, as a sentence.
        advice: &'static str,
    },
    /// PostgreSQL refused an operation, or could not be reached.
    #[error("key store {context}: {source}")]
    Postgres {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The pool gave no connection.
    #[error("key store {context}: {message}")]
    Pool {
        /// What was being done.
        context: String,
        /// The pool's error.
        message: String,
    },
    /// Another instance changed the key since this one read it: read it again and retry.
    #[error("key store: key {key_id} was changed by another instance meanwhile")]
    Conflict {
        /// The key.
        key_id: String,
    },
    /// Another instance created, moved or deleted the alias since this one read it.
    #[error(
        "key store: alias {name} of account {account} was changed by another instance meanwhile"
    )]
    AliasConflict {
        /// The account.
        account: String,
        /// The alias name.
        name: String,
    },
    /// The store's own runtime gave no answer in time, or stopped.
    #[error(
        "key store {database}: no answer from the store in time (the database is unreachable or too slow, or the store stopped)"
    )]
    Unanswered {
        /// The database, as shown (no password).
        database: String,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("key store: a lock was poisoned by a panic in another thread")]
    Poisoned,
}

/// One key's rows as they are now, and its version (a shared store's count of the writes to
/// the key; 0 in a store of one instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRows {
    /// The key's row.
    pub key: KeyRecord,
    /// Its grants, in creation order.
    pub grants: Vec<GrantRow>,
    /// Its parts (tags, schedules).
    pub parts: Vec<PartRow>,
    /// Its version.
    pub version: u64,
}

/// A key's row held locked against every other writer ([`Store::lock_key`]).
pub trait KeyLock: Send + Sync + std::fmt::Debug {
    /// Applies `changes` as [`Store::apply`] does, under the lock, and releases it.
    fn apply(self: Box<Self>, changes: &[Change]) -> Result<(), StoreError>;
}

/// Where the service keeps keys and aliases.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Everything stored, read when the service opens.
    fn load(&self) -> Result<Snapshot, StoreError>;
    /// Applies `changes` atomically and durably (committed to stable storage on return).
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;
    /// Whether other instances write to the same rows (then the service guards its writes
    /// with [`Change::Guard`] and reads a key again when a write conflicts).
    fn shared(&self) -> bool {
        false
    }
    /// Key `id`'s rows as they are now, `None` when it is not stored.
    fn load_key(&self, id: &str) -> Result<Option<KeyRows>, StoreError> {
        let snapshot = self.load()?;
        Ok(snapshot
            .keys
            .into_iter()
            .find(|k| k.id == id)
            .map(|key| KeyRows {
                grants: snapshot
                    .grants
                    .into_iter()
                    .filter(|g| g.key_id == id)
                    .collect(),
                parts: snapshot
                    .parts
                    .into_iter()
                    .filter(|p| p.key_id == id)
                    .collect(),
                key,
                version: 0,
            }))
    }
    /// The custom key stores registered at run time, as they are now.
    fn load_key_stores(&self) -> Result<Vec<KeyStoreRow>, StoreError> {
        Ok(self.load()?.key_stores)
    }
    /// As [`Store::load`], with each key's version (none in a store of one instance), read
    /// in one snapshot.
    fn load_versioned(
        &self,
    ) -> Result<(Snapshot, std::collections::HashMap<String, u64>), StoreError> {
        Ok((self.load()?, std::collections::HashMap::new()))
    }
    /// Key `id`'s version as stored now (`None` when it is not stored; 0 for every key of a
    /// store of one instance).
    fn key_version(&self, id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.load_key(id)?.map(|rows| rows.version))
    }
    /// Alias `name` of `account` as stored now.
    fn load_alias(&self, account: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        Ok(self
            .load()?
            .aliases
            .into_iter()
            .find(|a| a.account == account && a.name == name))
    }
    /// Every alias as stored now.
    fn load_aliases(&self) -> Result<Vec<AliasRecord>, StoreError> {
        Ok(self.load()?.aliases)
    }
    /// The ID of the key grant `grant_id` is on, when it is stored.
    fn grant_owner(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .load()?
            .grants
            .into_iter()
            .find(|g| g.grant_id == grant_id)
            .map(|g| g.key_id))
    }
    /// Locks key `id`'s row against every other writer, for a write that must not be refused
    /// for a conflict (a call decided again after one): the key's rows as they are under the
    /// lock, and the lock, whose [`KeyLock::apply`] writes and releases it (dropped unused,
    /// it is released). `None` for a store no one else writes.
    #[allow(
        clippy::type_complexity,
        reason = "the lock and the rows read under it"
    )]
    fn lock_key(
        &self,
        _id: &str,
    ) -> Result<Option<(Box<dyn KeyLock>, Option<KeyRows>)>, StoreError> {
        Ok(None)
    }
    /// The notices of changes to the store, from when it was opened, taken once (`None` for
    /// a store no one else writes, or when taken already).
    fn changes(&self) -> Option<std::sync::mpsc::Receiver<StoreEvent>> {
        None
    }
}

//! Durable storage behind a small trait: the service keeps its state in memory and writes
//! every change through before answering, so what a call reported done survives a crash.
//! [`SqliteStore`] is the embedded database; [`MemoryStore`] serves tests; a shared-database
//! backend implements the same four methods.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// A key as stored: its metadata (JSON, no secrets) and its material sealed under the root key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub metadata: String,
    pub sealed: Vec<u8>,
}

/// An alias as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    /// `alias/...`.
    pub name: String,
    pub key_id: String,
    /// Epoch seconds.
    pub created: u64,
    pub updated: u64,
}

/// One change; a call's changes are applied together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    PutKey(KeyRecord),
    DeleteKey(String),
    PutAlias(AliasRecord),
    DeleteAlias(String),
}

/// Everything stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub keys: Vec<KeyRecord>,
    pub aliases: Vec<AliasRecord>,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("key store: {0}")]
pub struct StoreError(pub String);

/// Where the service keeps keys and aliases.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Everything stored, read when the service opens.
    fn load(&self) -> Result<Snapshot, StoreError>;
    /// Applies `changes` atomically and durably (committed to stable storage on return).
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;
}

//! A store in memory (tests).

use super::{Change, Snapshot, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Tables {
    keys: BTreeMap<String, super::KeyRecord>,
    aliases: BTreeMap<(String, String), super::AliasRecord>,
}

/// Keys and aliases in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Tables>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let tables = self.0.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(Snapshot {
            keys: tables.keys.values().cloned().collect(),
            aliases: tables.aliases.values().cloned().collect(),
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut tables = self.0.lock().map_err(|_| StoreError::Poisoned)?;
        for change in changes {
            match change {
                Change::PutKey(k) => {
                    tables.keys.insert(k.id.clone(), k.clone());
                }
                Change::DeleteKey(id) => {
                    tables.keys.remove(id);
                }
                Change::PutAlias(a) => {
                    tables
                        .aliases
                        .insert((a.account.clone(), a.name.clone()), a.clone());
                }
                Change::DeleteAlias { account, name } => {
                    tables.aliases.remove(&(account.clone(), name.clone()));
                }
            }
        }
        Ok(())
    }
}

//! A store in memory (tests).

use super::{Change, Snapshot, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Tables {
    keys: BTreeMap<String, super::KeyRecord>,
    /// By key and grant ID: the order the grant was first stored, and its row.
    grants: BTreeMap<(String, String), (u64, super::GrantRow)>,
    stored: u64,
    aliases: BTreeMap<(String, String), super::AliasRecord>,
    parts: BTreeMap<(super::PartKind, String, String), super::PartRow>,
    key_stores: BTreeMap<String, super::KeyStoreRow>,
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
            grants: {
                let mut grants: Vec<&(u64, super::GrantRow)> = tables.grants.values().collect();
                grants.sort_by(|a, b| (&a.1.key_id, a.0).cmp(&(&b.1.key_id, b.0)));
                grants.into_iter().map(|(_, g)| g.clone()).collect()
            },
            aliases: tables.aliases.values().cloned().collect(),
            parts: tables.parts.values().cloned().collect(),
            key_stores: tables.key_stores.values().cloned().collect(),
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
                    tables.grants.retain(|(key, _), _| key != id);
                    tables.parts.retain(|(_, key, _), _| key != id);
                }
                Change::PutPart(p) => {
                    tables
                        .parts
                        .insert((p.kind, p.key_id.clone(), p.name.clone()), p.clone());
                }
                Change::DeletePart { kind, key_id, name } => {
                    tables.parts.remove(&(*kind, key_id.clone(), name.clone()));
                }
                Change::PutGrant(g) => {
                    tables.stored += 1;
                    let next = tables.stored;
                    let first = tables
                        .grants
                        .get(&(g.key_id.clone(), g.grant_id.clone()))
                        .map_or(next, |(order, _)| *order);
                    tables
                        .grants
                        .insert((g.key_id.clone(), g.grant_id.clone()), (first, g.clone()));
                }
                Change::DeleteGrant { key_id, grant_id } => {
                    tables.grants.remove(&(key_id.clone(), grant_id.clone()));
                }
                // One instance: nothing else writes; no audit table.
                Change::Guard { .. } | Change::AliasGuard { .. } | Change::Audit { .. } => {}
                Change::PutKeyStore(k) => {
                    tables.key_stores.insert(k.id.clone(), k.clone());
                }
                Change::DeleteKeyStore(id) => {
                    tables.key_stores.remove(id);
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

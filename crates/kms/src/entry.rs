//! The service's state in memory: each key with what decides about it (its compiled policy,
//! its grants, its context layer), and the aliases of each account.

use crate::clock::epoch_seconds;
use crate::error::KmsError;
use crate::record::{AdminState, KeyMetadataRecord};
use crate::store::AliasRecord;
use keyward_api::KeyState;
use keyward_authz::{CompiledPolicy, KeyAttributes, insert_key};
use keyward_conditions::RequestContext;
use keyward_crypto::{CryptoKey, KeySpec};
use keyward_grants::key_grants::KeyGrants;
use keyward_grants::resolver::GrantSet;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A key in memory: metadata, material, the compiled policy and the grants.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) meta: KeyMetadataRecord,
    pub(crate) crypto: CryptoKey,
    pub(crate) policy: Arc<CompiledPolicy>,
    pub(crate) grants: KeyGrants,
    pub(crate) grant_set: Arc<GrantSet>,
    /// Its grants' stored rows as its head binds them.
    pub(crate) grant_binding: crate::grant_binding::GrantBinding,
    /// Alias names pointing at the key (`kms:ResourceAliases`).
    pub(crate) aliases: Vec<String>,
    /// The keys the key contributes to a request's context, typed once
    /// ([`refresh_context`](Self::refresh_context) after any change to the key).
    pub(crate) context: Arc<RequestContext>,
    /// The wrapping key and token of the last GetParametersForImport (kept in memory only: a
    /// restart invalidates them, and the caller asks again).
    pub(crate) import: Option<Arc<keyward_crypto::ImportParameters>>,
    /// The key's version in a shared store when this entry was read or last written
    /// ([`crate::store::Change::Guard`]); `None` for a key not stored yet, and always 0 in a
    /// store of one instance.
    pub(crate) version: Option<u64>,
    /// The key's row, locked in a shared store against every other instance's writes while
    /// a call is decided again after a conflict ([`crate::store::Store::lock_key`]): the
    /// key's next write goes through it, and cannot conflict.
    pub(crate) held: Option<Box<dyn crate::store::KeyLock>>,
}

impl KeyEntry {
    /// The state callers see.
    pub(crate) fn state(&self) -> KeyState {
        match self.meta.state {
            AdminState::PendingDeletion => KeyState::PendingDeletion,
            AdminState::PendingReplicaDeletion => KeyState::PendingReplicaDeletion,
            AdminState::Disabled => KeyState::Disabled,
            AdminState::Enabled if !self.crypto.has_material() => KeyState::PendingImport,
            AdminState::Enabled => KeyState::Enabled,
        }
    }

    /// When time next changes something about the key (epoch seconds): its deletion, its
    /// next automatic rotation (only while enabled), or the expiry of imported material.
    pub(crate) fn next_event(&self) -> Option<u64> {
        let rotation = (self.meta.rotation_enabled && self.meta.state == AdminState::Enabled)
            .then_some(self.meta.next_rotation)
            .flatten();
        [self.meta.deletion_date, rotation, self.meta.valid_to]
            .into_iter()
            .flatten()
            .min()
    }

    /// Rebuilds the key's context layer (`kms:KeySpec`, `kms:ResourceAliases`,
    /// `aws:ResourceTag/*`, ...) from its metadata and aliases.
    pub(crate) fn refresh_context(&mut self) {
        let mut ctx = RequestContext::new();
        insert_key(
            &mut ctx,
            &KeyAttributes {
                spec: self.meta.spec.as_str(),
                usage: self.meta.usage.as_str(),
                origin: self.meta.origin.as_str(),
                multi_region: self.meta.multi_region.is_some(),
                multi_region_key_type: self.meta.multi_region_key_type(),
                aliases: &self.aliases,
                tags: &self.meta.tags,
            },
        );
        self.context = Arc::new(ctx);
    }

    /// Whether the key is a symmetric encryption key (the keys whose material rotates and
    /// whose ciphertexts name their material).
    pub(crate) fn is_symmetric(&self) -> bool {
        self.meta.spec == KeySpec::SymmetricDefault
    }

    /// The `KeyMaterialId` of the current material of a symmetric encryption key; `None` for
    /// other keys and for one never imported into.
    pub(crate) fn current_material_id(&self) -> Option<String> {
        if self.is_symmetric() {
            self.crypto.current_material_id()
        } else {
            None
        }
    }

    /// The `KeyMaterialId` of the material a symmetric ciphertext names.
    pub(crate) fn blob_material_id(&self, blob: &[u8]) -> Option<String> {
        if !self.is_symmetric() {
            return None;
        }
        let version = keyward_crypto::blob::BlobHeader::parse(blob)
            .ok()?
            .material_version;
        self.crypto.material_id(version)
    }

    /// Sets `valid_to` to the earliest expiry of the imported material present (what the
    /// clock next has to delete): when a key is read, and after every change
    /// ([`crate::Kms`]'s `commit_key`), an import, a deletion or an expiry included.
    pub(crate) fn refresh_expiry(&mut self) {
        self.meta.valid_to = self
            .crypto
            .materials()
            .iter()
            .filter(|m| m.present)
            .filter_map(|m| m.expires_at)
            .min()
            .map(epoch_seconds);
    }

    /// Rebuilds what authorization reads of the grants.
    pub(crate) fn refresh_grants(&mut self) {
        self.grant_set = Arc::new(GrantSet::new(self.grants.grants().to_vec()));
    }

    /// Checks the request's grant tokens: each must be a token of one of the key's grants.
    pub(crate) fn check_grant_tokens(&self, tokens: &[String]) -> Result<(), KmsError> {
        if tokens.is_empty() {
            return Ok(());
        }
        self.grants.resolve_tokens(tokens)?;
        Ok(())
    }
}

/// A key's place in the service: what never changes about it (its ID, account and ARN), read
/// without a lock, and its entry behind a lock of its own, so that calls on different keys
/// never wait for each other.
///
/// Locks are taken in one order: the service's map of keys and aliases ([`State`]) before a
/// key's, and two keys' in the order of their IDs ([`KeySlot::write_both`]). A call
/// holding a key's lock never asks for the map's.
#[derive(Debug)]
pub(crate) struct KeySlot {
    pub(crate) id: String,
    pub(crate) account: String,
    pub(crate) arn: String,
    entry: RwLock<KeyEntry>,
    /// Set (under the entry's write lock) when the key leaves the service: a call that found
    /// the slot before then finds the key gone once it holds the lock.
    removed: AtomicBool,
}

impl KeySlot {
    pub(crate) fn new(entry: KeyEntry) -> Arc<Self> {
        Arc::new(Self {
            id: entry.meta.id.clone(),
            account: entry.meta.account.clone(),
            arn: entry.meta.arn.clone(),
            entry: RwLock::new(entry),
            removed: AtomicBool::new(false),
        })
    }

    fn gone(&self) -> KmsError {
        KmsError::not_found(format!("Key '{}' does not exist", self.arn))
    }

    /// The key, to read; `NotFoundException` when it left the service meanwhile.
    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, KeyEntry>, KmsError> {
        let guard = self.entry.read().map_err(|_| poisoned(&self.id))?;
        if self.removed.load(Ordering::Acquire) {
            return Err(self.gone());
        }
        Ok(guard)
    }

    /// The key, to change; `NotFoundException` when it left the service meanwhile.
    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, KeyEntry>, KmsError> {
        let guard = self.entry.write().map_err(|_| poisoned(&self.id))?;
        if self.removed.load(Ordering::Acquire) {
            return Err(self.gone());
        }
        Ok(guard)
    }

    /// Marks the key gone: `entry` is this slot's, held for writing.
    pub(crate) fn mark_removed(&self, _entry: &mut KeyEntry) {
        self.removed.store(true, Ordering::Release);
    }

    /// Two keys to change, locked in the order of their IDs (the same key once: `None` for
    /// the second).
    #[allow(
        clippy::type_complexity,
        reason = "two guards, the second absent when both are one key"
    )]
    pub(crate) fn write_both<'a>(
        first: &'a KeySlot,
        second: &'a KeySlot,
    ) -> Result<
        (
            RwLockWriteGuard<'a, KeyEntry>,
            Option<RwLockWriteGuard<'a, KeyEntry>>,
        ),
        KmsError,
    > {
        in_id_order(first, second, KeySlot::write)
    }

    /// Two keys to read, locked in the order of their IDs.
    #[allow(
        clippy::type_complexity,
        reason = "two guards, the second absent when both are one key"
    )]
    pub(crate) fn read_both<'a>(
        first: &'a KeySlot,
        second: &'a KeySlot,
    ) -> Result<
        (
            RwLockReadGuard<'a, KeyEntry>,
            Option<RwLockReadGuard<'a, KeyEntry>>,
        ),
        KmsError,
    > {
        in_id_order(first, second, KeySlot::read)
    }
}

/// Locks `first` and `second` with `lock` in the order of their IDs (the lock order of two
/// keys); the guards in the order given, the second `None` when both are one key.
fn in_id_order<'a, G>(
    first: &'a KeySlot,
    second: &'a KeySlot,
    lock: impl Fn(&'a KeySlot) -> Result<G, KmsError>,
) -> Result<(G, Option<G>), KmsError> {
    if first.id == second.id {
        return Ok((lock(first)?, None));
    }
    if first.id < second.id {
        let a = lock(first)?;
        let b = lock(second)?;
        Ok((a, Some(b)))
    } else {
        let b = lock(second)?;
        let a = lock(first)?;
        Ok((a, Some(b)))
    }
}

fn poisoned(id: &str) -> KmsError {
    KmsError::Internal(format!("the lock of key {id} was poisoned by a panic"))
}

/// Everything the service holds in memory: the keys (each behind its own lock) and the
/// aliases. The map's own lock is held only to find, add or remove keys and aliases.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Keys by ID (key IDs are unique across accounts; each slot knows its account).
    pub(crate) keys: HashMap<String, Arc<KeySlot>>,
    /// Aliases, per account.
    pub(crate) aliases: Aliases,
}

impl State {
    /// The earliest time anything is due for any key (`u64::MAX` for none). Takes each key's
    /// read lock in turn: call it holding no key's lock.
    pub(crate) fn earliest_event(&self) -> u64 {
        self.keys
            .values()
            .filter_map(|slot| slot.read().ok().and_then(|e| e.next_event()))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The key `id`'s slot, when the service holds it.
    pub(crate) fn slot(&self, id: &str) -> Option<Arc<KeySlot>> {
        self.keys.get(id).cloned()
    }

    /// Adds a key.
    pub(crate) fn insert(&mut self, entry: KeyEntry) -> Arc<KeySlot> {
        let slot = KeySlot::new(entry);
        self.keys.insert(slot.id.clone(), Arc::clone(&slot));
        slot
    }
}

/// Aliases by account, then by name (alias names are per account): found by `&str` without
/// allocating, listed per account in name order.
#[derive(Debug, Default)]
pub(crate) struct Aliases(HashMap<String, BTreeMap<String, AliasRecord>>);

impl Aliases {
    pub(crate) fn get(&self, account: &str, name: &str) -> Option<&AliasRecord> {
        self.0.get(account)?.get(name)
    }

    pub(crate) fn contains(&self, account: &str, name: &str) -> bool {
        self.get(account, name).is_some()
    }

    pub(crate) fn insert(&mut self, record: AliasRecord) {
        self.0
            .entry(record.account.clone())
            .or_default()
            .insert(record.name.clone(), record);
    }

    pub(crate) fn remove(&mut self, account: &str, name: &str) {
        if let Some(names) = self.0.get_mut(account) {
            names.remove(name);
        }
    }

    /// Every alias, of every account.
    pub(crate) fn all(&self) -> impl Iterator<Item = &AliasRecord> {
        self.0.values().flat_map(BTreeMap::values)
    }

    /// Whether any account has an alias named `name`.
    pub(crate) fn named_anywhere(&self, name: &str) -> bool {
        self.0.values().any(|names| names.contains_key(name))
    }

    /// The aliases of `account`, by name.
    pub(crate) fn of(&self, account: &str) -> impl Iterator<Item = &AliasRecord> {
        self.0.get(account).into_iter().flat_map(BTreeMap::values)
    }
}

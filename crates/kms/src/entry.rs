//! The service's state in memory: each key with what decides about it (its compiled policy,
//! its grants, its context layer), and the aliases of each account.

use crate::clock::epoch_seconds;
use crate::error::KmsError;
use crate::record::{AdminState, GrantRecord, KeyMetadataRecord};
use crate::store::AliasRecord;
use keyward_api::KeyState;
use keyward_authz::{CompiledPolicy, KeyAttributes, insert_key};
use keyward_conditions::RequestContext;
use keyward_crypto::{CryptoKey, KeySpec};
use keyward_grants::key_grants::KeyGrants;
use keyward_grants::resolver::GrantSet;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A key in memory: metadata, material, the compiled policy and the grants.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) meta: KeyMetadataRecord,
    pub(crate) crypto: CryptoKey,
    pub(crate) policy: Arc<CompiledPolicy>,
    pub(crate) grants: KeyGrants,
    pub(crate) grant_set: Arc<GrantSet>,
    /// Alias names pointing at the key (`kms:ResourceAliases`).
    pub(crate) aliases: Vec<String>,
    /// The keys the key contributes to a request's context, typed once
    /// ([`refresh_context`](Self::refresh_context) after any change to the key).
    pub(crate) context: Arc<RequestContext>,
    /// The wrapping key and token of the last GetParametersForImport (kept in memory only: a
    /// restart invalidates them, and the caller asks again).
    pub(crate) import: Option<Arc<keyward_crypto::ImportParameters>>,
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
    /// clock next has to delete), after an import, a deletion or an expiry.
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

    /// Rebuilds what authorization reads of the grants, and their stored form.
    pub(crate) fn refresh_grants(&mut self) {
        self.grant_set = Arc::new(GrantSet::new(self.grants.grants().to_vec()));
        self.meta.grants = self.grants.grants().iter().map(GrantRecord::of).collect();
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

/// Everything the service holds in memory.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Keys by ID (key IDs are unique across accounts; each entry knows its account).
    pub(crate) keys: HashMap<String, KeyEntry>,
    /// Aliases, per account.
    pub(crate) aliases: Aliases,
}

impl State {
    /// The earliest time anything is due for any key (`u64::MAX` for none).
    pub(crate) fn earliest_event(&self) -> u64 {
        self.keys
            .values()
            .filter_map(KeyEntry::next_event)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The key `id`, to change it (it was found under a read of the same lock).
    pub(crate) fn key_mut(&mut self, id: &str) -> Result<&mut KeyEntry, KmsError> {
        self.keys
            .get_mut(id)
            .ok_or_else(|| KmsError::Internal(format!("key {id} vanished under the lock")))
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

    /// The aliases of `account`, by name.
    pub(crate) fn of(&self, account: &str) -> impl Iterator<Item = &AliasRecord> {
        self.0.get(account).into_iter().flat_map(BTreeMap::values)
    }
}

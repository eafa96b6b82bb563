//! Several instances on one shared store: how each keeps what it holds in memory as the store
//! has it.
//!
//! - **Notices.** Every write announces what it touched when it commits
//!   ([`crate::store::StoreEvent`]). A thread per service ([`Kms::follow`]) reads each key or
//!   alias announced again, unless what it holds is as new already (a key's version).
//! - **Misses.** A key or alias this instance does not hold is read from the store when a call
//!   names it, so a key created through another instance serves the very next call.
//! - **Grant tokens.** A token of a grant this instance does not hold yet makes it read the key
//!   again before the token is judged, so a grant is usable at once through any instance.
//! - **Conflicts.** A write made on rows another instance changed meanwhile is refused by the
//!   store; the call reads the rows again and is decided again ([`Kms::retry_after`]).
//! - **Fail closed.** While the notices are lost (the listening session ended) or a change
//!   could not be read, the instance may hold stale rows: it refuses every call until it has
//!   read everything again.

use crate::caller::Caller;
use crate::entry::{KeyEntry, KeySlot};
use crate::error::KmsError;
use crate::key_id::{self, KeyRef};
use crate::service::Kms;
use crate::store::{StoreError, StoreEvent};
use keyward_policy::catalog::ActionId;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long the follower waits before reading everything again after a failed attempt.
const RESYNC_RETRY: Duration = Duration::from_millis(500);

/// How many times a call is decided again when another instance changed what it read.
pub(crate) const CONFLICT_RETRIES: u32 = 3;

impl Kms {
    /// Starts following the store's notices of changes on a thread of its own, for as long as
    /// the service lives; until then a service over a shared store refuses every call (it
    /// cannot know what other instances change). Nothing to do for a store of one instance.
    /// [`crate::Regions`] calls this for every Region it opens.
    pub fn follow(self: &Arc<Self>) -> std::io::Result<()> {
        let notices = self
            .notices
            .lock()
            .map_err(|_| std::io::Error::other("the notices' lock was poisoned"))?
            .take();
        let Some(notices) = notices else {
            return Ok(());
        };
        let service = Arc::downgrade(self);
        std::thread::Builder::new()
            .name(format!("keyward-follow-{}", self.region()))
            .spawn(move || {
                for event in notices {
                    let Some(kms) = service.upgrade() else {
                        return;
                    };
                    if kms.on_store_event(event).is_err() {
                        kms.stale.store(true, Ordering::Release);
                        drop(kms);
                        if !resync_until_done(&service) {
                            return;
                        }
                    }
                }
            })?;
        // The store announced every change from before the service read it: what was
        // committed since is among the notices the thread follows, in order.
        self.stale.store(false, Ordering::Release);
        Ok(())
    }

    /// Refuses a call while this instance may hold stale rows.
    pub(crate) fn check_fresh(&self) -> Result<(), KmsError> {
        if self.stale.load(Ordering::Acquire) {
            if self.notices.lock().is_ok_and(|n| n.is_some()) {
                return Err(KmsError::Internal(
                    "this service is over a shared store and does not follow its changes: call Kms::follow (Regions does) before serving".into(),
                ));
            }
            return Err(KmsError::Internal(
                "this instance is reading its shared store's changes again (it lost or has not yet started following them) and cannot vouch for what it holds; retry in a moment".into(),
            ));
        }
        Ok(())
    }

    /// Applies one notice.
    fn on_store_event(&self, event: StoreEvent) -> Result<(), KmsError> {
        match event {
            StoreEvent::Key { id, version } => {
                self.key_notices.fetch_add(1, Ordering::SeqCst);
                self.refresh_key(&id, version)
            }
            StoreEvent::Alias { account, name } => {
                self.alias_notices.fetch_add(1, Ordering::SeqCst);
                self.refresh_alias(&account, &name)
            }
            StoreEvent::Lost => {
                self.stale.store(true, Ordering::Release);
                Ok(())
            }
            StoreEvent::Resumed => self.resync(),
        }
    }

    /// Reads everything this instance holds again (every key it holds, every alias), then
    /// serves again.
    fn resync(&self) -> Result<(), KmsError> {
        self.stale.store(true, Ordering::Release);
        self.key_notices.fetch_add(1, Ordering::SeqCst);
        self.alias_notices.fetch_add(1, Ordering::SeqCst);
        let ids: Vec<String> = self.read()?.keys.keys().cloned().collect();
        for id in ids {
            self.refresh_key(&id, None)?;
        }
        let stored = self.store().load_aliases()?;
        for alias in &stored {
            self.verify_alias(alias)?;
        }
        let held: Vec<(String, String)> = {
            let state = self.read()?;
            state
                .aliases
                .all()
                .map(|a| (a.account.clone(), a.name.clone()))
                .collect()
        };
        for (account, name) in held {
            if !stored
                .iter()
                .any(|a| a.account == account && a.name == name)
            {
                self.refresh_alias(&account, &name)?;
            }
        }
        for alias in stored {
            self.refresh_alias(&alias.account, &alias.name)?;
        }
        self.stale.store(false, Ordering::Release);
        Ok(())
    }

    /// Reads key `id` again if this instance holds it at a version older than `version`
    /// (always when `version` is `None`): its rows as stored now, its aliases and an import in
    /// progress kept; dropped when it is no longer stored.
    pub(crate) fn refresh_key(&self, id: &str, version: Option<u64>) -> Result<(), KmsError> {
        let Some(slot) = self.read()?.slot(id) else {
            return Ok(());
        };
        {
            let Ok(mut entry) = slot.write() else {
                // Gone from the service already.
                return Ok(());
            };
            if let (Some(announced), Some(held)) = (version, entry.version)
                && held >= announced
            {
                return Ok(());
            }
            match self.store().load_key(id)? {
                Some(rows) => {
                    let mut fresh = self.entry_from_rows(&rows)?;
                    fresh.aliases = std::mem::take(&mut entry.aliases);
                    fresh.import = entry.import.take();
                    fresh.held = entry.held.take();
                    fresh.refresh_context();
                    *entry = fresh;
                    if let Some(at) = entry.next_event() {
                        self.next_event.fetch_min(at, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                None => slot.mark_removed(&mut entry),
            }
        }
        let mut state = self.write()?;
        if state.keys.get(id).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            state.keys.remove(id);
        }
        Ok(())
    }

    /// Reads alias `name` of `account` again, and moves it between the keys' aliases
    /// (`kms:ResourceAliases`) as it moved in the store. Read under the map's lock, so that
    /// two readings of one alias are applied in the order they were read.
    pub(crate) fn refresh_alias(&self, account: &str, name: &str) -> Result<(), KmsError> {
        let mut attempts = 0;
        let (mut state, stored) = loop {
            let state = self.write()?;
            let stored = self.store().load_alias(account, name)?;
            if let Some(alias) = &stored {
                self.verify_alias(alias)?;
                // Its key first, so that no call finds the alias and not its key: read with
                // the map's lock released, then the alias read again.
                if state.slot(&alias.key_id).is_none() && attempts < 3 {
                    let key_id = alias.key_id.clone();
                    drop(state);
                    self.load_missing_key(&key_id)?;
                    attempts += 1;
                    continue;
                }
            }
            break (state, stored);
        };
        let held = state.aliases.get(account, name).cloned();
        if held == stored {
            return Ok(());
        }
        let from = held.map(|a| a.key_id);
        let to = stored.as_ref().map(|a| a.key_id.clone());
        if from != to {
            if let Some(slot) = from.and_then(|id| state.slot(&id))
                && let Ok(mut entry) = slot.write()
            {
                entry.aliases.retain(|a| a != name);
                entry.refresh_context();
            }
            if let Some(slot) = to.and_then(|id| state.slot(&id))
                && let Ok(mut entry) = slot.write()
                && entry.meta.account == account
                && !entry.aliases.iter().any(|a| a == name)
            {
                entry.aliases.push(name.to_owned());
                entry.refresh_context();
            }
        }
        match stored {
            Some(alias) => state.aliases.insert(alias),
            None => state.aliases.remove(account, name),
        }
        Ok(())
    }

    /// Reads key `id` from a shared store when this instance does not hold it (created
    /// through another instance). Nothing when it is held, or not stored.
    pub(crate) fn load_missing_key(&self, id: &str) -> Result<(), KmsError> {
        if !self.store().shared() || self.read()?.slot(id).is_some() {
            return Ok(());
        }
        let seen = self.key_notices.load(Ordering::SeqCst);
        let Some(rows) = self.store().load_key(id)? else {
            return Ok(());
        };
        let mut entry = self.entry_from_rows(&rows)?;
        {
            let mut state = self.write()?;
            if state.slot(id).is_some() {
                return Ok(());
            }
            entry.aliases = state
                .aliases
                .of(&entry.meta.account)
                .filter(|a| a.key_id == id)
                .map(|a| a.name.clone())
                .collect();
            entry.refresh_context();
            if let Some(at) = entry.next_event() {
                self.next_event.fetch_min(at, Ordering::Relaxed);
            }
            state.insert(entry);
        }
        // A notice followed while the rows were read may have found the key not held yet:
        // read it again, so nothing it announced is missed.
        if self.key_notices.load(Ordering::SeqCst) != seen {
            self.refresh_key(id, None)?;
        }
        Ok(())
    }

    /// Reads alias `name` of `account`, and the key it names, from a shared store when this
    /// instance does not hold them.
    pub(crate) fn load_missing_alias(&self, account: &str, name: &str) -> Result<(), KmsError> {
        if !self.store().shared() {
            return Ok(());
        }
        if self.read()?.aliases.contains(account, name) {
            return Ok(());
        }
        let seen = self.alias_notices.load(Ordering::SeqCst);
        let Some(alias) = self.store().load_alias(account, name)? else {
            return Ok(());
        };
        self.verify_alias(&alias)?;
        // Its key first, so that no call finds the alias and not its key.
        self.load_missing_key(&alias.key_id)?;
        let mut state = self.write()?;
        // A notice followed meanwhile put it in already, as new or newer.
        if !state.aliases.contains(account, name) {
            if let Some(slot) = state.slot(&alias.key_id)
                && let Ok(mut entry) = slot.write()
                && entry.meta.account == account
                && !entry.aliases.iter().any(|a| a == name)
            {
                entry.aliases.push(name.to_owned());
                entry.refresh_context();
            }
            state.aliases.insert(alias);
        }
        drop(state);
        // A notice followed while the alias was read may have found it not held yet (moved
        // or deleted meanwhile): read it again, so nothing it announced is missed.
        if self.alias_notices.load(Ordering::SeqCst) != seen {
            self.refresh_alias(account, name)?;
        }
        Ok(())
    }

    /// Makes sure the key `key_id` names (as `action`'s `KeyId` takes it, in the caller's
    /// account unless an ARN says otherwise), and the alias it names, are held when the store
    /// has them. A reference that does not parse is left to the call to refuse.
    pub(crate) fn fill(
        &self,
        caller: &Caller,
        key_id: &str,
        action: ActionId,
    ) -> Result<(), KmsError> {
        if !self.store().shared() {
            return Ok(());
        }
        let Ok(reference) = key_id::parse(key_id, action) else {
            return Ok(());
        };
        match reference {
            KeyRef::Alias { arn, name } => {
                let account = arn.map_or(caller.account(), |a| a.account);
                self.load_missing_alias(account, name)
            }
            KeyRef::Key { id, .. } => self.load_missing_key(id),
        }
    }

    /// Reads the keys of `slots` again when one of `tokens` is a token one of them issued for a
    /// grant not held here: a grant created through another instance, whose token must work
    /// at once. The tokens are judged afterwards as always.
    pub(crate) fn fresh_for_tokens(
        &self,
        slots: &[&Arc<KeySlot>],
        tokens: &[String],
    ) -> Result<(), KmsError> {
        if tokens.is_empty() || !self.store().shared() {
            return Ok(());
        }
        // Read again only for a token one of the keys issued whose grant is not held here: a
        // forged token costs no read of the store.
        let unheard = |token: &String| {
            slots.iter().any(|slot| {
                slot.read().is_ok_and(|entry| {
                    entry.grants.resolve_token(token).is_err() && entry.grants.issued_token(token)
                })
            })
        };
        if !tokens.iter().any(unheard) {
            return Ok(());
        }
        // Read again only a key the store has at another version than this instance: a token
        // of a grant retired or revoked since costs one lookup of a version, not a read of
        // the key.
        for slot in slots {
            let held = slot.read().ok().and_then(|entry| entry.version);
            if self.store().key_version(&slot.id)? != held {
                self.refresh_key(&slot.id, None)?;
            }
        }
        Ok(())
    }

    /// The key a grant token's grant is on, read from a shared store when no key held here
    /// has it (RetireGrant by token through an instance that has not seen the grant yet).
    pub(crate) fn load_token_owner(&self, token: &str) -> Result<(), KmsError> {
        if !self.store().shared() {
            return Ok(());
        }
        let Some(grant_id) = keyward_grants::key_grants::KeyGrants::token_grant_id(token) else {
            return Ok(());
        };
        let Some(owner) = self.store().grant_owner(&grant_id)? else {
            return Ok(());
        };
        self.load_missing_key(&owner)?;
        // Read again only for a token that key issued: a forged token costs no more.
        let issued = self
            .read()?
            .slot(&owner)
            .is_some_and(|slot| slot.read().is_ok_and(|e| e.grants.issued_token(token)));
        if issued {
            self.refresh_key(&owner, None)?;
        }
        Ok(())
    }

    /// Whether `error` is a write refused because another instance changed what the call read;
    /// if so, reads it again so the call can be decided again.
    pub(crate) fn retry_after(&self, error: &KmsError) -> Result<bool, KmsError> {
        match error {
            KmsError::Store(StoreError::Conflict { key_id }) => {
                self.refresh_key(key_id, None)?;
                Ok(true)
            }
            KmsError::Store(StoreError::AliasConflict { account, name }) => {
                self.refresh_alias(account, name)?;
                self.load_missing_alias(account, name)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// After a write of `entry`'s key was refused for a conflict: locks the key's row in the
    /// store against every other instance's writes, reads it under the lock into `entry`,
    /// and keeps the lock in `entry` for its next write ([`KeyEntry::held`]), so that the
    /// call, decided again, cannot conflict again. The caller holds the key's own lock
    /// throughout and drops `entry.held` when it is done (a lock not used is rolled back):
    /// no other call here ever waits for the row while holding the key. Nothing to lock in a
    /// store of one instance. `NotFoundException` when the key is gone.
    pub(crate) fn lock_in_place(&self, entry: &mut KeyEntry) -> Result<(), KmsError> {
        let id = entry.meta.id.clone();
        let Some((lock, rows)) = self.store().lock_key(&id)? else {
            return Ok(());
        };
        let Some(rows) = rows else {
            return Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                entry.meta.arn
            )));
        };
        let mut fresh = self.entry_from_rows(&rows)?;
        fresh.aliases = std::mem::take(&mut entry.aliases);
        fresh.import = entry.import.take();
        fresh.held = Some(lock);
        fresh.refresh_context();
        *entry = fresh;
        Ok(())
    }

    /// Whether serving a call that names `key_id` (and carries `tokens`, and for Decrypt or
    /// ReEncrypt `ciphertext`) may read a shared store: a key or alias not held here, or a
    /// grant token. A server runs such a call where blocking is allowed.
    pub(crate) fn may_read_store(
        &self,
        key_id: Option<&str>,
        tokens: &[String],
        ciphertext: Option<&[u8]>,
    ) -> bool {
        if !self.store().shared() {
            return false;
        }
        if !tokens.is_empty() {
            return true;
        }
        let Ok(state) = self.read() else {
            return true;
        };
        let named =
            key_id.is_some_and(
                |k| match key_id::parse(k, crate::gate::action!("DescribeKey")) {
                    Ok(KeyRef::Key { id, .. }) => state.slot(id).is_none(),
                    Ok(KeyRef::Alias { arn, name }) => arn.map_or_else(
                        // A bare alias name is of the caller's account, unknown here: any account
                        // holding it is enough for a guess, and a wrong guess costs only a thread.
                        || !state.aliases.named_anywhere(name),
                        |a| !state.aliases.contains(a.account, name),
                    ),
                    Err(_) => false,
                },
            );
        let in_blob = ciphertext
            .and_then(|blob| keyward_crypto::ciphertext_key_id(blob).ok())
            .is_some_and(|id| state.slot(id).is_none());
        named || in_blob
    }
}

/// Reads everything again until it works or the service is gone; `false` when it is gone.
fn resync_until_done(service: &Weak<Kms>) -> bool {
    loop {
        let Some(kms) = service.upgrade() else {
            return false;
        };
        if kms.resync().is_ok() {
            return true;
        }
        drop(kms);
        std::thread::sleep(RESYNC_RETRY);
    }
}

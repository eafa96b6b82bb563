//! What the passing of time does to keys, run at the start of every call (a single comparison
//! when nothing is due): keys whose deletion window has passed are destroyed (material dropped
//! and zeroized, record and aliases deleted); enabled keys due for automatic rotation are
//! rotated; imported material past its `ValidTo` is deleted (the key becomes `PendingImport`).

use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::error::KmsError;
use crate::operations::multi_region::Followup;
use crate::record::{AdminState, RotationRecord};
use crate::service::Kms;
use crate::store::{Change, StoreError};
use std::sync::atomic::Ordering;

/// Seconds in a day.
pub(crate) const DAY: u64 = 86_400;

impl Kms {
    /// Whether a call that changes nothing by itself may still write: its audit record goes
    /// to the store's table or is synced to the disk before the call answers, something is
    /// due (its housekeeping runs first), or it names an AWS managed key's alias (which the
    /// call may create).
    pub(crate) fn may_write_reading(&self, key_id: Option<&str>) -> bool {
        // With the audit table, every call writes its record to the database; per request,
        // every call waits for its record's sync.
        self.config.audit_in_store
            || self.audit.waits_for_disk()
            || self.next_event.load(Ordering::Relaxed) <= epoch_seconds(self.clock.now())
            || key_id.is_some_and(|k| k.contains("alias/aws/"))
    }

    /// Applies whatever time has made due.
    pub(crate) fn housekeeping(&self) -> Result<(), KmsError> {
        let now = epoch_seconds(self.clock.now());
        if self.next_event.load(Ordering::Relaxed) > now {
            return Ok(());
        }
        // The map's lock, then each due key's in turn (the lock order of `KeySlot`).
        let mut state = self.write()?;
        // Keys another instance sharing the store changed first: read again once the map's
        // lock is released, and looked at again by the next call.
        let mut conflicted: Vec<String> = Vec::new();
        // Calls on other keys go on meanwhile and lower the mark for what they change; it
        // ends as the least of theirs and of what is left due here.
        self.next_event.store(u64::MAX, Ordering::Relaxed);
        let is_due =
            |entry: &crate::entry::KeyEntry| entry.next_event().is_some_and(|at| at <= now);
        // Found under each key's read lock, then changed under its write lock, checked again.
        let due: Vec<_> = state
            .keys
            .values()
            .filter(|slot| slot.read().is_ok_and(|entry| is_due(&entry)))
            .cloned()
            .collect();
        for slot in due {
            let Ok(mut entry) = slot.write() else {
                continue;
            };
            if !is_due(&entry) {
                continue;
            }
            let id = slot.id.clone();
            if entry.meta.deletion_date.is_some_and(|d| d <= now) {
                let account = entry.meta.account.clone();
                // Only if no other instance changed the key (cancelled its deletion) or moved
                // its aliases meanwhile.
                let mut changes: Vec<Change> = Vec::new();
                if let Some(version) = entry.version.filter(|_| self.store().shared()) {
                    changes.push(Change::Guard {
                        key_id: id.clone(),
                        version,
                    });
                }
                for name in &entry.aliases {
                    changes.push(Change::AliasGuard {
                        account: account.clone(),
                        name: name.clone(),
                        key_id: Some(id.clone()),
                    });
                    changes.push(Change::DeleteAlias {
                        account: account.clone(),
                        name: name.clone(),
                    });
                }
                changes.push(Change::DeleteKey(id.clone()));
                match self.persist(&changes) {
                    Ok(()) => {}
                    Err(KmsError::Store(
                        StoreError::Conflict { .. } | StoreError::AliasConflict { .. },
                    )) => {
                        drop(entry);
                        conflicted.push(id);
                        continue;
                    }
                    Err(e) => {
                        drop(entry);
                        self.next_event.store(0, Ordering::Relaxed);
                        return Err(e);
                    }
                }
                for name in std::mem::take(&mut entry.aliases) {
                    state.aliases.remove(&account, &name);
                }
                // A key of a custom key store: its key in the token goes too, as AWS deletes
                // the key material from the cluster. A store not connected keeps it (nothing
                // can use it: no KMS key names it any more).
                if let Some(store) = entry
                    .meta
                    .custom_key_store_id
                    .as_deref()
                    .and_then(|s| self.key_stores.get(s))
                {
                    let _ = keyward_crypto::KeyToken::destroy_key(&*store.token, &id);
                }
                slot.mark_removed(&mut entry);
                state.keys.remove(&id);
                if let Some(record) = &entry.meta.multi_region
                    && record.primary_region != self.config.region
                {
                    self.followups.push(Followup::ReplicaGone {
                        key_id: id.clone(),
                        primary_region: record.primary_region.clone(),
                        region: self.config.region.clone(),
                    });
                }
                continue;
            }
            let mut rotated = false;
            let result = self.commit_key(&mut entry, |e| {
                // A multi-Region replica never rotates by itself: its primary's rotation
                // reaches it.
                let rotate = e.meta.state == AdminState::Enabled
                    && e.meta.rotation_enabled
                    && e.meta.multi_region_key_type() != Some("REPLICA")
                    && e.meta.next_rotation.is_some_and(|at| at <= now);
                rotated = rotate;
                if rotate {
                    let version = e.crypto.rotate()?;
                    e.meta.rotations.push(RotationRecord {
                        version,
                        date: now,
                        on_demand: false,
                    });
                    e.meta.next_rotation = Some(now + u64::from(e.meta.rotation_period_days) * DAY);
                }
                if e.meta.valid_to.is_some_and(|at| at <= now) {
                    e.crypto.delete_expired_material(from_epoch_seconds(now));
                }
                Ok(())
            });
            match result {
                Ok(()) => {}
                Err(KmsError::Store(StoreError::Conflict { .. })) => {
                    drop(entry);
                    conflicted.push(id);
                    continue;
                }
                Err(e) => {
                    drop(entry);
                    self.next_event.store(0, Ordering::Relaxed);
                    return Err(e);
                }
            }
            if rotated && entry.meta.multi_region.is_some() {
                self.followups.push(Followup::Spread(id.clone()));
            }
        }
        self.next_event
            .fetch_min(state.earliest_event(), Ordering::Relaxed);
        drop(state);
        for id in conflicted {
            // What the other instance wrote, due or not; the next call sees to it.
            self.refresh_key(&id, None)?;
            self.next_event.store(0, Ordering::Relaxed);
        }
        Ok(())
    }
}

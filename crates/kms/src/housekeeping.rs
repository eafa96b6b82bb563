//! What the passing of time does to keys, run at the start of every call (a single comparison
//! when nothing is due): keys whose deletion window has passed are destroyed (material dropped
//! and zeroized, record and aliases deleted); enabled keys due for automatic rotation are
//! rotated; imported material past its `ValidTo` is deleted (the key becomes `PendingImport`).

use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::error::KmsError;
use crate::operations::multi_region::Followup;
use crate::record::{AdminState, RotationRecord};
use crate::service::Kms;
use crate::store::Change;
use std::sync::atomic::Ordering;

/// Seconds in a day.
pub(crate) const DAY: u64 = 86_400;

impl Kms {
    /// Applies whatever time has made due.
    pub(crate) fn housekeeping(&self) -> Result<(), KmsError> {
        let now = epoch_seconds(self.clock.now());
        if self.next_event.load(Ordering::Relaxed) > now {
            return Ok(());
        }
        let mut state = self.write()?;
        let due: Vec<String> = state
            .keys
            .values()
            .filter(|e| e.next_event().is_some_and(|at| at <= now))
            .map(|e| e.meta.id.clone())
            .collect();
        for id in due {
            let Some(entry) = state.keys.get_mut(&id) else {
                continue;
            };
            if entry.meta.deletion_date.is_some_and(|d| d <= now) {
                let aliases = std::mem::take(&mut entry.aliases);
                let account = entry.meta.account.clone();
                let mut changes: Vec<Change> = aliases
                    .iter()
                    .map(|name| Change::DeleteAlias {
                        account: account.clone(),
                        name: name.clone(),
                    })
                    .collect();
                changes.push(Change::DeleteKey(id.clone()));
                if let Err(e) = self.persist(&changes) {
                    entry.aliases = aliases;
                    return Err(e);
                }
                for name in aliases {
                    state.aliases.remove(&account, &name);
                }
                if let Some(removed) = state.keys.remove(&id)
                    && let Some(record) = &removed.meta.multi_region
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
            self.commit_key(entry, |e| {
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
                    e.refresh_expiry();
                }
                Ok(())
            })?;
            if rotated && entry.meta.multi_region.is_some() {
                self.followups.push(Followup::Spread(id.clone()));
            }
        }
        self.next_event
            .store(state.earliest_event(), Ordering::Relaxed);
        Ok(())
    }
}

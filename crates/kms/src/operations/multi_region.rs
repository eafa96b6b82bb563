//! Multi-Region keys: ReplicateKey and UpdatePrimaryRegion, and how the copies of a key in
//! several Regions stay one key.
//!
//! Every copy (the primary and each replica, each in its Region's service) has the same key ID
//! (`mrk-...`), the same material and the same [`MultiRegionRecord`]. What changes one copy's
//! shared properties (a rotation of the primary, a new replica, a new primary, a replica
//! deleted) is followed, once the call has released its Region's lock, by a spread: the copy
//! that changed pushes its material, rotation settings and record to every other Region of the
//! key ([`Kms::run_followups`]). No Region's lock is ever held while another's is taken, so
//! calls in several Regions cannot deadlock.
//!
//! Each copy has its own key policy, grants, aliases, tags, description and state, as in AWS.

use super::keys::{lockout_check, new_entry};
use super::tags::check_tags;
use super::{audited_tags, metadata};
use crate::caller::Caller;
use crate::clock::epoch_seconds;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Call, KmsOperation, Named, action, operation};
use crate::housekeeping::DAY;
use crate::key_state::{self, StateClass};
use crate::record::{AdminState, MultiRegionRecord, RotationRecord};
use crate::service::{Kms, compile_key_policy, default_policy};
use keyward_api::{
    CreateKeyRequest, Empty, ErrorCode, ReplicateKeyRequest, ReplicateKeyResponse, Tag,
    UpdatePrimaryRegionRequest,
};
use keyward_crypto::CryptoKey;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

/// The services of the other Regions, for the copies of multi-Region keys to reach each other.
/// Weak: the [`crate::Regions`] that opened them owns them.
#[derive(Debug, Default)]
pub(crate) struct RegionLinks(RwLock<BTreeMap<String, Weak<Kms>>>);

impl RegionLinks {
    /// Links `region` to its service.
    pub(crate) fn link(&self, region: &str, kms: &Arc<Kms>) {
        if let Ok(mut links) = self.0.write() {
            links.insert(region.to_owned(), Arc::downgrade(kms));
        }
    }

    /// The service of `region`, if it is served.
    pub(crate) fn get(&self, region: &str) -> Option<Arc<Kms>> {
        self.0.read().ok()?.get(region).and_then(Weak::upgrade)
    }
}

/// What a call leaves to do once its Region's lock is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Followup {
    /// Push this copy's material, rotation settings and record to the key's other Regions.
    Spread(String),
    /// A replica was deleted: its primary forgets it (and, waiting for it, may start its own
    /// deletion window).
    ReplicaGone {
        key_id: String,
        primary_region: String,
        region: String,
    },
}

/// Followups not yet run. Whether there are any is one atomic load, so that the calls that
/// leave none (nearly all) never take the lock.
#[derive(Debug, Default)]
pub(crate) struct Followups {
    queue: Mutex<Vec<Followup>>,
    pending: AtomicBool,
}

impl Followups {
    pub(crate) fn push(&self, followup: Followup) {
        if let Ok(mut queue) = self.queue.lock()
            && !queue.contains(&followup)
        {
            queue.push(followup);
            self.pending.store(true, Ordering::Release);
        }
    }

    fn take(&self) -> Vec<Followup> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        self.queue
            .lock()
            .map(|mut queue| std::mem::take(&mut *queue))
            .unwrap_or_default()
    }
}

/// The error of an operation that only a multi-Region primary key takes.
pub(crate) fn not_primary(entry: &KeyEntry) -> KmsError {
    KmsError::unsupported(format!(
        "{} is not a multi-region primary key.",
        entry.meta.arn
    ))
}

/// Refuses a multi-Region replica key: its rotation is the primary's.
pub(crate) fn check_not_replica(entry: &KeyEntry) -> Result<(), KmsError> {
    if entry.meta.multi_region_key_type() == Some("REPLICA") {
        return Err(not_primary(entry));
    }
    Ok(())
}

/// After a change to a multi-Region primary's shared properties: spread it.
pub(crate) fn spread_if_multi_region(kms: &Kms, entry: &KeyEntry) {
    if entry.meta.multi_region.is_some() {
        kms.followups.push(Followup::Spread(entry.meta.id.clone()));
    }
}

/// What every copy of a multi-Region key shares, as one copy sends it to the others.
struct Shared {
    sealed: Vec<u8>,
    record: MultiRegionRecord,
    rotation_enabled: bool,
    rotation_period_days: u32,
    next_rotation: Option<u64>,
    rotations: Vec<RotationRecord>,
}

impl Kms {
    /// Runs what calls left to do, with no Region's lock held. Best effort: a Region that is
    /// gone or a store that refuses leaves that copy as it was, and the next spread brings it
    /// up to date.
    pub(crate) fn run_followups(&self) {
        for followup in self.followups.take() {
            match followup {
                Followup::Spread(key_id) => self.spread(&key_id),
                Followup::ReplicaGone {
                    key_id,
                    primary_region,
                    region,
                } => {
                    if let Some(primary) = self.links.get(&primary_region) {
                        primary.replica_gone(&key_id, &region);
                        primary.run_followups();
                    }
                }
            }
        }
    }

    /// Pushes this Region's copy of `key_id` to every other Region of the key.
    fn spread(&self, key_id: &str) {
        let shared = {
            let Some(slot) = self.read().ok().and_then(|state| state.slot(key_id)) else {
                return;
            };
            let Ok(entry) = slot.read() else { return };
            let (Some(record), Ok(sealed)) = (
                entry.meta.multi_region.clone(),
                entry.crypto.seal(&self.root),
            ) else {
                return;
            };
            Shared {
                sealed,
                record,
                rotation_enabled: entry.meta.rotation_enabled,
                rotation_period_days: entry.meta.rotation_period_days,
                next_rotation: entry.meta.next_rotation,
                rotations: entry.meta.rotations.clone(),
            }
        };
        let regions = std::iter::once(&shared.record.primary_region)
            .chain(&shared.record.replica_regions)
            .filter(|r| **r != self.config.region);
        for region in regions {
            if let Some(other) = self.links.get(region) {
                let _ = other.receive(key_id, &shared);
            }
        }
    }

    /// Takes another Region's copy of the shared properties of `key_id`.
    fn receive(&self, key_id: &str, shared: &Shared) -> Result<(), KmsError> {
        let Some(slot) = self.read()?.slot(key_id) else {
            return Ok(());
        };
        let mut entry = slot.write()?;
        let crypto = CryptoKey::unseal(key_id, &shared.sealed, &self.root)?;
        let now = epoch_seconds(self.clock.now());
        self.commit_key(&mut entry, |entry| {
            entry.crypto = crypto.named(&entry.meta.arn);
            entry.meta.multi_region = Some(shared.record.clone());
            entry.meta.rotation_enabled = shared.rotation_enabled;
            entry.meta.rotation_period_days = shared.rotation_period_days;
            // Only the primary rotates by itself; its replicas follow it. A replica that has
            // just become the primary takes up the schedule.
            entry.meta.next_rotation =
                if entry.meta.is_multi_region_primary() && shared.rotation_enabled {
                    shared
                        .next_rotation
                        .or(Some(now + u64::from(shared.rotation_period_days) * DAY))
                } else {
                    None
                };
            entry.meta.rotations.clone_from(&shared.rotations);
            Ok(())
        })?;
        if let Some(at) = entry.next_event() {
            self.next_event
                .fetch_min(at, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// The replica of `key_id` in `region` was deleted: the primary forgets it, and a primary
    /// waiting for its replicas starts its own window once none is left.
    fn replica_gone(&self, key_id: &str, region: &str) {
        let Some(slot) = self.read().ok().and_then(|state| state.slot(key_id)) else {
            return;
        };
        let Ok(mut entry) = slot.write() else { return };
        if !entry.meta.is_multi_region_primary() {
            return;
        }
        let now = epoch_seconds(self.clock.now());
        let changed = self.commit_key(&mut entry, |entry| {
            if let Some(record) = entry.meta.multi_region.as_mut() {
                record.replica_regions.retain(|r| r != region);
                if record.replica_regions.is_empty()
                    && entry.meta.state == AdminState::PendingReplicaDeletion
                {
                    let days = entry.meta.pending_window_days.unwrap_or(30);
                    entry.meta.state = AdminState::PendingDeletion;
                    entry.meta.deletion_date = Some(now + u64::from(days) * DAY);
                }
            }
            Ok(())
        });
        if changed.is_ok() {
            self.followups.push(Followup::Spread(key_id.to_owned()));
        }
    }
}

operation! {
    /// ReplicateKey: a replica of a multi-Region primary key in another served Region, with
    /// the same key ID and material and its own policy (validated, lockout-checked), tags and
    /// description. Needs `kms:ReplicateKey` on the primary (with `kms:ReplicaRegion`) and
    /// `kms:CreateKey` (and `kms:TagResource` for tags) from the caller's IAM policies in the
    /// replica's Region.
    ReplicateKey(ReplicateKeyRequest) -> ReplicateKeyResponse, via Own, action "ReplicateKey", state Cryptographic;
    audit |r| json!({
        "keyId": r.key_id,
        "replicaRegion": r.replica_region,
        "description": r.description,
        "bypassPolicyLockoutSafetyCheck": r.bypass_policy_lockout_safety_check,
        "tags": audited_tags(&r.tags),
    });
    check |r| check_tags(&r.tags);
    context |r, keys| keys.insert_single("kms:ReplicaRegion", &r.replica_region);
    run |kms, caller, call, r| replicate_key(kms, caller, call, r)
}

fn replicate_key(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &ReplicateKeyRequest,
) -> Result<ReplicateKeyResponse, KmsError> {
    ReplicateKey::check(r)?;
    kms.housekeeping()?;
    // The primary, read and authorized under its lock, which is then released.
    let (slot, named) = kms.resolve(caller, &r.key_id, ReplicateKey::ACTION)?;
    let (key_id, sealed, primary) = {
        let entry = slot.read()?;
        kms.admit::<ReplicateKey>(&entry, &named, caller, call, r)?;
        let entry = &*entry;
        if !entry.meta.is_multi_region_primary() {
            return Err(not_primary(entry));
        }
        (
            entry.meta.id.clone(),
            entry.crypto.seal(&kms.root)?,
            entry.meta.clone(),
        )
    };
    let region = r.replica_region.as_str();
    if region == kms.config.region {
        return Err(KmsError::validation(format!(
            "The replica Region {region} is the primary key's Region."
        )));
    }
    let Some(target) = kms.links.get(region) else {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{region}' at 'replicaRegion' failed to satisfy constraint: Member must be a Region this server serves"
        )));
    };
    let record = primary.multi_region.clone().unwrap_or(MultiRegionRecord {
        primary_region: kms.config.region.clone(),
        replica_regions: Vec::new(),
    });
    let replica = target.create_replica(caller, call, r, &key_id, &sealed, &primary, &record)?;
    // The primary learns of its new replica, then every copy does. Added to the record as it
    // is now, not as it was read: another ReplicateKey may have added its own meanwhile.
    {
        let mut entry = slot.write()?;
        kms.commit_key(&mut entry, |entry| {
            let current = entry.meta.multi_region.get_or_insert(record);
            if !current.replica_regions.iter().any(|r| r == region) {
                current.replica_regions.push(region.to_owned());
            }
            Ok(())
        })?;
    }
    kms.followups.push(Followup::Spread(key_id));
    call.response = json!({"replicaKeyMetadata": {"keyId": replica.replica_key_metadata.key_id, "arn": replica.replica_key_metadata.arn}});
    Ok(replica)
}

impl Kms {
    /// Creates the replica of a multi-Region key in this Region (ReplicateKey's second half),
    /// authorized by the caller's IAM policies here, as CreateKey is.
    #[allow(
        clippy::too_many_arguments,
        reason = "the replica is made of the request, the primary's parts and the record"
    )]
    fn create_replica(
        &self,
        caller: &Caller,
        call: &mut Call,
        r: &ReplicateKeyRequest,
        key_id: &str,
        sealed: &[u8],
        primary: &crate::record::KeyMetadataRecord,
        record: &MultiRegionRecord,
    ) -> Result<ReplicateKeyResponse, KmsError> {
        let region = self.config.region.clone();
        let account = primary.account.as_str();
        if account != caller.account() {
            return Err(KmsError::denied(
                format!(
                    "User: {} is not authorized to perform: kms:ReplicateKey on resource: {} because the key belongs to another account",
                    caller.arn(),
                    primary.arn
                ),
                keyward_authz::Verdict::ImplicitDeny,
                Vec::new(),
            ));
        }
        // kms:CreateKey (and kms:TagResource for tags) from IAM in the replica's Region.
        let mut context = self.context(caller, None, &Named::default());
        context.insert_single("kms:MultiRegion", "true");
        context.insert_single("kms:MultiRegionKeyType", "REPLICA");
        context.insert_single("kms:KeySpec", primary.spec.as_str());
        context.insert_single("kms:KeyUsage", primary.usage.as_str());
        context.insert_single("kms:KeyOrigin", primary.origin.as_str());
        for tag in &r.tags {
            context.insert_single(&format!("aws:RequestTag/{}", tag.tag_key), &tag.tag_value);
        }
        self.authorize_by_iam(call, caller, action!("CreateKey"), context.clone())?;
        if !r.tags.is_empty() {
            self.authorize_by_iam(call, caller, action!("TagResource"), context)?;
        }
        let arn = self.key_arn(account, key_id);
        let policy_text = r
            .policy
            .clone()
            .unwrap_or_else(|| default_policy(self.partition, account));
        let policy = Arc::new(compile_key_policy(&policy_text)?);
        if r.policy.is_some() && r.bypass_policy_lockout_safety_check != Some(true) {
            lockout_check(self, caller, &policy, &arn)?;
        }
        let crypto = CryptoKey::unseal(key_id, sealed, &self.root)?;
        let request = CreateKeyRequest {
            description: r.description.clone(),
            tags: r.tags.clone(),
            ..CreateKeyRequest::default()
        };
        let mut state = self.write()?;
        if state.keys.contains_key(key_id) {
            return Err(KmsError::refused(
                ErrorCode::AlreadyExists,
                format!("Replica key {arn} already exists."),
            ));
        }
        let mut entry = new_entry(self, account, &request, crypto, policy_text.clone(), policy)?;
        let mut replica_record = record.clone();
        replica_record.replica_regions.push(region);
        entry.meta.multi_region = Some(replica_record);
        entry.meta.rotation_enabled = primary.rotation_enabled;
        entry.meta.rotation_period_days = primary.rotation_period_days;
        entry.meta.rotations.clone_from(&primary.rotations);
        entry.refresh_context();
        self.store_new_key(&mut entry)?;
        let replica_key_metadata = metadata(self, &entry);
        let replica_tags = entry
            .meta
            .tags
            .iter()
            .map(|(k, v)| Tag::new(k.clone(), v.clone()))
            .collect();
        call.resources.push(arn);
        state.insert(entry);
        Ok(ReplicateKeyResponse {
            replica_key_metadata,
            replica_policy: policy_text,
            replica_tags,
        })
    }
}

operation! {
    /// UpdatePrimaryRegion: the replica in `PrimaryRegion` becomes the primary key and this
    /// primary a replica. Needs `kms:UpdatePrimaryRegion` (with `kms:PrimaryRegion`) on both.
    UpdatePrimaryRegion(UpdatePrimaryRegionRequest) -> Empty, via Own, action "UpdatePrimaryRegion", state Cryptographic;
    audit |r| json!({"keyId": r.key_id, "primaryRegion": r.primary_region});
    context |r, keys| keys.insert_single("kms:PrimaryRegion", &r.primary_region);
    run |kms, caller, call, r| update_primary_region(kms, caller, call, r)
}

fn update_primary_region(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &UpdatePrimaryRegionRequest,
) -> Result<Empty, KmsError> {
    kms.housekeeping()?;
    let (slot, named) = kms.resolve(caller, &r.key_id, UpdatePrimaryRegion::ACTION)?;
    let (key_id, record) = {
        let entry = slot.read()?;
        kms.admit::<UpdatePrimaryRegion>(&entry, &named, caller, call, r)?;
        let entry = &*entry;
        if !entry.meta.is_multi_region_primary() {
            return Err(not_primary(entry));
        }
        let record = entry
            .meta
            .multi_region
            .clone()
            .unwrap_or(MultiRegionRecord {
                primary_region: kms.config.region.clone(),
                replica_regions: Vec::new(),
            });
        (entry.meta.id.clone(), record)
    };
    let new_primary = r.primary_region.as_str();
    let target = kms
        .links
        .get(new_primary)
        .filter(|_| record.replica_regions.iter().any(|r| r == new_primary));
    let Some(target) = target else {
        let arn = kms.key_arn(caller.account(), &key_id).replacen(
            &format!(":{}:", kms.config.region),
            &format!(":{new_primary}:"),
            1,
        );
        return Err(KmsError::not_found(format!("Key '{arn}' does not exist")));
    };
    // The replica must allow it too, in its own Region.
    {
        let arn = target.key_arn(caller.account(), &key_id);
        let (replica_slot, replica_named) =
            target.resolve(caller, &arn, UpdatePrimaryRegion::ACTION)?;
        let replica = replica_slot.read()?;
        target.admit::<UpdatePrimaryRegion>(&replica, &replica_named, caller, call, r)?;
        key_state::check(&replica, StateClass::Cryptographic)?;
    }
    {
        // From the record as it is now (a ReplicateKey may have added a replica meanwhile),
        // checked again.
        let mut entry = slot.write()?;
        kms.commit_key(&mut entry, |entry| {
            if !entry.meta.is_multi_region_primary() {
                return Err(not_primary(entry));
            }
            let mut updated = entry.meta.multi_region.clone().unwrap_or(record);
            updated
                .replica_regions
                .retain(|region| region != new_primary);
            updated.replica_regions.push(kms.config.region.clone());
            updated.primary_region = new_primary.to_owned();
            entry.meta.multi_region = Some(updated);
            entry.meta.next_rotation = None;
            Ok(())
        })?;
    }
    // The new primary takes the record (and, as primary, its rotation schedule).
    kms.followups.push(Followup::Spread(key_id));
    Ok(Empty {})
}

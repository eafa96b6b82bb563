//! Multi-Region keys across two Regions' services (`Regions::from_services`): replication
//! with the same ID and material, the configuration DescribeKey shows, rotation reaching the
//! replicas, moving the primary, deletion waiting for the replicas, and the condition keys.

use crate::common::{ACCOUNT, ALLOW_ALL, DAY, admin_policy, caller, code, start};
use keyward_crypto::{RootKey, Secret};
use keyward_kms::api::{
    CreateKeyRequest, DecryptRequest, DescribeKeyRequest, EncryptRequest, KeyMetadata,
    ReplicateKeyRequest, RotateKeyOnDemandRequest, ScheduleKeyDeletionRequest,
    UpdatePrimaryRegionRequest,
};
use keyward_kms::audit::MemoryAudit;
use keyward_kms::clock::ManualClock;
use keyward_kms::store::MemoryStore;
use keyward_kms::{Caller, Kms, KmsConfig, Regions};
use std::sync::Arc;

const ROOT: [u8; 32] = [7; 32];
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

struct TwoRegions {
    regions: Regions,
    clock: Arc<ManualClock>,
    admin: Caller,
}

impl TwoRegions {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let audit = Arc::new(MemoryAudit::new());
        let open = |region: &str| {
            Kms::open(
                KmsConfig::new(region, ACCOUNT),
                Box::new(MemoryStore::new()),
                RootKey::from_bytes(Secret::from_slice(&ROOT)).unwrap(),
                audit.clone(),
                clock.clone(),
            )
            .unwrap()
        };
        Self {
            regions: Regions::from_services(vec![open(US), open(EU)]).unwrap(),
            clock,
            admin: caller(crate::common::ADMIN, &[ALLOW_ALL]),
        }
    }

    fn kms(&self, region: &str) -> &Kms {
        self.regions.get(region).unwrap()
    }

    fn describe(&self, region: &str, key: &str) -> KeyMetadata {
        self.kms(region)
            .describe_key(&self.admin, &DescribeKeyRequest::new(key))
            .unwrap()
            .key_metadata
    }

    fn primary(&self, statements: &str) -> String {
        self.kms(US)
            .create_key(
                &self.admin,
                &CreateKeyRequest {
                    multi_region: Some(true),
                    policy: Some(admin_policy(statements)),
                    ..CreateKeyRequest::default()
                },
            )
            .unwrap()
            .key_metadata
            .key_id
    }

    fn replicate(&self, key: &str, to: &str, statements: &str) -> KeyMetadata {
        self.kms(US)
            .replicate_key(
                &self.admin,
                &ReplicateKeyRequest {
                    key_id: key.into(),
                    replica_region: to.into(),
                    policy: Some(admin_policy(statements)),
                    ..ReplicateKeyRequest::default()
                },
            )
            .unwrap()
            .replica_key_metadata
    }

    fn encrypt(
        &self,
        region: &str,
        who: &Caller,
        key: &str,
    ) -> Result<Vec<u8>, keyward_kms::KmsError> {
        self.kms(region)
            .encrypt(
                who,
                &EncryptRequest {
                    key_id: key.into(),
                    plaintext: b"across regions".to_vec().into(),
                    ..EncryptRequest::default()
                },
            )
            .map(|r| r.ciphertext_blob)
    }

    fn decrypt(&self, region: &str, blob: &[u8]) -> Vec<u8> {
        self.kms(region)
            .decrypt(
                &self.admin,
                &DecryptRequest {
                    ciphertext_blob: blob.to_vec(),
                    ..DecryptRequest::default()
                },
            )
            .unwrap()
            .plaintext
            .expose()
            .to_vec()
    }
}

#[test]
fn a_replica_has_the_same_id_and_material_in_another_region() {
    let t = TwoRegions::new();
    let key = t.primary("");
    assert!(key.starts_with("mrk-") && key.len() == 36, "{key}");
    let primary = t.describe(US, &key);
    assert!(primary.multi_region);
    let config = primary.multi_region_configuration.unwrap();
    assert_eq!(config.multi_region_key_type, "PRIMARY");
    assert!(config.replica_keys.is_empty());
    let replica = t.replicate(&key, EU, "");
    assert_eq!(replica.key_id, key);
    assert_eq!(replica.arn, format!("arn:aws:kms:{EU}:{ACCOUNT}:key/{key}"));
    let config = replica.multi_region_configuration.unwrap();
    assert_eq!(config.multi_region_key_type, "REPLICA");
    assert_eq!(config.primary_key.region, US);
    assert_eq!(config.replica_keys[0].region, EU);
    // The primary knows its replica.
    let config = t.describe(US, &key).multi_region_configuration.unwrap();
    assert_eq!(config.replica_keys.len(), 1);
    assert_eq!(config.replica_keys[0].arn, replica.arn);
    // Encrypted in one Region, decrypted in the other, both ways.
    let blob = t.encrypt(US, &t.admin, &key).unwrap();
    assert_eq!(t.decrypt(EU, &blob), b"across regions");
    let blob = t.encrypt(EU, &t.admin, &key).unwrap();
    assert_eq!(t.decrypt(US, &blob), b"across regions");
    // Twice is an error; a replica is no primary; a single-Region key replicates nothing.
    let again = t.kms(US).replicate_key(
        &t.admin,
        &ReplicateKeyRequest {
            key_id: key.clone(),
            replica_region: EU.into(),
            ..ReplicateKeyRequest::default()
        },
    );
    assert_eq!(code(again), "AlreadyExistsException");
    let from_replica = t.kms(EU).replicate_key(
        &t.admin,
        &ReplicateKeyRequest {
            key_id: key.clone(),
            replica_region: US.into(),
            ..ReplicateKeyRequest::default()
        },
    );
    assert_eq!(
        crate::common::message(from_replica),
        format!("arn:aws:kms:{EU}:{ACCOUNT}:key/{key} is not a multi-region primary key.")
    );
    let single = t
        .kms(US)
        .create_key(&t.admin, &CreateKeyRequest::default())
        .unwrap()
        .key_metadata;
    assert!(!single.multi_region && single.multi_region_configuration.is_none());
    let refused = t.kms(US).replicate_key(
        &t.admin,
        &ReplicateKeyRequest {
            key_id: single.key_id,
            replica_region: EU.into(),
            ..ReplicateKeyRequest::default()
        },
    );
    assert_eq!(code(refused), "UnsupportedOperationException");
}

#[test]
fn rotation_of_the_primary_reaches_the_replica_and_a_replica_does_not_rotate() {
    let t = TwoRegions::new();
    let key = t.primary("");
    t.replicate(&key, EU, "");
    t.kms(US)
        .rotate_key_on_demand(&t.admin, &RotateKeyOnDemandRequest::new(&key))
        .unwrap();
    // A ciphertext under the new material decrypts in the replica's Region.
    let blob = t.encrypt(US, &t.admin, &key).unwrap();
    assert_eq!(t.decrypt(EU, &blob), b"across regions");
    assert_eq!(
        t.describe(EU, &key).current_key_material_id,
        t.describe(US, &key).current_key_material_id
    );
    let on_replica = t
        .kms(EU)
        .rotate_key_on_demand(&t.admin, &RotateKeyOnDemandRequest::new(&key));
    assert_eq!(code(on_replica), "UnsupportedOperationException");
}

#[test]
fn update_primary_region_swaps_primary_and_replica() {
    let t = TwoRegions::new();
    let key = t.primary("");
    t.replicate(&key, EU, "");
    t.kms(US)
        .update_primary_region(
            &t.admin,
            &UpdatePrimaryRegionRequest {
                key_id: key.clone(),
                primary_region: EU.into(),
            },
        )
        .unwrap();
    let eu = t.describe(EU, &key).multi_region_configuration.unwrap();
    let us = t.describe(US, &key).multi_region_configuration.unwrap();
    assert_eq!(eu.multi_region_key_type, "PRIMARY");
    assert_eq!(us.multi_region_key_type, "REPLICA");
    assert_eq!(eu.primary_key.region, EU);
    assert_eq!(
        us.replica_keys
            .iter()
            .map(|k| k.region.as_str())
            .collect::<Vec<_>>(),
        [US]
    );
    // The new primary rotates; the old one no longer does.
    assert!(
        t.kms(EU)
            .rotate_key_on_demand(&t.admin, &RotateKeyOnDemandRequest::new(&key))
            .is_ok()
    );
    assert_eq!(
        code(
            t.kms(US)
                .rotate_key_on_demand(&t.admin, &RotateKeyOnDemandRequest::new(&key))
        ),
        "UnsupportedOperationException"
    );
    // A Region without a replica cannot become the primary.
    let nowhere = t.kms(EU).update_primary_region(
        &t.admin,
        &UpdatePrimaryRegionRequest {
            key_id: key,
            primary_region: "ap-south-1".into(),
        },
    );
    assert_eq!(code(nowhere), "NotFoundException");
}

#[test]
fn a_primary_with_replicas_waits_for_their_deletion() {
    let t = TwoRegions::new();
    let key = t.primary("");
    t.replicate(&key, EU, "");
    let scheduled = t
        .kms(US)
        .schedule_key_deletion(
            &t.admin,
            &ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
    assert_eq!(scheduled.key_state.as_str(), "PendingReplicaDeletion");
    assert_eq!(scheduled.deletion_date, None);
    assert_eq!(scheduled.pending_window_in_days, Some(7));
    assert_eq!(
        code(t.encrypt(US, &t.admin, &key)),
        "KMSInvalidStateException"
    );
    // The replica goes first.
    t.kms(EU)
        .schedule_key_deletion(
            &t.admin,
            &ScheduleKeyDeletionRequest {
                key_id: key.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
    t.clock.advance(DAY * 8);
    // Any call in the replica's Region runs its housekeeping: the replica is deleted, and the
    // primary starts its own window.
    let _ = t.kms(EU).list_keys(&t.admin, &Default::default());
    assert!(
        t.kms(EU)
            .describe_key(&t.admin, &DescribeKeyRequest::new(&key))
            .is_err()
    );
    let primary = t.describe(US, &key);
    assert_eq!(primary.key_state.as_str(), "PendingDeletion");
    assert!(primary.deletion_date.is_some());
    assert!(
        primary
            .multi_region_configuration
            .unwrap()
            .replica_keys
            .is_empty()
    );
}

#[test]
fn the_multi_region_condition_keys_are_set() {
    let t = TwoRegions::new();
    // The app may encrypt with the primary only, and replicate only to eu-central-1.
    let app_arn = "arn:aws:iam::111122223333:role/App";
    let key = t.primary(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{app_arn}"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:MultiRegionKeyType":"PRIMARY"}}}}}},
           {{"Effect":"Allow","Principal":{{"AWS":"{app_arn}"}},"Action":"kms:ReplicateKey","Resource":"*","Condition":{{"StringEquals":{{"kms:ReplicaRegion":"eu-central-1"}}}}}}"#
    ));
    t.replicate(
        &key,
        EU,
        &format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{app_arn}"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:MultiRegionKeyType":"PRIMARY"}}}}}}"#
        ),
    );
    let app = caller(app_arn, &[ALLOW_ALL]);
    assert!(t.encrypt(US, &app, &key).is_ok());
    assert_eq!(code(t.encrypt(EU, &app, &key)), "AccessDeniedException");
    let replicate = t.kms(US).replicate_key(
        &app,
        &ReplicateKeyRequest {
            key_id: key,
            replica_region: EU.into(),
            ..ReplicateKeyRequest::default()
        },
    );
    assert_eq!(code(replicate), "AccessDeniedException");
}

/// ReplicateKey and UpdatePrimaryRegion as the table of `operations.rs` checks every other
/// operation: denied without permission, allowed with it, and an explicit deny wins, on the
/// primary and (UpdatePrimaryRegion) on the replica.
#[test]
fn multi_region_operations_are_denied_without_permission_and_an_explicit_deny_wins() {
    let t = TwoRegions::new();
    let user_arn = "arn:aws:iam::111122223333:role/User";
    let allow = |actions: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{user_arn}"}},"Action":{actions},"Resource":"*"}}"#
        )
    };
    let deny = |action: &str| {
        format!(
            r#"{{"Effect":"Deny","Principal":{{"AWS":"{user_arn}"}},"Action":"{action}","Resource":"*"}}"#
        )
    };
    // ReplicateKey: needs kms:ReplicateKey on the primary and kms:CreateKey from IAM.
    let user = caller(user_arn, &[ALLOW_ALL]);
    let unnamed = t.primary("");
    let replicate = |key: &str, who: &Caller| {
        t.kms(US).replicate_key(
            who,
            &ReplicateKeyRequest {
                key_id: key.into(),
                replica_region: EU.into(),
                ..ReplicateKeyRequest::default()
            },
        )
    };
    assert_eq!(code(replicate(&unnamed, &user)), "AccessDeniedException");
    let no_iam = caller(user_arn, &[]);
    let named = t.primary(&allow(r#""kms:ReplicateKey""#));
    assert_eq!(
        code(replicate(&named, &no_iam)),
        "AccessDeniedException",
        "kms:CreateKey from IAM"
    );
    let denied = t.primary(&format!(
        "{},{}",
        allow(r#""kms:ReplicateKey""#),
        deny("kms:ReplicateKey")
    ));
    assert_eq!(code(replicate(&denied, &user)), "AccessDeniedException");
    assert!(replicate(&named, &user).is_ok());
    // UpdatePrimaryRegion: on both the primary and the replica.
    let update = |key: &str| {
        t.kms(US).update_primary_region(
            &user,
            &UpdatePrimaryRegionRequest {
                key_id: key.into(),
                primary_region: EU.into(),
            },
        )
    };
    let key = t.primary(&allow(r#""kms:UpdatePrimaryRegion""#));
    t.replicate(&key, EU, "");
    assert_eq!(
        code(update(&key)),
        "AccessDeniedException",
        "the replica does not allow it"
    );
    let key = t.primary(&allow(r#""kms:UpdatePrimaryRegion""#));
    t.replicate(
        &key,
        EU,
        &format!(
            "{},{}",
            allow(r#""kms:UpdatePrimaryRegion""#),
            deny("kms:UpdatePrimaryRegion")
        ),
    );
    assert_eq!(
        code(update(&key)),
        "AccessDeniedException",
        "an explicit deny on the replica"
    );
    let key = t.primary(&allow(r#""kms:UpdatePrimaryRegion""#));
    t.replicate(&key, EU, &allow(r#""kms:UpdatePrimaryRegion""#));
    assert!(update(&key).is_ok());
}

/// Two ReplicateKey calls of one primary at once, to two Regions: each reads the primary's
/// record, makes its replica, then adds its Region to the primary's record. The one that
/// writes last adds to the record as it is then, so neither replica is lost. Made certain
/// with a store that holds the first call's replica write until the second call is done.
#[test]
fn two_replications_at_once_both_reach_the_primarys_record() {
    use crate::concurrency::{GatedStore, arm, release, wait_until_holding};
    const AP: &str = "ap-south-1";
    let clock = Arc::new(ManualClock::new(start()));
    let audit = Arc::new(MemoryAudit::new());
    let gated = GatedStore::default();
    let gate = Arc::clone(&gated.gate);
    let open = |region: &str, store: Box<dyn keyward_kms::store::Store>| {
        Kms::open(
            KmsConfig::new(region, ACCOUNT),
            store,
            RootKey::from_bytes(Secret::from_slice(&ROOT)).unwrap(),
            audit.clone(),
            clock.clone(),
        )
        .unwrap()
    };
    let regions = Arc::new(
        Regions::from_services(vec![
            open(US, Box::new(MemoryStore::new())),
            open(EU, Box::new(gated)),
            open(AP, Box::new(MemoryStore::new())),
        ])
        .unwrap(),
    );
    let admin = Arc::new(caller(crate::common::ADMIN, &[ALLOW_ALL]));
    let key = regions
        .get(US)
        .unwrap()
        .create_key(
            &admin,
            &CreateKeyRequest {
                multi_region: Some(true),
                ..CreateKeyRequest::default()
            },
        )
        .unwrap()
        .key_metadata
        .key_id;
    let replicate = |to: &'static str| {
        let (regions, admin, key) = (Arc::clone(&regions), Arc::clone(&admin), key.clone());
        std::thread::spawn(move || {
            regions.get(US).unwrap().replicate_key(
                &admin,
                &ReplicateKeyRequest {
                    key_id: key,
                    replica_region: to.into(),
                    ..ReplicateKeyRequest::default()
                },
            )
        })
    };
    let replica_regions = |regions: &Regions| -> Vec<String> {
        let mut found: Vec<String> = regions
            .get(US)
            .unwrap()
            .describe_key(&admin, &DescribeKeyRequest::new(&key))
            .unwrap()
            .key_metadata
            .multi_region_configuration
            .unwrap()
            .replica_keys
            .into_iter()
            .map(|k| k.region)
            .collect();
        found.sort();
        found
    };
    // The first: its replica's write in EU held, after it read the primary's record.
    arm(&gate);
    let first = replicate(EU);
    wait_until_holding(&gate);
    // The second, all the way to the primary's record.
    let second = replicate(AP);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while replica_regions(&regions) != [AP] {
        assert!(
            std::time::Instant::now() < deadline,
            "the second replication did not land"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    release(&gate);
    first.join().unwrap().unwrap();
    second.join().unwrap().unwrap();
    assert_eq!(replica_regions(&regions), [AP, EU]);
}

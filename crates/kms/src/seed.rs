//! Seeding: keys with given IDs, specs, policies, aliases, tags and, optionally, material,
//! created when the service starts, so that tests and CI fixtures begin from a known state.
//!
//! Seeding is idempotent. A seeded key that does not exist is created (with its aliases and
//! tags). One that exists is kept as calls have left it, after checking that it is the key
//! the seed describes: the same account, spec and usage, and, when the seed gives material,
//! the same material. Its missing aliases and tags are added; an alias of the seed that
//! points at another key is an error, never moved. Every value is checked as CreateKey,
//! CreateAlias and TagResource check it. The operator writes the seed, so nothing is
//! authorized and the policy's lockout check is not made; the policy is validated.

use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::key_id::is_key_id;
use crate::operations::aliases::{check_alias_name, point_alias};
use crate::operations::keys::{check_create_key, key_kind_of, new_entry};
use crate::record::AdminState;
use crate::service::{Kms, compile_key_policy, default_policy};
use keyward_api::{CreateKeyRequest, Tag};
use keyward_crypto::CryptoKey;
pub use keyward_crypto::Secret;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One seeded key.
#[derive(Clone)]
pub struct SeedKey {
    /// The key ID: a UUID (`1234abcd-12ab-34cd-56ef-1234567890ab`).
    pub id: String,
    /// The account the key belongs to (12 digits).
    pub account: String,
    /// `KeySpec`; `SYMMETRIC_DEFAULT` when absent.
    pub key_spec: Option<String>,
    /// `KeyUsage`; required except for symmetric encryption keys, as in CreateKey.
    pub key_usage: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The key policy document; the default key policy of the account when absent.
    pub policy: Option<String>,
    /// Alias names (`alias/...`) of the key's account that point at it.
    pub aliases: Vec<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The material, instead of generated: 32 raw bytes for a symmetric key, the raw key for
    /// HMAC, the PKCS#8 DER private key for an asymmetric key. Zeroized on drop.
    pub material: Option<Secret>,
    /// Whether the key is enabled (it is unless this says `false`).
    pub enabled: bool,
}

impl Default for SeedKey {
    /// A symmetric encryption key, enabled, with the default key policy: only `id` and
    /// `account` remain to be given.
    fn default() -> Self {
        Self {
            id: String::new(),
            account: String::new(),
            key_spec: None,
            key_usage: None,
            description: None,
            policy: None,
            aliases: Vec::new(),
            tags: BTreeMap::new(),
            material: None,
            enabled: true,
        }
    }
}

impl std::fmt::Debug for SeedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedKey")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("key_spec", &self.key_spec)
            .field("aliases", &self.aliases)
            .field("material", &self.material.as_ref().map(|_| "<given>"))
            .finish_non_exhaustive()
    }
}

/// What seeding did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// It did not exist and was created.
    Created,
    /// It existed, was the key described, and was kept (missing aliases and tags added).
    Kept,
}

/// Why a seeded key could not be created or kept: the key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seeded key {key}: {problem}")]
pub struct SeedError {
    /// The key ID the seed gives.
    pub key: String,
    /// What is wrong, as a sentence.
    pub problem: String,
}

impl Kms {
    /// Seeds `keys` ([`crate::seed`]): creates each that does not exist, checks and keeps each
    /// that does. Stops at the first key that is wrong; the keys before it stay seeded.
    pub fn seed(&self, keys: &[SeedKey]) -> Result<Vec<Seeded>, SeedError> {
        keys.iter().map(|key| self.seed_one(key)).collect()
    }

    fn seed_one(&self, seed: &SeedKey) -> Result<Seeded, SeedError> {
        let wrong = |problem: String| SeedError {
            key: seed.id.clone(),
            problem,
        };
        let refused = |e: KmsError| wrong(e.message().unwrap_or_else(|| e.to_string()));
        if !is_key_id(&seed.id) || seed.id.starts_with("mrk-") {
            return Err(wrong(format!(
                "'{}' is not a key ID (a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab)",
                seed.id
            )));
        }
        if seed.account.len() != 12 || !seed.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong(format!(
                "'{}' is not a 12-digit account ID",
                seed.account
            )));
        }
        let request = CreateKeyRequest {
            key_spec: seed.key_spec.clone(),
            key_usage: seed.key_usage.clone(),
            description: seed.description.clone(),
            policy: seed.policy.clone(),
            tags: seed
                .tags
                .iter()
                .map(|(k, v)| Tag::new(k.clone(), v.clone()))
                .collect(),
            ..CreateKeyRequest::default()
        };
        check_create_key(&request).map_err(refused)?;
        let (spec, usage, _) = key_kind_of(&request).map_err(refused)?;
        for alias in &seed.aliases {
            check_alias_name(alias).map_err(refused)?;
        }
        let policy_text = seed
            .policy
            .clone()
            .unwrap_or_else(|| default_policy(self.partition, &seed.account));
        if let Err(diagnostics) =
            keyward_policy::parse_and_validate(&policy_text, keyward_policy::PolicyKind::KeyPolicy)
        {
            let index = keyward_policy::LineIndex::new(&policy_text);
            let problems: Vec<String> = diagnostics
                .into_iter()
                .map(|e| e.render("its policy", &index))
                .collect();
            return Err(wrong(problems.join("; ")));
        }
        let policy = Arc::new(compile_key_policy(&policy_text).map_err(refused)?);
        let crypto = match &seed.material {
            Some(material) => {
                CryptoKey::from_material(seed.id.clone(), spec, usage, material.clone())
                    .map_err(|e| wrong(format!("its material: {e}")))?
            }
            None => CryptoKey::generate(seed.id.clone(), spec, usage)
                .map_err(|e| wrong(e.to_string()))?,
        };
        let mut state = self.write().map_err(refused)?;
        // Every check before anything is written: a seed that is wrong leaves nothing behind.
        for alias in &seed.aliases {
            if let Some(record) = state.aliases.get(&seed.account, alias)
                && record.key_id != seed.id
            {
                return Err(wrong(format!(
                    "alias {alias} already points at key {}",
                    record.key_id
                )));
            }
        }
        let outcome = match state.slot(&seed.id) {
            Some(slot) => {
                let mut existing = slot.write().map_err(refused)?;
                same_key(&existing, seed, &crypto).map_err(wrong)?;
                let mut tags = existing.meta.tags.clone();
                let before = tags.len();
                for (k, v) in &seed.tags {
                    tags.entry(k.clone()).or_insert_with(|| v.clone());
                }
                if tags.len() != before {
                    self.commit_key(&mut existing, |entry| {
                        entry.meta.tags = tags;
                        Ok(())
                    })
                    .map_err(refused)?;
                }
                Seeded::Kept
            }
            None => {
                let mut entry =
                    new_entry(self, &seed.account, &request, crypto, policy_text, policy)
                        .map_err(refused)?;
                if !seed.enabled {
                    entry.meta.state = AdminState::Disabled;
                }
                self.store_new_key(&mut entry).map_err(refused)?;
                state.insert(entry);
                Seeded::Created
            }
        };
        for alias in &seed.aliases {
            if !state.aliases.contains(&seed.account, alias) {
                point_alias(self, &mut state, &seed.account, alias, None, &seed.id)
                    .map_err(refused)?;
            }
        }
        Ok(outcome)
    }
}

/// Whether `existing` is the key `seed` describes (`crypto` made from the seed).
fn same_key(existing: &KeyEntry, seed: &SeedKey, crypto: &CryptoKey) -> Result<(), String> {
    if existing.meta.account != seed.account {
        return Err(format!(
            "it exists in account {}, not {}",
            existing.meta.account, seed.account
        ));
    }
    if existing.meta.spec != crypto.spec() || existing.meta.usage != crypto.usage() {
        return Err(format!(
            "it exists as {} for {}, not {} for {}",
            existing.meta.spec.as_str(),
            existing.meta.usage.as_str(),
            crypto.spec().as_str(),
            crypto.usage().as_str()
        ));
    }
    if seed.material.is_some() {
        let given = crypto.materials().first().map(|m| m.material_id.clone());
        let held = existing
            .crypto
            .materials()
            .first()
            .map(|m| m.material_id.clone());
        if given != held {
            return Err("it exists with other key material than the seed gives".into());
        }
    }
    Ok(())
}

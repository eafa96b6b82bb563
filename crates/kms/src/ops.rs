//! The operations. Each follows the same order: resolve the key, build the context,
//! authorize, check the key state, validate parameters, perform, persist, audit.

use crate::audit::AuditDecision;
use crate::caller::Caller;
use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::error::{ErrorCode, KmsError};
use crate::model::*;
use crate::record::{AdminState, KeyMetadataRecord};
use crate::service::{
    Call, KeyEntry, Kms, Named, State, StateClass, action, check_encryption_context,
    default_policy, key_kind, prepare_policy, state_error,
};
use crate::store::Change;
use keyward_authz::{AllowBasis, Authorizer, CompiledPolicy, Judgement, Reason, Source, Verdict};
use keyward_crypto::spec::SPEC_TABLE;
use keyward_crypto::{
    CryptoKey, DataKeyLength, DataKeySpec, EncryptionAlgorithm, EncryptionContext, KeySpec,
    KeyUsage,
};
use keyward_grants::key_grants::{
    CreateGrant, KeyGrants, KeyGrantsError, ListFilter, RetireTarget, Retirer, TokenKey,
};
use keyward_policy::Effect;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const MAX_DESCRIPTION: usize = 8192;
const MAX_TAGS: usize = 50;

pub(crate) fn pairs(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) fn encryption_context(map: &BTreeMap<String, String>) -> EncryptionContext {
    let mut ec = EncryptionContext::new();
    for (k, v) in map {
        ec.insert(k.clone(), v.clone());
    }
    ec
}

pub(crate) fn dry_run() -> KmsError {
    KmsError::new(
        ErrorCode::DryRunOperation,
        "The request would have succeeded, but the DryRun option is set.",
    )
}

/// Tags as KMS checks them: first the API's shape (a key of 1 to 128 characters, a value of at
/// most 256, with AWS's `ValidationException` text naming the tag's position), then KMS's
/// rules (`TagException`: at most 50, no key beginning with `aws:` in any case, no key twice).
fn check_tags(tags: &[(String, String)]) -> Result<(), KmsError> {
    for (i, (key, value)) in tags.iter().enumerate() {
        let at = i + 1;
        let length = |member: &str, text: &str, constraint: &str| {
            KmsError::validation(format!(
                "1 validation error detected: Value '{text}' at 'tags.{at}.member.{member}' failed to satisfy constraint: Member must have length {constraint}"
            ))
        };
        if key.is_empty() {
            return Err(length("tagKey", key, "greater than or equal to 1"));
        }
        if key.chars().count() > 128 {
            return Err(length("tagKey", key, "less than or equal to 128"));
        }
        if value.chars().count() > 256 {
            return Err(length("tagValue", value, "less than or equal to 256"));
        }
    }
    let tag_error = |m: &str| KmsError::new(ErrorCode::Tag, m);
    if tags.len() > MAX_TAGS {
        return Err(tag_error("Too many tags"));
    }
    for (i, (key, _)) in tags.iter().enumerate() {
        if key
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
        {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        if tags.iter().take(i).any(|(k, _)| k == key) {
            return Err(tag_error("Duplicate tag keys"));
        }
    }
    Ok(())
}

impl Kms {
    /// Resolve, authorize and state-check a key for a read-only operation, then run `f`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_key<R>(
        &self,
        caller: &Caller,
        call: &mut Call,
        key_id: &str,
        action_name: &str,
        class: StateClass,
        encryption_context: &[(String, String)],
        extra: &[(&str, &str)],
        f: impl FnOnce(&KeyEntry) -> Result<R, KmsError>,
    ) -> Result<R, KmsError> {
        self.housekeeping()?;
        let action = action(action_name)?;
        let state = self.read()?;
        let (entry, named) = self.resolve(&state, caller, key_id, action)?;
        call.resources.push(entry.meta.arn.clone());
        let context = self.context(caller, Some(entry), &named, encryption_context, extra);
        self.authorize(
            call,
            caller,
            Some(entry),
            action,
            encryption_context,
            context,
        )?;
        if let Some(error) = state_error(entry, class) {
            return Err(error);
        }
        f(entry).map_err(|e| e.naming_key(&entry.meta.id, &entry.meta.arn))
    }

    /// The same for an operation that changes the key; the change is persisted before the
    /// call returns, and undone in memory if it cannot be.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_key<R>(
        &self,
        caller: &Caller,
        call: &mut Call,
        key_id: &str,
        action_name: &str,
        class: StateClass,
        extra: &[(&str, &str)],
        f: impl FnOnce(&mut KeyEntry) -> Result<R, KmsError>,
    ) -> Result<R, KmsError> {
        self.housekeeping()?;
        let action = action(action_name)?;
        let mut state = self.write()?;
        let id = {
            let (entry, named) = self.resolve(&state, caller, key_id, action)?;
            call.resources.push(entry.meta.arn.clone());
            let context = self.context(caller, Some(entry), &named, &[], extra);
            self.authorize(call, caller, Some(entry), action, &[], context)?;
            if let Some(error) = state_error(entry, class) {
                return Err(error);
            }
            entry.meta.id.clone()
        };
        let entry = state
            .keys
            .get_mut(&id)
            .ok_or_else(|| KmsError::internal("key vanished"))?;
        self.commit_key(entry, f)
    }

    pub(crate) fn metadata(entry: &KeyEntry) -> KeyMetadata {
        let m = &entry.meta;
        let row = SPEC_TABLE.iter().find(|r| r.spec.as_str() == m.spec);
        let usage = KeyUsage::parse(&m.usage).ok();
        let names = |v: Vec<&'static str>| v.into_iter().map(str::to_owned).collect();
        let (mut enc, mut sign, mut mac, mut agreement) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        match (row, usage) {
            (Some(r), Some(KeyUsage::EncryptDecrypt)) => {
                enc = names(r.encryption.iter().map(|a| a.as_str()).collect());
            }
            (Some(r), Some(KeyUsage::SignVerify)) => {
                sign = names(r.signing.iter().map(|a| a.as_str()).collect());
            }
            (Some(r), Some(KeyUsage::GenerateVerifyMac)) => {
                mac = names(r.mac.iter().map(|a| a.as_str()).collect());
            }
            (Some(r), Some(KeyUsage::KeyAgreement)) => {
                agreement = names(r.key_agreement.iter().map(|a| a.as_str()).collect());
            }
            _ => {}
        }
        KeyMetadata {
            key_id: m.id.clone(),
            arn: m.arn.clone(),
            aws_account_id: m.account.clone(),
            creation_date: from_epoch_seconds(m.created),
            description: m.description.clone(),
            enabled: entry.state() == KeyState::Enabled,
            key_state: entry.state(),
            key_spec: m.spec.clone(),
            key_usage: m.usage.clone(),
            origin: m.origin.clone(),
            key_manager: "CUSTOMER",
            deletion_date: m.deletion_date.map(from_epoch_seconds),
            pending_deletion_window_in_days: m.pending_window_days,
            encryption_algorithms: enc,
            signing_algorithms: sign,
            mac_algorithms: mac,
            key_agreement_algorithms: agreement,
            expiration_model: m.expiration_model.clone(),
            valid_to: m.valid_to.map(from_epoch_seconds),
            current_key_material_id: entry.current_material_id(),
        }
    }

    /// Simulates PutKeyPolicy by `caller` under `policy` with the caller's identity policies:
    /// the lockout safety check.
    fn lockout_check(
        &self,
        caller: &Caller,
        policy: &Arc<CompiledPolicy>,
        arn: &str,
    ) -> Result<(), KmsError> {
        let action = action("kms:PutKeyPolicy")?;
        let context = self.context(caller, None, &Named::default(), &[], &[]);
        let request = self.request(caller, action, arn.to_owned(), None, &[], context);
        let authorizer = Authorizer::from_parts(
            Some(Arc::clone(policy)),
            Arc::clone(caller.identity()),
            Arc::default(),
        );
        if authorizer.verdict(&request) == Verdict::Allow {
            Ok(())
        } else {
            Err(KmsError::new(
                ErrorCode::MalformedPolicyDocument,
                "The new key policy will not allow you to update the key policy in the future.",
            ))
        }
    }

    /// CreateKey.
    pub fn create_key(
        &self,
        caller: &Caller,
        request: &CreateKeyRequest,
    ) -> Result<KeyMetadata, KmsError> {
        let parameters = json!({
            "keySpec": request.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT"),
            "keyUsage": request.key_usage,
            "origin": request.origin.as_deref().unwrap_or("AWS_KMS"),
            "description": request.description,
            "bypassPolicyLockoutSafetyCheck": request.bypass_policy_lockout_safety_check,
            "tags": request.tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>(),
        });
        self.call(caller, Call::new("CreateKey", parameters), |call| {
            let spec = KeySpec::parse(request.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT"))?;
            let usage = match request.key_usage.as_deref() {
                Some(u) => KeyUsage::parse(u)?,
                None if spec == KeySpec::SymmetricDefault => KeyUsage::EncryptDecrypt,
                None => {
                    return Err(KmsError::validation(
                        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
                    ));
                }
            };
            let origin = request.origin.as_deref().unwrap_or("AWS_KMS");
            if !matches!(origin, "AWS_KMS" | "EXTERNAL") {
                return Err(KmsError::new(
                    ErrorCode::UnsupportedOperation,
                    format!("Origin {origin} is not supported by this implementation"),
                ));
            }
            let description = request.description.clone().unwrap_or_default();
            if description.len() > MAX_DESCRIPTION {
                return Err(KmsError::length("description", MAX_DESCRIPTION));
            }
            check_tags(&request.tags)?;
            // Request-parameter keys, default-filled (kms-authorization.md §3.0).
            let bypass = request
                .bypass_policy_lockout_safety_check
                .map(|b| if b { "true" } else { "false" });
            let mut extra: Vec<(&str, &str)> = vec![
                ("kms:KeySpec", spec.as_str()),
                ("kms:KeyUsage", usage.as_str()),
                ("kms:KeyOrigin", origin),
                ("kms:MultiRegion", "false"),
            ];
            if let Some(b) = bypass {
                extra.push(("kms:BypassPolicyLockoutSafetyCheck", b));
            }
            let tag_keys: Vec<String> = request
                .tags
                .iter()
                .map(|(k, _)| format!("aws:RequestTag/{k}"))
                .collect();
            for ((_, v), name) in request.tags.iter().zip(&tag_keys) {
                extra.push((name.as_str(), v.as_str()));
            }
            let mut context = self.context(caller, None, &Named::default(), &[], &extra);
            if !request.tags.is_empty() {
                context.insert_multi("aws:TagKeys", request.tags.iter().map(|(k, _)| k.as_str()));
            }
            self.authorize(
                call,
                caller,
                None,
                action("kms:CreateKey")?,
                &[],
                context.clone(),
            )?;
            if !request.tags.is_empty() {
                self.authorize_by_iam(call, caller, action("kms:TagResource")?, context)?;
            }
            // KMS creates the key in the caller's account.
            let account = caller.account();
            let id = uuid::Uuid::new_v4().to_string();
            let arn = self.key_arn(account, &id);
            let policy_text = request
                .policy
                .clone()
                .unwrap_or_else(|| default_policy(self.partition, account));
            let policy = Arc::new(prepare_policy(&policy_text)?);
            if request.policy.is_some() && request.bypass_policy_lockout_safety_check != Some(true)
            {
                self.lockout_check(caller, &policy, &arn)?;
            }
            let crypto = if origin == "EXTERNAL" {
                CryptoKey::external(id.clone(), spec, usage)?
            } else {
                CryptoKey::generate(id.clone(), spec, usage)?
            };
            let now = epoch_seconds(self.clock.now());
            let meta = KeyMetadataRecord {
                id: id.clone(),
                arn: arn.clone(),
                account: account.to_owned(),
                region: self.config.region.clone(),
                created: now,
                description,
                state: AdminState::Enabled,
                spec: spec.as_str().to_owned(),
                usage: usage.as_str().to_owned(),
                origin: origin.to_owned(),
                deletion_date: None,
                pending_window_days: None,
                tags: request.tags.iter().cloned().collect(),
                policy: policy_text,
                rotation_enabled: false,
                rotation_period_days: 365,
                next_rotation: None,
                rotations: Vec::new(),
                grants: Vec::new(),
                expiration_model: None,
                valid_to: None,
                material_descriptions: BTreeMap::new(),
            };
            let grants = KeyGrants::new(
                key_kind(&meta.spec, &meta.usage),
                &meta.account,
                TokenKey::new(self.token_key),
            )
            .with_key_arn(&arn);
            let mut entry = KeyEntry {
                meta,
                crypto,
                policy,
                grants,
                grant_set: Arc::default(),
                aliases: Vec::new(),
                context: Arc::default(),
                import: None,
            };
            entry.refresh_grants();
            entry.refresh_context();
            let change = self.key_change(&entry)?;
            let mut state = self.write()?;
            self.persist(&[change])?;
            let metadata = Self::metadata(&entry);
            state.keys.insert(id, entry);
            call.resources.push(arn);
            call.response = json!({"keyMetadata": {"keyId": metadata.key_id, "arn": metadata.arn}});
            Ok(metadata)
        })
    }

    /// DescribeKey.
    pub fn describe_key(&self, caller: &Caller, key_id: &str) -> Result<KeyMetadata, KmsError> {
        self.call(
            caller,
            Call::new("DescribeKey", json!({"keyId": key_id})),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:DescribeKey",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| Ok(Self::metadata(e)),
                )
            },
        )
    }

    /// ListKeys: every key of the caller's account (IAM policies decide; `Resource: "*"`).
    pub fn list_keys(&self, caller: &Caller) -> Result<Vec<(String, String)>, KmsError> {
        self.call(caller, Call::new("ListKeys", json!({})), |call| {
            self.housekeeping()?;
            let context = self.context(caller, None, &Named::default(), &[], &[]);
            self.authorize(call, caller, None, action("kms:ListKeys")?, &[], context)?;
            let state = self.read()?;
            let mut keys: Vec<(String, String)> = state
                .keys
                .values()
                .filter(|e| e.meta.account == caller.account())
                .map(|e| (e.meta.id.clone(), e.meta.arn.clone()))
                .collect();
            keys.sort();
            Ok(keys)
        })
    }

    /// EnableKey.
    pub fn enable_key(&self, caller: &Caller, key_id: &str) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new("EnableKey", json!({"keyId": key_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:EnableKey",
                    StateClass::EnableDisable,
                    &[],
                    |e| {
                        e.meta.state = AdminState::Enabled;
                        Ok(())
                    },
                )
            },
        )
    }

    /// DisableKey.
    pub fn disable_key(&self, caller: &Caller, key_id: &str) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new("DisableKey", json!({"keyId": key_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:DisableKey",
                    StateClass::EnableDisable,
                    &[],
                    |e| {
                        e.meta.state = AdminState::Disabled;
                        Ok(())
                    },
                )
            },
        )
    }

    /// ScheduleKeyDeletion: 7–30 days (default 30); the key is destroyed when the window passes.
    pub fn schedule_key_deletion(
        &self,
        caller: &Caller,
        key_id: &str,
        pending_window_in_days: Option<u32>,
    ) -> Result<KeyMetadata, KmsError> {
        let days = pending_window_in_days.unwrap_or(30);
        let days_text = days.to_string();
        self.call(
            caller,
            Call::new(
                "ScheduleKeyDeletion",
                json!({"keyId": key_id, "pendingWindowInDays": days}),
            ),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:ScheduleKeyDeletion",
                    StateClass::NotPendingDeletion,
                    &[("kms:ScheduleKeyDeletionPendingWindowInDays", &days_text)],
                    |e| {
                        if !(7..=30).contains(&days) {
                            return Err(KmsError::validation(format!(
                                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30"
                            )));
                        }
                        let now = epoch_seconds(self.clock.now());
                        e.meta.state = AdminState::PendingDeletion;
                        e.meta.deletion_date = Some(now + u64::from(days) * 86_400);
                        e.meta.pending_window_days = Some(days);
                        Ok(Self::metadata(e))
                    },
                )
            },
        )
    }

    /// CancelKeyDeletion: the key comes back disabled. Returns the key ARN.
    pub fn cancel_key_deletion(&self, caller: &Caller, key_id: &str) -> Result<String, KmsError> {
        self.call(
            caller,
            Call::new("CancelKeyDeletion", json!({"keyId": key_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:CancelKeyDeletion",
                    StateClass::PendingDeletionOnly,
                    &[],
                    |e| {
                        e.meta.state = AdminState::Disabled;
                        e.meta.deletion_date = None;
                        e.meta.pending_window_days = None;
                        Ok(e.meta.arn.clone())
                    },
                )
            },
        )
    }

    /// UpdateKeyDescription.
    pub fn update_key_description(
        &self,
        caller: &Caller,
        key_id: &str,
        description: &str,
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new(
                "UpdateKeyDescription",
                json!({"keyId": key_id, "description": description}),
            ),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:UpdateKeyDescription",
                    StateClass::NotPendingDeletion,
                    &[],
                    |e| {
                        if description.len() > MAX_DESCRIPTION {
                            return Err(KmsError::length("description", MAX_DESCRIPTION));
                        }
                        e.meta.description = description.to_owned();
                        Ok(())
                    },
                )
            },
        )
    }

    /// GetKeyPolicy (the only policy name is `default`).
    pub fn get_key_policy(
        &self,
        caller: &Caller,
        key_id: &str,
        policy_name: Option<&str>,
    ) -> Result<String, KmsError> {
        self.call(
            caller,
            Call::new(
                "GetKeyPolicy",
                json!({"keyId": key_id, "policyName": policy_name.unwrap_or("default")}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:GetKeyPolicy",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| {
                        check_policy_name(policy_name)?;
                        Ok(e.meta.policy.clone())
                    },
                )
            },
        )
    }

    /// ListKeyPolicies: always `["default"]`.
    pub fn list_key_policies(
        &self,
        caller: &Caller,
        key_id: &str,
    ) -> Result<Vec<String>, KmsError> {
        self.call(
            caller,
            Call::new("ListKeyPolicies", json!({"keyId": key_id})),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:ListKeyPolicies",
                    StateClass::Any,
                    &[],
                    &[],
                    |_| Ok(vec!["default".to_owned()]),
                )
            },
        )
    }

    /// PutKeyPolicy: validated, and the lockout safety check run unless bypassed.
    pub fn put_key_policy(
        &self,
        caller: &Caller,
        key_id: &str,
        policy: &str,
        policy_name: Option<&str>,
        bypass_policy_lockout_safety_check: Option<bool>,
    ) -> Result<(), KmsError> {
        let bypass = bypass_policy_lockout_safety_check.map(|b| if b { "true" } else { "false" });
        let extra: Vec<(&str, &str)> = bypass
            .map(|b| vec![("kms:BypassPolicyLockoutSafetyCheck", b)])
            .unwrap_or_default();
        self.call(
            caller,
            Call::new(
                "PutKeyPolicy",
                json!({"keyId": key_id, "policyName": policy_name.unwrap_or("default"), "bypassPolicyLockoutSafetyCheck": bypass_policy_lockout_safety_check}),
            ),
            |call| {
                self.write_key(caller, call, key_id, "kms:PutKeyPolicy", StateClass::Any, &extra, |e| {
                    check_policy_name(policy_name)?;
                    let prepared = Arc::new(prepare_policy(policy)?);
                    if bypass_policy_lockout_safety_check != Some(true) {
                        self.lockout_check(caller, &prepared, &e.meta.arn)?;
                    }
                    e.policy = prepared;
                    e.meta.policy = policy.to_owned();
                    Ok(())
                })
            },
        )
    }

    /// TagResource.
    pub fn tag_resource(
        &self,
        caller: &Caller,
        key_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), KmsError> {
        let request_tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| (format!("aws:RequestTag/{k}"), v.clone()))
            .collect();
        let extra: Vec<(&str, &str)> = request_tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.call(
            caller,
            Call::new("TagResource", json!({"keyId": key_id, "tags": tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>()})),
            |call| {
                check_tags(tags)?;
                self.write_key(caller, call, key_id, "kms:TagResource", StateClass::NotPendingDeletion, &extra, |e| {
                    let mut merged = e.meta.tags.clone();
                    merged.extend(tags.iter().cloned());
                    if merged.len() > MAX_TAGS {
                        return Err(KmsError::new(ErrorCode::Tag, "Too many tags"));
                    }
                    e.meta.tags = merged;
                    Ok(())
                })
            },
        )
    }

    /// UntagResource.
    pub fn untag_resource(
        &self,
        caller: &Caller,
        key_id: &str,
        tag_keys: &[String],
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new(
                "UntagResource",
                json!({"keyId": key_id, "tagKeys": tag_keys}),
            ),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:UntagResource",
                    StateClass::NotPendingDeletion,
                    &[],
                    |e| {
                        for key in tag_keys {
                            e.meta.tags.remove(key);
                        }
                        Ok(())
                    },
                )
            },
        )
    }

    /// ListResourceTags.
    pub fn list_resource_tags(
        &self,
        caller: &Caller,
        key_id: &str,
    ) -> Result<Vec<(String, String)>, KmsError> {
        self.call(
            caller,
            Call::new("ListResourceTags", json!({"keyId": key_id})),
            |call| {
                self.read_key(
                    caller,
                    call,
                    key_id,
                    "kms:ListResourceTags",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| Ok(pairs(&e.meta.tags)),
                )
            },
        )
    }

    /// Encrypt.
    pub fn encrypt(
        &self,
        caller: &Caller,
        request: &EncryptRequest,
    ) -> Result<EncryptResponse, KmsError> {
        let algorithm_name = request
            .encryption_algorithm
            .as_deref()
            .unwrap_or("SYMMETRIC_DEFAULT");
        let ec = pairs(&request.encryption_context);
        self.call(
            caller,
            Call::new(
                "Encrypt",
                json!({"keyId": request.key_id, "encryptionContext": request.encryption_context, "encryptionAlgorithm": algorithm_name}),
            ),
            |call| {
                check_encryption_context("encryptionContext", &request.encryption_context)?;
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:Encrypt",
                    StateClass::Cryptographic,
                    &ec,
                    &[("kms:EncryptionAlgorithm", algorithm_name)],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = EncryptionAlgorithm::parse(algorithm_name)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let blob = e.crypto.encrypt(
                            &request.plaintext,
                            &encryption_context(&request.encryption_context),
                            algorithm,
                        )?;
                        Ok(EncryptResponse {
                            ciphertext_blob: blob,
                            key_id: e.meta.arn.clone(),
                            encryption_algorithm: algorithm_name.to_owned(),
                        })
                    },
                )
            },
        )
    }

    pub(crate) fn check_grant_tokens(
        &self,
        entry: &KeyEntry,
        tokens: &[String],
    ) -> Result<(), KmsError> {
        entry.grants.resolve_tokens(tokens)?;
        Ok(())
    }

    /// Decrypt: the key comes from the ciphertext (symmetric) or `KeyId` (required for RSA).
    pub fn decrypt(
        &self,
        caller: &Caller,
        request: &DecryptRequest,
    ) -> Result<DecryptResponse, KmsError> {
        let algorithm_name = request
            .encryption_algorithm
            .as_deref()
            .unwrap_or("SYMMETRIC_DEFAULT");
        let ec = pairs(&request.encryption_context);
        self.call(
            caller,
            Call::new(
                "Decrypt",
                json!({"keyId": request.key_id, "encryptionContext": request.encryption_context, "encryptionAlgorithm": algorithm_name}),
            ),
            |call| {
                check_encryption_context("encryptionContext", &request.encryption_context)?;
                let key_id = self.ciphertext_key(
                    caller,
                    &request.ciphertext_blob,
                    request.key_id.as_deref(),
                    algorithm_name,
                    action("kms:Decrypt")?,
                )?;
                self.read_key(
                    caller,
                    call,
                    &key_id,
                    "kms:Decrypt",
                    StateClass::Cryptographic,
                    &ec,
                    &[("kms:EncryptionAlgorithm", algorithm_name)],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let algorithm = EncryptionAlgorithm::parse(algorithm_name)?;
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let plaintext = e.crypto.decrypt(
                            &request.ciphertext_blob,
                            &encryption_context(&request.encryption_context),
                            algorithm,
                        )?;
                        Ok(DecryptResponse {
                            key_material_id: e.blob_material_id(&request.ciphertext_blob),
                            plaintext,
                            key_id: e.meta.arn.clone(),
                            encryption_algorithm: algorithm_name.to_owned(),
                        })
                    },
                )
            },
        )
    }

    fn data_key(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyRequest,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyResponse, KmsError> {
        let (event, action_name) = if with_plaintext {
            ("GenerateDataKey", "kms:GenerateDataKey")
        } else {
            (
                "GenerateDataKeyWithoutPlaintext",
                "kms:GenerateDataKeyWithoutPlaintext",
            )
        };
        let ec = pairs(&request.encryption_context);
        self.call(
            caller,
            Call::new(
                event,
                json!({"keyId": request.key_id, "keySpec": request.key_spec, "numberOfBytes": request.number_of_bytes, "encryptionContext": request.encryption_context}),
            ),
            |call| {
                check_encryption_context("encryptionContext", &request.encryption_context)?;
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    action_name,
                    StateClass::Cryptographic,
                    &ec,
                    &[("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")],
                    |e| {
                        self.check_grant_tokens(e, &request.grant_tokens)?;
                        let length = match (&request.key_spec, request.number_of_bytes) {
                            (Some(spec), None) => DataKeyLength::Spec(DataKeySpec::parse(spec)?),
                            (None, Some(n)) => DataKeyLength::Bytes(n),
                            (Some(_), Some(_)) => {
                                return Err(KmsError::validation(
                                    "Please specify either number of bytes or key spec.",
                                ));
                            }
                            (None, None) => {
                                return Err(KmsError::validation(
                                    "Please specify either number of bytes or key spec.",
                                ));
                            }
                        };
                        if request.dry_run {
                            return Err(dry_run());
                        }
                        let context = encryption_context(&request.encryption_context);
                        if with_plaintext {
                            let key = e.crypto.generate_data_key(length, &context)?;
                            Ok(GenerateDataKeyResponse {
                                key_material_id: e.blob_material_id(&key.ciphertext_blob),
                                ciphertext_blob: key.ciphertext_blob,
                                plaintext: Some(key.plaintext),
                                key_id: e.meta.arn.clone(),
                            })
                        } else {
                            let blob = e.crypto.generate_data_key_without_plaintext(length, &context)?;
                            Ok(GenerateDataKeyResponse {
                                key_material_id: e.blob_material_id(&blob),
                                ciphertext_blob: blob,
                                plaintext: None,
                                key_id: e.meta.arn.clone(),
                            })
                        }
                    },
                )
            },
        )
    }

    /// GenerateDataKey.
    pub fn generate_data_key(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse, KmsError> {
        self.data_key(caller, request, true)
    }

    /// GenerateDataKeyWithoutPlaintext.
    pub fn generate_data_key_without_plaintext(
        &self,
        caller: &Caller,
        request: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse, KmsError> {
        self.data_key(caller, request, false)
    }

    /// CreateAlias: needs `kms:CreateAlias` on the alias (identity policy) and on the key. The
    /// alias belongs to the caller's account, and its target must be a key of that account
    /// named by key ID or key ARN.
    pub fn create_alias(
        &self,
        caller: &Caller,
        alias_name: &str,
        target_key_id: &str,
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new(
                "CreateAlias",
                json!({"aliasName": alias_name, "targetKeyId": target_key_id}),
            ),
            |call| {
                check_alias_name(alias_name)?;
                check_alias_target(target_key_id)?;
                self.housekeeping()?;
                let action = action("kms:CreateAlias")?;
                let account = caller.account().to_owned();
                let mut state = self.write()?;
                let id = {
                    let (entry, _) = self.resolve(&state, caller, target_key_id, action)?;
                    call.resources.push(entry.meta.arn.clone());
                    self.authorize_alias(call, caller, entry, action, alias_name)?;
                    if let Some(error) = state_error(entry, StateClass::NotPendingDeletion) {
                        return Err(error);
                    }
                    entry.meta.id.clone()
                };
                if state.aliases.contains(&account, alias_name) {
                    return Err(KmsError::new(
                        ErrorCode::AlreadyExists,
                        format!(
                            "An alias with the name {} already exists",
                            self.alias_arn(&account, alias_name)
                        ),
                    ));
                }
                let now = epoch_seconds(self.clock.now());
                let record = self.alias_record(&account, alias_name, &id, now, now);
                self.persist(&[Change::PutAlias(record.clone())])?;
                state.aliases.insert(record);
                if let Some(entry) = state.keys.get_mut(&id) {
                    entry.aliases.push(alias_name.to_owned());
                    entry.refresh_context();
                }
                Ok(())
            },
        )
    }

    /// The key an alias of the caller's account points to (alias operations name the alias,
    /// never a key), or `NotFoundException` with AWS's message.
    pub(crate) fn resolve_alias<'s>(
        &self,
        state: &'s State,
        caller: &Caller,
        alias_name: &str,
    ) -> Result<&'s KeyEntry, KmsError> {
        state
            .aliases
            .get(caller.account(), alias_name)
            .and_then(|a| state.keys.get(&a.key_id))
            .ok_or_else(|| {
                KmsError::not_found(format!(
                    "Alias {} is not found.",
                    self.alias_arn(caller.account(), alias_name)
                ))
            })
    }

    /// An alias operation: `authz` checks the action on the alias ARN (identity policies) and
    /// on the key it targets (key policy, delegated identity policies).
    pub(crate) fn authorize_alias(
        &self,
        call: &mut Call,
        caller: &Caller,
        entry: &KeyEntry,
        action: keyward_policy::catalog::ActionId,
        alias_name: &str,
    ) -> Result<(), KmsError> {
        let arn = self.alias_arn(caller.account(), alias_name);
        let context = self.context(caller, Some(entry), &Named::default(), &[], &[]);
        let request = self.request(
            caller,
            action,
            arn,
            Some(entry.meta.arn.clone()),
            &[],
            context,
        );
        self.decide(call, caller, Some(entry), &request).map(drop)
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, caller: &Caller, alias_name: &str) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new("DeleteAlias", json!({"aliasName": alias_name})),
            |call| {
                check_alias_name(alias_name)?;
                let action = action("kms:DeleteAlias")?;
                let account = caller.account().to_owned();
                let mut state = self.write()?;
                let id = {
                    let entry = self.resolve_alias(&state, caller, alias_name)?;
                    call.resources.push(entry.meta.arn.clone());
                    self.authorize_alias(call, caller, entry, action, alias_name)?;
                    entry.meta.id.clone()
                };
                self.persist(&[Change::DeleteAlias {
                    account: account.clone(),
                    name: alias_name.to_owned(),
                }])?;
                state.aliases.remove(&account, alias_name);
                if let Some(entry) = state.keys.get_mut(&id) {
                    entry.aliases.retain(|a| a != alias_name);
                    entry.refresh_context();
                }
                Ok(())
            },
        )
    }

    /// ListAliases (identity policies decide): the caller's account's aliases, optionally of
    /// one key, and, without a key, the aliases AWS predefines for its managed keys (listed
    /// without a target until the managed key exists, as the API Reference describes).
    pub fn list_aliases(
        &self,
        caller: &Caller,
        key_id: Option<&str>,
    ) -> Result<Vec<AliasListEntry>, KmsError> {
        self.call(
            caller,
            Call::new("ListAliases", json!({"keyId": key_id})),
            |call| {
                let action = action("kms:ListAliases")?;
                let context = self.context(caller, None, &Named::default(), &[], &[]);
                self.authorize(call, caller, None, action, &[], context)?;
                let state = self.read()?;
                let account = caller.account();
                let only = match key_id {
                    Some(k) => Some(self.resolve(&state, caller, k, action)?.0.meta.id.clone()),
                    None => None,
                };
                let mut aliases: Vec<AliasListEntry> = state
                    .aliases
                    .of(account)
                    .filter(|a| only.as_ref().is_none_or(|id| &a.key_id == id))
                    .map(|a| AliasListEntry {
                        alias_name: a.name.clone(),
                        alias_arn: self.alias_arn(account, &a.name),
                        target_key_id: Some(a.key_id.clone()),
                    })
                    .collect();
                if only.is_none() {
                    aliases.extend(
                        PREDEFINED_ALIASES
                            .iter()
                            .filter(|name| !state.aliases.contains(account, name))
                            .map(|name| AliasListEntry {
                                alias_name: (*name).to_owned(),
                                alias_arn: self.alias_arn(account, name),
                                target_key_id: None,
                            }),
                    );
                    aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
                }
                Ok(aliases)
            },
        )
    }

    /// CreateGrant.
    pub fn create_grant(
        &self,
        caller: &Caller,
        request: &CreateGrantRequest,
    ) -> Result<CreateGrantResponse, KmsError> {
        let constraint_type = if request.encryption_context_equals.is_some() {
            Some("EncryptionContextEquals")
        } else if request.encryption_context_subset.is_some() {
            Some("EncryptionContextSubset")
        } else {
            None
        };
        let constraint_pairs = request
            .encryption_context_equals
            .as_ref()
            .or(request.encryption_context_subset.as_ref())
            .map(pairs)
            .unwrap_or_default();
        let mut extra: Vec<(&str, &str)> =
            vec![("kms:GranteePrincipal", &request.grantee_principal)];
        if let Some(r) = &request.retiring_principal {
            extra.push(("kms:RetiringPrincipal", r));
        }
        if let Some(t) = constraint_type {
            extra.push(("kms:GrantConstraintType", t));
        }
        self.call(
            caller,
            Call::new(
                "CreateGrant",
                json!({"keyId": request.key_id, "granteePrincipal": request.grantee_principal, "retiringPrincipal": request.retiring_principal, "operations": request.operations, "name": request.name, "constraints": constraint_type.map(|t| json!({t: constraint_pairs.iter().cloned().collect::<BTreeMap<_, _>>()}))}),
            ),
            |call| {
                let action = action("kms:CreateGrant")?;
                self.housekeeping()?;
                let mut state = self.write()?;
                let (id, parents) = {
                    let (entry, named) = self.resolve(&state, caller, &request.key_id, action)?;
                    call.resources.push(entry.meta.arn.clone());
                    let mut context = self.context(caller, Some(entry), &named, &constraint_pairs, &extra);
                    context.insert_multi("kms:GrantOperations", request.operations.iter().map(String::as_str));
                    let judgement = self.authorize(call, caller, Some(entry), action, &constraint_pairs, context)?;
                    if let Some(error) = state_error(entry, StateClass::Cryptographic) {
                        return Err(error);
                    }
                    self.check_grant_tokens(entry, &request.grant_tokens)?;
                    (entry.meta.id.clone(), parent_grants(entry, &judgement))
                };
                let entry = state.keys.get_mut(&id).ok_or_else(|| KmsError::internal("key vanished"))?;
                let now = epoch_seconds(self.clock.now());
                let child = CreateGrant {
                    grantee_principal: request.grantee_principal.clone(),
                    retiring_principal: request.retiring_principal.clone(),
                    operations: request.operations.clone(),
                    encryption_context_equals: request.encryption_context_equals.as_ref().map(pairs),
                    encryption_context_subset: request.encryption_context_subset.as_ref().map(pairs),
                    name: request.name.clone(),
                };
                let (grant_id, token) = self.commit_key(entry, |entry| {
                    let created = match &parents {
                        // A policy allows CreateGrant: any grant operation the key supports.
                        None => entry.grants.create_at(&child, now)?,
                        // Only grants allow it: the child must fit under one of them (a subset of
                        // its operations, a constraint at least as strict), or AccessDenied.
                        Some(parents) => create_under_any(&mut entry.grants, parents, &child, now)
                            .map_err(|e| escalation_denied(caller, &entry.meta.arn, &e))?,
                    };
                    let index = match created.created {
                        keyward_grants::key_grants::Created::New(i) | keyward_grants::key_grants::Created::Retry(i) => i,
                    };
                    let grant_id = entry.grants.grants().get(index).map(|g| g.id.clone()).unwrap_or_default();
                    entry.refresh_grants();
                    Ok((grant_id, created.token))
                })?;
                call.response = json!({"grantId": grant_id});
                Ok(CreateGrantResponse {
                    grant_id,
                    grant_token: token,
                })
            },
        )
    }

    /// ListGrants.
    pub fn list_grants(
        &self,
        caller: &Caller,
        request: &ListGrantsRequest,
    ) -> Result<Page<GrantListEntry>, KmsError> {
        self.call(
            caller,
            Call::new(
                "ListGrants",
                json!({"keyId": request.key_id, "grantId": request.grant_id, "granteePrincipal": request.grantee_principal, "limit": request.paging.limit, "marker": request.paging.marker}),
            ),
            |call| {
                self.read_key(
                    caller,
                    call,
                    &request.key_id,
                    "kms:ListGrants",
                    StateClass::Any,
                    &[],
                    &[],
                    |e| {
                        let limit = request.paging.limit.map(|l| l as usize);
                        let page = e.grants.list(
                            ListFilter {
                                grant_id: request.grant_id.as_deref(),
                                grantee_principal: request.grantee_principal.as_deref(),
                            },
                            limit,
                            request.paging.marker.as_deref(),
                        )?;
                        Ok(Page {
                            items: page.grants.iter().map(|g| grant_entry(e, g)).collect(),
                            truncated: page.next_marker.is_some(),
                            next_marker: page.next_marker,
                        })
                    },
                )
            },
        )
    }

    /// RevokeGrant: authorized by the key policy (`kms:RevokeGrant`).
    pub fn revoke_grant(
        &self,
        caller: &Caller,
        key_id: &str,
        grant_id: &str,
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new("RevokeGrant", json!({"keyId": key_id, "grantId": grant_id})),
            |call| {
                self.write_key(
                    caller,
                    call,
                    key_id,
                    "kms:RevokeGrant",
                    StateClass::Any,
                    &[],
                    |e| {
                        e.grants.revoke(grant_id)?;
                        e.refresh_grants();
                        Ok(())
                    },
                )
            },
        )
    }

    /// RetireGrant: authorized by the grant (its retiring principal, its grantee when it
    /// includes RetireGrant, or the issuing account), not by the key policy.
    pub fn retire_grant(
        &self,
        caller: &Caller,
        request: &RetireGrantRequest,
    ) -> Result<(), KmsError> {
        self.call(
            caller,
            Call::new(
                "RetireGrant",
                json!({"keyId": request.key_id, "grantId": request.grant_id}),
            ),
            |call| {
                let action = action("kms:RetireGrant")?;
                let mut state = self.write()?;
                let id = match (&request.grant_token, &request.key_id) {
                    (Some(token), _) => state
                        .keys
                        .values()
                        .find(|e| e.grants.resolve_token(token).is_ok())
                        .map(|e| e.meta.id.clone())
                        .ok_or_else(|| {
                            KmsError::new(
                                ErrorCode::InvalidGrantToken,
                                "The grant token is not valid",
                            )
                        })?,
                    (None, Some(key_id)) => self
                        .resolve(&state, caller, key_id, action)?
                        .0
                        .meta
                        .id
                        .clone(),
                    (None, None) => {
                        return Err(KmsError::validation(
                            "Either GrantToken or KeyId and GrantId must be given",
                        ));
                    }
                };
                // Whether the caller's identity policies allow kms:RetireGrant (how an account
                // delegates retiring).
                let entry = state
                    .keys
                    .get_mut(&id)
                    .ok_or_else(|| KmsError::internal("key vanished"))?;
                call.resources.push(entry.meta.arn.clone());
                let context = self.context(caller, Some(entry), &Named::default(), &[], &[]);
                let request_for_iam =
                    self.request(caller, action, entry.meta.arn.clone(), None, &[], context);
                let iam =
                    Authorizer::from_parts(None, Arc::clone(caller.identity()), Arc::default());
                let identity_verdict = iam.verdict(&request_for_iam);
                // An explicit deny in the caller's identity policies stops RetireGrant even
                // for the grant's retiring principal or grantee: IAM evaluation ends at a deny
                // (fail-closed where the sources say nothing more).
                if identity_verdict == Verdict::ExplicitDeny {
                    call.decisions.push(AuditDecision {
                        action,
                        resource: entry.meta.arn.clone(),
                        verdict: Verdict::ExplicitDeny,
                        reasons: iam.judge(&request_for_iam).reasons,
                    });
                    return Err(KmsError::new(
                        ErrorCode::AccessDenied,
                        format!(
                            "User: {} is not authorized to perform: kms:RetireGrant on resource: {} with an explicit deny in an identity-based policy",
                            caller.arn(),
                            entry.meta.arn
                        ),
                    ));
                }
                let identity_allows_retire = identity_verdict == Verdict::Allow;
                let target = match (&request.grant_token, &request.grant_id) {
                    (Some(token), _) => RetireTarget::Token(token),
                    (None, Some(grant_id)) => RetireTarget::GrantId(grant_id),
                    (None, None) => {
                        return Err(KmsError::validation("GrantId is required with KeyId"));
                    }
                };
                let audited = (action, entry.meta.arn.clone());
                self.commit_key(entry, |entry| {
                    let retired = entry.grants.retire(
                        target,
                        Retirer {
                            arn: caller.arn(),
                            role: caller.role_arn(),
                            account: caller.account(),
                            identity_allows_retire,
                        },
                    );
                    // RetireGrant is authorized against the grant itself (its retiring
                    // principal or grantee) or the identity policies of the key's account.
                    call.decisions.push(AuditDecision {
                        action: audited.0,
                        resource: audited.1.clone(),
                        verdict: if retired.is_ok() {
                            Verdict::Allow
                        } else {
                            Verdict::ImplicitDeny
                        },
                        reasons: match &retired {
                            Ok(grant) => vec![Reason {
                                effect: Effect::Allow,
                                source: Source::Grant(grant.id.clone()),
                                statement: None,
                                sid: None,
                            }],
                            Err(_) => Vec::new(),
                        },
                    });
                    retired?;
                    entry.refresh_grants();
                    Ok(())
                })?;
                Ok(())
            },
        )
    }
}

/// The grants that authorized a CreateGrant when no policy did (`None` when a key policy,
/// directly or delegated, allows it: then the caller may give any grant operation).
fn parent_grants(entry: &KeyEntry, judgement: &Judgement) -> Option<Vec<keyward_grants::Grant>> {
    if !judgement.basis.is_some_and(AllowBasis::is_grant) {
        return None;
    }
    Some(
        judgement
            .reasons
            .iter()
            .filter_map(|r| match &r.source {
                Source::Grant(id) => entry.grants.grants().iter().find(|g| &g.id == id).cloned(),
                Source::Policy(_) => None,
            })
            .collect(),
    )
}

/// Creates `child` under the first of `parents` it fits under; the first refusal otherwise.
fn create_under_any(
    grants: &mut KeyGrants,
    parents: &[keyward_grants::Grant],
    child: &CreateGrant,
    now: u64,
) -> Result<keyward_grants::key_grants::CreatedGrant, KeyGrantsError> {
    let mut refusal = KeyGrantsError::Escalation("no grant authorizes CreateGrant".into());
    for (i, parent) in parents.iter().enumerate() {
        match grants.create_under_at(parent, child, now) {
            Ok(created) => return Ok(created),
            Err(e @ KeyGrantsError::Escalation(_)) => {
                if i == 0 {
                    refusal = e;
                }
            }
            Err(other) => return Err(other),
        }
    }
    Err(refusal)
}

/// The AccessDeniedException for a CreateGrant a parent grant cannot give.
fn escalation_denied(caller: &Caller, key_arn: &str, error: &KeyGrantsError) -> KmsError {
    match error {
        KeyGrantsError::Escalation(why) => KmsError::new(
            ErrorCode::AccessDenied,
            format!(
                "User: {} is not authorized to perform: kms:CreateGrant on resource: {key_arn} because only a grant allows it, and a grant can delegate only what it gives: {why}",
                caller.arn()
            ),
        ),
        other => KmsError::from(other.clone()),
    }
}

/// A grant as ListGrants and ListRetirableGrants show it.
pub(crate) fn grant_entry(entry: &KeyEntry, g: &keyward_grants::Grant) -> GrantListEntry {
    GrantListEntry {
        key_id: entry.meta.arn.clone(),
        grant_id: g.id.clone(),
        name: g.name.clone(),
        grantee_principal: g.grantee.clone(),
        retiring_principal: g.retiring_principal.clone(),
        issuing_account: g.issuing_account.clone(),
        operations: g
            .operations
            .iter()
            .map(|o| o.info().name.to_owned())
            .collect(),
    }
}

fn check_policy_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other}. The only valid value is default."
        ))),
    }
}

/// The aliases AWS predefines in every account and Region for the AWS managed keys of the
/// services that use them (`alias/aws/<service>`); ListAliases shows them without a target
/// until the managed key is created.
pub(crate) const PREDEFINED_ALIASES: &[&str] = &[
    "alias/aws/acm",
    "alias/aws/dynamodb",
    "alias/aws/ebs",
    "alias/aws/elasticfilesystem",
    "alias/aws/es",
    "alias/aws/glue",
    "alias/aws/kinesisvideo",
    "alias/aws/lambda",
    "alias/aws/rds",
    "alias/aws/redshift",
    "alias/aws/s3",
    "alias/aws/secretsmanager",
    "alias/aws/ssm",
    "alias/aws/xray",
];

/// An alias's target is a key: an alias name or alias ARN there is refused as AWS does.
pub(crate) fn check_alias_target(target_key_id: &str) -> Result<(), KmsError> {
    if target_key_id.starts_with("alias/") || target_key_id.contains(":alias/") {
        return Err(KmsError::validation(
            "Aliases must refer to keys. Not aliases",
        ));
    }
    Ok(())
}

pub(crate) fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") {
        return Err(KmsError::validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(
            ErrorCode::AccessDenied,
            "Alias names beginning with alias/aws/ are reserved for AWS managed keys",
        ));
    }
    // The API's pattern (`^[a-zA-Z0-9:/_-]+$`) and length first, then its documented rule:
    // "It can contain only alphanumeric characters, forward slashes (/), underscores (_), and
    // dashes (-)" (no colon).
    let pattern = name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    if !pattern {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    if name.len() == "alias/".len() || name.contains(':') {
        return Err(KmsError::validation(format!(
            "Alias name {name} is not valid: after \"alias/\" it can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)"
        )));
    }
    Ok(())
}

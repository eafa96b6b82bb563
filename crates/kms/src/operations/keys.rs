//! Keys: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription.

use super::{audited_tags, bool_text, metadata};
use crate::caller::Caller;
use crate::clock::{epoch_seconds, from_epoch_seconds};
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, KmsOperation, Named, action, operation};
use crate::housekeeping::DAY;
use crate::operations::tags::check_tags;
use crate::paging::{PageSize, paginate};
use crate::record::{AdminState, KeyMetadataRecord, MultiRegionRecord};
use crate::service::{Kms, compile_key_policy, default_policy, key_kind};
use keyward_api::{
    CancelKeyDeletionRequest, CancelKeyDeletionResponse, CreateKeyRequest, CreateKeyResponse,
    DescribeKeyRequest, DescribeKeyResponse, DisableKeyRequest, Empty, EnableKeyRequest, ErrorCode,
    KeyListEntry, ListKeysRequest, ListKeysResponse, ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse, UpdateKeyDescriptionRequest,
};
use keyward_authz::{Authorizer, CompiledPolicy, Verdict};
use keyward_crypto::{CryptoKey, KeySpec, KeyUsage, Origin};
use keyward_grants::key_grants::{KeyGrants, TokenKey};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest description.
const MAX_DESCRIPTION: usize = 8192;

/// The deletion window: 7 to 30 days, 30 by default.
const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
const DEFAULT_PENDING_WINDOW_DAYS: u32 = 30;

/// CreateKey's spec, usage and origin, read from the request with AWS's errors.
pub(crate) fn key_kind_of(
    request: &CreateKeyRequest,
) -> Result<(KeySpec, KeyUsage, Origin), KmsError> {
    let spec = request
        .key_spec
        .as_deref()
        .or(request.customer_master_key_spec.as_deref())
        .unwrap_or("SYMMETRIC_DEFAULT");
    let spec = KeySpec::parse(spec)?;
    let usage = match request.key_usage.as_deref() {
        Some(usage) => KeyUsage::parse(usage)?,
        None if spec == KeySpec::SymmetricDefault => KeyUsage::EncryptDecrypt,
        None => {
            return Err(KmsError::validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ));
        }
    };
    let origin = request.origin.as_deref().unwrap_or("AWS_KMS");
    let origin = Origin::parse(origin).ok_or_else(|| {
        KmsError::unsupported(format!(
            "Origin {origin} is not supported by this implementation"
        ))
    })?;
    Ok((spec, usage, origin))
}

/// What CreateKey refuses before anything else: the capabilities Keyward does not offer, then
/// the key's kind, the description and the tags.
pub(crate) fn check_create_key(r: &CreateKeyRequest) -> Result<(), KmsError> {
    if r.xks_key_id.is_some() {
        return Err(KmsError::unsupported(
            "XksKeyId: external key stores are not supported by Keyward.",
        ));
    }
    let (spec, _, origin) = key_kind_of(r)?;
    // A key in a custom key store: Origin AWS_CLOUDHSM and the store's ID go together, and
    // such a key is a symmetric encryption key of one Region.
    match (origin, r.custom_key_store_id.as_deref()) {
        (Origin::AwsCloudHsm, None) => {
            return Err(KmsError::validation(
                "CustomKeyStoreId is required when Origin is AWS_CLOUDHSM.",
            ));
        }
        (Origin::AwsCloudHsm, Some(_)) => {
            if spec != keyward_crypto::KeySpec::SymmetricDefault
                || r.key_usage
                    .as_deref()
                    .is_some_and(|u| u != "ENCRYPT_DECRYPT")
            {
                return Err(KmsError::unsupported(format!(
                    "KeySpec {} is not supported in a custom key store: only symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) are.",
                    spec.as_str()
                )));
            }
            if r.multi_region == Some(true) {
                return Err(KmsError::unsupported(
                    "You cannot create a multi-Region key in a custom key store.",
                ));
            }
        }
        (_, Some(_)) => {
            return Err(KmsError::validation(
                "Origin must be AWS_CLOUDHSM when CustomKeyStoreId is given.",
            ));
        }
        (_, None) => {}
    }
    if r.description
        .as_ref()
        .is_some_and(|d| d.len() > MAX_DESCRIPTION)
    {
        return Err(KmsError::length("description", MAX_DESCRIPTION));
    }
    check_tags(&r.tags)
}

/// CreateKey's request-parameter keys, default-filled (AWS KMS Developer Guide, "AWS KMS
/// condition keys": a parameter's key is set even when the request leaves it at its default):
/// `kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion`,
/// `kms:BypassPolicyLockoutSafetyCheck` when sent, and the request's tags (`aws:RequestTag/*`,
/// `aws:TagKeys`).
fn create_key_context(r: &CreateKeyRequest, context: &mut keyward_conditions::RequestContext) {
    if let Ok((spec, usage, origin)) = key_kind_of(r) {
        context.insert_single("kms:KeySpec", spec.as_str());
        context.insert_single("kms:KeyUsage", usage.as_str());
        context.insert_single("kms:KeyOrigin", origin.as_str());
    }
    let multi_region = r.multi_region == Some(true);
    context.insert_single("kms:MultiRegion", bool_text(multi_region));
    if multi_region {
        context.insert_single("kms:MultiRegionKeyType", "PRIMARY");
    }
    if let Some(bypass) = r.bypass_policy_lockout_safety_check {
        context.insert_single("kms:BypassPolicyLockoutSafetyCheck", bool_text(bypass));
    }
    for tag in &r.tags {
        context.insert_single(&format!("aws:RequestTag/{}", tag.tag_key), &tag.tag_value);
    }
    if !r.tags.is_empty() {
        context.insert_multi("aws:TagKeys", r.tags.iter().map(|t| t.tag_key.as_str()));
    }
}

operation! {
    /// CreateKey: a key in the caller's account, with generated material or (EXTERNAL) none yet.
    CreateKey(CreateKeyRequest) -> CreateKeyResponse, via NoKey, action "CreateKey", state Any;
    audit |r| json!({
        "keySpec": r.key_spec.as_deref().or(r.customer_master_key_spec.as_deref()).unwrap_or("SYMMETRIC_DEFAULT"),
        "keyUsage": r.key_usage,
        "origin": r.origin.as_deref().unwrap_or("AWS_KMS"),
        "description": r.description,
        "bypassPolicyLockoutSafetyCheck": r.bypass_policy_lockout_safety_check,
        "tags": audited_tags(&r.tags),
        "customKeyStoreId": r.custom_key_store_id,
    });
    check |r| check_create_key(r);
    context |r, keys| create_key_context(r, keys);
    perform |op, r| create_key(op, r)
}

/// A new key made in the token of the custom key store `r` names, which must be connected
/// (AWS: `CustomKeyStoreNotFoundException`, `CustomKeyStoreInvalidStateException`).
fn in_key_store(kms: &Kms, r: &CreateKeyRequest, id: &str) -> Result<CryptoKey, KmsError> {
    let store_id = r.custom_key_store_id.as_deref().unwrap_or_default();
    let store = super::custom_key_stores::store(kms, store_id)?;
    if store.state() != crate::key_stores::ConnectionState::Connected {
        return Err(KmsError::refused(
            keyward_api::ErrorCode::CustomKeyStoreInvalidState,
            format!(
                "Custom key store {store_id} is {}: keys are created only in a CONNECTED custom key store.",
                store.state().as_str()
            ),
        ));
    }
    Ok(CryptoKey::in_token(
        id.to_owned(),
        Arc::clone(&store.token) as Arc<dyn keyward_crypto::KeyToken>,
    )?)
}

fn create_key(op: &mut Allowed<'_>, r: &CreateKeyRequest) -> Result<CreateKeyResponse, KmsError> {
    let (kms, caller) = (op.kms, op.caller);
    // Tags at creation also need kms:TagResource, from an IAM policy.
    if !r.tags.is_empty() {
        let mut context = kms.context(caller, None, &Named::default());
        CreateKey::context(r, &mut context);
        kms.authorize_by_iam(op.call, caller, action!("TagResource"), context)?;
    }
    let (spec, usage, origin) = key_kind_of(r)?;
    // KMS creates the key in the caller's account.
    let account = caller.account();
    let multi_region = r.multi_region == Some(true);
    // A multi-Region key's ID is `mrk-` and 32 hex digits, the same in every Region.
    let id = if multi_region {
        format!("mrk-{}", uuid::Uuid::new_v4().simple())
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    let arn = kms.key_arn(account, &id);
    let policy_text = r
        .policy
        .clone()
        .unwrap_or_else(|| default_policy(kms.partition, account));
    let policy = Arc::new(compile_key_policy(&policy_text)?);
    if r.policy.is_some() && r.bypass_policy_lockout_safety_check != Some(true) {
        lockout_check(kms, caller, &policy, &arn)?;
    }
    let crypto = match origin {
        Origin::External => CryptoKey::external(id.clone(), spec, usage)?,
        Origin::AwsKms => CryptoKey::generate(id.clone(), spec, usage)?,
        Origin::AwsCloudHsm => {
            let crypto = in_key_store(kms, r, &id)?;
            op.call.additional = Some(
                kms.key_stores
                    .event_data(r.custom_key_store_id.as_deref().unwrap_or_default()),
            );
            crypto
        }
    };
    let mut entry = new_entry(kms, account, r, crypto, policy_text, policy)?;
    if multi_region {
        entry.meta.multi_region = Some(MultiRegionRecord {
            primary_region: kms.config.region.clone(),
            replica_regions: Vec::new(),
        });
        entry.refresh_context();
    }
    let mut state = kms.write()?;
    kms.store_new_key(&mut entry)?;
    let key_metadata = metadata(kms, &entry);
    let arn = entry.meta.arn.clone();
    state.insert(entry);
    op.call.resources.push(arn);
    op.call.response =
        json!({"keyMetadata": {"keyId": key_metadata.key_id, "arn": key_metadata.arn}});
    Ok(CreateKeyResponse { key_metadata })
}

/// A new key's entry in `account`: CreateKey's `request` (description, tags) with `crypto`'s
/// ID, spec, usage and origin and the compiled `policy` of `policy_text`. Not yet persisted.
pub(crate) fn new_entry(
    kms: &Kms,
    account: &str,
    request: &CreateKeyRequest,
    crypto: CryptoKey,
    policy_text: String,
    policy: Arc<CompiledPolicy>,
) -> Result<KeyEntry, KmsError> {
    let id = crypto.id().to_owned();
    let arn = kms.key_arn(account, &id);
    let (spec, usage, origin) = (crypto.spec(), crypto.usage(), crypto.origin());
    let meta = KeyMetadataRecord {
        id,
        arn: arn.clone(),
        account: account.to_owned(),
        region: kms.config.region.clone(),
        created: epoch_seconds(kms.clock.now()),
        description: request.description.clone().unwrap_or_default(),
        state: AdminState::Enabled,
        spec,
        usage,
        origin,
        custom_key_store_id: (origin == Origin::AwsCloudHsm)
            .then(|| request.custom_key_store_id.clone())
            .flatten(),
        deletion_date: None,
        pending_window_days: None,
        tags: request
            .tags
            .iter()
            .map(|t| (t.tag_key.clone(), t.tag_value.clone()))
            .collect(),
        policy: policy_text,
        rotation_enabled: false,
        rotation_period_days: 365,
        next_rotation: None,
        rotations: Vec::new(),
        grants: Vec::new(),
        expiration_model: None,
        valid_to: None,
        material_descriptions: BTreeMap::new(),
        multi_region: None,
        aws_managed: false,
    };
    let kind = key_kind(&meta).ok_or_else(|| {
        KmsError::Internal(format!(
            "key spec {} with usage {} passed the crypto core's checks but makes no grant rules",
            spec.as_str(),
            usage.as_str()
        ))
    })?;
    let grants =
        KeyGrants::new(kind, &meta.account, TokenKey::new(kms.token_key)).with_key_arn(&arn);
    let mut entry = KeyEntry {
        meta,
        crypto: crypto.named(&arn),
        policy,
        grants,
        grant_set: Arc::default(),
        grant_binding: Default::default(),
        aliases: Vec::new(),
        context: Arc::default(),
        import: None,
        version: Some(0),
        held: None,
    };
    entry.refresh_grants();
    entry.refresh_context();
    Ok(entry)
}

/// The lockout safety check: PutKeyPolicy by `caller`, simulated under `policy` with the
/// caller's identity policies, must be allowed.
pub(crate) fn lockout_check(
    kms: &Kms,
    caller: &Caller,
    policy: &Arc<CompiledPolicy>,
    arn: &str,
) -> Result<(), KmsError> {
    let context = kms.context(caller, None, &Named::default());
    let action = action!("PutKeyPolicy");
    let request = kms.request(caller, action, arn.to_owned(), None, None, context);
    let authorizer = Authorizer::from_parts(
        Some(Arc::clone(policy)),
        Arc::clone(caller.identity()),
        Arc::default(),
    );
    if authorizer.verdict(&request) == Verdict::Allow {
        return Ok(());
    }
    Err(KmsError::refused(
        ErrorCode::MalformedPolicyDocument,
        "The new key policy will not allow you to update the key policy in the future.",
    ))
}

operation! {
    /// DescribeKey.
    DescribeKey(DescribeKeyRequest) -> DescribeKeyResponse, via Read, action "DescribeKey", state Any;
    audit |r| json!({"keyId": r.key_id});
    perform |op, entry, _| Ok(DescribeKeyResponse { key_metadata: metadata(op.kms, entry) })
}

operation! {
    /// ListKeys: every key of the caller's account, in key ID order.
    ListKeys(ListKeysRequest) -> ListKeysResponse, via NoKey, action "ListKeys", state Any;
    audit |r| json!({"limit": r.limit, "marker": r.marker});
    perform |op, r| {
        let state = op.kms.read()?;
        let mut keys: Vec<KeyListEntry> = state
            .keys
            .values()
            .filter(|slot| slot.account == op.caller.account())
            .map(|slot| KeyListEntry { key_id: slot.id.clone(), key_arn: slot.arn.clone() })
            .collect();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        let page = paginate(keys, r.limit, r.marker.as_deref(), PageSize { default: 100, max: 1000 })?;
        Ok(ListKeysResponse { keys: page.items, next_marker: page.next_marker, truncated: page.truncated })
    }
}

operation! {
    /// EnableKey.
    EnableKey(EnableKeyRequest) -> Empty, via Change, action "EnableKey", state EnableDisable;
    audit |r| json!({"keyId": r.key_id});
    perform |_, entry, _| {
        entry.meta.state = AdminState::Enabled;
        Ok(Empty {})
    }
}

operation! {
    /// DisableKey.
    DisableKey(DisableKeyRequest) -> Empty, via Change, action "DisableKey", state EnableDisable;
    audit |r| json!({"keyId": r.key_id});
    perform |_, entry, _| {
        entry.meta.state = AdminState::Disabled;
        Ok(Empty {})
    }
}

/// The deletion window a request asks for.
fn pending_window(r: &ScheduleKeyDeletionRequest) -> u32 {
    r.pending_window_in_days
        .unwrap_or(DEFAULT_PENDING_WINDOW_DAYS)
}

operation! {
    /// ScheduleKeyDeletion: the key is destroyed when the window passes
    /// ([`crate::housekeeping`]).
    ScheduleKeyDeletion(ScheduleKeyDeletionRequest) -> ScheduleKeyDeletionResponse, via Change,
        action "ScheduleKeyDeletion", state NotPendingDeletion;
    audit |r| json!({"keyId": r.key_id, "pendingWindowInDays": pending_window(r)});
    context |r, keys| keys.insert_single(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        &pending_window(r).to_string(),
    );
    validate |_, r| {
        let days = pending_window(r);
        if PENDING_WINDOW_DAYS.contains(&days) {
            return Ok(());
        }
        Err(KmsError::validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between {} and {}",
            PENDING_WINDOW_DAYS.start(),
            PENDING_WINDOW_DAYS.end()
        )))
    };
    perform |op, entry, r| {
        let days = pending_window(r);
        entry.meta.pending_window_days = Some(days);
        // A multi-Region primary key with replicas waits for them: its window starts when the
        // last replica is deleted (`PendingReplicaDeletion`, no deletion date yet).
        let has_replicas = entry.meta.is_multi_region_primary()
            && entry
                .meta
                .multi_region
                .as_ref()
                .is_some_and(|m| !m.replica_regions.is_empty());
        if has_replicas {
            entry.meta.state = AdminState::PendingReplicaDeletion;
            entry.meta.deletion_date = None;
        } else {
            let deletion = epoch_seconds(op.kms.clock.now()) + u64::from(days) * DAY;
            entry.meta.state = AdminState::PendingDeletion;
            entry.meta.deletion_date = Some(deletion);
        }
        Ok(ScheduleKeyDeletionResponse {
            key_id: entry.meta.arn.clone(),
            deletion_date: entry.meta.deletion_date.map(from_epoch_seconds),
            key_state: entry.state(),
            pending_window_in_days: Some(days),
        })
    }
}

operation! {
    /// CancelKeyDeletion: the key comes back disabled.
    CancelKeyDeletion(CancelKeyDeletionRequest) -> CancelKeyDeletionResponse, via Change,
        action "CancelKeyDeletion", state PendingDeletionOnly;
    audit |r| json!({"keyId": r.key_id});
    perform |_, entry, _| {
        entry.meta.state = AdminState::Disabled;
        entry.meta.deletion_date = None;
        entry.meta.pending_window_days = None;
        Ok(CancelKeyDeletionResponse { key_id: entry.meta.arn.clone() })
    }
}

operation! {
    /// UpdateKeyDescription.
    UpdateKeyDescription(UpdateKeyDescriptionRequest) -> Empty, via Change,
        action "UpdateKeyDescription", state NotPendingDeletion;
    audit |r| json!({"keyId": r.key_id, "description": r.description});
    validate |_, r| {
        if r.description.len() > MAX_DESCRIPTION {
            return Err(KmsError::length("description", MAX_DESCRIPTION));
        }
        Ok(())
    };
    perform |_, entry, r| {
        entry.meta.description.clone_from(&r.description);
        Ok(Empty {})
    }
}

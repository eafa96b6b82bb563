//! Keys: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription.

use super::{audited_tags, bool_text, metadata};
use crate::caller::Caller;
use crate::clock::epoch_seconds;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{
    Allowed, Change, ChangesKey, KmsOperation, Named, NoKey, Read, ReadsKey, WithoutKey, action,
};
use crate::housekeeping::DAY;
use crate::key_state::StateClass;
use crate::operations::tags::check_tags;
use crate::paging::{PageSize, paginate};
use crate::record::{AdminState, KeyMetadataRecord};
use crate::service::{Kms, default_policy, key_kind, prepare_policy};
use keyward_api::{
    CancelKeyDeletionRequest, CancelKeyDeletionResponse, CreateKeyRequest, CreateKeyResponse,
    DescribeKeyRequest, DescribeKeyResponse, DisableKeyRequest, Empty, EnableKeyRequest, ErrorCode,
    KeyListEntry, ListKeysRequest, ListKeysResponse, ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse, UpdateKeyDescriptionRequest,
};
use keyward_authz::{Authorizer, PreparedPolicy, Verdict};
use keyward_conditions::RequestContext;
use keyward_crypto::{CryptoKey, KeySpec, KeyUsage, Origin};
use keyward_grants::store::{GrantStore, TokenKey};
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest description.
const MAX_DESCRIPTION: usize = 8192;

/// The deletion window: 7 to 30 days, 30 by default.
const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
const DEFAULT_PENDING_WINDOW_DAYS: u32 = 30;

pub(crate) struct CreateKey;

/// CreateKey's spec, usage and origin, read from the request with AWS's errors.
fn key_kind_of(request: &CreateKeyRequest) -> Result<(KeySpec, KeyUsage, Origin), KmsError> {
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

impl KmsOperation for CreateKey {
    type Request = CreateKeyRequest;
    type Response = CreateKeyResponse;
    type Pipeline = NoKey;
    const ACTION: ActionId = action!("CreateKey");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &CreateKeyRequest) -> Value {
        json!({
            "keySpec": r.key_spec.as_deref().or(r.customer_master_key_spec.as_deref()).unwrap_or("SYMMETRIC_DEFAULT"),
            "keyUsage": r.key_usage,
            "origin": r.origin.as_deref().unwrap_or("AWS_KMS"),
            "description": r.description,
            "bypassPolicyLockoutSafetyCheck": r.bypass_policy_lockout_safety_check,
            "tags": audited_tags(&r.tags),
        })
    }

    fn check(r: &CreateKeyRequest) -> Result<(), KmsError> {
        for (present, member, what) in [
            (
                r.custom_key_store_id.is_some(),
                "CustomKeyStoreId",
                "custom key stores",
            ),
            (r.xks_key_id.is_some(), "XksKeyId", "external key stores"),
            (
                r.multi_region == Some(true),
                "MultiRegion",
                "multi-Region keys",
            ),
        ] {
            if present {
                return Err(KmsError::unsupported(format!(
                    "{member}: {what} are not supported by Keyward."
                )));
            }
        }
        key_kind_of(r)?;
        if r.description
            .as_ref()
            .is_some_and(|d| d.len() > MAX_DESCRIPTION)
        {
            return Err(KmsError::length("description", MAX_DESCRIPTION));
        }
        check_tags(&r.tags)
    }

    /// The request-parameter keys, default-filled: `kms:KeySpec`, `kms:KeyUsage`,
    /// `kms:KeyOrigin`, `kms:MultiRegion`, `kms:BypassPolicyLockoutSafetyCheck` when given,
    /// and the request's tags (`aws:RequestTag/*`, `aws:TagKeys`).
    fn context(r: &CreateKeyRequest, context: &mut RequestContext) {
        if let Ok((spec, usage, origin)) = key_kind_of(r) {
            context.insert_single("kms:KeySpec", spec.as_str());
            context.insert_single("kms:KeyUsage", usage.as_str());
            context.insert_single("kms:KeyOrigin", origin.as_str());
        }
        context.insert_single("kms:MultiRegion", "false");
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
}

impl WithoutKey for CreateKey {
    fn perform(op: &mut Allowed<'_>, r: &CreateKeyRequest) -> Result<CreateKeyResponse, KmsError> {
        let (kms, caller) = (op.kms, op.caller);
        // Tags at creation also need kms:TagResource, from an IAM policy.
        if !r.tags.is_empty() {
            let mut context = kms.context(caller, None, &Named::default());
            Self::context(r, &mut context);
            kms.authorize_by_iam(op.call, caller, action!("TagResource"), context)?;
        }
        let (spec, usage, origin) = key_kind_of(r)?;
        // KMS creates the key in the caller's account.
        let account = caller.account();
        let id = uuid::Uuid::new_v4().to_string();
        let arn = kms.key_arn(account, &id);
        let policy_text = r
            .policy
            .clone()
            .unwrap_or_else(|| default_policy(kms.partition, account));
        let policy = Arc::new(prepare_policy(&policy_text)?);
        if r.policy.is_some() && r.bypass_policy_lockout_safety_check != Some(true) {
            lockout_check(kms, caller, &policy, &arn)?;
        }
        let crypto = match origin {
            Origin::External => CryptoKey::external(id.clone(), spec, usage)?,
            Origin::AwsKms => CryptoKey::generate(id.clone(), spec, usage)?,
        }
        .named(&arn);
        let now = epoch_seconds(kms.clock.now());
        let meta = KeyMetadataRecord {
            id: id.clone(),
            arn: arn.clone(),
            account: account.to_owned(),
            region: kms.config.region.clone(),
            created: now,
            description: r.description.clone().unwrap_or_default(),
            state: AdminState::Enabled,
            spec,
            usage,
            origin,
            deletion_date: None,
            pending_window_days: None,
            tags: r
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
        };
        let kind = key_kind(&meta).ok_or_else(|| {
            KmsError::Internal(format!(
                "key spec {} with usage {} passed the crypto core's checks but makes no grant rules",
                spec.as_str(),
                usage.as_str()
            ))
        })?;
        let grants =
            GrantStore::new(kind, &meta.account, TokenKey::new(kms.token_key)).with_key_arn(&arn);
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
        let change = kms.key_change(&entry)?;
        let mut state = kms.write()?;
        kms.persist(&[change])?;
        let key_metadata = metadata(&entry);
        state.keys.insert(id, entry);
        op.call.resources.push(arn);
        op.call.response =
            json!({"keyMetadata": {"keyId": key_metadata.key_id, "arn": key_metadata.arn}});
        Ok(CreateKeyResponse { key_metadata })
    }
}

/// The lockout safety check: PutKeyPolicy by `caller`, simulated under `policy` with the
/// caller's identity policies, must be allowed.
pub(crate) fn lockout_check(
    kms: &Kms,
    caller: &Caller,
    policy: &Arc<PreparedPolicy>,
    arn: &str,
) -> Result<(), KmsError> {
    let context = kms.context(caller, None, &Named::default());
    let request = kms.request(
        caller,
        action!("PutKeyPolicy"),
        arn.to_owned(),
        None,
        None,
        context,
    );
    let authorizer = Authorizer::from_parts(
        Some(Arc::clone(policy)),
        Arc::clone(caller.identity()),
        Arc::default(),
    );
    if authorizer.verdict(&request) == Verdict::Allow {
        Ok(())
    } else {
        Err(KmsError::refused(
            ErrorCode::MalformedPolicyDocument,
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }
}

pub(crate) struct DescribeKey;

impl KmsOperation for DescribeKey {
    type Request = DescribeKeyRequest;
    type Response = DescribeKeyResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("DescribeKey");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &DescribeKeyRequest) -> Value {
        json!({"keyId": r.key_id})
    }
}

impl ReadsKey for DescribeKey {
    fn key_id(r: &DescribeKeyRequest) -> &str {
        &r.key_id
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        _: &DescribeKeyRequest,
    ) -> Result<DescribeKeyResponse, KmsError> {
        Ok(DescribeKeyResponse {
            key_metadata: metadata(entry),
        })
    }
}

pub(crate) struct ListKeys;

impl KmsOperation for ListKeys {
    type Request = ListKeysRequest;
    type Response = ListKeysResponse;
    type Pipeline = NoKey;
    const ACTION: ActionId = action!("ListKeys");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &ListKeysRequest) -> Value {
        json!({"limit": r.limit, "marker": r.marker})
    }
}

impl WithoutKey for ListKeys {
    /// Every key of the caller's account, in key ID order.
    fn perform(op: &mut Allowed<'_>, r: &ListKeysRequest) -> Result<ListKeysResponse, KmsError> {
        let state = op.kms.read()?;
        let mut keys: Vec<KeyListEntry> = state
            .keys
            .values()
            .filter(|e| e.meta.account == op.caller.account())
            .map(|e| KeyListEntry {
                key_id: e.meta.id.clone(),
                key_arn: e.meta.arn.clone(),
            })
            .collect();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        let page = paginate(
            keys,
            r.limit,
            r.marker.as_deref(),
            PageSize {
                default: 100,
                max: 1000,
            },
        )?;
        Ok(ListKeysResponse {
            keys: page.items,
            next_marker: page.next_marker,
            truncated: page.truncated,
        })
    }
}

/// Declares an operation that sets a key's administrative state, with nothing to validate.
macro_rules! state_change {
    ($name:ident, $request:ty, $response:ty, $action:literal, $class:expr,
     |$entry:ident| $perform:expr) => {
        pub(crate) struct $name;

        impl KmsOperation for $name {
            type Request = $request;
            type Response = $response;
            type Pipeline = Change;
            const ACTION: ActionId = action!($action);
            const STATE: StateClass = $class;

            fn audit(r: &$request) -> Value {
                json!({"keyId": r.key_id})
            }

        }

        impl ChangesKey for $name {
            fn key_id(r: &$request) -> &str {
                &r.key_id
            }

            fn perform(
                _: &mut Allowed<'_>,
                $entry: &mut KeyEntry,
                _: &$request,
            ) -> Result<$response, KmsError> {
                Ok($perform)
            }
        }
    };
}

state_change!(
    EnableKey,
    EnableKeyRequest,
    Empty,
    "EnableKey",
    StateClass::EnableDisable,
    |entry| {
        entry.meta.state = AdminState::Enabled;
        Empty {}
    }
);

state_change!(
    DisableKey,
    DisableKeyRequest,
    Empty,
    "DisableKey",
    StateClass::EnableDisable,
    |entry| {
        entry.meta.state = AdminState::Disabled;
        Empty {}
    }
);

state_change!(
    CancelKeyDeletion,
    CancelKeyDeletionRequest,
    CancelKeyDeletionResponse,
    "CancelKeyDeletion",
    StateClass::PendingDeletionOnly,
    |entry| {
        // The key comes back disabled.
        entry.meta.state = AdminState::Disabled;
        entry.meta.deletion_date = None;
        entry.meta.pending_window_days = None;
        CancelKeyDeletionResponse {
            key_id: entry.meta.arn.clone(),
        }
    }
);

pub(crate) struct ScheduleKeyDeletion;

fn pending_window(r: &ScheduleKeyDeletionRequest) -> u32 {
    r.pending_window_in_days
        .unwrap_or(DEFAULT_PENDING_WINDOW_DAYS)
}

impl KmsOperation for ScheduleKeyDeletion {
    type Request = ScheduleKeyDeletionRequest;
    type Response = ScheduleKeyDeletionResponse;
    type Pipeline = Change;
    const ACTION: ActionId = action!("ScheduleKeyDeletion");
    const STATE: StateClass = StateClass::NotPendingDeletion;

    fn audit(r: &ScheduleKeyDeletionRequest) -> Value {
        json!({"keyId": r.key_id, "pendingWindowInDays": pending_window(r)})
    }

    fn context(r: &ScheduleKeyDeletionRequest, context: &mut RequestContext) {
        context.insert_single(
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            &pending_window(r).to_string(),
        );
    }
}

impl ChangesKey for ScheduleKeyDeletion {
    fn key_id(r: &ScheduleKeyDeletionRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &ScheduleKeyDeletionRequest) -> Result<(), KmsError> {
        let days = pending_window(r);
        if !PENDING_WINDOW_DAYS.contains(&days) {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between {} and {}",
                PENDING_WINDOW_DAYS.start(),
                PENDING_WINDOW_DAYS.end()
            )));
        }
        Ok(())
    }

    /// The key is destroyed when the window passes ([`crate::housekeeping`]).
    fn perform(
        op: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        r: &ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse, KmsError> {
        let days = pending_window(r);
        let now = epoch_seconds(op.kms.clock.now());
        entry.meta.state = AdminState::PendingDeletion;
        entry.meta.deletion_date = Some(now + u64::from(days) * DAY);
        entry.meta.pending_window_days = Some(days);
        Ok(ScheduleKeyDeletionResponse {
            key_id: entry.meta.arn.clone(),
            deletion_date: entry
                .meta
                .deletion_date
                .map(crate::clock::from_epoch_seconds),
            key_state: entry.state(),
            pending_window_in_days: Some(days),
        })
    }
}

pub(crate) struct UpdateKeyDescription;

impl KmsOperation for UpdateKeyDescription {
    type Request = UpdateKeyDescriptionRequest;
    type Response = Empty;
    type Pipeline = Change;
    const ACTION: ActionId = action!("UpdateKeyDescription");
    const STATE: StateClass = StateClass::NotPendingDeletion;

    fn audit(r: &UpdateKeyDescriptionRequest) -> Value {
        json!({"keyId": r.key_id, "description": r.description})
    }
}

impl ChangesKey for UpdateKeyDescription {
    fn key_id(r: &UpdateKeyDescriptionRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &UpdateKeyDescriptionRequest) -> Result<(), KmsError> {
        if r.description.len() > MAX_DESCRIPTION {
            return Err(KmsError::length("description", MAX_DESCRIPTION));
        }
        Ok(())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        r: &UpdateKeyDescriptionRequest,
    ) -> Result<Empty, KmsError> {
        entry.meta.description.clone_from(&r.description);
        Ok(Empty {})
    }
}

//! Key policies: GetKeyPolicy, PutKeyPolicy (with the lockout safety check), ListKeyPolicies.

use super::bool_text;
use super::keys::lockout_check;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::gate::{Allowed, Change, ChangesKey, KmsOperation, Read, ReadsKey, action};
use crate::key_state::StateClass;
use crate::paging::{PageSize, paginate};
use crate::service::prepare_policy;
use keyward_api::{
    Empty, GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesRequest,
    ListKeyPoliciesResponse, PutKeyPolicyRequest,
};
use keyward_conditions::RequestContext;
use keyward_policy::catalog::ActionId;
use serde_json::{Value, json};
use std::sync::Arc;

/// The only policy name a key has.
const DEFAULT_POLICY_NAME: &str = "default";

fn check_policy_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other}. The only valid value is default."
        ))),
    }
}

pub(crate) struct GetKeyPolicy;

impl KmsOperation for GetKeyPolicy {
    type Request = GetKeyPolicyRequest;
    type Response = GetKeyPolicyResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("GetKeyPolicy");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &GetKeyPolicyRequest) -> Value {
        json!({"keyId": r.key_id, "policyName": r.policy_name.as_deref().unwrap_or(DEFAULT_POLICY_NAME)})
    }
}

impl ReadsKey for GetKeyPolicy {
    fn key_id(r: &GetKeyPolicyRequest) -> &str {
        &r.key_id
    }

    fn validate(_: &KeyEntry, r: &GetKeyPolicyRequest) -> Result<(), KmsError> {
        check_policy_name(r.policy_name.as_deref())
    }

    fn perform(
        _: &mut Allowed<'_>,
        entry: &KeyEntry,
        _: &GetKeyPolicyRequest,
    ) -> Result<GetKeyPolicyResponse, KmsError> {
        Ok(GetKeyPolicyResponse {
            policy: entry.meta.policy.clone(),
            policy_name: DEFAULT_POLICY_NAME.to_owned(),
        })
    }
}

pub(crate) struct ListKeyPolicies;

impl KmsOperation for ListKeyPolicies {
    type Request = ListKeyPoliciesRequest;
    type Response = ListKeyPoliciesResponse;
    type Pipeline = Read;
    const ACTION: ActionId = action!("ListKeyPolicies");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &ListKeyPoliciesRequest) -> Value {
        json!({"keyId": r.key_id})
    }
}

impl ReadsKey for ListKeyPolicies {
    fn key_id(r: &ListKeyPoliciesRequest) -> &str {
        &r.key_id
    }

    /// Always `["default"]`.
    fn perform(
        _: &mut Allowed<'_>,
        _: &KeyEntry,
        r: &ListKeyPoliciesRequest,
    ) -> Result<ListKeyPoliciesResponse, KmsError> {
        let page = paginate(
            vec![DEFAULT_POLICY_NAME.to_owned()],
            r.limit,
            r.marker.as_deref(),
            PageSize {
                default: 100,
                max: 1000,
            },
        )?;
        Ok(ListKeyPoliciesResponse {
            policy_names: page.items,
            next_marker: page.next_marker,
            truncated: page.truncated,
        })
    }
}

pub(crate) struct PutKeyPolicy;

impl KmsOperation for PutKeyPolicy {
    type Request = PutKeyPolicyRequest;
    type Response = Empty;
    type Pipeline = Change;
    const ACTION: ActionId = action!("PutKeyPolicy");
    const STATE: StateClass = StateClass::Any;

    fn audit(r: &PutKeyPolicyRequest) -> Value {
        json!({
            "keyId": r.key_id,
            "policyName": r.policy_name.as_deref().unwrap_or(DEFAULT_POLICY_NAME),
            "bypassPolicyLockoutSafetyCheck": r.bypass_policy_lockout_safety_check,
        })
    }

    fn context(r: &PutKeyPolicyRequest, context: &mut RequestContext) {
        if let Some(bypass) = r.bypass_policy_lockout_safety_check {
            context.insert_single("kms:BypassPolicyLockoutSafetyCheck", bool_text(bypass));
        }
    }
}

impl ChangesKey for PutKeyPolicy {
    fn key_id(r: &PutKeyPolicyRequest) -> &str {
        &r.key_id
    }

    /// The policy must be valid, and (unless bypassed) still let the caller change it.
    fn perform(
        op: &mut Allowed<'_>,
        entry: &mut KeyEntry,
        r: &PutKeyPolicyRequest,
    ) -> Result<Empty, KmsError> {
        check_policy_name(r.policy_name.as_deref())?;
        let policy = Arc::new(prepare_policy(&r.policy)?);
        if r.bypass_policy_lockout_safety_check != Some(true) {
            lockout_check(op.kms, op.caller, &policy, &entry.meta.arn)?;
        }
        entry.policy = policy;
        entry.meta.policy.clone_from(&r.policy);
        Ok(Empty {})
    }
}

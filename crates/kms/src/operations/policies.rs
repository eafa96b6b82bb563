//! Key policies: GetKeyPolicy, PutKeyPolicy (with the lockout safety check), ListKeyPolicies.

use super::bool_text;
use super::keys::lockout_check;
use crate::error::KmsError;
use crate::gate::operation;
use crate::paging::{PageSize, paginate};
use crate::service::compile_key_policy;
use keyward_api::{
    Empty, GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesRequest,
    ListKeyPoliciesResponse, PutKeyPolicyRequest,
};
use serde_json::json;
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

operation! {
    /// GetKeyPolicy.
    GetKeyPolicy(GetKeyPolicyRequest) -> GetKeyPolicyResponse, via Read, action "GetKeyPolicy", state Any;
    audit |r| json!({"keyId": r.key_id, "policyName": r.policy_name.as_deref().unwrap_or(DEFAULT_POLICY_NAME)});
    validate |_, r| check_policy_name(r.policy_name.as_deref());
    perform |_, entry, _| Ok(GetKeyPolicyResponse {
        policy: entry.meta.policy.clone(),
        policy_name: DEFAULT_POLICY_NAME.to_owned(),
    })
}

operation! {
    /// ListKeyPolicies: always `["default"]`.
    ListKeyPolicies(ListKeyPoliciesRequest) -> ListKeyPoliciesResponse, via Read,
        action "ListKeyPolicies", state Any;
    audit |r| json!({"keyId": r.key_id});
    perform |_, _, r| {
        let names = vec![DEFAULT_POLICY_NAME.to_owned()];
        let page = paginate(names, r.limit, r.marker.as_deref(), PageSize { default: 100, max: 1000 })?;
        Ok(ListKeyPoliciesResponse { policy_names: page.items, next_marker: page.next_marker, truncated: page.truncated })
    }
}

operation! {
    /// PutKeyPolicy: the policy must be valid and, unless the check is bypassed, still let the
    /// caller change it.
    PutKeyPolicy(PutKeyPolicyRequest) -> Empty, via Change, action "PutKeyPolicy", state Any;
    audit |r| json!({
        "keyId": r.key_id,
        "policyName": r.policy_name.as_deref().unwrap_or(DEFAULT_POLICY_NAME),
        "bypassPolicyLockoutSafetyCheck": r.bypass_policy_lockout_safety_check,
    });
    context |r, keys| if let Some(bypass) = r.bypass_policy_lockout_safety_check {
        keys.insert_single("kms:BypassPolicyLockoutSafetyCheck", bool_text(bypass));
    };
    perform |op, entry, r| {
        check_policy_name(r.policy_name.as_deref())?;
        let policy = Arc::new(compile_key_policy(&r.policy)?);
        if r.bypass_policy_lockout_safety_check != Some(true) {
            lockout_check(op.kms, op.caller, &policy, &entry.meta.arn)?;
        }
        entry.policy = policy;
        entry.meta.policy.clone_from(&r.policy);
        Ok(Empty {})
    }
}

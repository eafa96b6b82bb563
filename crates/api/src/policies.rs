//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.

use crate::common::key_id_constructor;
use serde::{Deserialize, Serialize};

/// GetKeyPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// `default`, the only policy name; `default` when absent.
    pub policy_name: Option<String>,
}

/// GetKeyPolicy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyResponse {
    /// The key policy document.
    pub policy: String,
    /// `default`.
    pub policy_name: String,
}

/// PutKeyPolicy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// `default`, the only policy name; `default` when absent.
    pub policy_name: Option<String>,
    /// The new key policy document.
    pub policy: String,
    /// Skips the lockout safety check.
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

/// ListKeyPolicies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListKeyPolicies's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyPoliciesResponse {
    /// `["default"]`.
    pub policy_names: Vec<String>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more names follow.
    pub truncated: bool,
}

key_id_constructor!(GetKeyPolicyRequest, ListKeyPoliciesRequest);

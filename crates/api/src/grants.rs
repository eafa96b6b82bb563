//! Grants: CreateGrant, ListGrants, RevokeGrant, RetireGrant, ListRetirableGrants.

use crate::common::EncryptionContext;
use serde::{Deserialize, Serialize};

/// A grant's constraint on the encryption context (one of the two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    /// The request's context must contain these pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<EncryptionContext>,
    /// The request's context must be exactly these pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<EncryptionContext>,
}

/// CreateGrant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The principal the grant allows (an ARN).
    pub grantee_principal: String,
    /// The principal that may retire the grant (an ARN).
    pub retiring_principal: Option<String>,
    /// The grant operations.
    pub operations: Vec<String>,
    /// The constraint on the encryption context.
    pub constraints: Option<GrantConstraints>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// A name that makes retries idempotent.
    pub name: Option<String>,
    /// Not offered for CreateGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// CreateGrant's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantResponse {
    /// A token that makes the grant usable before it is everywhere.
    pub grant_token: String,
    /// The grant ID.
    pub grant_id: String,
}

/// ListGrants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsRequest {
    /// 1 to 100; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
    /// Key ID or key ARN.
    pub key_id: String,
    /// Only this grant.
    pub grant_id: Option<String>,
    /// Only the grants to this principal.
    pub grantee_principal: Option<String>,
}

/// One grant as ListGrants and ListRetirableGrants list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    /// The key ARN.
    pub key_id: String,
    /// The grant ID.
    pub grant_id: String,
    /// The grant's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The principal the grant allows.
    pub grantee_principal: String,
    /// The principal that may retire the grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The account that created the grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuing_account: Option<String>,
    /// The grant operations.
    pub operations: Vec<String>,
}

/// ListGrants's (and ListRetirableGrants's) answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsResponse {
    /// The grants.
    pub grants: Vec<GrantListEntry>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more grants follow.
    pub truncated: bool,
}

/// RevokeGrant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The grant.
    pub grant_id: String,
    /// Not offered for RevokeGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// RetireGrant: by grant token, or by key and grant ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantRequest {
    /// The grant's token.
    pub grant_token: Option<String>,
    /// Key ID or key ARN (with `GrantId`).
    pub key_id: Option<String>,
    /// The grant (with `KeyId`).
    pub grant_id: Option<String>,
    /// Not offered for RetireGrant (refused rather than acted on).
    #[serde(default)]
    pub dry_run: bool,
}

/// ListRetirableGrants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsRequest {
    /// 1 to 100; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
    /// The retiring principal (an ARN of the caller's account).
    pub retiring_principal: String,
}

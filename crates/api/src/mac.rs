//! HMAC: GenerateMac, VerifyMac.

use crate::wire::blob;
use serde::{Deserialize, Serialize};

/// GenerateMac.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacRequest {
    /// The message.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `HMAC_SHA_256`, ...
    pub mac_algorithm: String,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without computing.
    #[serde(default)]
    pub dry_run: bool,
}

/// GenerateMac's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacResponse {
    /// The MAC.
    #[serde(with = "blob")]
    pub mac: Vec<u8>,
    /// The algorithm used.
    pub mac_algorithm: String,
    /// The key ARN.
    pub key_id: String,
}

/// VerifyMac.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacRequest {
    /// The message.
    #[serde(with = "blob")]
    pub message: Vec<u8>,
    /// Key ID, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// `HMAC_SHA_256`, ...
    pub mac_algorithm: String,
    /// The MAC to check.
    #[serde(with = "blob")]
    pub mac: Vec<u8>,
    /// Grant tokens.
    #[serde(default)]
    pub grant_tokens: Vec<String>,
    /// Check the request and the caller's permission without verifying.
    #[serde(default)]
    pub dry_run: bool,
}

/// VerifyMac's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacResponse {
    /// The key ARN.
    pub key_id: String,
    /// Always true: a MAC that does not match is `KMSInvalidMacException`.
    pub mac_valid: bool,
    /// The algorithm used.
    pub mac_algorithm: String,
}

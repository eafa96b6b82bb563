//! An account's data as the aws CLI prints it, read as it is: `aws kms list-grants`,
//! `aws kms describe-key`, `aws kms list-aliases` and `aws kms list-resource-tags`. Members the
//! analysis does not use are ignored, so the output of newer CLI versions still reads; a
//! member it uses that has the wrong type is an error with its line and column.

use crate::space::KeyFacts;
use keyward_api::{
    GrantListEntry, ListAliasesResponse, ListGrantsResponse, ListResourceTagsResponse,
};
use keyward_grants::{Grant, GrantConstraint};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Why a saved output does not read: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ReadError {
    /// 1-based line (0 when the error is not at a place in the text).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ReadError {
    fn whole(message: String) -> Self {
        Self {
            line: 0,
            column: 0,
            message,
        }
    }
}

pub(crate) fn read<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, ReadError> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // serde_json ends its message with the place, which the error gives apart.
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_owned();
        ReadError {
            line: e.line(),
            column: e.column(),
            message: format!("not {what}: {message}"),
        }
    })
}

/// The grants of `aws kms list-grants --key-id K` (`{"Grants": [...]}`), or a JSON array of
/// its entries.
pub fn read_grants(text: &str) -> Result<Vec<Grant>, ReadError> {
    const WHAT: &str = "the output of `aws kms list-grants`";
    let entries: Vec<GrantListEntry> = if text.trim_start().starts_with('[') {
        read(text, WHAT)?
    } else {
        read::<ListGrantsResponse>(text, WHAT)?.grants
    };
    entries.into_iter().map(grant).collect()
}

/// A listed grant as the engine reads grants.
pub(crate) fn grant(entry: GrantListEntry) -> Result<Grant, ReadError> {
    let operations = keyward_grants::parse_operations(entry.operations.iter().map(String::as_str))
        .map_err(|e| ReadError::whole(format!("grant {}: {e}", entry.grant_id)))?;
    let pairs = |m: BTreeMap<String, String>| m.into_iter().collect::<Vec<_>>();
    let (equals, subset) = entry.constraints.map_or((None, None), |c| {
        (
            c.encryption_context_equals.map(pairs),
            c.encryption_context_subset.map(pairs),
        )
    });
    let constraint = GrantConstraint::from_members(equals, subset)
        .map_err(|e| ReadError::whole(format!("grant {}: {e}", entry.grant_id)))?;
    Ok(Grant {
        id: entry.grant_id,
        name: entry.name.filter(|n| !n.is_empty()),
        grantee: entry.grantee_principal,
        retiring_principal: entry.retiring_principal,
        issuing_account: entry.issuing_account,
        key: Some(entry.key_id),
        created_at: entry.creation_date.and_then(|t| {
            t.duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs())
        }),
        operations,
        constraint,
    })
}

/// What the analysis reads of `aws kms describe-key`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedKey {
    key_metadata: DescribedMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedMetadata {
    arn: String,
    key_spec: Option<String>,
    customer_master_key_spec: Option<String>,
    key_usage: Option<String>,
    origin: Option<String>,
    #[serde(default)]
    multi_region: bool,
}

/// The key `aws kms describe-key` prints, with the aliases of `aws kms list-aliases --key-id`
/// and the tags of `aws kms list-resource-tags` when given. An alias listed for another key
/// is left out.
pub fn read_key(
    describe_key: &str,
    aliases: Option<&str>,
    tags: Option<&str>,
) -> Result<KeyFacts, KeyReadError> {
    let described: DescribedKey = read(describe_key, "the output of `aws kms describe-key`")
        .map_err(KeyReadError::DescribeKey)?;
    let metadata = described.key_metadata;
    let mut key = KeyFacts::symmetric(&metadata.arn);
    if let Some(spec) = metadata.key_spec.or(metadata.customer_master_key_spec) {
        key.spec = spec;
    }
    if let Some(usage) = metadata.key_usage {
        key.usage = usage;
    }
    if let Some(origin) = metadata.origin {
        key.origin = origin;
    }
    key.multi_region = metadata.multi_region;
    if let Some(text) = aliases {
        key.aliases = read_aliases(text, &metadata.arn).map_err(KeyReadError::Aliases)?;
    }
    if let Some(text) = tags {
        key.tags = read_tags(text).map_err(KeyReadError::Tags)?;
    }
    Ok(key)
}

/// Which saved output of a key did not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyReadError {
    /// `aws kms describe-key`.
    #[error("{0}")]
    DescribeKey(ReadError),
    /// `aws kms list-aliases`.
    #[error("{0}")]
    Aliases(ReadError),
    /// `aws kms list-resource-tags`.
    #[error("{0}")]
    Tags(ReadError),
}

/// The alias names of `aws kms list-aliases` that point at the key `key_arn`.
pub fn read_aliases(text: &str, key_arn: &str) -> Result<Vec<String>, ReadError> {
    let listed: ListAliasesResponse = read(text, "the output of `aws kms list-aliases`")?;
    let key_id = key_arn.rsplit_once("key/").map_or(key_arn, |(_, id)| id);
    let mut names: Vec<String> = listed
        .aliases
        .into_iter()
        .filter(|a| {
            a.target_key_id
                .as_deref()
                .is_some_and(|t| t == key_id || t == key_arn)
        })
        .map(|a| a.alias_name)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The tags of `aws kms list-resource-tags`.
pub fn read_tags(text: &str) -> Result<BTreeMap<String, String>, ReadError> {
    let listed: ListResourceTagsResponse =
        read(text, "the output of `aws kms list-resource-tags`")?;
    Ok(listed
        .tags
        .into_iter()
        .map(|t| (t.tag_key, t.tag_value))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn a_saved_describe_key_with_aliases_and_tags_reads_as_the_key() {
        let described = format!(
            r#"{{"KeyMetadata": {{"AWSAccountId": "111122223333", "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
              "Arn": "{KEY}", "CreationDate": "2024-01-02T03:04:05.678000+00:00", "Enabled": true,
              "KeyUsage": "SIGN_VERIFY", "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
              "CustomerMasterKeySpec": "ECC_NIST_P256", "KeySpec": "ECC_NIST_P256",
              "SigningAlgorithms": ["ECDSA_SHA_256"], "MultiRegion": false, "SomethingNew": {{"x": 1}}}}}}"#
        );
        let aliases = r#"{"Aliases": [
            {"AliasName": "alias/signer", "AliasArn": "arn:aws:kms:us-east-1:111122223333:alias/signer",
             "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "CreationDate": "2024-01-02T03:04:05+00:00"},
            {"AliasName": "alias/other", "AliasArn": "arn:aws:kms:us-east-1:111122223333:alias/other",
             "TargetKeyId": "0987dcba-09fe-87dc-65ba-ab0987654321"}]}"#;
        let tags = r#"{"Tags": [{"TagKey": "team", "TagValue": "payments"}], "Truncated": false}"#;
        let key = read_key(&described, Some(aliases), Some(tags)).unwrap();
        assert_eq!(key.arn, KEY);
        assert_eq!(key.spec, "ECC_NIST_P256");
        assert_eq!(key.usage, "SIGN_VERIFY");
        assert_eq!(key.aliases, ["alias/signer"]);
        assert_eq!(key.tags.get("team").map(String::as_str), Some("payments"));
    }

    #[test]
    fn a_describe_key_without_its_arn_is_an_error_with_its_place() {
        let error =
            read_key("{\n  \"KeyMetadata\": {\"KeyId\": \"x\"}\n}", None, None).unwrap_err();
        let KeyReadError::DescribeKey(error) = error else {
            panic!("{error:?}");
        };
        assert_eq!(error.line, 2, "{error}");
        assert!(error.message.contains("Arn"), "{error}");
    }

    #[test]
    fn saved_list_grants_output_reads_with_constraints_and_an_empty_name_is_none() {
        let listed = format!(
            r#"{{"Grants": [{{"KeyId": "{KEY}", "GrantId": "abc", "Name": "", "CreationDate": "2024-05-13T16:32:38-07:00",
              "GranteePrincipal": "arn:aws:iam::111122223333:role/app", "IssuingAccount": "arn:aws:iam::111122223333:root",
              "Operations": ["Decrypt", "GenerateDataKey"],
              "Constraints": {{"EncryptionContextEquals": {{"tenant": "acme"}}}}}}]}}"#
        );
        let grants = read_grants(&listed).unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].name, None);
        assert_eq!(
            grants[0].constraint,
            Some(GrantConstraint::EncryptionContextEquals(vec![(
                "tenant".into(),
                "acme".into()
            )]))
        );
        assert_eq!(grants[0].operations.iter().count(), 2);
        let bad = listed.replace("\"Decrypt\"", "\"Fly\"");
        let error = read_grants(&bad).unwrap_err();
        assert!(error.message.contains("Fly"), "{error}");
    }
}

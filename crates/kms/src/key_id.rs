//! How a request names a key (`KeyId`): a key ID, a key ARN, an alias name or an alias ARN;
//! which of those each operation accepts; and the errors AWS gives for the rest.
//!
//! The table is the KMS API Reference's, operation by operation: the cryptographic operations,
//! DescribeKey and GetPublicKey take "key ID, key ARN, alias name, or alias ARN"; every other
//! key-scoped operation takes "the key ID or key ARN" only (the Developer Guide, "Using aliases
//! in your applications", lists the same set). A key ID is a UUID in its hyphenated form or a
//! multi-Region `mrk-` ID; `key/<id>` without `arn:` is no key ID.

use crate::error::KmsError;
use keyward_api::ErrorCode;
use keyward_policy::catalog::ActionId;

/// The operations whose `KeyId` may also be an alias name or alias ARN (by action name; both
/// ReEncrypt sides).
const ALIAS_ACCEPTED: &[&str] = &[
    "Decrypt",
    "DescribeKey",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "GetPublicKey",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Whether `action`'s `KeyId` may name an alias.
pub(crate) fn accepts_alias(action: ActionId) -> bool {
    ALIAS_ACCEPTED.contains(&action.info().name)
}

/// A `KeyId`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRef<'a> {
    /// A key, by ID or ARN.
    Key {
        /// From the ARN; `None` for a bare ID (the caller's own account and Region).
        arn: Option<ArnParts<'a>>,
        id: &'a str,
    },
    /// An alias, by name or ARN.
    Alias {
        arn: Option<ArnParts<'a>>,
        /// `alias/...`.
        name: &'a str,
    },
}

/// The parts of a KMS ARN that place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArnParts<'a> {
    pub(crate) partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
}

/// Whether `id` is a key ID: a UUID written `8-4-4-4-12` in hex, or `mrk-` and 32 hex digits.
pub(crate) fn is_key_id(id: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(rest) = id.strip_prefix("mrk-") {
        return rest.len() == 32 && hex(rest);
    }
    let mut groups = id.split('-');
    [8, 4, 4, 4, 12]
        .iter()
        .all(|&n| groups.next().is_some_and(|g| g.len() == n && hex(g)))
        && groups.next().is_none()
}

/// `NotFoundException: Invalid keyId '<id>'`, as AWS words it for a malformed ID.
pub(crate) fn invalid_key_id(key_id: &str) -> KmsError {
    KmsError::not_found(format!("Invalid keyId '{key_id}'"))
}

/// Reads `key_id` for `action`. Shapes AWS refuses are refused here: a malformed key ID, an
/// ARN that is not a KMS key or alias ARN, and an alias where the operation takes only a key.
pub(crate) fn parse(key_id: &str, action: ActionId) -> Result<KeyRef<'_>, KmsError> {
    if key_id.is_empty() || key_id.len() > 2048 {
        return Err(KmsError::validation(
            "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length between 1 and 2048",
        ));
    }
    let (arn, rest) = match key_id.strip_prefix("arn:") {
        Some(text) => {
            let mut parts = text.splitn(5, ':');
            match (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) {
                (Some(partition), Some("kms"), Some(region), Some(account), Some(resource))
                    if resource.starts_with("key/") || resource.starts_with("alias/") =>
                {
                    (
                        Some(ArnParts {
                            partition,
                            region,
                            account,
                        }),
                        resource,
                    )
                }
                _ => {
                    return Err(KmsError::refused(
                        ErrorCode::InvalidArn,
                        format!("Invalid arn {key_id}"),
                    ));
                }
            }
        }
        None => (None, key_id),
    };
    if rest.starts_with("alias/") {
        if !accepts_alias(action) {
            return Err(invalid_key_id(key_id));
        }
        return Ok(KeyRef::Alias { arn, name: rest });
    }
    let id = match (arn, rest.strip_prefix("key/")) {
        (Some(_), Some(id)) => id,
        // `key/<id>` is a key ARN's resource, not a key ID.
        (None, Some(_)) => return Err(invalid_key_id(key_id)),
        (_, None) => rest,
    };
    if !is_key_id(id) {
        return Err(invalid_key_id(key_id));
    }
    Ok(KeyRef::Key { arn, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_policy::catalog::kms_action;

    fn action(name: &str) -> ActionId {
        kms_action(name).unwrap_or_else(|| panic!("{name}"))
    }

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn key_ids_are_hyphenated_uuids_or_multi_region_ids() {
        assert!(is_key_id(ID));
        assert!(is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        for not in [
            "1234abcd12ab34cd56ef1234567890ab",
            "mrk-1234",
            "fake-key-id",
            "key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "1234abcd-12ab-34cd-56ef-1234567890ag",
            "1234abcd-12ab-34cd-56ef-1234567890ab-00",
            "1234abcd-12ab-34cd-56ef-1234567890ab-",
            "1234abcd-12ab-34cd-56ef",
            "1234abcd-12ab-34cd-56ef1234567890ab",
            "",
        ] {
            assert!(!is_key_id(not), "{not}");
        }
    }

    /// LocalStack's AWS recordings: "Invalid keyId '<id>'" for a UUID without hyphens.
    #[test]
    fn a_uuid_without_hyphens_is_an_invalid_key_id() {
        let e = parse(
            "134f2428cec14b25a1ae9048164dba47",
            action("kms:DescribeKey"),
        )
        .unwrap_err();
        assert_eq!(e.code().as_str(), "NotFoundException");
        assert_eq!(
            e.message().as_deref(),
            Some("Invalid keyId '134f2428cec14b25a1ae9048164dba47'")
        );
    }

    #[test]
    fn key_slash_id_without_arn_is_refused() {
        let e = parse(&format!("key/{ID}"), action("kms:Encrypt")).unwrap_err();
        assert_eq!(e.message(), Some(format!("Invalid keyId 'key/{ID}'")));
    }

    /// The API Reference: only the cryptographic operations, DescribeKey and GetPublicKey take
    /// an alias; the others take a key ID or key ARN.
    #[test]
    fn aliases_are_accepted_only_where_the_api_reference_accepts_them() {
        for name in [
            "kms:Encrypt",
            "kms:DescribeKey",
            "kms:GenerateMac",
            "kms:GetPublicKey",
        ] {
            assert!(matches!(
                parse("alias/app", action(name)),
                Ok(KeyRef::Alias { .. })
            ));
        }
        for name in [
            "kms:EnableKeyRotation",
            "kms:GetKeyPolicy",
            "kms:TagResource",
            "kms:ListResourceTags",
            "kms:ListGrants",
            "kms:CreateGrant",
            "kms:EnableKey",
            "kms:DisableKey",
            "kms:UpdateKeyDescription",
            "kms:GetKeyRotationStatus",
            "kms:ListKeyRotations",
            "kms:RotateKeyOnDemand",
            "kms:ScheduleKeyDeletion",
        ] {
            let e = parse("alias/app", action(name)).unwrap_err();
            assert_eq!(e.code().as_str(), "NotFoundException", "{name}");
            assert_eq!(e.message().as_deref(), Some("Invalid keyId 'alias/app'"));
            let arn = "arn:aws:kms:us-east-1:111122223333:alias/app";
            assert_eq!(
                parse(arn, action(name)).unwrap_err().message(),
                Some(format!("Invalid keyId '{arn}'"))
            );
        }
    }

    #[test]
    fn arns_are_split_into_partition_region_and_account() {
        let arn = format!("arn:aws-cn:kms:cn-north-1:111122223333:key/{ID}");
        assert_eq!(
            parse(&arn, action("kms:Encrypt")).unwrap(),
            KeyRef::Key {
                arn: Some(ArnParts {
                    partition: "aws-cn",
                    region: "cn-north-1",
                    account: "111122223333"
                }),
                id: ID
            }
        );
        for bad in [
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-east-1:111122223333:thing/x",
            "arn:aws:kms",
        ] {
            assert_eq!(
                parse(bad, action("kms:Encrypt")).unwrap_err().code(),
                ErrorCode::InvalidArn,
                "{bad}"
            );
        }
    }
}

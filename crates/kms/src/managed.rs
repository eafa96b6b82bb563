//! AWS managed keys (`alias/aws/<service>`): created the first time a caller uses the alias
//! through its service (the caller's `kms:ViaService` is that service in this Region), with
//! AWS's managed-key policy: principals of the account may use the key through the service
//! only, and the account may read its metadata. `KeyManager` is `AWS`; the key rotates every
//! year and always; its policy, state, rotation, tags, description and aliases cannot be
//! changed and it cannot be deleted. The policy already refuses those calls (it grants the
//! account only `kms:Describe*`, `kms:Get*` and `kms:List*`); [`refuse_change`] refuses them
//! again after authorization, so that report mode, which lets denials through, still cannot.

use crate::caller::Caller;
use crate::clock::epoch_seconds;
use crate::entry::KeyEntry;
use crate::error::KmsError;
use crate::housekeeping::DAY;
use crate::operations::keys::new_entry;
use crate::service::{Kms, compile_key_policy};
use crate::store::Change;
use keyward_api::CreateKeyRequest;
use keyward_crypto::{CryptoKey, KeySpec, KeyUsage};
use keyward_policy::catalog::ActionId;
use std::sync::Arc;

/// An AWS managed key's service: its alias, the first label of its `kms:ViaService` endpoint,
/// and its key's description and policy as AWS makes them (the policies of S3, EBS, RDS, SSM,
/// Lambda, Secrets Manager and DynamoDB follow real AWS managed keys' `get-key-policy`
/// output; the others follow the same pattern).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ManagedService {
    pub(crate) alias: &'static str,
    pub(crate) endpoint: &'static str,
    pub(crate) description: &'static str,
    /// The policy's `Id`.
    id: &'static str,
    /// The service's name in the first statement's `Sid`.
    sid_name: &'static str,
    /// What principals of the account may do through the service.
    actions: &'static [&'static str],
    /// Whether the account may also revoke grants (services that make them).
    revoke: bool,
    shape: Shape,
}

/// Where a managed policy departs from the common two statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The service statement and the account's metadata statement.
    Common,
    /// `kms:ViaService` matched with `StringLike` (`dynamodb.*.amazonaws.com`), and the
    /// service itself may describe the key.
    DynamoDb,
    /// `GenerateDataKey*` in a statement of its own, through any Region's endpoint.
    SecretsManager,
}

const USE: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];
const USE_AND_GRANT: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
    "kms:DescribeKey",
];

const fn service(
    alias: &'static str,
    endpoint: &'static str,
    description: &'static str,
    id: &'static str,
    sid_name: &'static str,
    actions: &'static [&'static str],
    revoke: bool,
) -> ManagedService {
    ManagedService {
        alias,
        endpoint,
        description,
        id,
        sid_name,
        actions,
        revoke,
        shape: Shape::Common,
    }
}

/// The AWS managed keys Keyward makes, one per service that has a predefined alias.
pub(crate) const MANAGED_SERVICES: &[ManagedService] = &[
    service(
        "alias/aws/acm",
        "acm",
        "Default key that protects my ACM private keys when no other key is defined",
        "auto-acm-4",
        "ACM",
        USE_AND_GRANT,
        true,
    ),
    ManagedService {
        shape: Shape::DynamoDb,
        ..service(
            "alias/aws/dynamodb",
            "dynamodb",
            "Default key that protects my DynamoDB data when no other key is defined",
            "auto-dynamodb-3",
            "Amazon DynamoDB",
            USE_AND_GRANT,
            true,
        )
    },
    service(
        "alias/aws/ebs",
        "ec2",
        "Default key that protects my EBS volumes when no other key is defined",
        "auto-ebs-2",
        "EBS",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/elasticfilesystem",
        "elasticfilesystem",
        "Default key that protects my EFS filesystems when no other key is defined",
        "auto-elasticfilesystem-1",
        "EFS",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/es",
        "es",
        "Default key that protects my Elasticsearch data when no other key is defined",
        "auto-es-2",
        "Elasticsearch",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/glue",
        "glue",
        "Default key that protects my Glue data when no other key is defined",
        "auto-glue-1",
        "Glue",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/kinesisvideo",
        "kinesisvideo",
        "Default key that protects my Kinesis Video Streams data when no other key is defined",
        "auto-kinesisvideo-1",
        "Kinesis Video Streams",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/lambda",
        "lambda",
        "Default key that protects my Lambda functions when no other key is defined",
        "auto-awslambda",
        "AWS Lambda",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/rds",
        "rds",
        "Default key that protects my RDS database volumes when no other key is defined",
        "auto-rds-2",
        "RDS",
        &[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
            "kms:ListGrants",
            "kms:DescribeKey",
        ],
        true,
    ),
    service(
        "alias/aws/redshift",
        "redshift",
        "Default key that protects my Redshift data when no other key is defined",
        "auto-redshift-1",
        "Redshift",
        USE_AND_GRANT,
        true,
    ),
    service(
        "alias/aws/s3",
        "s3",
        "Default key that protects my S3 objects when no other key is defined",
        "auto-s3-2",
        "S3",
        USE,
        false,
    ),
    ManagedService {
        shape: Shape::SecretsManager,
        ..service(
            "alias/aws/secretsmanager",
            "secretsmanager",
            "Default key that protects my Secrets Manager data when no other key is defined",
            "auto-secretsmanager-2",
            "AWS Secrets Manager",
            &[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:CreateGrant",
                "kms:DescribeKey",
            ],
            true,
        )
    },
    service(
        "alias/aws/ssm",
        "ssm",
        "Default key that protects my SSM parameters when no other key is defined",
        "auto-ssm-1",
        "SSM",
        USE,
        false,
    ),
    service(
        "alias/aws/xray",
        "xray",
        "Default key that protects my X-Ray data when no other key is defined",
        "auto-xray-1",
        "X-Ray",
        USE_AND_GRANT,
        true,
    ),
];

/// The managed-key policy of `service` for `account` in `region`.
pub(crate) fn managed_policy(
    service: &ManagedService,
    partition: &str,
    account: &str,
    region: &str,
) -> String {
    let list = |actions: &[&str]| {
        actions
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let sid = format!(
        "Allow access through {name} for all principals in the account that are authorized to use {name}",
        name = service.sid_name
    );
    let endpoint = service.endpoint;
    let condition = match service.shape {
        Shape::DynamoDb => format!(
            r#"{{"StringEquals":{{"kms:CallerAccount":"{account}"}},"StringLike":{{"kms:ViaService":"{endpoint}.*.amazonaws.com"}}}}"#
        ),
        _ => format!(
            r#"{{"StringEquals":{{"kms:CallerAccount":"{account}","kms:ViaService":"{endpoint}.{region}.amazonaws.com"}}}}"#
        ),
    };
    let mut statements = vec![format!(
        r#"{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":[{actions}],"Resource":"*","Condition":{condition}}}"#,
        actions = list(service.actions),
    )];
    if service.shape == Shape::SecretsManager {
        statements.push(format!(
            r#"{{"Sid":"{sid}","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:GenerateDataKey*","Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{account}"}},"StringLike":{{"kms:ViaService":"{endpoint}.*.amazonaws.com"}}}}}}"#
        ));
    }
    let mut metadata = vec!["kms:Describe*", "kms:Get*", "kms:List*"];
    if service.revoke {
        metadata.push("kms:RevokeGrant");
    }
    statements.push(format!(
        r#"{{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account}:root"}},"Action":[{actions}],"Resource":"*"}}"#,
        actions = list(&metadata),
    ));
    if service.shape == Shape::DynamoDb {
        statements.push(
            r#"{"Sid":"Allow DynamoDB to directly describe the key","Effect":"Allow","Principal":{"Service":"dynamodb.amazonaws.com"},"Action":["kms:Describe*","kms:Get*","kms:List*"],"Resource":"*"}"#
                .to_owned(),
        );
    }
    format!(
        r#"{{"Version":"2012-10-17","Id":"{id}","Statement":[{statements}]}}"#,
        id = service.id,
        statements = statements.join(",")
    )
}

/// Whether `caller` comes through `service` in `region` (its `kms:ViaService`).
fn comes_through(service: &ManagedService, caller: &Caller, region: &str) -> bool {
    caller.via_service_name() == Some(&format!("{}.{region}.amazonaws.com", service.endpoint))
}

/// The actions that change a key's properties: refused on an AWS managed key.
const CUSTOMER_ONLY: &[&str] = &[
    "PutKeyPolicy",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "EnableKey",
    "DisableKey",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "RotateKeyOnDemand",
    "TagResource",
    "UntagResource",
    "UpdateKeyDescription",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ReplicateKey",
    "UpdatePrimaryRegion",
    "ImportKeyMaterial",
    "DeleteImportedKeyMaterial",
];

/// Refuses an `action` that changes an AWS managed key.
pub(crate) fn refuse_change(entry: &KeyEntry, action: ActionId) -> Result<(), KmsError> {
    let name = action.qualified_name().trim_start_matches("kms:");
    if entry.meta.aws_managed && CUSTOMER_ONLY.contains(&name) {
        return Err(KmsError::unsupported(format!(
            "{} is an AWS managed key: only AWS can change it, and {action} is not permitted on it.",
            entry.meta.arn
        )));
    }
    Ok(())
}

impl Kms {
    /// Creates the AWS managed key `key_id` names (`alias/aws/<service>`, or its alias ARN
    /// in the caller's account and this Region) when the caller comes through that service, or
    /// describes the key (`describing`), and the key does not exist yet. Anything else is left
    /// to the call, which resolves the name as any other.
    pub(crate) fn ensure_managed_key(
        &self,
        caller: &Caller,
        key_id: Option<&str>,
        describing: bool,
    ) {
        let Some(key_id) = key_id.filter(|k| k.contains("alias/aws/")) else {
            return;
        };
        let name = match key_id.rsplit_once(":alias/") {
            Some((prefix, rest)) => {
                let expected = format!(
                    "arn:{}:kms:{}:{}",
                    self.partition,
                    self.config.region,
                    caller.account()
                );
                if prefix != expected {
                    return;
                }
                format!("alias/{rest}")
            }
            None => key_id.to_owned(),
        };
        let Some(service) = MANAGED_SERVICES.iter().find(|s| s.alias == name) else {
            return;
        };
        // Made by the service's first use of it, or by DescribeKey naming the alias ("associates
        // the alias with an AWS managed key and returns its KeyId", the API reference says).
        if !describing && !comes_through(service, caller, &self.config.region) {
            return;
        }
        let account = caller.account();
        if self
            .read()
            .is_ok_and(|state| state.aliases.contains(account, service.alias))
        {
            return;
        }
        let _ = self.create_managed_key(service, account);
    }

    fn create_managed_key(&self, service: &ManagedService, account: &str) -> Result<(), KmsError> {
        // Made already through another instance sharing the store?
        self.load_missing_alias(account, service.alias)?;
        let mut state = self.write()?;
        if state.aliases.contains(account, service.alias) {
            return Ok(());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let crypto = CryptoKey::generate(
            id.clone(),
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
        )?;
        let policy_text = managed_policy(service, self.partition, account, &self.config.region);
        let policy = Arc::new(compile_key_policy(&policy_text)?);
        let request = CreateKeyRequest {
            description: Some(service.description.to_owned()),
            ..CreateKeyRequest::default()
        };
        let mut entry = new_entry(self, account, &request, crypto, policy_text, policy)?;
        let now = epoch_seconds(self.clock.now());
        entry.meta.aws_managed = true;
        entry.meta.rotation_enabled = true;
        entry.meta.rotation_period_days = 365;
        entry.meta.next_rotation = Some(now + 365 * DAY);
        // The key and its alias in one write, which another instance making the same managed
        // key first refuses whole (the alias exists then): no key is left without its alias.
        let alias = self.alias_record(account, service.alias, &id, now, now);
        let mut changes = self.key_guards([Some(&entry)]);
        changes.extend(self.key_rows(&entry)?);
        changes.extend([
            Change::AliasGuard {
                account: account.to_owned(),
                name: service.alias.to_owned(),
                key_id: None,
            },
            Change::PutAlias(alias.clone()),
        ]);
        self.persist(&changes)?;
        if self.store().shared() {
            entry.version = Some(1);
        }
        if let Some(at) = entry.next_event() {
            self.next_event
                .fetch_min(at, std::sync::atomic::Ordering::Relaxed);
        }
        entry.aliases.push(service.alias.to_owned());
        entry.refresh_context();
        state.insert(entry);
        state.aliases.insert(alias);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use keyward_policy::PolicyKind;

    #[test]
    fn every_managed_policy_is_a_valid_key_policy_naming_its_service() {
        for service in MANAGED_SERVICES {
            let text = managed_policy(service, "aws", "111122223333", "eu-west-1");
            keyward_policy::parse_and_validate(&text, PolicyKind::KeyPolicy).unwrap();
            assert!(
                text.contains(&format!("\"{}.eu-west-1.amazonaws.com\"", service.endpoint))
                    || text.contains(&format!("\"{}.*.amazonaws.com\"", service.endpoint)),
                "{text}"
            );
            assert_eq!(
                text.contains("kms:CreateGrant"),
                service.actions.contains(&"kms:CreateGrant")
            );
        }
        // Every predefined alias has its service.
        for alias in crate::operations::aliases::PREDEFINED_ALIASES {
            assert!(
                MANAGED_SERVICES.iter().any(|s| s.alias == *alias),
                "{alias}"
            );
        }
    }
}

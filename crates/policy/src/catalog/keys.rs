//! Every `kms:` condition key and the `aws:` global keys KMS uses (AWS KMS Developer Guide, "AWS
//! KMS condition keys" and "AWS global condition keys"; their types as the Service Authorization
//! Reference gives them). A name with `${...}` is a template: the part before it is a prefix,
//! and any non-empty suffix completes it.

use super::{ConditionKeyInfo, KeyPlacement, KeyType};
use KeyPlacement::*;
use KeyType::*;

const fn k(name: &'static str, value_type: KeyType, allowed_in: KeyPlacement) -> ConditionKeyInfo {
    ConditionKeyInfo {
        name,
        value_type,
        allowed_in,
    }
}

/// The `kms:` condition keys, sorted by name.
pub(super) const KMS_KEYS: &[ConditionKeyInfo] = &[
    k("kms:BypassPolicyLockoutSafetyCheck", Bool, Anywhere),
    k("kms:CallerAccount", String, Anywhere),
    k("kms:CustomerMasterKeySpec", String, Anywhere),
    k("kms:CustomerMasterKeyUsage", String, Anywhere),
    k("kms:DataKeyPairSpec", String, Anywhere),
    k("kms:EncryptionAlgorithm", String, Anywhere),
    k(
        "kms:EncryptionContext:${EncryptionContextKey}",
        String,
        Anywhere,
    ),
    k("kms:EncryptionContextKeys", ArrayOfString, Anywhere),
    k("kms:ExpirationModel", String, Anywhere),
    k("kms:GrantConstraintSourceArn", Arn, Anywhere),
    k("kms:GrantConstraintType", String, Anywhere),
    k("kms:GrantIsForAWSResource", Bool, Anywhere),
    k("kms:GrantOperations", ArrayOfString, Anywhere),
    k("kms:GranteePrincipal", String, Anywhere),
    k("kms:GranteeServicePrincipal", String, Anywhere),
    k("kms:KeyAgreementAlgorithm", String, Anywhere),
    k("kms:KeyOrigin", String, Anywhere),
    k("kms:KeySpec", String, Anywhere),
    k("kms:KeyUsage", String, Anywhere),
    k("kms:MacAlgorithm", String, Anywhere),
    k("kms:MessageType", String, Anywhere),
    k("kms:MultiRegion", Bool, Anywhere),
    k("kms:MultiRegionKeyType", String, Anywhere),
    k("kms:PrimaryRegion", String, Anywhere),
    k("kms:ReEncryptOnSameKey", Bool, Anywhere),
    k("kms:RecipientAttestation:${Measurement}", String, Anywhere),
    k("kms:ReplicaRegion", String, Anywhere),
    k("kms:RequestAlias", String, Anywhere),
    k("kms:ResourceAliases", ArrayOfString, IdentityPolicyOnly),
    k("kms:RetiringPrincipal", String, Anywhere),
    k("kms:RetiringServicePrincipal", String, Anywhere),
    k("kms:RotationPeriodInDays", Numeric, Anywhere),
    k(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        Numeric,
        Anywhere,
    ),
    k("kms:SigningAlgorithm", String, Anywhere),
    k("kms:TrailingDaysWithoutKeyUsage", Numeric, Anywhere),
    k("kms:ValidTo", Date, Anywhere),
    k("kms:ViaService", String, Anywhere),
    k("kms:WrappingAlgorithm", String, Anywhere),
    k("kms:WrappingKeySpec", String, Anywhere),
];

/// The `aws:` global condition keys, sorted by name.
pub(super) const GLOBAL_KEYS: &[ConditionKeyInfo] = &[
    k("aws:AssumedRoot", Bool, Anywhere),
    k("aws:CalledVia", ArrayOfString, Anywhere),
    k("aws:CalledViaFirst", String, Anywhere),
    k("aws:CalledViaAWSMCP", String, Anywhere),
    k("aws:CalledViaLast", String, Anywhere),
    k("aws:ChatbotSourceArn", Arn, Anywhere),
    k("aws:CurrentTime", Date, Anywhere),
    k("aws:Ec2InstanceSourcePrivateIPv4", IpAddress, Anywhere),
    k("aws:Ec2InstanceSourceVpc", String, Anywhere),
    k("aws:EpochTime", Date, Anywhere),
    k("aws:FederatedProvider", String, Anywhere),
    k("aws:IsMcpServiceAction", Bool, Anywhere),
    k("aws:MultiFactorAuthAge", Numeric, Anywhere),
    k("aws:MultiFactorAuthPresent", Bool, Anywhere),
    k("aws:PrincipalAccount", String, Anywhere),
    k("aws:PrincipalArn", Arn, Anywhere),
    k("aws:PrincipalIsAWSService", Bool, Anywhere),
    k("aws:PrincipalOrgID", String, Anywhere),
    k("aws:PrincipalOrgPaths", ArrayOfString, Anywhere),
    k("aws:PrincipalServiceName", String, Anywhere),
    k("aws:PrincipalServiceNamesList", ArrayOfString, Anywhere),
    k("aws:PrincipalTag/${TagKey}", String, Anywhere),
    k("aws:PrincipalType", String, Anywhere),
    k("aws:Referer", String, Anywhere),
    k("aws:RequestTag/${TagKey}", String, Anywhere),
    k("aws:RequestedRegion", String, Anywhere),
    k("aws:ResourceAccount", String, Anywhere),
    k("aws:ResourceOrgID", String, Anywhere),
    k("aws:ResourceOrgPaths", ArrayOfString, Anywhere),
    k("aws:ResourceTag/${TagKey}", String, IdentityPolicyOnly),
    k("aws:SecureTransport", Bool, Anywhere),
    k("aws:SignInSessionArn", Arn, Anywhere),
    k("aws:SourceAccount", String, Anywhere),
    k("aws:SourceArn", Arn, Anywhere),
    k("aws:SourceIdentity", String, Anywhere),
    k("aws:SourceIp", IpAddress, Anywhere),
    k("aws:SourceOrgID", String, Anywhere),
    k("aws:SourceOrgPaths", ArrayOfString, Anywhere),
    k("aws:SourceVpc", String, Anywhere),
    k("aws:SourceVpcArn", Arn, Anywhere),
    k("aws:SourceVpce", String, Anywhere),
    k("aws:TagKeys", ArrayOfString, Anywhere),
    k("aws:TokenIssueTime", Date, Anywhere),
    k("aws:UserAgent", String, Anywhere),
    k("aws:ViaAWSMCPService", Bool, Anywhere),
    k("aws:ViaAWSService", Bool, Anywhere),
    k("aws:VpcSourceIp", IpAddress, Anywhere),
    k("aws:VpceAccount", String, Anywhere),
    k("aws:VpceOrgID", String, Anywhere),
    k("aws:VpceOrgPaths", ArrayOfString, Anywhere),
    k("aws:userid", String, Anywhere),
    k("aws:username", String, Anywhere),
];

/// Condition keys that KMS refuses in key policies, as its error message lists them
/// ("These condition keys are not permitted in a key policy: aws:ResourceTag, kms:ResourceTag,
/// kms:ResourceAliases"). `kms:ResourceTag` is not a key KMS sets; it is refused all the same.
pub(super) const FORBIDDEN_IN_KEY_POLICY: &[&str] = &[
    "aws:ResourceTag/",
    "kms:ResourceTag/",
    "kms:ResourceAliases",
];

/// The resource condition keys of the `key` resource type: set for every key-scoped action.
pub(super) const KEY_RESOURCE_KEYS: &[&str] = &[
    "aws:ResourceTag/${TagKey}",
    "kms:KeyOrigin",
    "kms:KeySpec",
    "kms:KeyUsage",
    "kms:MultiRegion",
    "kms:MultiRegionKeyType",
    "kms:ResourceAliases",
];

//! Statements that do not reach whom or what they appear to: a service principal that any
//! account's resource can send (no source condition), a root delegation whose condition lets no
//! IAM identity through, and statements that can never apply to a request on this key.

use super::hygiene::principal_entries;
use crate::Raw;
use keyward_policy::catalog::{ActionId, ActionSet, ResourceScope};
use keyward_policy::model::{ConditionKeyEntry, ConditionOperatorEntry, PrincipalType, Statement};
use keyward_policy::operator::{OperatorFamily, OperatorKind};
use keyward_policy::wildcard::{Case, has_wildcard, match_chars};
use keyward_policy::{Effect, Span, Spanned};

/// Whether AWS services call `action` for their users (so a request can come through one,
/// carrying `kms:ViaService`): data-key and cryptographic operations, grants, DescribeKey, and
/// CreateAlias (AWS's CloudTrail key policy allows it through EC2 during the console's setup).
/// The catalog lists `kms:ViaService` for administrative actions too, but no service calls,
/// say, PutKeyPolicy for its user.
pub(crate) fn called_by_services(action: ActionId) -> bool {
    [
        "CreateAlias",
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "CreateGrant",
        "ListGrants",
        "RetireGrant",
        "DescribeKey",
        "GetPublicKey",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
    ]
    .contains(&action.info().name)
}

/// A test that holds only when the key is present and matches: not negated, not `Null`, not
/// `...IfExists`.
fn requires_a_match(entry: &ConditionOperatorEntry) -> bool {
    let operator = entry.operator.value;
    operator.kind != OperatorKind::Null && !operator.kind.is_negated() && !operator.if_exists
}

/// The statement's tests that require a match, with each key entry.
fn positive_tests(
    statement: &Statement,
) -> impl Iterator<Item = (&ConditionOperatorEntry, &ConditionKeyEntry)> {
    statement
        .condition
        .iter()
        .flat_map(|block| block.value.operators.iter())
        .filter(|entry| requires_a_match(entry))
        .flat_map(|entry| entry.keys.iter().map(move |key| (entry, key)))
}

/// Whether a pattern's wildcards may be read as such by `kind` (`...Like`, the ARN operators).
fn matches_patterns(kind: OperatorKind) -> bool {
    matches!(
        kind,
        OperatorKind::StringLike | OperatorKind::ArnLike | OperatorKind::ArnEquals
    )
}

/// The service principals a statement names, with where.
fn service_principals(statement: &Statement) -> Vec<&Spanned<String>> {
    principal_entries(statement)
        .iter()
        .filter(|e| e.principal_type.value == PrincipalType::Service)
        .flat_map(|e| e.values.iter())
        .collect()
}

/// Whether a statement names service principals only.
fn only_services(statement: &Statement) -> bool {
    let entries = principal_entries(statement);
    statement
        .principal
        .as_ref()
        .is_some_and(|c| !c.value.negated)
        && !entries.is_empty()
        && entries
            .iter()
            .all(|e| e.principal_type.value == PrincipalType::Service)
}

/// Keys that name the resource or account a service acts for: `aws:SourceArn`,
/// `aws:SourceAccount`, `aws:SourceOrgID`, `aws:SourceOrgPaths`, and the ARN a service binds
/// into the encryption context (`kms:EncryptionContext:aws:logs:arn`,
/// `kms:EncryptionContext:aws:cloudtrail:arn`, ...).
fn is_source_key(key: &str) -> bool {
    let folded = key.to_ascii_lowercase();
    matches!(
        folded.as_str(),
        "aws:sourcearn" | "aws:sourceaccount" | "aws:sourceorgid" | "aws:sourceorgpaths"
    ) || (folded.starts_with("kms:encryptioncontext:aws:") && folded.ends_with(":arn"))
}

/// Whether a value of a source test admits a resource of any account: under an operator that
/// reads wildcards, an account written with one (`arn:aws:logs:*:*:log-group:*`), an ARN whose
/// account part is empty but whose name is a pattern (`arn:aws:s3:::logs-*`, which anyone may
/// create), or a pattern that stands for the whole account or organization (`*`).
fn admits_any_account(key: &str, kind: OperatorKind, value: &str) -> bool {
    if !matches_patterns(kind) || !has_wildcard(value) {
        return false;
    }
    let folded = key.to_ascii_lowercase();
    if matches!(
        folded.as_str(),
        "aws:sourceaccount" | "aws:sourceorgid" | "aws:sourceorgpaths"
    ) {
        // `1111*` still names few accounts; only a pattern that starts with a wildcard (or
        // `o-*`) admits any.
        return value.starts_with(['*', '?']) || value.eq_ignore_ascii_case("o-*");
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts.as_slice() {
        [_, _, _, _, account, resource] => {
            has_wildcard(account) || (account.is_empty() && has_wildcard(resource))
        }
        // Fewer than six parts: a wildcard may stand for the account.
        _ => true,
    }
}

/// Actions that only read the key's metadata: a service that can call only these learns what
/// the key is, not what it protects.
fn only_reads(actions: ActionSet) -> bool {
    actions.iter().all(|a| {
        let name = a.info().name;
        ["Describe", "Get", "List"]
            .iter()
            .any(|p| name.starts_with(p))
            && name != "GetParametersForImport"
    })
}

/// `service-principal-without-source-condition`, for `statement` whose actions match
/// `actions`.
pub(crate) fn service_source(statement: &Statement, actions: ActionSet, out: &mut Vec<Raw>) {
    if statement.effect.value != Effect::Allow {
        return;
    }
    let services = service_principals(statement);
    let Some(first) = services.first() else {
        return;
    };
    if actions.is_empty() || only_reads(actions) {
        return;
    }
    let sources: Vec<(&ConditionOperatorEntry, &ConditionKeyEntry)> = positive_tests(statement)
        .filter(|(_, key)| is_source_key(&key.key.value))
        .collect();
    let names: Vec<&str> = services.iter().map(|s| s.value.as_str()).collect();
    let who = names.join(", ");
    if sources.is_empty() {
        out.push(Raw::new(
            "service-principal-without-source-condition",
            first.span,
            format!(
                "{who} may use the key for a resource of any account: no aws:SourceArn or aws:SourceAccount condition (a negated or ...IfExists test does not count) ties its requests to this account's resources, so another account can have the service act with this key for it (a confused deputy)"
            ),
        ));
        return;
    }
    // Each test must hold (they are ANDed): one that names an account is enough.
    let open = sources.iter().all(|(entry, key)| {
        key.values
            .iter()
            .any(|v| admits_any_account(&key.key.value, entry.operator.value.kind, &v.value.text))
    });
    if open && let Some((_, key)) = sources.first() {
        out.push(Raw::new(
            "service-principal-without-source-condition",
            key.key.span,
            format!(
                "the source condition on `{}` admits a resource of any account (a wildcard where the account is): {who} can be made to use the key for another account's resource; name this account",
                key.key.value
            ),
        ));
    }
}

/// The values of `aws:PrincipalType` an IAM identity's request carries.
const IAM_PRINCIPAL_TYPES: [&str; 3] = ["User", "AssumedRole", "FederatedUser"];

/// Why a test of an account statement lets no IAM identity through, if it does: the account's
/// users and roles then get nothing from their IAM policies.
fn shuts_out_iam(entry: &ConditionOperatorEntry, key: &ConditionKeyEntry) -> Option<String> {
    let kind = entry.operator.value.kind;
    if entry.operator.value.qualifier.is_some()
        || !matches!(kind.family(), OperatorFamily::String | OperatorFamily::Arn)
    {
        return None;
    }
    let reads_wildcards = matches_patterns(kind);
    let case = if matches!(kind, OperatorKind::StringEqualsIgnoreCase) {
        Case::Insensitive
    } else {
        Case::Sensitive
    };
    let admits = |value: &str, text: &str| {
        if reads_wildcards {
            match_chars(value, text, case)
        } else if case == Case::Insensitive {
            value.eq_ignore_ascii_case(text)
        } else {
            value == text
        }
    };
    let values: Vec<&str> = key.values.iter().map(|v| v.value.text.as_str()).collect();
    let name = key.key.value.as_str();
    if name.eq_ignore_ascii_case("aws:PrincipalType")
        && !values
            .iter()
            .any(|v| IAM_PRINCIPAL_TYPES.iter().any(|t| admits(v, t)))
    {
        return Some(format!(
            "`{name}` must be {}, which no IAM user or role is",
            values.join(" or ")
        ));
    }
    if name.eq_ignore_ascii_case("aws:PrincipalArn")
        && values.iter().all(|v| {
            // An IAM identity's ARN has a resource type and a name after the account.
            !(v.contains(":user/")
                || v.contains(":role/")
                || v.contains(":federated-user/")
                || v.contains(":assumed-role/")
                || (reads_wildcards && v.rsplit(':').next().is_some_and(has_wildcard)))
        })
    {
        return Some(format!(
            "`{name}` must be {}, which names no IAM user or role",
            values.join(" or ")
        ));
    }
    None
}

/// Where and why an `Allow` to accounts only lets no IAM identity through (`None` when it
/// delegates, or is no such statement).
pub(crate) fn ineffective_delegation(statement: &Statement) -> Option<(Span, String)> {
    if statement.effect.value != Effect::Allow || !super::hygiene::only_accounts(statement) {
        return None;
    }
    positive_tests(statement)
        .find_map(|(entry, key)| shuts_out_iam(entry, key).map(|why| (key.key.span, why)))
}

/// `ineffective-root-delegation`.
pub(crate) fn root_delegation(statement: &Statement, out: &mut Vec<Raw>) {
    if let Some((at, why)) = ineffective_delegation(statement) {
        out.push(Raw::new(
            "ineffective-root-delegation",
            at,
            format!(
                "this statement delegates to IAM in name only: {why}, so the account's users and roles get nothing from their IAM policies (only the root user passes); remove the condition, or keep it only if that is intended"
            ),
        ));
    }
}

/// Why a key-policy statement, whose actions match `actions`, can never apply to a request on
/// this key, if it cannot.
fn never_applies(statement: &Statement, actions: ActionSet) -> Option<(Span, String)> {
    if actions.is_empty() {
        // Unknown actions: `unknown-action` says so.
        return None;
    }
    // Actions a key policy never governs (no key is their resource).
    if actions
        .iter()
        .all(|a| a.info().resource == ResourceScope::NoResource)
    {
        let names: Vec<&str> = actions.iter().map(|a| a.qualified_name()).collect();
        return Some((
            statement.action.span,
            format!(
                "{} {}, so a key policy never decides {}: IAM policies do; this statement never applies",
                names.join(", "),
                if names.len() == 1 {
                    "has no key as its resource"
                } else {
                    "have no key as their resource"
                },
                if names.len() == 1 { "it" } else { "them" },
            ),
        ));
    }
    // Resources that are not KMS keys.
    if let Some(resource) = &statement.resource
        && !resource.value.negated
        && !resource.value.patterns.is_empty()
        && resource
            .value
            .patterns
            .iter()
            .all(|p| other_service(&p.value))
    {
        return Some((
            resource.span,
            "every Resource is an ARN of another service, which no request on a KMS key matches: this statement never applies; write \"*\" (this key)".to_owned(),
        ));
    }
    // Only through a service, for actions no service calls or for callers that never come
    // through one.
    let via: Option<&ConditionKeyEntry> = positive_tests(statement)
        .find(|(_, key)| key.key.value.eq_ignore_ascii_case("kms:ViaService"))
        .map(|(_, key)| key);
    if let Some(via) = via {
        if !actions.iter().any(called_by_services) {
            return Some((
                via.key.span,
                "kms:ViaService is required, but no AWS service calls these actions for its users, so no request carries it: this statement never applies".to_owned(),
            ));
        }
        if only_services(statement) {
            return Some((
                via.key.span,
                "kms:ViaService is required, but a service principal calling for itself carries no kms:ViaService (it is set only when a service calls for a user or role): this statement never applies".to_owned(),
            ));
        }
    }
    None
}

/// Whether a `Resource` pattern names another service than KMS, so no key's ARN matches it.
fn other_service(pattern: &str) -> bool {
    let mut parts = pattern.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some(service)) => {
            !has_wildcard(service) && !service.eq_ignore_ascii_case("kms")
        }
        _ => false,
    }
}

/// `dead-statement`.
pub(crate) fn dead_statement(statement: &Statement, actions: ActionSet, out: &mut Vec<Raw>) {
    if let Some((at, why)) = never_applies(statement, actions) {
        out.push(Raw::new("dead-statement", at, why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_pattern_admits_any_account_only_where_the_account_is_a_wildcard() {
        let arn = "kms:EncryptionContext:aws:logs:arn";
        assert!(admits_any_account(
            arn,
            OperatorKind::ArnLike,
            "arn:aws:logs:us-west-2:*:log-group:*"
        ));
        assert!(!admits_any_account(
            arn,
            OperatorKind::ArnLike,
            "arn:aws:logs:*:111122223333:log-group:*"
        ));
        // StringEquals reads `*` literally: not a pattern (wildcard-in-exact-operator's case).
        assert!(!admits_any_account(
            "aws:SourceArn",
            OperatorKind::StringEquals,
            "arn:aws:sns:*:*:topic"
        ));
        // A bucket ARN has no account: a pattern on its name admits anyone's bucket.
        assert!(admits_any_account(
            "aws:SourceArn",
            OperatorKind::ArnLike,
            "arn:aws:s3:::logs-*"
        ));
        assert!(!admits_any_account(
            "aws:SourceArn",
            OperatorKind::ArnLike,
            "arn:aws:s3:::logs-bucket"
        ));
        assert!(admits_any_account(
            "aws:SourceArn",
            OperatorKind::StringLike,
            "arn:aws:*"
        ));
        assert!(admits_any_account(
            "aws:SourceAccount",
            OperatorKind::StringLike,
            "*"
        ));
        assert!(!admits_any_account(
            "aws:SourceAccount",
            OperatorKind::StringLike,
            "1111222233*"
        ));
        assert!(admits_any_account(
            "aws:SourceOrgID",
            OperatorKind::StringLike,
            "o-*"
        ));
    }

    #[test]
    fn only_another_service_s_arn_is_never_a_key() {
        assert!(other_service("arn:aws:s3:::uploads/*"));
        assert!(!other_service("arn:aws:kms:us-east-1:111122223333:key/*"));
        assert!(!other_service("arn:aws:*:us-east-1:111122223333:*"));
        assert!(!other_service("*"));
    }

    #[test]
    fn source_keys_include_the_service_bound_context_arn() {
        assert!(is_source_key("AWS:SourceArn"));
        assert!(is_source_key("kms:EncryptionContext:aws:cloudtrail:arn"));
        assert!(!is_source_key("kms:EncryptionContext:aws:cloudtrail:name"));
        assert!(!is_source_key("kms:CallerAccount"));
    }
}

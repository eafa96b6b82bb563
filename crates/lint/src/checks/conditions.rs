//! Condition checks against the catalog: unknown keys, operator types, keys the statement's
//! actions never set, set qualifiers, Null guards, policy variables, `kms:ViaService` values,
//! negated Deny conditions on keys some actions never set, and wildcards where they are not.

use crate::Raw;
use keyward_policy::catalog::{self, ActionSet, KeyType};
use keyward_policy::model::{ConditionKeyEntry, ConditionOperatorEntry, Statement};
use keyward_policy::operator::{OperatorFamily, OperatorKind, SetQualifier};
use keyward_policy::wildcard::has_wildcard;
use keyward_policy::{Effect, PolicyDocument};

fn prefix_is(key: &str, prefix: &str) -> bool {
    key.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Whether operators of `family` compare values of the key `name`, of type `key_type`, as AWS
/// documents them: besides each type's own operators, ARN operators on the encryption
/// context's pairs (whose values are ARNs where a service puts one there, as CloudWatch Logs'
/// `kms:EncryptionContext:aws:logs:arn`, which its guide tests with `ArnLike`), and numeric
/// operators on `kms:ValidTo` (a time in seconds since the epoch, which the KMS guide tests with
/// `NumericLessThanEquals`) and on `aws:EpochTime` (whose data type the IAM guide gives as
/// "Date, Numeric").
fn family_fits(family: OperatorFamily, key_type: KeyType, name: &str) -> bool {
    const PAIR: &str = "kms:EncryptionContext:";
    let is_pair = name
        .get(..PAIR.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PAIR));
    match family {
        OperatorFamily::Arn if is_pair => true,
        OperatorFamily::Numeric
            if name.eq_ignore_ascii_case("kms:ValidTo")
                || name.eq_ignore_ascii_case("aws:EpochTime") =>
        {
            true
        }
        OperatorFamily::Null => true,
        OperatorFamily::String => matches!(
            key_type,
            KeyType::String | KeyType::ArrayOfString | KeyType::Arn
        ),
        OperatorFamily::Numeric => key_type == KeyType::Numeric,
        OperatorFamily::Date => key_type == KeyType::Date,
        OperatorFamily::Bool => key_type == KeyType::Bool,
        OperatorFamily::IpAddress => key_type == KeyType::IpAddress,
        OperatorFamily::Arn => key_type == KeyType::Arn,
        OperatorFamily::Binary => false,
    }
}

const fn type_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::String => "String",
        KeyType::Numeric => "Numeric",
        KeyType::Date => "Date",
        KeyType::Bool => "Bool",
        KeyType::Arn => "ARN",
        KeyType::IpAddress => "IP address",
        KeyType::ArrayOfString => "ArrayOfString",
    }
}

fn list(actions: ActionSet, limit: usize) -> String {
    let names: Vec<_> = actions.iter().map(|a| a.qualified_name()).collect();
    let shown = names
        .iter()
        .take(limit)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > limit {
        format!("{shown} and {} more", names.len() - limit)
    } else {
        shown
    }
}

/// The condition checks of `statement`, whose actions match `actions`.
pub(crate) fn check(
    document: &PolicyDocument,
    statement: &Statement,
    actions: ActionSet,
    out: &mut Vec<Raw>,
) {
    let Some(condition) = &statement.condition else {
        return;
    };
    let variables = document.variables_enabled();
    for entry in &condition.value.operators {
        for key in &entry.keys {
            key_checks(statement, entry, key, actions, out);
            wildcard_in_exact_operator(statement, entry, key, out);
            if !variables && key.values.iter().any(|v| v.value.text.contains("${")) {
                let at = key.values.iter().find(|v| v.value.text.contains("${"));
                if let Some(value) = at {
                    out.push(Raw::new(
                        "policy-variable-without-version",
                        value.span,
                        format!(
                            "`{}` is compared literally: policy variables need \"Version\": \"2012-10-17\"",
                            value.value.text
                        ),
                    ));
                }
            }
        }
        if entry.operator.value.qualifier == Some(SetQualifier::ForAllValues)
            && statement.effect.value == Effect::Allow
        {
            for key in &entry.keys {
                let guarded = condition.value.operators.iter().any(|other| {
                    other.operator.value.kind == OperatorKind::Null
                        && other.keys.iter().any(|k| {
                            k.key.value.eq_ignore_ascii_case(&key.key.value)
                                && k.values.iter().all(|v| v.value.text == "false")
                        })
                }) || requires_a_value(&condition.value.operators, &key.key.value)
                    || always_set(&key.key.value, actions);
                if !guarded {
                    out.push(Raw::new(
                        "forallvalues-without-null-guard",
                        key.key.span,
                        format!(
                            "ForAllValues on `{}` also holds when the request has no values for it; add \"Null\": {{\"{}\": \"false\"}}",
                            key.key.value, key.key.value
                        ),
                    ));
                }
            }
        }
    }
}

/// Whether another test of the statement holds only when the multivalued `key` has a value: a
/// `ForAnyValue` test on it that is not negated nor `IfExists`, or, for
/// `kms:EncryptionContextKeys`, such a test on a pair of the encryption context (the pair's key
/// is then among the keys).
fn requires_a_value(operators: &[ConditionOperatorEntry], key: &str) -> bool {
    const PAIR: &str = "kms:EncryptionContext:";
    let context_keys = key.eq_ignore_ascii_case("kms:EncryptionContextKeys");
    operators.iter().any(|other| {
        let operator = other.operator.value;
        let positive = operator.kind != OperatorKind::Null
            && !operator.kind.is_negated()
            && !operator.if_exists
            && operator.qualifier != Some(SetQualifier::ForAllValues);
        positive
            && other.keys.iter().any(|k| {
                let name = k.key.value.as_str();
                (name.eq_ignore_ascii_case(key)
                    && operator.qualifier == Some(SetQualifier::ForAnyValue))
                    || (context_keys
                        && name
                            .get(..PAIR.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(PAIR)))
            })
    })
}

/// The actions that always set the multivalued key with at least one value (a required
/// parameter of the call: CreateGrant's `Operations`, TagResource's `Tags`, UntagResource's
/// `TagKeys`).
const ALWAYS_SET: &[(&str, &[&str])] = &[
    ("kms:GrantOperations", &["kms:CreateGrant"]),
    ("aws:TagKeys", &["kms:TagResource", "kms:UntagResource"]),
];

/// Whether every action of the statement that can set `key` always sets it with a value, so
/// `ForAllValues` on it never meets an empty set.
fn always_set(key: &str, actions: ActionSet) -> bool {
    let Some((_, always)) = ALWAYS_SET.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) else {
        return false;
    };
    let mut setting = actions.iter().filter(|a| a.sets_key(key)).peekable();
    setting.peek().is_some() && setting.all(|a| always.contains(&a.qualified_name()))
}

/// Policy variables in `Resource`: read literally without Version 2012-10-17, and before the
/// fifth colon (AWS substitutes them only in the resource part).
pub(crate) fn resource_variables(
    document: &PolicyDocument,
    statement: &Statement,
    out: &mut Vec<Raw>,
) {
    let variables = document.variables_enabled();
    for resource in statement.resource.iter().flat_map(|r| &r.value.patterns) {
        if !variables && resource.value.contains("${") {
            out.push(Raw::new(
                "policy-variable-without-version",
                resource.span,
                format!(
                    "`{}` is matched literally: policy variables need \"Version\": \"2012-10-17\"",
                    resource.value
                ),
            ));
        } else if variables
            && keyward_policy::compile::has_variable_before_resource_part(&resource.value)
        {
            out.push(Raw::new(
                "policy-variable-outside-resource-part",
                resource.span,
                format!(
                    "`{}` has a policy variable before the fifth colon: AWS substitutes variables only in the resource part of an ARN, so this matches the text `${{...}}` literally, never a real resource",
                    resource.value
                ),
            ));
        }
    }
}

fn key_checks(
    statement: &Statement,
    entry: &ConditionOperatorEntry,
    key: &ConditionKeyEntry,
    actions: ActionSet,
    out: &mut Vec<Raw>,
) {
    let name = key.key.value.as_str();
    let operator = entry.operator.value;
    let Some(info) = catalog::condition_key(name) else {
        if prefix_is(name, "kms:") || prefix_is(name, "aws:") {
            out.push(Raw::new(
                "unknown-condition-key",
                key.key.span,
                format!(
                    "`{name}` is not a condition key KMS sets; the condition tests a missing key"
                ),
            ));
        } else if name.contains(':') {
            out.push(Raw::new(
                "unknown-condition-key",
                key.key.span,
                format!("`{name}` is not set in KMS requests; the condition tests a missing key"),
            ));
        }
        return;
    };
    let family = operator.kind.family();
    if !family_fits(family, info.value_type, name) {
        out.push(Raw::new(
            "operator-type-mismatch",
            entry.operator.span,
            format!(
                "{} compares {:?} values but `{name}` is of type {}",
                operator.kind.as_str(),
                family,
                type_name(info.value_type)
            ),
        ));
    }
    let multivalued = info.value_type.is_multivalued();
    match (operator.qualifier, multivalued) {
        (Some(qualifier), false) if family != OperatorFamily::Null => out.push(Raw::new(
            "forallvalues-single-valued-key",
            entry.operator.span,
            format!(
                "{}: on `{name}`, a single-valued key: use {} without the qualifier",
                qualifier.as_str(),
                operator.kind.as_str()
            ),
        )),
        (None, true) if family != OperatorFamily::Null => out.push(Raw::new(
            "set-operator-missing",
            key.key.span,
            format!(
                "`{name}` has several values: say ForAnyValue:{} (some value) or ForAllValues:{} (every value)",
                operator.kind.as_str(),
                operator.kind.as_str()
            ),
        )),
        _ => {}
    }
    if actions.is_empty() {
        return;
    }
    let setting = actions.iter().fold(ActionSet::EMPTY, |set, action| {
        if action.sets_key(name) {
            set.with(action)
        } else {
            set
        }
    });
    let missing = actions.iter().fold(ActionSet::EMPTY, |set, a| {
        if setting.contains(a) {
            set
        } else {
            set.with(a)
        }
    });
    let negated_deny =
        statement.effect.value == Effect::Deny && operator.kind.is_negated() && !operator.if_exists;
    if negated_deny && !missing.is_empty() {
        out.push(Raw::new(
            "deny-negated-condition-on-missing-key",
            entry.operator.span,
            format!(
                "{} on `{name}` holds when the key is missing, so this Deny applies unconditionally to {}, which never set it; use {}IfExists or leave those actions out",
                operator.kind.as_str(),
                list(missing, 4),
                operator.kind.as_str()
            ),
        ));
    } else if setting.is_empty() {
        out.push(Raw::new(
            "condition-key-not-for-action",
            key.key.span,
            format!(
                "none of this statement's actions ({}) sets `{name}`",
                list(actions, 4)
            ),
        ));
    }
    if name.eq_ignore_ascii_case("kms:ViaService") && family == OperatorFamily::String {
        for value in &key.values {
            if let Some(problem) = via_service_problem(&value.value.text, operator.kind) {
                out.push(Raw::new(
                    "malformed-via-service",
                    value.span,
                    format!("`{}` {problem}", value.value.text),
                ));
            }
        }
    }
}

/// What is wrong with a `kms:ViaService` value, if anything: `<service>.<region>.amazonaws.com`
/// (or `.amazonaws.com.cn` in China).
fn via_service_problem(value: &str, operator: OperatorKind) -> Option<String> {
    let like = matches!(
        operator,
        OperatorKind::StringLike | OperatorKind::StringNotLike
    );
    if value.contains("${") {
        return None;
    }
    // A wildcard under an exact operator is `wildcard-in-exact-operator`'s finding.
    if !like && (value.contains('*') || value.contains('?')) {
        return None;
    }
    let host = value
        .strip_suffix(".amazonaws.com")
        .or_else(|| value.strip_suffix(".amazonaws.com.cn"));
    let Some(host) = host else {
        return Some(
            "is not a service endpoint: write <service>.<region>.amazonaws.com, e.g. s3.us-east-1.amazonaws.com".into(),
        );
    };
    // Endpoints are lower-case letters, digits and hyphens: an upper-case letter never
    // matches under an operator that keeps case, and `_` never does.
    if host.contains('_') {
        return Some("has `_`, which no service endpoint has: KMS sets names like secretsmanager.us-east-1.amazonaws.com".into());
    }
    let keeps_case = !matches!(
        operator,
        OperatorKind::StringEqualsIgnoreCase | OperatorKind::StringNotEqualsIgnoreCase
    );
    if keeps_case && host.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "has upper case, which {} compares as written, and KMS sets the endpoint in lower case: write it in lower case",
            operator.as_str()
        ));
    }
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [service, region] if !service.is_empty() && region_like(region, like) => None,
        [_] => Some(
            "has no Region: KMS sets <service>.<region>.amazonaws.com, e.g. s3.us-east-1.amazonaws.com".into(),
        ),
        _ => Some("is not <service>.<region>.amazonaws.com".into()),
    }
}

fn region_like(region: &str, like: bool) -> bool {
    if like && (region == "*" || region.contains('*')) {
        return true;
    }
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts
            .last()
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// A value's text outside policy variables (`${aws:username}`, and `${*}`, `${?}`, `${$}`,
/// which write the characters themselves).
fn outside_variables(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or_default());
        match rest.get(start..).and_then(|r| r.find('}')) {
            Some(end) => rest = rest.get(start + end + 1..).unwrap_or_default(),
            None => {
                rest = rest.get(start..).unwrap_or_default();
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `wildcard-in-exact-operator`: `*` or `?` in a value of an operator that compares text
/// exactly (`StringEquals`, `StringNotEquals` and their `IgnoreCase` forms), where they are
/// plain characters. (`ArnEquals` reads them as wildcards, as `ArnLike` does.)
fn wildcard_in_exact_operator(
    statement: &Statement,
    entry: &ConditionOperatorEntry,
    key: &ConditionKeyEntry,
    out: &mut Vec<Raw>,
) {
    let operator = entry.operator.value;
    let (like, negated) = match operator.kind {
        OperatorKind::StringEquals | OperatorKind::StringEqualsIgnoreCase => ("StringLike", false),
        OperatorKind::StringNotEquals | OperatorKind::StringNotEqualsIgnoreCase => {
            ("StringNotLike", true)
        }
        _ => return,
    };
    for value in &key.values {
        let text = &value.value.text;
        if !has_wildcard(&outside_variables(text)) {
            continue;
        }
        let consequence = if negated && statement.effect.value == Effect::Deny {
            if key.values.len() == 1 {
                " In this Deny, no request carries that literal text, so the negated test holds for every request (one without the key too): the Deny refuses every request it covers."
            } else {
                " In this Deny, no request carries that literal text, so it exempts nobody from the Deny."
            }
        } else if negated {
            " The negated test holds for nearly every request."
        } else {
            " Almost no request carries that literal text, so the test almost never holds."
        };
        out.push(Raw::new(
            "wildcard-in-exact-operator",
            value.span,
            format!(
                "`{text}` under {} is compared as written: `*` and `?` are plain characters here, not wildcards.{consequence} Use {like} if a pattern is meant.",
                entry.operator.value
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_service_values() {
        let eq = OperatorKind::StringEquals;
        assert_eq!(via_service_problem("s3.us-east-1.amazonaws.com", eq), None);
        assert_eq!(
            via_service_problem("ec2.cn-north-1.amazonaws.com.cn", eq),
            None
        );
        assert!(via_service_problem("s3.amazonaws.com", eq).is_some());
        // A wildcard under an exact operator is wildcard-in-exact-operator's finding.
        assert_eq!(via_service_problem("s3.*.amazonaws.com", eq), None);
        assert_eq!(
            via_service_problem("s3.*.amazonaws.com", OperatorKind::StringLike),
            None
        );
        assert!(via_service_problem("s3", eq).is_some());
        assert!(via_service_problem("s3.useast1.amazonaws.com", eq).is_some());
        // Upper case never matches under an operator that keeps case; `_` never matches.
        assert!(via_service_problem("S3.us-east-1.amazonaws.com", eq).is_some());
        assert_eq!(
            via_service_problem(
                "S3.us-east-1.amazonaws.com",
                OperatorKind::StringEqualsIgnoreCase
            ),
            None
        );
        assert!(via_service_problem("secrets_manager.us-east-1.amazonaws.com", eq).is_some());
    }
}

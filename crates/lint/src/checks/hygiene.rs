//! Hygiene and statement-shape security checks: resources, principals, wildcard grants of
//! `kms:*`, CreateGrant without `kms:GrantIsForAWSResource`, root delegation, redundancy.

use super::catalog::statement_actions;
use crate::{LintOptions, Raw};
use keyward_policy::catalog::{ActionSet, kms_action};
use keyward_policy::model::{PrincipalEntry, PrincipalType, PrincipalValue, Statement};
use keyward_policy::operator::OperatorKind;
use keyward_policy::principal::Principal;
use keyward_policy::{Effect, PolicyDocument, PolicyKind};
use std::collections::BTreeSet;

/// The principals a statement names as `type=value` strings; `None` for everyone.
fn principal_names(statement: &Statement) -> Option<BTreeSet<String>> {
    let clause = statement.principal.as_ref()?;
    match &clause.value.value {
        PrincipalValue::Everyone => None,
        PrincipalValue::Map(entries) => {
            let mut names = BTreeSet::new();
            for entry in entries {
                for value in &entry.values {
                    if entry.principal_type.value == PrincipalType::Aws && value.value == "*" {
                        return None;
                    }
                    names.insert(format!(
                        "{}={}",
                        entry.principal_type.value.as_str(),
                        value.value
                    ));
                }
            }
            Some(names)
        }
    }
}

/// The entries of a statement's `Principal` (or `NotPrincipal`) map: none for `"*"` or no
/// principal.
pub(crate) fn principal_entries(statement: &Statement) -> &[PrincipalEntry] {
    match statement.principal.as_ref().map(|c| &c.value.value) {
        Some(PrincipalValue::Map(entries)) => entries,
        _ => &[],
    }
}

/// Whether `statement` is an Allow that names the key's account (`own`, by root ARN or ID)
/// and otherwise only principals of that account: the delegation to IAM with users or roles
/// of the account beside it, as the CloudTrail console writes its default policy.
pub(crate) fn beside_root_delegation(statement: &Statement, own: &str) -> bool {
    if statement.effect.value != Effect::Allow
        || statement.principal.as_ref().is_none_or(|c| c.value.negated)
    {
        return false;
    }
    let mut names_root = false;
    let mut others = false;
    for entry in principal_entries(statement) {
        for value in &entry.values {
            match Principal::parse_in_policy(entry.principal_type.value, &value.value) {
                Ok(Principal::Account { account } | Principal::Root { account, .. })
                    if account == own =>
                {
                    names_root = true;
                }
                Ok(p) if p.account() == Some(own) => others = true,
                _ => return false,
            }
        }
    }
    names_root && others
}

/// Whether every principal the statement names is an account (bare ID or `:root`).
pub(crate) fn only_accounts(statement: &Statement) -> bool {
    let entries = principal_entries(statement);
    !entries.is_empty()
        && entries.iter().all(|entry| {
            entry.values.iter().all(|value| {
                matches!(
                    Principal::parse_in_policy(entry.principal_type.value, &value.value),
                    Ok(Principal::Account { .. } | Principal::Root { .. })
                )
            })
        })
}

/// With no key account known (no `--account`, and no one account the policy delegates to),
/// `kms:*` (or `NotAction`) to accounts only, when more than one account gets it: a key belongs
/// to one account, so every other gets every action KMS allows across accounts.
pub(crate) fn every_action_to_accounts(document: &PolicyDocument, out: &mut Vec<Raw>) {
    let wide: Vec<&Statement> = document
        .statements
        .iter()
        .map(|s| &s.value)
        .filter(|s| {
            s.effect.value == Effect::Allow
                && only_accounts(s)
                && (statement_actions(s) == ActionSet::all() || s.action.value.negated)
        })
        .collect();
    let mut accounts: Vec<String> = wide.iter().flat_map(|s| accounts_named(s)).collect();
    accounts.sort();
    accounts.dedup();
    if accounts.len() < 2 {
        return;
    }
    for statement in wide {
        out.push(Raw::new(
            "wildcard-actions-to-principal",
            statement.action.span,
            format!(
                "every KMS action goes to accounts {}: a key belongs to one of them, and every other gets every action KMS allows across accounts; give --account, and list the actions the others need",
                accounts.join(", ")
            ),
        ));
    }
}

/// A statement's `Condition` in a form that compares equal for the same tests: each operator
/// with each key (without case) and its values (in order of text), sorted.
type CanonicalCondition = Vec<(String, Vec<(String, Vec<String>)>)>;

fn canonical_condition(statement: &Statement) -> Option<CanonicalCondition> {
    let block = statement.condition.as_ref()?;
    let mut out: CanonicalCondition = block
        .value
        .operators
        .iter()
        .map(|entry| {
            let operator = entry.operator.value;
            let name = format!(
                "{}{}{}",
                operator.qualifier.map_or("", |q| q.as_str()),
                operator.kind.as_str(),
                if operator.if_exists { "IfExists" } else { "" }
            );
            let mut keys: Vec<(String, Vec<String>)> = entry
                .keys
                .iter()
                .map(|k| {
                    let mut values: Vec<String> =
                        k.values.iter().map(|v| v.value.text.clone()).collect();
                    values.sort();
                    values.dedup();
                    (k.key.value.to_ascii_lowercase(), values)
                })
                .collect();
            keys.sort();
            (name, keys)
        })
        .collect();
    out.sort();
    Some(out)
}

/// The accounts the statement's `Principal` names (by root ARN or ID).
fn accounts_named(statement: &Statement) -> Vec<String> {
    principal_entries(statement)
        .iter()
        .flat_map(|entry| {
            entry.values.iter().filter_map(move |value| {
                match Principal::parse_in_policy(entry.principal_type.value, &value.value) {
                    Ok(Principal::Account { account } | Principal::Root { account, .. }) => {
                        Some(account.to_owned())
                    }
                    _ => None,
                }
            })
        })
        .collect()
}

/// Whether the statement's `Principal` names an account (its root ARN or its ID), among
/// whatever else.
fn names_an_account(statement: &Statement) -> bool {
    !accounts_named(statement).is_empty()
}

/// Whether the statement holds only for requests that come through an AWS service: a test on
/// `kms:ViaService` that is not negated nor `IfExists`. The service then chooses the grantee of
/// a grant (the AWS managed key pattern of EBS, Secrets Manager, RDS and others).
pub(crate) fn through_a_service(statement: &Statement) -> bool {
    statement.condition.as_ref().is_some_and(|block| {
        block.value.operators.iter().any(|entry| {
            let operator = entry.operator.value;
            operator.kind != OperatorKind::Null
                && !operator.kind.is_negated()
                && !operator.if_exists
                && entry
                    .keys
                    .iter()
                    .any(|key| key.key.value.eq_ignore_ascii_case("kms:ViaService"))
        })
    })
}

fn has_grant_for_aws_resource(statement: &Statement) -> bool {
    statement.condition.as_ref().is_some_and(|block| {
        block.value.operators.iter().any(|entry| {
            entry.operator.value.kind == OperatorKind::Bool
                && entry.keys.iter().any(|key| {
                    key.key
                        .value
                        .eq_ignore_ascii_case("kms:GrantIsForAWSResource")
                        && key.values.iter().all(|v| v.value.text == "true")
                })
        })
    })
}

/// The checks of one statement; `own_account` is the key's account and `own_key_arn` its ARN,
/// when they are known.
pub(crate) fn statement(
    statement: &Statement,
    actions: ActionSet,
    options: &LintOptions,
    (own_account, own_key_arn): (Option<&str>, Option<&str>),
    out: &mut Vec<Raw>,
) {
    let allow = statement.effect.value == Effect::Allow;
    if options.kind == PolicyKind::KeyPolicy {
        for resource in statement.resource.iter().flat_map(|r| &r.value.patterns) {
            let text = resource.value.as_str();
            // The key's own ARN applies to this key, as "*" does.
            if text.starts_with("arn:") && text.contains(":kms:") && Some(text) != own_key_arn {
                let what = if text.contains(":alias/") {
                    "an alias ARN"
                } else {
                    "a key ARN"
                };
                out.push(Raw::new(
                    "alias-or-key-arn-in-resource",
                    resource.span,
                    format!(
                        "`{text}` is {what}: in a key policy write \"*\" (this key); an alias ARN never matches, and another key's ARN never applies"
                    ),
                ));
            }
        }
    }
    if let Some(principal) = &statement.principal
        && allow
        && principal.value.negated
    {
        out.push(Raw::new(
            "notprincipal-with-allow",
            principal.span,
            "Allow with NotPrincipal allows every principal not listed, in every account; name the principals with Principal",
        ));
    }
    if !allow || statement.principal.is_none() {
        return;
    }
    let every_action = actions == ActionSet::all() || statement.action.value.negated;
    let what = if statement.action.value.negated {
        "NotAction"
    } else {
        "kms:*"
    };
    // Principals of the key's account named beside its root, in the statement that delegates
    // to IAM: what they get is `principal-beside-root-delegation`'s finding.
    let beside_root = own_account.is_some_and(|own| beside_root_delegation(statement, own));
    if let (true, Some(own)) = (beside_root, own_account) {
        for value in principal_entries(statement)
            .iter()
            .flat_map(|e| e.values.iter())
        {
            let named = Principal::parse_in_policy(PrincipalType::Aws, &value.value);
            if let Ok(p) = named
                && !matches!(p, Principal::Account { .. } | Principal::Root { .. })
                && p.account() == Some(own)
            {
                out.push(Raw::new(
                    "principal-beside-root-delegation",
                    value.span,
                    format!(
                        "`{}` is named beside the account in the statement that delegates to IAM: it holds the statement's actions ({}) through the key policy itself, which no IAM policy or permissions boundary can narrow (only an explicit Deny can); give it its own statement with the actions it needs, or leave it to IAM",
                        value.value,
                        if statement.action.value.negated || actions == ActionSet::all() {
                            "every KMS action".to_owned()
                        } else {
                            format!("{} actions", actions.iter().count())
                        }
                    ),
                ));
            }
        }
    }
    // To a principal other than an account; else to an account other than the key's.
    let to_whom = if beside_root {
        None
    } else if !only_accounts(statement) {
        Some("a principal other than the account".to_owned())
    } else {
        own_account.and_then(|own| {
            accounts_named(statement)
                .into_iter()
                .find(|a| a != own)
                .map(|other| format!("account {other}, not the key's ({own})"))
        })
    };
    if every_action && let Some(whom) = to_whom {
        let gives = if only_accounts(statement) {
            "every action KMS allows across accounts (using the key, and creating grants for it)"
        } else {
            "every KMS action, key deletion and policy changes included,"
        };
        let message = if only_accounts(statement) {
            format!("{what} gives {whom}, {gives}; list the actions it needs")
        } else {
            format!("{what} gives {gives} to {whom}; list the actions it needs")
        };
        out.push(Raw::new(
            "wildcard-actions-to-principal",
            statement.action.span,
            message,
        ));
    }
    // A principal that may also call kms:PutKeyPolicy can write anything a grant would give
    // into the policy itself: the grant adds nothing to what it administers.
    if let Some(create_grant) = kms_action("kms:CreateGrant")
        && actions.contains(create_grant)
        && !kms_action("kms:PutKeyPolicy").is_some_and(|put| actions.contains(put))
        && !only_accounts(statement)
        && !has_grant_for_aws_resource(statement)
        && !through_a_service(statement)
    {
        out.push(Raw::new(
            "grant-without-aws-resource-condition",
            statement.action.span,
            "kms:CreateGrant is allowed without \"Bool\": {\"kms:GrantIsForAWSResource\": \"true\"}: the principal can grant key use to anyone, beyond what this policy shows",
        ));
    }
}

pub(crate) fn document(document: &PolicyDocument, options: &LintOptions, out: &mut Vec<Raw>) {
    if options.kind != PolicyKind::KeyPolicy {
        return;
    }
    // A statement that names the account delegates to IAM, whoever else it names (the
    // CloudTrail console's default policy shares it with a user), under a condition too,
    // unless the condition lets no IAM identity through (`ineffective-root-delegation` says
    // so, once).
    let delegates = document
        .statements
        .iter()
        .any(|s| s.value.effect.value == Effect::Allow && names_an_account(&s.value));
    if !delegates && let Some(first) = document.statements.first() {
        out.push(Raw::new(
            "missing-root-delegation",
            first.span,
            "no statement allows the account principal (arn:aws:iam::<account>:root): IAM policies cannot give anyone use of this key; add the default statement if that is not intended",
        ));
    }
    // Redundant Allow statements: principals and actions within another's whose condition is
    // none or the same.
    let allows: Vec<_> = document
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.value.effect.value == Effect::Allow)
        .map(|(i, s)| {
            (
                i,
                s,
                principal_names(&s.value),
                statement_actions(&s.value),
                canonical_condition(&s.value),
            )
        })
        .collect();
    for (index, statement, principals, actions, condition) in &allows {
        let covering = allows.iter().find(
            |(other, _, other_principals, other_actions, other_condition)| {
                if other == index || actions.union(*other_actions) != *other_actions {
                    return false;
                }
                // An unconditional statement covers this one's condition; a conditional one
                // only the same condition.
                if other_condition.is_some() && other_condition != condition {
                    return false;
                }
                let principals_within = match (principals, other_principals) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(mine), Some(theirs)) => mine.is_subset(theirs),
                };
                // Identical statements: only the later one is redundant.
                let same = principals == other_principals
                    && actions == other_actions
                    && condition == other_condition;
                principals_within && (!same || other < index)
            },
        );
        if let Some((other, covering_statement, _, _, _)) = covering {
            let name = covering_statement
                .value
                .sid
                .as_ref()
                .map_or_else(|| format!("#{other}"), |sid| format!("'{}'", sid.value));
            out.push(Raw::new(
                "redundant-statement",
                statement.span,
                format!("statement {name} already allows these principals every action here; remove this statement or merge it"),
            ));
        }
    }
}

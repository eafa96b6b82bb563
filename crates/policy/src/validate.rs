//! Validation of a parsed document: what its values mean and the rules of its policy kind.
//!
//! The parser has already checked the document's shape; this checks principals, actions,
//! resources and condition keys, and for key policies the KMS quotas and refusals
//! (AWS KMS Developer Guide, "Creating a key policy" — Key policy format, "Resource quotas" —
//! Key policy document size, and "AWS KMS condition keys"; AWS KMS API Reference, PutKeyPolicy).

use crate::catalog;
use crate::error::{Diagnostics, PolicyErrorKind};
use crate::model::{PolicyDocument, PolicyKind, PrincipalValue, Statement};
use crate::operator::SetQualifier;
use crate::principal::{Principal, PrincipalError};
use crate::source::Span;
use std::collections::HashMap;

/// The KMS key-policy size quota, in bytes (not adjustable).
pub const KEY_POLICY_MAX_BYTES: usize = 32_768;

/// At most this many invalid-character errors are reported for one text.
const MAX_CHARACTER_ERRORS: usize = 10;

/// What is valid but almost certainly a mistake, for `keyward validate` to report without
/// refusing the policy: in a key policy, a statement without `Resource` or `NotResource`,
/// which KMS accepts but which "doesn't apply to any KMS key" (KMS Developer Guide, "Elements
/// in a key policy": "the CreateKey and PutKeyPolicy APIs succeed, even though the policy
/// statement is ineffective").
pub fn warnings(document: &PolicyDocument, kind: PolicyKind) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if kind == PolicyKind::KeyPolicy {
        for statement in &document.statements {
            if statement.value.resource.is_none() {
                diags.push(PolicyErrorKind::StatementWithoutResource, statement.span);
            }
        }
    }
    diags
}

/// Check `document`, parsed from `text`, against the rules of `kind`. Returns every problem,
/// sorted by position.
pub fn validate(document: &PolicyDocument, text: &str, kind: PolicyKind) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if kind == PolicyKind::KeyPolicy {
        key_policy_text(text, &mut diags);
    }
    if kind == PolicyKind::IdentityPolicy
        && let Some(id) = &document.id
    {
        diags.push(PolicyErrorKind::IdNotAllowed, id.span);
    }
    let mut sids: HashMap<&str, Span> = HashMap::new();
    for statement in &document.statements {
        statement_rules(&statement.value, statement.span, kind, &mut diags);
        if kind == PolicyKind::IdentityPolicy
            && let Some(sid) = &statement.sid
        {
            if !sid.value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                diags.push(
                    PolicyErrorKind::InvalidSid {
                        value: sid.value.clone(),
                    },
                    sid.span,
                );
            }
            if sids.insert(&sid.value, sid.span).is_some() {
                diags.push(
                    PolicyErrorKind::DuplicateSid {
                        value: sid.value.clone(),
                    },
                    sid.span,
                );
            }
        }
    }
    diags.sort();
    diags
}

fn key_policy_text(text: &str, diags: &mut Diagnostics) {
    if text.len() > KEY_POLICY_MAX_BYTES {
        diags.push(
            PolicyErrorKind::PolicyTooLarge {
                size: text.len(),
                limit: KEY_POLICY_MAX_BYTES,
            },
            Span::new(0, 0),
        );
    }
    // Nearly every policy is printable ASCII: check the bytes before decoding characters
    // (branch-free, so it vectorises).
    let plain = text.bytes().fold(true, |ok, b| {
        ok & ((0x20..0x80).contains(&b) | (b == b'\t') | (b == b'\n') | (b == b'\r'))
    });
    if plain {
        return;
    }
    let invalid = text
        .char_indices()
        .filter(|&(_, c)| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
        .take(MAX_CHARACTER_ERRORS);
    for (at, ch) in invalid {
        diags.push(
            PolicyErrorKind::InvalidCharacter {
                ch,
                code: ch as u32,
            },
            Span::new(at, at + ch.len_utf8()),
        );
    }
}

fn statement_rules(statement: &Statement, at: Span, kind: PolicyKind, diags: &mut Diagnostics) {
    match (&statement.principal, kind) {
        (Some(principal), PolicyKind::IdentityPolicy) => diags.push(
            PolicyErrorKind::PrincipalNotAllowed {
                element: principal.element(),
            },
            principal.span,
        ),
        (None, PolicyKind::KeyPolicy) => diags.push(
            PolicyErrorKind::MissingElement {
                element: "Principal",
                context: "a key policy statement",
                reason: "or NotPrincipal: a key policy names who each statement applies to",
            },
            at,
        ),
        (Some(principal), PolicyKind::KeyPolicy) => {
            if let PrincipalValue::Map(entries) = &principal.value.value {
                for entry in entries {
                    for value in &entry.values {
                        principal_value(
                            entry.principal_type.value,
                            &value.value,
                            value.span,
                            diags,
                        );
                    }
                }
            }
        }
        (None, PolicyKind::IdentityPolicy) => {}
    }
    for action in &statement.action.patterns {
        if let Some(reason) = action_problem(&action.value) {
            diags.push(
                PolicyErrorKind::InvalidAction {
                    value: action.value.clone(),
                    reason,
                },
                action.span,
            );
        }
    }
    if statement.resource.is_none() && kind == PolicyKind::IdentityPolicy {
        diags.push(
            PolicyErrorKind::MissingElement {
                element: "Resource",
                context: "a statement",
                reason: "or NotResource: an identity policy statement names the resources it applies to",
            },
            at,
        );
    }
    for resource in statement.resource.iter().flat_map(|r| &r.value.patterns) {
        if let Some(reason) = resource_problem(&resource.value) {
            diags.push(
                PolicyErrorKind::InvalidResource {
                    value: resource.value.clone(),
                    reason,
                },
                resource.span,
            );
        }
    }
    if let Some(condition) = &statement.condition {
        for entry in &condition.operators {
            for key in &entry.keys {
                let name = key.key.value.as_str();
                if let Some(reason) = condition_key_problem(name) {
                    diags.push(
                        PolicyErrorKind::InvalidConditionKey {
                            key: name.to_owned(),
                            reason,
                        },
                        key.key.span,
                    );
                    continue;
                }
                if kind != PolicyKind::KeyPolicy {
                    continue;
                }
                if catalog::forbidden_in_key_policy(name) {
                    diags.push(
                        PolicyErrorKind::ConditionKeyNotPermitted {
                            key: name.to_owned(),
                        },
                        key.key.span,
                    );
                }
                if entry.operator.value.qualifier == Some(SetQualifier::ForAllValues)
                    && overly_permissive_with_for_all(name)
                {
                    diags.push(
                        PolicyErrorKind::OverlyPermissiveCondition {
                            key: name.to_owned(),
                        },
                        key.key.span,
                    );
                }
            }
        }
    }
}

fn principal_value(
    principal_type: crate::model::PrincipalType,
    value: &str,
    at: Span,
    diags: &mut Diagnostics,
) {
    match Principal::parse_in_policy(principal_type, value) {
        Ok(_) => {}
        Err(PrincipalError::PartialWildcard) => {
            diags.push(
                PolicyErrorKind::PrincipalPartialWildcard {
                    value: value.to_owned(),
                },
                at,
            );
        }
        Err(PrincipalError::Invalid(reason)) => diags.push(
            PolicyErrorKind::InvalidPrincipal {
                principal_type: principal_type.as_str(),
                value: value.to_owned(),
                reason,
            },
            at,
        ),
    }
}

/// `*`, or `service:name` where the service is letters, digits and `-`, and the name letters,
/// digits and wildcards.
fn action_problem(action: &str) -> Option<&'static str> {
    if action == "*" {
        return None;
    }
    let Some((service, name)) = action.split_once(':') else {
        return Some("an action is \"service:Action\", such as \"kms:Decrypt\", or \"*\"");
    };
    if service.is_empty()
        || !service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*' || b == b'?')
    {
        return Some("the service prefix must be letters, digits or hyphens, such as \"kms\"");
    }
    if name.is_empty() {
        return Some("the action name after the colon is empty");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?' || b == b'-' || b == b'_')
    {
        return Some("an action name has only letters, digits and the wildcards * and ?");
    }
    None
}

/// `*`, or an ARN of six parts.
fn resource_problem(resource: &str) -> Option<&'static str> {
    if resource == "*" || crate::arn::ArnPattern::resource(resource).is_ok() {
        return None;
    }
    if resource.starts_with("alias/") || resource.starts_with("key/") {
        return Some("a resource is an ARN or \"*\"; a key policy uses \"*\" for its key");
    }
    Some(
        "a resource is \"*\" or an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, or shortened with a trailing * such as arn:aws:kms:*)",
    )
}

/// Condition keys are `prefix:name`.
fn condition_key_problem(key: &str) -> Option<&'static str> {
    match key.split_once(':') {
        Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() => {
            if key.chars().any(char::is_whitespace) {
                Some("a condition key has no spaces")
            } else {
                None
            }
        }
        _ => Some(
            "a condition key is \"prefix:name\", such as \"kms:ViaService\" or \"aws:SourceIp\"",
        ),
    }
}

/// `ForAllValues` on these single-valued keys is refused by KMS (OverlyPermissiveCondition).
fn overly_permissive_with_for_all(key: &str) -> bool {
    ["kms:EncryptionContext:", "aws:RequestTag/"]
        .iter()
        .any(|prefix| catalog::extends_ignoring_case(key, prefix))
}

//! `keyward check no-new-access|access-not-granted|no-public-access`: IAM Access Analyzer's
//! custom policy checks for a key policy, decided offline by the analysis. The parameters are
//! Access Analyzer's; the answer is its JSON (`result`, `message`, `reasons`), with a witness
//! request for every FAIL.

use super::Outcome;
use super::diff::{KeyArgs, key, read_grants};
use super::validate::check as validate;
use crate::input::{self, Input};
use keyward_analysis::{Access, AnalysisError, CheckReport, PolicySet};
use keyward_policy::PolicyKind;

/// Which check, with its own parameters.
#[derive(Debug)]
pub(crate) enum Check {
    NoNewAccess {
        existing: String,
        new: String,
        policy_type: String,
    },
    AccessNotGranted {
        policy: String,
        access: String,
        policy_type: String,
    },
    NoPublicAccess {
        policy: String,
        resource_type: String,
    },
}

/// What stands beside the key policy.
#[derive(Debug)]
pub(crate) struct CheckContext {
    pub(crate) identity_policies: Vec<String>,
    pub(crate) grants: Option<String>,
    pub(crate) key: KeyArgs,
}

/// Run the check, print its JSON answer, and say PASS (0) or FAIL (1).
pub(crate) fn run(check: &Check, context: &CheckContext) -> Outcome {
    match decide(check, context) {
        Ok(report) => match serde_json::to_string_pretty(&report) {
            Ok(text) => {
                crate::out::println(&text);
                if report.result == "PASS" {
                    Outcome::Success
                } else {
                    Outcome::Failure
                }
            }
            Err(e) => {
                crate::out::eprintln(&format!("keyward: error: the answer: {e}"));
                Outcome::Error
            }
        },
        Err(messages) => {
            for message in messages {
                crate::out::eprintln(&message);
            }
            Outcome::Error
        }
    }
}

fn decide(check: &Check, context: &CheckContext) -> Result<CheckReport, Vec<String>> {
    let failed = |e: AnalysisError| vec![format!("keyward: error: {e}")];
    match check {
        Check::NoNewAccess {
            existing,
            new,
            policy_type,
        } => {
            resource_policy(policy_type)?;
            let existing = document(existing)?;
            let new = document(new)?;
            let key = key(&context.key, &[&new.text, &existing.text])?;
            let (existing, new) = (side(existing, context)?, side(new, context)?);
            keyward_analysis::check_no_new_access(&existing, &new, &key).map_err(failed)
        }
        Check::AccessNotGranted {
            policy,
            access,
            policy_type,
        } => {
            resource_policy(policy_type)?;
            let access = read_access(access)?;
            let policy = document(policy)?;
            let key = key(&context.key, &[&policy.text])?;
            let policy = side(policy, context)?;
            keyward_analysis::check_access_not_granted(&policy, &access, &key).map_err(failed)
        }
        Check::NoPublicAccess {
            policy,
            resource_type,
        } => {
            if resource_type != "AWS::KMS::Key" {
                return Err(vec![format!(
                    "keyward: error: --resource-type {resource_type}: keyward checks key policies (AWS::KMS::Key)"
                )]);
            }
            let policy = document(policy)?;
            let key = key(&context.key, &[&policy.text])?;
            let policy = side(policy, context)?;
            keyward_analysis::check_no_public_access(&policy, &key).map_err(failed)
        }
    }
}

fn resource_policy(policy_type: &str) -> Result<(), Vec<String>> {
    if policy_type == "RESOURCE_POLICY" {
        Ok(())
    } else {
        Err(vec![format!(
            "keyward: error: --policy-type {policy_type}: keyward checks key policies (RESOURCE_POLICY)"
        )])
    }
}

/// A key policy, read as the AWS CLI reads a document and checked as `keyward validate`
/// checks it.
fn document(argument: &str) -> Result<Input, Vec<String>> {
    let input = input::read_document(argument).map_err(|m| vec![m])?;
    validate(&input, PolicyKind::KeyPolicy)?;
    Ok(input)
}

/// The key policy with the identity policies and grants of the context.
fn side(policy: Input, context: &CheckContext) -> Result<PolicySet, Vec<String>> {
    let identity_policies = if context.identity_policies.is_empty() {
        None
    } else {
        Some(
            context
                .identity_policies
                .iter()
                .map(|p| super::diff::policy(p, PolicyKind::IdentityPolicy).map(|i| i.text))
                .collect::<Result<Vec<String>, Vec<String>>>()?,
        )
    };
    let grants = match &context.grants {
        Some(path) => read_grants(path)?,
        None => Vec::new(),
    };
    Ok(PolicySet {
        key_policy: policy.text,
        identity_policies,
        grants,
    })
}

/// Access Analyzer's `access` parameter: a list of one object (or the object alone) with
/// `actions` and `resources`.
fn read_access(argument: &str) -> Result<Access, Vec<String>> {
    let input = if argument.starts_with("file://") || argument.trim_start().starts_with(['[', '{'])
    {
        input::read_document(argument).map_err(|m| vec![m])?
    } else {
        return Err(vec![format!(
            "keyward: error: --access: give it as JSON ('[{{\"actions\": [\"kms:Decrypt\"]}}]') or file://PATH"
        )]);
    };
    let at = |e: &serde_json::Error| {
        format!(
            "keyward: error: {}:{}:{}: --access: {e}",
            input.name,
            e.line(),
            e.column()
        )
    };
    let value: serde_json::Value = serde_json::from_str(&input.text).map_err(|e| vec![at(&e)])?;
    let objects = match value {
        serde_json::Value::Array(items) => items,
        object @ serde_json::Value::Object(_) => vec![object],
        _ => {
            return Err(vec![format!(
                "keyward: error: {}: --access: expected [{{\"actions\": [...], \"resources\": [...]}}]",
                input.name
            )]);
        }
    };
    let mut access = Access::default();
    for object in objects {
        let list = |field: &str| -> Result<Vec<String>, Vec<String>> {
            match object.get(field) {
                None => Ok(Vec::new()),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_owned).ok_or_else(|| {
                            vec![format!(
                                "keyward: error: {}: --access: every entry of \"{field}\" is a string",
                                input.name
                            )]
                        })
                    })
                    .collect(),
                Some(_) => Err(vec![format!(
                    "keyward: error: {}: --access: \"{field}\" is a list of strings",
                    input.name
                )]),
            }
        };
        if let Some(unknown) = object
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "actions" && *k != "resources"))
        {
            return Err(vec![format!(
                "keyward: error: {}: --access: unknown field \"{unknown}\" (actions, resources)",
                input.name
            )]);
        }
        access.actions.extend(list("actions")?);
        access.resources.extend(list("resources")?);
    }
    if access.actions.is_empty() && access.resources.is_empty() {
        return Err(vec![format!(
            "keyward: error: {}: --access names no actions and no resources",
            input.name
        )]);
    }
    Ok(access)
}

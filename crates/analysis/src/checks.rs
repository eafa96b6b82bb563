//! The three custom policy checks of IAM Access Analyzer, for key policies, decided offline by
//! the diff: `no-new-access` (does NEW allow anything EXISTING does not?), `access-not-granted`
//! (does the policy allow any of these actions?) and `no-public-access` (does it allow
//! principals of accounts it does not name?). The answer has Access Analyzer's shape
//! (`result`, `message`, `reasons` with a statement index and ID), and every `FAIL` carries a
//! witness request that `authz` confirms.

use crate::AnalysisError;
use crate::diff::{DiffReport, Finding, diff};
use crate::glob::Glob;
use crate::space::{KeyFacts, PolicySet};
use keyward_policy::catalog::ActionId;
use serde::Serialize;
use serde_json::Value;

/// A key policy that allows nothing: what `access-not-granted` and `no-public-access`
/// compare the policy with.
const ALLOWS_NOTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowsNothing","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;

/// A key policy that allows every request of a principal in an organization: what
/// `no-public-access` compares the policy with, so that access conditioned on the caller's
/// organization (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`) is not public, as Access
/// Analyzer and AWS Config judge it.
const ALLOWS_ORGANIZATIONS: &str = r#"{"Version":"2012-10-17","Statement":[
{"Sid":"MembersOfAnOrganization","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Null":{"aws:PrincipalOrgID":"false"}}},
{"Sid":"MembersOfAnOrganizationPath","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Null":{"aws:PrincipalOrgPaths":"false"}}}]}"#;

/// Why a check failed: one statement that allows the access (or none, when the access comes
/// through a grant or an identity policy only), in Access Analyzer's field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReason {
    /// Who gains what, and when.
    pub description: String,
    /// The statement's 0-based index in the policy checked (NEW for `no-new-access`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_index: Option<usize>,
    /// The statement's `Sid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_id: Option<String>,
    /// A request that the policy checked allows and the comparison does not.
    pub witness: Value,
}

/// A check's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// `PASS` or `FAIL`.
    pub result: &'static str,
    /// The answer in a sentence.
    pub message: String,
    /// For a `FAIL`, each statement that allows the access.
    pub reasons: Vec<CheckReason>,
    /// For a `FAIL`, one request that shows it (the first reason's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Value>,
    /// The kinds of request behind the reasons, as `keyward diff` reports them.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    fn of(findings: Vec<Finding>, pass: &str, fail: impl FnOnce(usize) -> String) -> Self {
        let mut reasons = Vec::new();
        for finding in &findings {
            let description = format!(
                "{} can call {} when {}",
                finding.description,
                finding.actions.join(", "),
                finding.condition
            );
            if finding.statements.is_empty() {
                reasons.push(CheckReason {
                    description: format!("{description} (via {})", finding.via.join(", ")),
                    statement_index: None,
                    statement_id: None,
                    witness: finding.witness.clone(),
                });
            }
            for statement in &finding.statements {
                reasons.push(CheckReason {
                    description: description.clone(),
                    statement_index: Some(statement.index),
                    statement_id: statement.sid.clone(),
                    witness: finding.witness.clone(),
                });
            }
        }
        if findings.is_empty() {
            Self {
                result: "PASS",
                message: pass.to_owned(),
                reasons,
                witness: None,
                findings,
            }
        } else {
            Self {
                result: "FAIL",
                message: fail(findings.len()),
                witness: findings.first().map(|f| f.witness.clone()),
                reasons,
                findings,
            }
        }
    }
}

/// `CheckNoNewAccess`: does `new` allow any request that `existing` does not?
pub fn check_no_new_access(
    existing: &PolicySet,
    new: &PolicySet,
    key: &KeyFacts,
) -> Result<CheckReport, AnalysisError> {
    let report = diff(existing, new, key)?;
    Ok(CheckReport::of(
        report.findings,
        "The new policy allows nothing the existing policy does not.",
        |n| {
            format!(
                "The new policy allows {n} kind{} of request that the existing policy does not.",
                plural(n)
            )
        },
    ))
}

/// What `access-not-granted` asks about, as Access Analyzer's `access` object: actions
/// (globs allowed, case ignored; none means every action) and resources (none means any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The actions that must not be allowed (`kms:Decrypt`, `kms:Generate*`).
    pub actions: Vec<String>,
    /// The resources they must not be allowed on (the key's ARN, a pattern, `*`).
    pub resources: Vec<String>,
}

/// `CheckAccessNotGranted`: does `policy` allow anyone any of `access`'s actions on the key?
pub fn check_access_not_granted(
    policy: &PolicySet,
    access: &Access,
    key: &KeyFacts,
) -> Result<CheckReport, AnalysisError> {
    let wanted = actions(&access.actions)?;
    let on_the_key = access.resources.is_empty()
        || access.resources.iter().any(|r| {
            r == "*"
                || Glob::arn(r).is_some_and(|g| g.is_match(&key.arn))
                || Glob::like(r, false).is_match(&key.arn)
        });
    let pass = "The policy allows none of the access.";
    if !on_the_key {
        return Ok(CheckReport::of(Vec::new(), pass, |_| String::new()));
    }
    let mut findings = against_nothing(policy, key)?.findings;
    findings.retain_mut(|f| {
        f.actions
            .retain(|a| wanted.iter().any(|w| w.qualified_name() == a));
        !f.actions.is_empty()
    });
    // Each witness makes one of the actions asked about (the finding's actions are decided
    // alike), confirmed again.
    let nothing = allows_nothing(policy);
    for finding in &mut findings {
        if let Some(first) = finding.actions.first().cloned() {
            retarget(finding, &first, policy, &nothing)?;
        }
    }
    Ok(CheckReport::of(findings, pass, |n| {
        format!(
            "The policy allows some of the access: {n} kind{} of request.",
            plural(n)
        )
    }))
}

/// `CheckNoPublicAccess`: does `policy` allow principals of accounts it does not name, that
/// belong to no organization? (Access conditioned on the caller's organization is not
/// public; access through a service, or only over TLS, is.)
pub fn check_no_public_access(
    policy: &PolicySet,
    key: &KeyFacts,
) -> Result<CheckReport, AnalysisError> {
    let organizations = PolicySet {
        key_policy: ALLOWS_ORGANIZATIONS.to_owned(),
        identity_policies: policy.identity_policies.clone(),
        grants: Vec::new(),
    };
    let mut findings = diff(&organizations, policy, key)?.findings;
    findings.retain(|f| f.public);
    Ok(CheckReport::of(
        findings,
        "The policy allows no principal outside the accounts it names and every organization.",
        |n| {
            format!(
                "The policy allows public access: {n} kind{} of request by principals of accounts it does not name, in no organization.",
                plural(n)
            )
        },
    ))
}

/// `authz`'s decision on `witness` completed with `set`: its verdict and explanation.
pub(crate) fn decide(
    witness: &Value,
    set: &PolicySet,
) -> Result<keyward_authz::Decision, AnalysisError> {
    let text = crate::witness::complete_witness(witness, set).to_string();
    let request = keyward_authz::Request::parse(&text)
        .map_err(|e| AnalysisError::Bug(format!("a witness does not read as a request: {e}")))?;
    let authorizer = keyward_authz::Authorizer::for_request(&request)
        .map_err(|e| AnalysisError::Bug(format!("a witness's policies do not compile: {e}")))?;
    Ok(authorizer.decide(&request))
}

/// A finding's witness made to call `action` instead (an action decided alike), confirmed
/// again: allowed under `allowing`, not under `denying`, with both explanations anew.
pub(crate) fn retarget(
    finding: &mut Finding,
    action: &str,
    allowing: &PolicySet,
    denying: &PolicySet,
) -> Result<(), AnalysisError> {
    if let Value::Object(members) = &mut finding.witness {
        members.insert("action".into(), Value::String(action.to_owned()));
    }
    let (yes, no) = (
        decide(&finding.witness, allowing)?,
        decide(&finding.witness, denying)?,
    );
    if yes.verdict != keyward_authz::Verdict::Allow || no.verdict == keyward_authz::Verdict::Allow {
        return Err(AnalysisError::Bug(format!(
            "the witness {} is {:?} under the policy and {:?} without it",
            finding.witness, yes.verdict, no.verdict
        )));
    }
    finding.explanations.allowed = yes.explanation;
    finding.explanations.denied = no.explanation;
    Ok(())
}

/// Everything `policy` allows: its diff with a policy that allows nothing (the same identity
/// policies, no grants).
fn against_nothing(policy: &PolicySet, key: &KeyFacts) -> Result<DiffReport, AnalysisError> {
    diff(&allows_nothing(policy), policy, key)
}

/// A key policy that allows nothing, with `policy`'s identity policies and no grants.
pub(crate) fn allows_nothing(policy: &PolicySet) -> PolicySet {
    PolicySet {
        key_policy: ALLOWS_NOTHING.to_owned(),
        identity_policies: policy.identity_policies.clone(),
        grants: Vec::new(),
    }
}

/// The actions involving a key that `patterns` name (every one when there are none): the
/// actions on a key and the alias operations.
fn actions(patterns: &[String]) -> Result<Vec<ActionId>, AnalysisError> {
    let on_keys = ActionId::involving_a_key;
    if patterns.is_empty() {
        return Ok(on_keys().collect());
    }
    let mut out = Vec::new();
    for pattern in patterns {
        let glob = Glob::like(pattern, true);
        let named: Vec<ActionId> = on_keys()
            .filter(|a| glob.is_match(a.qualified_name()))
            .collect();
        if named.is_empty() {
            return Err(AnalysisError::Input(format!(
                "{pattern} names no KMS action on a key or an alias"
            )));
        }
        out.extend(
            named
                .into_iter()
                .filter(|a| !out.contains(a))
                .collect::<Vec<_>>(),
        );
    }
    Ok(out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

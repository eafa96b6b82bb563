//! Can this principal call this action on the key, and when? The point question, answered
//! from the same analysis as `diff`: every kind of request of the principal that the policies
//! allow, each with its residual condition, the statements and grants that allow it, and a
//! witness request made by the principal itself, confirmed by `authz`.

use crate::AnalysisError;
use crate::checks::{allows_nothing, decide, retarget};
use crate::diff::{Finding, compare};
use crate::principals::session_role;
use crate::scp::{NamedPolicy, ServiceControlPolicies};
use crate::space::CallerPolicies;
use crate::space::{KeyFacts, PolicySet};
use keyward_policy::catalog::ActionId;
use serde::Serialize;
use serde_json::Value;

/// One way the principal is allowed: under a residual condition, through statements and
/// grants, shown by a witness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanPath {
    /// What else the request must be (`always` when nothing).
    pub condition: String,
    /// The key-policy statements that allow it.
    pub statements: Vec<crate::diff::StatementRef>,
    /// The grants and identity policies that take part.
    pub via: Vec<String>,
    /// A request in the `keyward authorize` format by the principal, without the key policy
    /// and grants: completed with them, allowed.
    pub witness: Value,
    /// `authz`'s explanation of the witness.
    pub explanation: String,
}

/// The answer to "can PRINCIPAL call ACTION on the key?".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanReport {
    /// The principal asked about.
    pub principal: String,
    /// The action asked about.
    pub action: String,
    /// The key.
    pub key: String,
    /// `ALLOWED` (always), `ALLOWED WHEN` (under the paths' conditions) or `DENIED`.
    pub answer: &'static str,
    /// Each way it is allowed; none when denied.
    pub paths: Vec<CanPath>,
    /// When denied: `authz`'s explanation of the plainest request (the principal calling the
    /// action, nothing else in its context), which names what denies or what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<String>,
}

/// Whether `principal` (a user, role or role-session ARN, or an account's root) may call
/// `action` on the key under `set` (whose identity policies are the principal's own), and
/// under which conditions. For a session, `role` is its role's ARN with its path when it is
/// known (a session's ARN leaves the path out, and `aws:PrincipalArn` has it); without it the
/// role is taken to have no path.
pub fn can(
    principal: &str,
    role: Option<&str>,
    action: ActionId,
    set: &PolicySet,
    key: &KeyFacts,
) -> Result<CanReport, AnalysisError> {
    can_governed(principal, role, action, set, key, None, None)
}

/// [`can`], with the organization's SCPs over the principal's account (`scps.accounts`) and
/// RCPs over the key, and the principal's permissions `boundary`: a request they refuse is not
/// allowed, and a denial they cause says so.
pub fn can_governed(
    principal: &str,
    role: Option<&str>,
    action: ActionId,
    set: &PolicySet,
    key: &KeyFacts,
    scps: Option<&ServiceControlPolicies>,
    boundary: Option<&NamedPolicy>,
) -> Result<CanReport, AnalysisError> {
    if keyward_policy::principal::Principal::parse_caller(principal).is_err() {
        return Err(AnalysisError::Input(format!(
            "{principal} is not a principal ARN (a user, role, role session or root)"
        )));
    }
    let nothing = allows_nothing(set);
    // The principal, and a session's role, are named: each its own cell, not a class.
    let role = session_role(principal).map(|bare| role.map_or(bare, str::to_owned));
    let mut named = vec![principal];
    named.extend(role.as_deref());
    // The principal with its boundary: its own set of callers, with the set's policies.
    let callers: Vec<CallerPolicies> = boundary
        .map(|b| CallerPolicies {
            callers: named.iter().map(|&a| a.to_owned()).collect(),
            texts: set.identity_policies.clone().unwrap_or_default(),
            boundary: Some(b.clone()),
        })
        .into_iter()
        .collect();
    let report = compare(
        (&nothing, None, &callers),
        (set, scps, &callers),
        key,
        &named,
        false,
    )?;
    let mut paths = Vec::new();
    for mut finding in report.findings {
        if !stands_for(&finding, principal, role.as_deref())
            || !finding.actions.iter().any(|a| a == action.qualified_name())
        {
            continue;
        }
        // The witness: the session asked about, when it was another session of the role
        // (a role itself calls through its sessions), calling the action asked about.
        if role.is_some()
            && let Value::Object(members) = &mut finding.witness
        {
            members.insert("principal".into(), Value::String(principal.to_owned()));
        }
        retarget(&mut finding, action.qualified_name(), set, &nothing)?;
        // It carries the principal's own identity policies, when they were given.
        if let (Some(texts), Value::Object(members)) =
            (&set.identity_policies, &mut finding.witness)
            && !texts.is_empty()
        {
            let parsed = texts
                .iter()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone())))
                .collect();
            members.insert("identity_policies".into(), Value::Array(parsed));
        }
        paths.push(CanPath {
            condition: finding.condition,
            statements: finding.statements,
            via: finding.via,
            witness: finding.witness,
            explanation: finding.explanations.allowed,
        });
    }
    let denial = if paths.is_empty() {
        let mut plain = serde_json::json!({
            "principal": principal,
            "action": action.qualified_name(),
            "resource": key.arn,
            "key": crate::witness::key_json(key),
        });
        if crate::aliases::is_alias_operation(action)
            && let Value::Object(members) = &mut plain
        {
            // An alias operation names an alias, and the key as its target.
            members.insert("resource".into(), crate::aliases::plain_alias(key)?.into());
            members.insert("target_key".into(), key.arn.clone().into());
        }
        if let (Some(texts), Value::Object(members)) = (&set.identity_policies, &mut plain) {
            let parsed = texts
                .iter()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone())))
                .collect();
            members.insert("identity_policies".into(), Value::Array(parsed));
        }
        let decision = decide(&plain, set)?;
        let refusal = if decision.verdict == keyward_authz::Verdict::Allow
            && (scps.is_some() || boundary.is_some())
        {
            let side = crate::space::Side::governed(
                set,
                scps,
                &callers,
                &mut crate::mentions::Mentions::default(),
            )?;
            let text = crate::witness::complete_witness(&plain, set).to_string();
            let request = keyward_authz::Request::parse(&text)
                .map_err(|e| AnalysisError::Bug(format!("a request does not read back: {e}")))?;
            side.scp_refusal(&request)
        } else {
            None
        };
        Some(match refusal {
            Some(refusal) => crate::space::scp_words(&refusal, &decision.explanation),
            None => decision.explanation,
        })
    } else {
        None
    };
    let answer = if paths.is_empty() {
        "DENIED"
    } else if paths.iter().any(|p| p.condition == "always") {
        "ALLOWED"
    } else {
        "ALLOWED WHEN"
    };
    Ok(CanReport {
        principal: principal.to_owned(),
        action: action.qualified_name().to_owned(),
        key: key.arn.clone(),
        answer,
        paths,
        denial,
    })
}

/// Whether a finding is about `principal`: its own, or, for a session, its role's with its
/// sessions.
fn stands_for(finding: &Finding, principal: &str, role: Option<&str>) -> bool {
    finding.principal == principal
        || role.is_some_and(|r| {
            finding.principal == r && finding.kind == crate::principals::PrincipalKind::Role
        })
}

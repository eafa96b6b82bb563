//! Who can use this key? Every principal of the account that the authorization details list
//! (its root user, users and roles with their sessions), each decided with its own identity
//! policies and the organization's SCPs; and every other caller as a class (another account's
//! principals, everyone, an AWS service), whose own IAM policies are assumed to allow as IAM
//! Access Analyzer assumes. Each row has the actions, the residual condition, the path (the
//! key-policy statements, identity policies and grants that allow it), and a witness that
//! `authz` confirms. What explicit denials and SCPs take away is a row of its own, with what
//! shadows it.
//!
//! Principals whose identity policies, once those that cannot apply to a KMS key action are
//! left out, are the same are analysed together, in one pass that names each of them.

use crate::AnalysisError;
use crate::authorization::{AuthorizationDetails, IdentityPolicy};
use crate::diff::{Finding, compare};
use crate::mentions::{Mentions, account_of};
use crate::principals::PrincipalKind;
use crate::scp::{NamedPolicy, ServiceControlPolicies};
use crate::space::{KeyFacts, PolicySet, Side};
use crate::witness;
use keyward_authz::{Decision, PolicySource, Source, Verdict};
use keyward_grants::Grant;
use keyward_policy::catalog::{ActionId, ResourceScope};
use keyward_policy::{Effect, PolicyKind, parse_and_validate};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What `who-can` reads: the key, its policy and grants, the account's IAM data and the
/// organization's SCPs over it.
#[derive(Debug, Clone)]
pub struct WhoCanInputs {
    /// The key and its properties.
    pub key: KeyFacts,
    /// The key policy's text.
    pub key_policy: String,
    /// The key's grants.
    pub grants: Vec<Grant>,
    /// The account's IAM data (`aws iam get-account-authorization-details`). Without it, the
    /// key's account is a class like any other.
    pub details: Option<AuthorizationDetails>,
    /// The SCPs over the account, by level from the organization's root down.
    pub scp_levels: Vec<Vec<NamedPolicy>>,
    /// The actions asked about (every key action when empty).
    pub actions: Vec<ActionId>,
}

/// One principal or class, and what it can do on the key one way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhoCanRow {
    /// An ARN; a class (`arn:aws:iam::ACCOUNT:root` for every principal of an account, an
    /// ARN pattern such as `arn:aws:iam::ACCOUNT:role/*`, `*` for everyone); or a service.
    pub principal: String,
    /// `root`, `user`, `role`, `session`, `federated-user`, `service` or `account`.
    pub kind: PrincipalKind,
    /// Where it stands: `same-account`, `other-account`, `public`, `organization` (everyone,
    /// under an organization condition) or `service`.
    pub scope: &'static str,
    /// The principal in words.
    pub description: String,
    /// The actions, in catalog order.
    pub actions: Vec<String>,
    /// The path: `key-policy:SID` (or `key-policy:#INDEX`), `identity-policy:SOURCE#INDEX`
    /// (the policy as the authorization details name it, and the statement),
    /// `identity-policy:assumed`, `grant:ID` with its constraint.
    pub via: Vec<String>,
    /// The residual condition in words (`always` when none).
    pub condition: String,
    /// What takes this access away: empty for access the principal has; otherwise the
    /// explicit denials (`key-policy:SID`, `identity-policy:SOURCE#INDEX`) and SCPs
    /// (`scp:...`) that deny every request of the row.
    pub shadowed_by: Vec<String>,
    /// A request in the `keyward authorize` format, without the key policy and grants, with
    /// the principal's identity policies: completed with them, allowed (denied when the row is
    /// shadowed, by what shadows it).
    pub witness: Value,
}

/// The answer of `who-can`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhoCanReport {
    /// The key's ARN.
    pub key: String,
    /// One row per principal or class and way.
    pub rows: Vec<WhoCanRow>,
    /// How many principals of the authorization details were analysed.
    #[serde(skip)]
    pub principals: usize,
    /// In how many groups (principals with the same KMS-relevant identity policies).
    #[serde(skip)]
    pub groups: usize,
    /// The principals left out, each with why (a permissions boundary, which the analysis
    /// does not apply yet): their rows would not be exact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_analysed: Vec<String>,
    /// What the reader should know about the inputs (an SCP level that denies everything).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// A principal of the account with the identity policies in force for it.
struct Member {
    arn: String,
    policies: Vec<IdentityPolicy>,
}

/// Who can use the key: every row, sorted by principal.
pub fn who_can(inputs: &WhoCanInputs) -> Result<WhoCanReport, AnalysisError> {
    let key_account = account_of(&inputs.key.arn)
        .ok_or_else(|| AnalysisError::Input(format!("{} is not a key ARN", inputs.key.arn)))?
        .to_owned();
    let account = inputs
        .details
        .as_ref()
        .and_then(AuthorizationDetails::account)
        .unwrap_or_else(|| key_account.clone());
    let scps = (!inputs.scp_levels.is_empty()).then(|| ServiceControlPolicies {
        accounts: vec![account.clone()],
        levels: inputs.scp_levels.clone(),
    });
    let mut warnings = Vec::new();
    if let Some(scps) = &scps {
        let compiled = crate::scp::Guardrails::new(scps, &mut Mentions::default())?;
        for level in compiled.levels_without_allow() {
            warnings.push(format!(
                "SCP level {level} has no Allow statement, so it denies every action of account {account} (as in AWS); give a level as a JSON array of its SCPs, FullAWSAccess included, when it has several"
            ));
        }
    }
    let wanted: Vec<ActionId> = if inputs.actions.is_empty() {
        ActionId::all()
            .filter(|a| a.info().resource == ResourceScope::Key)
            .collect()
    } else {
        inputs.actions.clone()
    };
    let mut rows = Vec::new();
    let mut not_analysed = Vec::new();
    let mut principals = 0;
    let mut group_count = 0;
    // The account's own principals, in groups of the same relevant identity policies.
    if let Some(details) = &inputs.details {
        let mut members = vec![Member {
            arn: format!("arn:{}:iam::{account}:root", partition(&inputs.key.arn)),
            policies: Vec::new(),
        }];
        for arn in details.principals() {
            match details.policies_of(arn) {
                Ok(policies) => members.push(Member {
                    policies,
                    arn: arn.to_owned(),
                }),
                Err(AnalysisError::Unsupported(why)) => not_analysed.push(why),
                Err(e) => return Err(e),
            }
        }
        principals = members.len();
        let mut groups: BTreeMap<Vec<String>, Vec<Member>> = BTreeMap::new();
        for member in members {
            groups
                .entry(relevant(&member.policies)?)
                .or_default()
                .push(member);
        }
        group_count = groups.len();
        for (texts, group) in &groups {
            let set = PolicySet {
                key_policy: inputs.key_policy.clone(),
                identity_policies: Some(texts.clone()),
                grants: inputs.grants.clone(),
            };
            let named: Vec<&str> = group.iter().map(|m| m.arn.as_str()).collect();
            let of_group = |f: &Finding| {
                group.iter().find(|m| {
                    f.principal == m.arn
                        || (f.kind == PrincipalKind::Session
                            && crate::principals::session_role(&f.principal)
                                .is_some_and(|r| r == m.arn || role_named(&f.witness, &m.arn)))
                })
            };
            let mut found = Vec::new();
            let nothing = crate::checks::allows_nothing(&set);
            for finding in compare(
                (&nothing, None),
                (&set, scps.as_ref()),
                &inputs.key,
                &named,
                true,
            )?
            .findings
            {
                if let Some(member) = of_group(&finding) {
                    found.push((finding, member, Vec::new()));
                }
            }
            if let Some(stripped) = without_denials(&set)? {
                for finding in compare(
                    (&set, scps.as_ref()),
                    (&stripped, None),
                    &inputs.key,
                    &named,
                    true,
                )?
                .findings
                {
                    if let Some(member) = of_group(&finding) {
                        found.push((finding, member, vec![()]));
                    }
                }
            }
            for (finding, member, shadowed) in found {
                let Some(actions) = asked(&finding, &wanted) else {
                    continue;
                };
                rows.push(member_row(
                    finding,
                    member,
                    actions,
                    !shadowed.is_empty(),
                    inputs,
                    scps.as_ref(),
                    &account,
                )?);
            }
        }
    }
    // Everyone else, as classes, assuming their own IAM policies allow.
    let set = PolicySet {
        key_policy: inputs.key_policy.clone(),
        identity_policies: None,
        grants: inputs.grants.clone(),
    };
    let outside =
        |f: &Finding| inputs.details.is_none() || account_of(&f.principal) != Some(&account);
    let nothing = crate::checks::allows_nothing(&set);
    let mut found: Vec<(Finding, bool)> =
        compare((&nothing, None), (&set, None), &inputs.key, &[], false)?
            .findings
            .into_iter()
            .filter(|f| outside(f))
            .map(|f| (f, false))
            .collect();
    if let Some(stripped) = without_denials(&set)? {
        found.extend(
            compare((&set, None), (&stripped, None), &inputs.key, &[], false)?
                .findings
                .into_iter()
                .filter(|f| outside(f))
                .map(|f| (f, true)),
        );
    }
    for (finding, shadowed) in found {
        let Some(actions) = asked(&finding, &wanted) else {
            continue;
        };
        rows.push(class_row(
            finding,
            actions,
            shadowed,
            &set,
            &inputs.key,
            &account,
        )?);
    }
    rows.sort_by(|a, b| {
        (
            &a.principal,
            !a.shadowed_by.is_empty(),
            &a.actions,
            &a.condition,
        )
            .cmp(&(
                &b.principal,
                !b.shadowed_by.is_empty(),
                &b.actions,
                &b.condition,
            ))
    });
    Ok(WhoCanReport {
        key: inputs.key.arn.clone(),
        rows,
        principals,
        groups: group_count,
        not_analysed,
        warnings,
    })
}

fn partition(arn: &str) -> &str {
    keyward_policy::arn::Arn::parse(arn).map_or("aws", |a| a.partition)
}

/// Whether a session's witness names `role` (with its path) as its role.
fn role_named(witness: &Value, role: &str) -> bool {
    witness.get("principal_role_arn").and_then(Value::as_str) == Some(role)
}

/// The finding's actions that were asked about, when there are any.
fn asked(finding: &Finding, wanted: &[ActionId]) -> Option<Vec<String>> {
    let actions: Vec<String> = finding
        .actions
        .iter()
        .filter(|a| wanted.iter().any(|w| w.qualified_name() == a.as_str()))
        .cloned()
        .collect();
    (!actions.is_empty()).then_some(actions)
}

/// The texts of the policies that can apply to some action on a key, in order: the others
/// decide nothing here.
fn relevant(policies: &[IdentityPolicy]) -> Result<Vec<String>, AnalysisError> {
    let mut out = Vec::new();
    for p in policies {
        let document = parse_and_validate(&p.text, PolicyKind::IdentityPolicy)
            .map_err(|d| AnalysisError::Policy(format!("identity policy {}: {d}", p.source)))?;
        let compiled = keyward_conditions::CompiledPolicy::from_document(
            &document,
            PolicyKind::IdentityPolicy,
        )
        .map_err(|d| AnalysisError::Policy(format!("identity policy {}: {d}", p.source)))?;
        let applies = ActionId::all()
            .filter(|a| a.info().resource == ResourceScope::Key)
            .any(|a| compiled.statements_for(a).next().is_some());
        if applies {
            out.push(p.text.clone());
        }
    }
    Ok(out)
}

/// `set` without its explicit denials (no `Deny` statement in the key policy or the identity
/// policies), when it has any.
fn without_denials(set: &PolicySet) -> Result<Option<PolicySet>, AnalysisError> {
    let (key_policy, mut changed) = strip(&set.key_policy, NOTHING_LEFT_IN_A_KEY_POLICY)?;
    let identity_policies = match &set.identity_policies {
        Some(texts) => {
            let mut out = Vec::new();
            for text in texts {
                let (stripped, c) = strip(text, NOTHING_LEFT)?;
                changed |= c;
                out.push(stripped);
            }
            Some(out)
        }
        None => None,
    };
    Ok(changed.then(|| PolicySet {
        key_policy,
        identity_policies,
        grants: set.grants.clone(),
    }))
}

/// What stands in a policy whose every statement was a `Deny`: a statement that applies to
/// no action on a key (a policy has at least one).
const NOTHING_LEFT: &str =
    r#"{"Sid":"NothingLeft","Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}"#;
const NOTHING_LEFT_IN_A_KEY_POLICY: &str = r#"{"Sid":"NothingLeft","Effect":"Allow","Principal":"*","Action":"kms:CreateKey","Resource":"*"}"#;

/// A policy's text without its `Deny` statements, and whether it had any; `nothing_left`
/// stands in when none is left.
fn strip(text: &str, nothing_left: &str) -> Result<(String, bool), AnalysisError> {
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| AnalysisError::Policy(format!("a policy is not JSON: {e}")))?;
    let is_deny = |s: &Value| s.get("Effect").and_then(Value::as_str) == Some("Deny");
    let mut changed = false;
    if let Some(statements) = value.get_mut("Statement") {
        match statements {
            Value::Array(list) => {
                let before = list.len();
                list.retain(|s| !is_deny(s));
                changed = list.len() != before;
                if list.is_empty() {
                    list.push(serde_json::from_str(nothing_left).unwrap_or_default());
                }
            }
            single if is_deny(single) => {
                *single = serde_json::from_str(nothing_left).unwrap_or_default();
                changed = true;
            }
            _ => {}
        }
    }
    Ok((value.to_string(), changed))
}

/// How the key policy's statement `index` is named in a path.
fn key_statement(document: &keyward_policy::PolicyDocument, index: usize) -> String {
    match document
        .statements
        .get(index)
        .and_then(|s| s.value.sid.as_ref())
    {
        Some(sid) => format!("key-policy:{}", sid.value),
        None => format!("key-policy:#{index}"),
    }
}

/// The reasons of `decision` as paths: key-policy statements, identity policies (named by
/// `sources`, or `assumed`), grants with their constraints.
fn path_names(
    decision: &Decision,
    key_document: &keyward_policy::PolicyDocument,
    sources: Option<&[String]>,
    grants: &[Grant],
) -> Vec<String> {
    let mut out: Vec<String> = decision
        .reasons
        .iter()
        .map(|r| match &r.source {
            Source::Policy(PolicySource::KeyPolicy) => {
                key_statement(key_document, r.statement.unwrap_or_default())
            }
            Source::Policy(PolicySource::IdentityPolicy(i)) => match sources {
                Some(sources) => format!(
                    "identity-policy:{}#{}",
                    sources.get(*i).map_or("?", String::as_str),
                    r.statement.unwrap_or_default()
                ),
                None => "identity-policy:assumed".to_owned(),
            },
            Source::Grant(id) => match grants.iter().find(|g| &g.id == id) {
                Some(g) => match &g.constraint {
                    Some(c) => format!("grant:{id} ({})", constraint_words(c)),
                    None => format!("grant:{id}"),
                },
                None => format!("grant:{id}"),
            },
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The decision on `witness` completed with `set`, SCPs applied.
fn judge(
    witness: &Value,
    set: &PolicySet,
    scps: Option<&ServiceControlPolicies>,
) -> Result<(Decision, Side), AnalysisError> {
    let side = Side::governed(set, scps, &mut Mentions::default())?;
    let decision = witness::decide(witness, &side, set)?;
    Ok((decision, side))
}

/// What shadows a witness that `stripped` allows and `set` (with its SCPs) denies: the
/// denying statements, or the SCPs' refusal.
fn shadows(
    witness: &Value,
    set: &PolicySet,
    scps: Option<&ServiceControlPolicies>,
    sources: Option<&[String]>,
) -> Result<Vec<String>, AnalysisError> {
    let (decision, side) = judge(witness, set, scps)?;
    if decision.verdict == Verdict::Allow {
        return Err(AnalysisError::Bug(format!(
            "a shadowed witness is allowed: {witness}"
        )));
    }
    let mut out: Vec<String> = decision
        .reasons
        .iter()
        .filter(|r| r.effect == Effect::Deny)
        .map(|r| match &r.source {
            Source::Policy(PolicySource::KeyPolicy) => {
                key_statement(&side.key_document, r.statement.unwrap_or_default())
            }
            Source::Policy(PolicySource::IdentityPolicy(i)) => format!(
                "identity-policy:{}#{}",
                sources.and_then(|s| s.get(*i)).map_or("?", String::as_str),
                r.statement.unwrap_or_default()
            ),
            Source::Grant(id) => format!("grant:{id}"),
        })
        .collect();
    if out.is_empty()
        && let Some(refusal) = scp_refusal(witness, set, &side)?
    {
        out.push(format!("scp: {refusal}"));
    }
    if out.is_empty() {
        return Err(AnalysisError::Bug(format!(
            "a shadowed witness is denied by nothing that shadows: {witness}"
        )));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn scp_refusal(
    witness: &Value,
    set: &PolicySet,
    side: &Side,
) -> Result<Option<String>, AnalysisError> {
    let text = witness::complete_witness(witness, set).to_string();
    let request = keyward_authz::Request::parse(&text)
        .map_err(|e| AnalysisError::Bug(format!("a witness does not read as a request: {e}")))?;
    Ok(side.scp_refusal(&request))
}

/// A row of one of the account's principals: its witness carries every identity policy in
/// force for it, and is decided anew with them.
fn member_row(
    finding: Finding,
    member: &Member,
    actions: Vec<String>,
    shadowed: bool,
    inputs: &WhoCanInputs,
    scps: Option<&ServiceControlPolicies>,
    account: &str,
) -> Result<WhoCanRow, AnalysisError> {
    let mut witness = finding.witness;
    if let Value::Object(members) = &mut witness {
        members.remove("identity_policies");
        if let Some(action) = actions.first() {
            members.insert("action".into(), Value::String(action.clone()));
        }
        if !member.policies.is_empty() {
            members.insert(
                "identity_policies".into(),
                Value::Array(
                    member
                        .policies
                        .iter()
                        .map(|p| {
                            serde_json::from_str(&p.text)
                                .unwrap_or_else(|_| Value::String(p.text.clone()))
                        })
                        .collect(),
                ),
            );
        }
    }
    let set = PolicySet {
        key_policy: inputs.key_policy.clone(),
        identity_policies: Some(member.policies.iter().map(|p| p.text.clone()).collect()),
        grants: inputs.grants.clone(),
    };
    let sources: Vec<String> = member.policies.iter().map(|p| p.source.clone()).collect();
    let (via, shadowed_by) = if shadowed {
        let stripped = without_denials(&set)?.unwrap_or_else(|| set.clone());
        let (allowed, side) = judge(&witness, &stripped, None)?;
        if allowed.verdict != Verdict::Allow {
            return Err(AnalysisError::Bug(format!(
                "a shadowed witness is not allowed without what shadows it: {witness}"
            )));
        }
        let via = path_names(&allowed, &side.key_document, Some(&sources), &inputs.grants);
        (via, shadows(&witness, &set, scps, Some(&sources))?)
    } else {
        let (decision, side) = judge(&witness, &set, scps)?;
        if decision.verdict != Verdict::Allow {
            return Err(AnalysisError::Bug(format!(
                "a who-can witness is not allowed with the principal's policies ({}): {witness}",
                decision.explanation
            )));
        }
        (
            path_names(
                &decision,
                &side.key_document,
                Some(&sources),
                &inputs.grants,
            ),
            Vec::new(),
        )
    };
    Ok(WhoCanRow {
        principal: finding.principal,
        kind: finding.kind,
        scope: if finding.kind == PrincipalKind::Service {
            "service"
        } else if account_of(&member.arn) == Some(account) {
            "same-account"
        } else {
            "other-account"
        },
        description: finding.description,
        actions,
        via,
        condition: finding.condition,
        shadowed_by,
        witness,
    })
}

/// A row of a class of callers outside the account (or of every caller, without the
/// authorization details), whose identity policies are assumed.
fn class_row(
    finding: Finding,
    actions: Vec<String>,
    shadowed: bool,
    set: &PolicySet,
    key: &KeyFacts,
    account: &str,
) -> Result<WhoCanRow, AnalysisError> {
    let mut witness = finding.witness;
    if let (Value::Object(members), Some(action)) = (&mut witness, actions.first()) {
        members.insert("action".into(), Value::String(action.clone()));
    }
    let stripped = without_denials(set)?;
    let allowing = if shadowed {
        stripped.as_ref().unwrap_or(set)
    } else {
        set
    };
    let (decision, side) = judge(&witness, allowing, None)?;
    if decision.verdict != Verdict::Allow {
        return Err(AnalysisError::Bug(format!(
            "a who-can witness is not allowed ({}): {witness}",
            decision.explanation
        )));
    }
    let via = path_names(&decision, &side.key_document, None, &set.grants);
    let shadowed_by = if shadowed {
        shadows(&witness, set, None, None)?
    } else {
        Vec::new()
    };
    let organization = finding.condition.contains("aws:PrincipalOrg");
    let scope = match finding.kind {
        PrincipalKind::Service => "service",
        _ if finding.public && organization => "organization",
        _ if finding.public => "public",
        _ if account_of(&finding.principal) == Some(account)
            || account_of(&key.arn) == account_of(&finding.principal) =>
        {
            "same-account"
        }
        _ => "other-account",
    };
    Ok(WhoCanRow {
        principal: finding.principal,
        kind: finding.kind,
        scope,
        description: finding.description,
        actions,
        via,
        condition: finding.condition,
        shadowed_by,
        witness,
    })
}

/// A grant's constraint in words: `EncryptionContextSubset {"k":"v"}`.
fn constraint_words(constraint: &keyward_grants::GrantConstraint) -> String {
    let (name, pairs) = match constraint {
        keyward_grants::GrantConstraint::EncryptionContextEquals(p) => {
            ("EncryptionContextEquals", p)
        }
        keyward_grants::GrantConstraint::EncryptionContextSubset(p) => {
            ("EncryptionContextSubset", p)
        }
    };
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    format!("{name} {}", Value::Object(map))
}

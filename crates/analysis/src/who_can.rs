//! Who can use this key? Every principal of the account that the authorization details list
//! (its root user, users and roles with their sessions), each decided with its own identity
//! policies and the organization's SCPs; and every other caller as a class (another account's
//! principals, everyone, an AWS service), whose own IAM policies are assumed to allow as IAM
//! Access Analyzer assumes. The organization's RCPs govern every caller. Each row has the actions, the residual condition, the path (the
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
use crate::space::{CallerPolicies, KeyFacts, PolicySet, Side};
use crate::witness;
use keyward_authz::{Decision, PolicySource, Source, Verdict};
use keyward_grants::Grant;
use keyward_policy::catalog::ActionId;
use keyward_policy::{Effect, PolicyKind, parse_and_validate};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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
    /// The RCPs over the key.
    pub rcps: Vec<NamedPolicy>,
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
    /// explicit denials (`key-policy:SID`, `identity-policy:SOURCE#INDEX`), SCPs (`scp: ...`)
    /// and RCPs (`rcp: ...`) that deny every request of the row.
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
    /// What the reader should know about the inputs (an SCP level that denies everything).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// A principal of the account with the identity policies in force for it.
struct Member {
    arn: String,
    policies: Vec<IdentityPolicy>,
    /// Its permissions boundary.
    boundary: Option<NamedPolicy>,
}

/// Who can use the key: every row, sorted by principal.
pub fn who_can(inputs: &WhoCanInputs) -> Result<WhoCanReport, AnalysisError> {
    who_can_reporting(inputs, &|_| {})
}

/// [`who_can`], telling `progress` what it is doing as it goes (a line a person reads: how
/// many principals in how many sets, how many witnesses confirmed), from any thread.
pub fn who_can_reporting(
    inputs: &WhoCanInputs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<WhoCanReport, AnalysisError> {
    let key_account = account_of(&inputs.key.arn)
        .ok_or_else(|| AnalysisError::Input(format!("{} is not a key ARN", inputs.key.arn)))?
        .to_owned();
    let account = inputs
        .details
        .as_ref()
        .and_then(AuthorizationDetails::account)
        .unwrap_or_else(|| key_account.clone());
    let scps = (!inputs.scp_levels.is_empty() || !inputs.rcps.is_empty()).then(|| {
        ServiceControlPolicies {
            accounts: vec![account.clone()],
            levels: inputs.scp_levels.clone(),
            rcps: inputs.rcps.clone(),
        }
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
        ActionId::involving_a_key().collect()
    } else {
        inputs.actions.clone()
    };
    let ctx = Context {
        inputs,
        scps: scps.as_ref(),
        account: &account,
        key_account: &key_account,
        wanted: &wanted,
        progress,
    };
    let (mut rows, principals, group_count) = match &inputs.details {
        Some(details) => member_rows(&ctx, details)?,
        None => (Vec::new(), 0, 0),
    };
    rows.extend(class_rows(&ctx)?);
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
        warnings,
    })
}

/// What every part of a who-can reads.
struct Context<'a> {
    inputs: &'a WhoCanInputs,
    scps: Option<&'a ServiceControlPolicies>,
    /// The account the authorization details describe (the key's without them).
    account: &'a str,
    key_account: &'a str,
    wanted: &'a [ActionId],
    progress: &'a (dyn Fn(&str) + Sync),
}

/// The rows of the account's own principals, each decided with its identity policies and
/// boundary, in one pass; how many principals, in how many sets.
fn member_rows(
    ctx: &Context<'_>,
    details: &AuthorizationDetails,
) -> Result<(Vec<WhoCanRow>, usize, usize), AnalysisError> {
    let mut members = vec![Member {
        arn: format!(
            "arn:{}:iam::{}:root",
            partition(&ctx.inputs.key.arn),
            ctx.account
        ),
        policies: Vec::new(),
        boundary: None,
    }];
    for arn in details.principals() {
        let gathered = details.policies_of(arn).and_then(|policies| {
            let boundary = details.boundary_of(arn)?.map(|b| NamedPolicy {
                name: b.source,
                text: b.text,
            });
            Ok((policies, boundary))
        });
        let (policies, boundary) = gathered?;
        members.push(Member {
            policies,
            boundary,
            arn: arn.to_owned(),
        });
    }
    let principals = members.len();
    // One pass for all of them: each group of principals with the same relevant
    // policies is a set of callers with identity policies of their own.
    let mut applies: HashMap<&str, bool> = HashMap::new();
    let relevant_of: Vec<Vec<String>> = members
        .iter()
        .map(|m| relevant(&m.policies, &mut applies))
        .collect::<Result<_, _>>()?;
    let full = callers_by(&members, |i, m| {
        (
            relevant_of.get(i).cloned().unwrap_or_default(),
            m.boundary.clone(),
        )
    });
    let group_count = full.len();
    (ctx.progress)(&format!(
        "deciding {} principals of account {} in {group_count} sets",
        members.len(),
        ctx.account
    ));
    let stripped = callers_by(&members, |i, _| {
        (
            relevant_of
                .get(i)
                .map(|texts| texts.iter().map(|t| strip(t, INERT).0).collect())
                .unwrap_or_default(),
            None,
        )
    });
    let any_denial = ctx.scps.is_some()
        || members.iter().any(|m| m.boundary.is_some())
        || relevant_of.iter().flatten().any(|t| strip(t, INERT).1)
        || strip(&ctx.inputs.key_policy, INERT_IN_A_KEY_POLICY).1;
    let set = PolicySet {
        key_policy: ctx.inputs.key_policy.clone(),
        identity_policies: Some(Vec::new()),
        grants: ctx.inputs.grants.clone(),
    };
    let stripped_set = PolicySet {
        key_policy: strip(&ctx.inputs.key_policy, INERT_IN_A_KEY_POLICY).0,
        ..set.clone()
    };
    let nothing = crate::checks::allows_nothing(&set);
    let named: Vec<&str> = members.iter().map(|m| m.arn.as_str()).collect();
    let by_arn: HashMap<&str, &Member> = members.iter().map(|m| (m.arn.as_str(), m)).collect();
    let member_of = |f: &Finding| -> Option<&Member> {
        if let Some(m) = by_arn.get(f.principal.as_str()) {
            return Some(m);
        }
        if f.kind != PrincipalKind::Session {
            return None;
        }
        f.witness
            .get("principal_role_arn")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| crate::principals::session_role(&f.principal))
            .and_then(|role| by_arn.get(role.as_str()).copied())
    };
    // What the principals can do, and what denials and SCPs take away, side by side.
    let (effective, shadowed) = std::thread::scope(|scope| {
        let shadowed = any_denial.then(|| {
            scope.spawn(|| {
                compare(
                    (&set, ctx.scps, &full),
                    (&stripped_set, None, &stripped),
                    &ctx.inputs.key,
                    &named,
                    true,
                )
            })
        });
        let effective = compare(
            (&nothing, None, &full),
            (&set, ctx.scps, &full),
            &ctx.inputs.key,
            &named,
            true,
        );
        let shadowed = shadowed.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(AnalysisError::Bug("the shadow analysis stopped".into())))
        });
        (effective, shadowed)
    });
    let mut found: Vec<(Finding, bool)> = effective?
        .findings
        .into_iter()
        .map(|f| (f, false))
        .collect();
    if let Some(shadowed) = shadowed {
        found.extend(shadowed?.findings.into_iter().map(|f| (f, true)));
    }
    // The witnesses are decided again with each principal's every identity policy.
    let judges = Judges {
        full: Judge::new(
            set.clone(),
            ctx.scps,
            &callers_by(&members, |_, m| (texts(&m.policies), m.boundary.clone())),
        )?,
        stripped: Judge::new(
            stripped_set,
            None,
            &callers_by(&members, |_, m| {
                (
                    texts(&m.policies)
                        .iter()
                        .map(|t| strip(t, INERT).0)
                        .collect(),
                    None,
                )
            }),
        )?,
    };
    let work: Vec<(Finding, bool, &Member)> = found
        .into_iter()
        .filter_map(|(f, shadowed)| member_of(&f).map(|m| (f, shadowed, m)))
        .collect();
    let total = work.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let rows = in_parallel(work, |(finding, shadowed, member)| {
        let confirmed = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if confirmed.is_multiple_of(100) || confirmed == total {
            (ctx.progress)(&format!("confirming witnesses: {confirmed} of {total}"));
        }
        let Some(actions) = asked(&finding, ctx.wanted) else {
            return Ok(None);
        };
        member_row(
            finding,
            member,
            actions,
            shadowed,
            &judges,
            ctx.inputs,
            ctx.key_account,
        )
        .map(Some)
    })?;
    Ok((rows, principals, group_count))
}

/// The rows of every caller outside the account (of every caller, without the authorization
/// details), as classes whose identity policies are assumed.
fn class_rows(ctx: &Context<'_>) -> Result<Vec<WhoCanRow>, AnalysisError> {
    (ctx.progress)("deciding every other caller");
    let mut rows = Vec::new();
    let set = PolicySet {
        key_policy: ctx.inputs.key_policy.clone(),
        identity_policies: None,
        grants: ctx.inputs.grants.clone(),
    };
    let (key_stripped, key_changed) = strip(&ctx.inputs.key_policy, INERT_IN_A_KEY_POLICY);
    let stripped = PolicySet {
        key_policy: key_stripped,
        ..set.clone()
    };
    let outside =
        |f: &Finding| ctx.inputs.details.is_none() || account_of(&f.principal) != Some(ctx.account);
    let nothing = crate::checks::allows_nothing(&set);
    // The RCPs govern every caller; the SCPs the account's principals, which are classes too
    // without the authorization details.
    let class_scps = ctx.scps;
    // What `new` allows and `old` does not, of the callers outside the account.
    let outside_findings = |(old, old_scps): (&PolicySet, Option<&ServiceControlPolicies>),
                            new: &PolicySet,
                            shadowed: bool| {
        compare(
            (old, old_scps, &[]),
            (new, class_scps.filter(|_| !shadowed), &[]),
            &ctx.inputs.key,
            &[],
            false,
        )
        .map(|report| {
            report
                .findings
                .into_iter()
                .filter(|f| outside(f))
                .map(|f| (f, shadowed))
                .collect::<Vec<_>>()
        })
    };
    let mut found = outside_findings((&nothing, None), &set, false)?;
    if key_changed || class_scps.is_some() {
        found.extend(outside_findings((&set, class_scps), &stripped, true)?);
    }
    if !found.is_empty() {
        let judges = Judges {
            full: Judge::new(set, class_scps, &[])?,
            stripped: Judge::new(stripped, None, &[])?,
        };
        for (finding, shadowed) in found {
            let Some(actions) = asked(&finding, ctx.wanted) else {
                continue;
            };
            rows.push(class_row(
                finding,
                actions,
                shadowed,
                &judges,
                &ctx.inputs.key,
                ctx.account,
            )?);
        }
    }
    Ok(rows)
}

fn partition(arn: &str) -> &str {
    keyward_policy::arn::Arn::parse(arn).map_or("aws", |a| a.partition)
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
/// decide nothing here. `applies` remembers each text's answer.
fn relevant<'p>(
    policies: &'p [IdentityPolicy],
    applies: &mut HashMap<&'p str, bool>,
) -> Result<Vec<String>, AnalysisError> {
    let mut out = Vec::new();
    for p in policies {
        let relevant = match applies.get(p.text.as_str()) {
            Some(&known) => known,
            None => {
                let document =
                    parse_and_validate(&p.text, PolicyKind::IdentityPolicy).map_err(|d| {
                        AnalysisError::Policy(format!("identity policy {}: {d}", p.source))
                    })?;
                let compiled = keyward_conditions::CompiledPolicy::from_document(
                    &document,
                    PolicyKind::IdentityPolicy,
                )
                .map_err(|d| AnalysisError::Policy(format!("identity policy {}: {d}", p.source)))?;
                let known = ActionId::involving_a_key()
                    .any(|a| compiled.statements_for(a).next().is_some());
                applies.insert(&p.text, known);
                known
            }
        };
        if relevant {
            out.push(p.text.clone());
        }
    }
    Ok(out)
}

/// `make` applied to every item, on as many threads as the machine has (at most 4); the
/// results in order, or the first error.
fn in_parallel<T: Send, R: Send>(
    items: Vec<T>,
    make: impl Fn(T) -> Result<Option<R>, AnalysisError> + Sync,
) -> Result<Vec<R>, AnalysisError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4);
    let per_thread = items.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(per_thread).collect());
    }
    let make = &make;
    let results: Vec<Result<Vec<R>, AnalysisError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for item in chunk {
                        out.extend(make(item)?);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(AnalysisError::Bug("a who-can thread stopped".into())))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// The texts of `policies`, in order.
fn texts(policies: &[IdentityPolicy]) -> Vec<String> {
    policies.iter().map(|p| p.text.clone()).collect()
}

/// The members as sets of callers with the same identity policies, `of` giving each
/// member's (by position and member).
fn callers_by(
    members: &[Member],
    of: impl Fn(usize, &Member) -> (Vec<String>, Option<NamedPolicy>),
) -> Vec<CallerPolicies> {
    // By policies and boundary (its name and text).
    type Key = (Vec<String>, Option<(String, String)>);
    let mut groups: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for (i, member) in members.iter().enumerate() {
        let (texts, boundary) = of(i, member);
        groups
            .entry((texts, boundary.map(|b| (b.name, b.text))))
            .or_default()
            .push(member.arn.clone());
    }
    groups
        .into_iter()
        .map(|((texts, boundary), callers)| CallerPolicies {
            callers,
            texts,
            boundary: boundary.map(|(name, text)| NamedPolicy { name, text }),
        })
        .collect()
}

/// What stands for a `Deny` statement in a policy stripped of its denials: a statement that
/// applies to no action on a key, so that every other statement keeps its index.
const INERT: &str =
    r#"{"Sid":"DenialLeftOut","Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}"#;
const INERT_IN_A_KEY_POLICY: &str = r#"{"Sid":"DenialLeftOut","Effect":"Allow","Principal":"*","Action":"kms:CreateKey","Resource":"*"}"#;

/// A policy's text with each `Deny` statement replaced by `inert`, and whether it had any. A
/// text that is not a JSON object is returned as it is (the analysis reports it).
fn strip(text: &str, inert: &str) -> (String, bool) {
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return (text.to_owned(), false);
    };
    let Ok(inert) = serde_json::from_str::<Value>(inert) else {
        return (text.to_owned(), false);
    };
    let is_deny = |s: &Value| s.get("Effect").and_then(Value::as_str) == Some("Deny");
    let mut changed = false;
    match value.get_mut("Statement") {
        Some(Value::Array(list)) => {
            for statement in list.iter_mut().filter(|s| is_deny(s)) {
                *statement = inert.clone();
                changed = true;
            }
        }
        Some(single) if is_deny(single) => {
            *single = inert;
            changed = true;
        }
        _ => {}
    }
    if changed {
        (value.to_string(), true)
    } else {
        (text.to_owned(), false)
    }
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

/// How a reason names its source: a key-policy statement, an identity policy's statement
/// (named by `sources`, or `assumed`), a grant with its constraint.
fn source_name(
    reason: &keyward_authz::Reason,
    key_document: &keyward_policy::PolicyDocument,
    sources: Option<&[String]>,
    grants: &[Grant],
) -> String {
    match &reason.source {
        Source::Policy(PolicySource::KeyPolicy) => {
            key_statement(key_document, reason.statement.unwrap_or_default())
        }
        Source::Policy(PolicySource::IdentityPolicy(i)) => match sources {
            Some(sources) => format!(
                "identity-policy:{}#{}",
                sources.get(*i).map_or("?", String::as_str),
                reason.statement.unwrap_or_default()
            ),
            None => "identity-policy:assumed".to_owned(),
        },
        Source::Grant(id) => match grants
            .iter()
            .find(|g| &g.id == id)
            .and_then(|g| g.constraint.as_ref())
        {
            Some(c) => format!("grant:{id} ({})", constraint_words(c)),
            None => format!("grant:{id}"),
        },
    }
}

/// Decides witnesses completed with a set's key policy and grants, with the identity policies
/// of its callers (or assumed), and its SCPs.
struct Judge {
    side: Side,
    set: PolicySet,
}

impl Judge {
    fn new(
        set: PolicySet,
        scps: Option<&ServiceControlPolicies>,
        callers: &[CallerPolicies],
    ) -> Result<Self, AnalysisError> {
        let side = Side::governed(&set, scps, callers, &mut Mentions::default())?;
        Ok(Self { side, set })
    }

    /// The decision on `witness` (its own identity policies set aside: the caller's are
    /// the judge's), and why the SCPs refuse it when they do.
    fn decide(&self, witness: &Value) -> Result<(Decision, Option<String>), AnalysisError> {
        let mut bare = witness.clone();
        if let Value::Object(members) = &mut bare
            && self.set.identity_policies.is_some()
        {
            members.remove("identity_policies");
        }
        let decision = witness::decide(&bare, &self.side, &self.set)?;
        let refusal = if decision.verdict == Verdict::Allow {
            None
        } else {
            let text = witness::complete_witness(&bare, &self.set).to_string();
            let request = keyward_authz::Request::parse(&text).map_err(|e| {
                AnalysisError::Bug(format!("a witness does not read as a request: {e}"))
            })?;
            self.side.scp_refusal(&request)
        };
        Ok((decision, refusal))
    }
}

/// The judges of a kind of row: with everything, and without the explicit denials and SCPs.
struct Judges {
    full: Judge,
    stripped: Judge,
}

impl Judges {
    /// The paths of a row's witness and what shadows it: an access row's witness must be
    /// allowed with everything; a shadowed row's allowed without the denials and SCPs, and
    /// denied with them.
    fn paths(
        &self,
        witness: &Value,
        shadowed: bool,
        sources: Option<&[String]>,
        grants: &[Grant],
    ) -> Result<(Vec<String>, Vec<String>), AnalysisError> {
        let (with_all, refusal) = self.full.decide(witness)?;
        let names = |decision: &Decision, judge: &Judge, effect: Effect| -> Vec<String> {
            let mut out: Vec<String> = decision
                .reasons
                .iter()
                .filter(|r| r.effect == effect)
                .map(|r| source_name(r, &judge.side.key_document, sources, grants))
                .collect();
            out.sort();
            out.dedup();
            out
        };
        if !shadowed {
            if with_all.verdict != Verdict::Allow {
                return Err(AnalysisError::Bug(format!(
                    "a who-can witness is not allowed ({}): {witness}",
                    with_all.explanation
                )));
            }
            return Ok((names(&with_all, &self.full, Effect::Allow), Vec::new()));
        }
        let (without, _) = self.stripped.decide(witness)?;
        if without.verdict != Verdict::Allow || with_all.verdict == Verdict::Allow {
            return Err(AnalysisError::Bug(format!(
                "a shadowed witness is {:?} without what shadows it and {:?} with it: {witness}",
                without.verdict, with_all.verdict
            )));
        }
        let mut shadowed_by = names(&with_all, &self.full, Effect::Deny);
        if shadowed_by.is_empty()
            && let Some(refusal) = refusal
        {
            let by = if refusal.contains("resource control policy") {
                "rcp"
            } else if refusal.contains("permissions boundary") {
                "boundary"
            } else {
                "scp"
            };
            shadowed_by.push(format!("{by}: {refusal}"));
        }
        if shadowed_by.is_empty() {
            return Err(AnalysisError::Bug(format!(
                "a shadowed witness is denied by nothing that shadows: {witness}"
            )));
        }
        Ok((names(&without, &self.stripped, Effect::Allow), shadowed_by))
    }
}

/// A row of one of the account's principals: its witness carries every identity policy in
/// force for it, and is decided anew with them.
fn member_row(
    mut finding: Finding,
    member: &Member,
    actions: Vec<String>,
    shadowed: bool,
    judges: &Judges,
    inputs: &WhoCanInputs,
    key_account: &str,
) -> Result<WhoCanRow, AnalysisError> {
    let mut witness = std::mem::take(&mut finding.witness);
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
    let sources: Vec<String> = member.policies.iter().map(|p| p.source.clone()).collect();
    let (via, shadowed_by) = judges.paths(&witness, shadowed, Some(&sources), &inputs.grants)?;
    let scope = if finding.kind == PrincipalKind::Service {
        "service"
    } else if account_of(&member.arn) == Some(key_account) {
        "same-account"
    } else {
        "other-account"
    };
    Ok(row(finding, scope, actions, (via, shadowed_by), witness))
}

/// A finding as a row: where it stands, the actions asked about, its paths and shadows, and
/// its witness.
fn row(
    finding: Finding,
    scope: &'static str,
    actions: Vec<String>,
    (via, shadowed_by): (Vec<String>, Vec<String>),
    witness: Value,
) -> WhoCanRow {
    WhoCanRow {
        principal: finding.principal,
        kind: finding.kind,
        scope,
        description: finding.description,
        actions,
        via,
        condition: finding.condition,
        shadowed_by,
        witness,
    }
}

/// A row of a class of callers outside the account (or of every caller, without the
/// authorization details), whose identity policies are assumed.
fn class_row(
    mut finding: Finding,
    actions: Vec<String>,
    shadowed: bool,
    judges: &Judges,
    key: &KeyFacts,
    account: &str,
) -> Result<WhoCanRow, AnalysisError> {
    let mut witness = std::mem::take(&mut finding.witness);
    if let (Value::Object(members), Some(action)) = (&mut witness, actions.first()) {
        members.insert("action".into(), Value::String(action.clone()));
    }
    let (via, shadowed_by) = judges.paths(&witness, shadowed, None, &judges.full.set.grants)?;
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
    Ok(row(finding, scope, actions, (via, shadowed_by), witness))
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

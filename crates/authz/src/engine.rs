//! The decision: key policy, identity policies and grants combined as AWS KMS does
//! (`shared/reference/kms-authorization.md` §1, `iam-evaluation.md` §6–7).
//!
//! 1. Any applicable `Deny` in the key policy (a statement naming the caller, its role, its
//!    account, or everyone) or in an identity policy: explicit deny. Grants never deny.
//! 2. Actions without a key (`CreateKey`, `ListKeys`, ...): identity policies alone decide.
//! 3. Otherwise the caller is allowed by any of: a key-policy `Allow` naming it directly (its
//!    ARN, its role, everyone, or its account when it is that account's root user); a key-policy
//!    `Allow` naming its account (delegation) together with an identity-policy `Allow`; a grant
//!    naming it whose operations and constraints fit (a grant to its account also needs an
//!    identity-policy `Allow`).
//! 4. Across accounts both sides must allow (the key side and an identity policy in the caller's
//!    account), and only the operations KMS allows across accounts can succeed; a grant alone
//!    suffices across accounts.

use crate::request::{PolicySource, PolicyText, Request, RequestError};
use keyward_conditions::{CompiledCondition, KeyOutcome, compile_conditions};
use keyward_grants::{Grant, GranteeMatch};
use keyward_policy::catalog::{CrossAccount, ResourceScope};
use keyward_policy::compile::{CompiledStatement, PrincipalSet};
use keyward_policy::principal::Principal;
use keyward_policy::{CompiledPolicy, Effect, PolicyKind, parse_and_validate};

/// A policy compiled for decisions, with its conditions.
#[derive(Debug, Clone)]
pub struct PreparedPolicy {
    source: PolicySource,
    compiled: CompiledPolicy,
    conditions: Vec<Option<CompiledCondition>>,
}

impl PreparedPolicy {
    /// Check and compile `policy` as the policy `source` of a request.
    pub fn new(source: PolicySource, policy: &PolicyText) -> Result<Self, RequestError> {
        let kind = match source {
            PolicySource::KeyPolicy => PolicyKind::KeyPolicy,
            PolicySource::IdentityPolicy(_) => PolicyKind::IdentityPolicy,
        };
        let fail = |errors| RequestError::Policy {
            policy: source,
            errors,
            text: policy.text.clone(),
            offset: policy.offset,
        };
        let document = parse_and_validate(&policy.text, kind).map_err(fail)?;
        let conditions = compile_conditions(&document).map_err(fail)?;
        let compiled = CompiledPolicy::new(&document, kind).map_err(fail)?;
        Ok(Self {
            source,
            compiled,
            conditions,
        })
    }
}

/// The three possible decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Allowed.
    Allow,
    /// Denied by a matching `Deny` statement.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

impl Verdict {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`, as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::ExplicitDeny => "ExplicitDeny",
            Self::ImplicitDeny => "ImplicitDeny",
        }
    }
}

/// Where a reason or trace entry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A policy of the request.
    Policy(PolicySource),
    /// A grant, by ID.
    Grant(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Policy(p) => p.fmt(f),
            Self::Grant(id) => write!(f, "grant:{id}"),
        }
    }
}

/// A statement or grant that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Allow or Deny.
    pub effect: Effect,
    /// Where.
    pub source: Source,
    /// The statement's 0-based index (`None` for a grant).
    pub statement: Option<usize>,
    /// The statement's Sid.
    pub sid: Option<String>,
}

/// The first element of a statement or grant that did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `Action`/`NotAction` does not cover the action.
    Action,
    /// `Resource`/`NotResource` does not cover the resource.
    Resource,
    /// `Principal`/`NotPrincipal` does not cover the caller.
    Principal,
    /// A condition test failed.
    Condition(Box<KeyOutcome>),
    /// The grant names another grantee.
    Grantee,
    /// The grant does not give the operation, or its constraint fails.
    Grant(String),
}

/// What happened to one statement or grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Where.
    pub source: Source,
    /// The statement's index (`None` for a grant).
    pub statement: Option<usize>,
    /// The statement's Sid.
    pub sid: Option<String>,
    /// Allow or Deny (grants allow).
    pub effect: Effect,
    /// `None` when it matched; otherwise what failed first.
    pub failure: Option<Failure>,
    /// For a key-policy `Allow` that matched through the caller's account: it delegates.
    pub delegates: bool,
}

/// A decision with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// The statements and grants that decided (empty for an implicit deny).
    pub reasons: Vec<Reason>,
    /// Every statement and grant considered.
    pub trace: Vec<TraceEntry>,
    /// Sentences a person reads.
    pub explanation: String,
    /// The AccessDeniedException message AWS would send, for a denial.
    pub message: Option<String>,
}

/// How a key-policy statement's principal covers the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coverage {
    /// Names the caller (or its role, everyone, or its account when the caller is the root).
    Direct,
    /// Names the caller's account: delegates to its IAM policies.
    Account,
    /// Does not cover the caller.
    None,
}

fn coverage(set: &PrincipalSet, request: &Request, caller: Option<&Principal<'_>>) -> Coverage {
    let is_root = matches!(caller, Some(Principal::Root { .. }));
    let names_caller = set.names_identity(&request.principal)
        || request
            .principal_role_arn
            .as_deref()
            .is_some_and(|r| set.names_identity(r))
        || matches!(caller, Some(Principal::Service { name }) if set.names_service(name))
        || (is_root && set.names_account(&request.principal_account));
    if set.is_negated() {
        // NotPrincipal: everyone except the listed; listing an account exempts only its root.
        return if names_caller || set.names_everyone() {
            Coverage::None
        } else {
            Coverage::Direct
        };
    }
    if set.names_everyone() || names_caller {
        Coverage::Direct
    } else if set.names_account(&request.principal_account) {
        Coverage::Account
    } else {
        Coverage::None
    }
}

/// The prepared policies and grants of a key and a caller: compile once, decide many times.
/// `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Authorizer {
    key_policy: Option<PreparedPolicy>,
    identity: Vec<PreparedPolicy>,
    grants: Vec<Grant>,
}

/// What the sources said, gathered in one pass.
#[derive(Default)]
struct Findings {
    denies: Vec<Reason>,
    key_direct: Vec<Reason>,
    key_account: Vec<Reason>,
    identity_allows: Vec<Reason>,
    grants_direct: Vec<Reason>,
    grants_account: Vec<Reason>,
}

impl Authorizer {
    /// Compile the key policy, the identity policies and take the grants.
    pub fn new(
        key_policy: Option<&PolicyText>,
        identity: &[PolicyText],
        grants: Vec<Grant>,
    ) -> Result<Self, RequestError> {
        let key_policy = key_policy
            .map(|p| PreparedPolicy::new(PolicySource::KeyPolicy, p))
            .transpose()?;
        let identity = identity
            .iter()
            .enumerate()
            .map(|(i, p)| PreparedPolicy::new(PolicySource::IdentityPolicy(i), p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key_policy,
            identity,
            grants,
        })
    }

    /// The authorizer for the policies and grants a request carries.
    pub fn for_request(request: &Request) -> Result<Self, RequestError> {
        Self::new(
            request.key_policy.as_ref(),
            &request.identity_policies,
            request.grants.clone(),
        )
    }

    /// The verdict alone: the fast path (no trace, no explanation).
    pub fn verdict(&self, request: &Request) -> Verdict {
        let findings = self.find(request, None);
        verdict_of(&findings, request)
    }

    /// The full decision: verdict, reasons, trace, explanation and AWS-style message.
    pub fn decide(&self, request: &Request) -> Decision {
        let mut trace = Vec::new();
        let findings = self.find(request, Some(&mut trace));
        let verdict = verdict_of(&findings, request);
        crate::explain::decision(verdict, &findings_view(&findings), trace, request)
    }

    fn find(&self, request: &Request, mut trace: Option<&mut Vec<TraceEntry>>) -> Findings {
        let mut found = Findings::default();
        let caller = request.caller();
        if let Some(policy) = &self.key_policy {
            let cover = |s: &CompiledStatement| {
                s.principals
                    .as_ref()
                    .map_or(Coverage::None, |p| coverage(p, request, caller.as_ref()))
            };
            for_each_statement(
                policy,
                request,
                trace.as_deref_mut(),
                cover,
                |s, cover, reason| match (s.effect, cover) {
                    (Effect::Deny, _) => found.denies.push(reason),
                    (Effect::Allow, Coverage::Direct) => found.key_direct.push(reason),
                    (Effect::Allow, _) => found.key_account.push(reason),
                },
            );
        }
        for policy in &self.identity {
            // An identity policy's principal is the identity it is attached to.
            for_each_statement(
                policy,
                request,
                trace.as_deref_mut(),
                |_| Coverage::Direct,
                |s, _, reason| match s.effect {
                    Effect::Deny => found.denies.push(reason),
                    Effect::Allow => found.identity_allows.push(reason),
                },
            );
        }
        let role = request.principal_role_arn.as_deref();
        for grant in &self.grants {
            let source = Source::Grant(grant.id.clone());
            let matched = grant.grantee_match(&request.principal, role, &request.principal_account);
            let failure = match matched {
                GranteeMatch::Other => Some(Failure::Grantee),
                _ => grant
                    .refusal(request.action, &request.encryption_context)
                    .map(Failure::Grant),
            };
            if failure.is_none() {
                let reason = Reason {
                    effect: Effect::Allow,
                    source: source.clone(),
                    statement: None,
                    sid: None,
                };
                match matched {
                    GranteeMatch::Caller => found.grants_direct.push(reason),
                    _ => found.grants_account.push(reason),
                }
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.push(TraceEntry {
                    source,
                    statement: None,
                    sid: grant.name.clone(),
                    effect: Effect::Allow,
                    delegates: failure.is_none() && matched == GranteeMatch::Account,
                    failure,
                });
            }
        }
        found
    }
}

/// What failed first, without detail.
#[derive(Clone, Copy)]
enum Miss {
    Action,
    Resource,
    Principal,
    Condition(usize),
}

/// Evaluate the statements of `policy` (all of them when tracing; otherwise only those whose
/// action clause covers the action, from the compiled index): action, resource, principal
/// (`cover`), then condition. `record` receives each statement that applies.
fn for_each_statement(
    policy: &PreparedPolicy,
    request: &Request,
    trace: Option<&mut Vec<TraceEntry>>,
    cover: impl Fn(&CompiledStatement) -> Coverage,
    mut record: impl FnMut(&CompiledStatement, Coverage, Reason),
) {
    let source = Source::Policy(policy.source);
    let condition = |s: &CompiledStatement| policy.conditions.get(s.index).and_then(Option::as_ref);
    // The first failing element, cheaply: a condition failure is the failing test's index.
    let mut check = |s: &CompiledStatement| -> (Option<Miss>, Coverage) {
        if !s.actions.matches_kms(request.action) {
            return (Some(Miss::Action), Coverage::None);
        }
        if !s.resources.matches(&request.resource) {
            return (Some(Miss::Resource), Coverage::None);
        }
        let covered = cover(s);
        if covered == Coverage::None {
            return (Some(Miss::Principal), covered);
        }
        if let Some(i) =
            condition(s).and_then(|c| c.tests().iter().position(|t| !t.holds(&request.context)))
        {
            return (Some(Miss::Condition(i)), covered);
        }
        let reason = Reason {
            effect: s.effect,
            source: source.clone(),
            statement: Some(s.index),
            sid: s.sid.clone(),
        };
        record(s, covered, reason);
        (None, covered)
    };
    match trace {
        Some(trace) => {
            for s in policy.compiled.statements() {
                let (miss, covered) = check(s);
                let failure = miss.map(|m| match m {
                    Miss::Action => Failure::Action,
                    Miss::Resource => Failure::Resource,
                    Miss::Principal => Failure::Principal,
                    Miss::Condition(i) => condition(s)
                        .and_then(|c| c.tests().get(i))
                        .map_or(Failure::Principal, |t| {
                            Failure::Condition(Box::new(t.explain(&request.context)))
                        }),
                });
                trace.push(TraceEntry {
                    source: source.clone(),
                    statement: Some(s.index),
                    sid: s.sid.clone(),
                    effect: s.effect,
                    delegates: failure.is_none()
                        && s.effect == Effect::Allow
                        && covered == Coverage::Account,
                    failure,
                });
            }
        }
        None => {
            for s in policy.compiled.statements_for(request.action) {
                check(s);
            }
        }
    }
}

/// The reasons each path gathered, for the explanation.
pub(crate) struct FindingsView<'a> {
    pub denies: &'a [Reason],
    pub key_direct: &'a [Reason],
    pub key_account: &'a [Reason],
    pub identity_allows: &'a [Reason],
    pub grants_direct: &'a [Reason],
    pub grants_account: &'a [Reason],
}

fn findings_view(f: &Findings) -> FindingsView<'_> {
    FindingsView {
        denies: &f.denies,
        key_direct: &f.key_direct,
        key_account: &f.key_account,
        identity_allows: &f.identity_allows,
        grants_direct: &f.grants_direct,
        grants_account: &f.grants_account,
    }
}

/// Whether the caller's own account allows through IAM: an identity-policy Allow, or the
/// caller is its account's root user (which IAM policies cannot restrict in its own account).
fn identity_allows(f: &Findings, request: &Request) -> bool {
    !f.identity_allows.is_empty() || matches!(request.caller(), Some(Principal::Root { .. }))
}

fn verdict_of(f: &Findings, request: &Request) -> Verdict {
    if !f.denies.is_empty() {
        return Verdict::ExplicitDeny;
    }
    let info = request.action.info();
    let iam = identity_allows(f, request);
    let allowed = if info.resource == ResourceScope::NoResource {
        !f.identity_allows.is_empty()
    } else if request.same_account() {
        !f.key_direct.is_empty()
            || (!f.key_account.is_empty() && iam)
            || !f.grants_direct.is_empty()
            || (!f.grants_account.is_empty() && iam)
    } else {
        let key_side = !f.key_direct.is_empty() || !f.key_account.is_empty();
        (key_side && iam && info.cross_account == CrossAccount::Yes)
            || !f.grants_direct.is_empty()
            || (!f.grants_account.is_empty() && iam)
    };
    if allowed {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    }
}

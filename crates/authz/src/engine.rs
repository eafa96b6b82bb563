//! The decision: key policy, identity policies and grants combined as AWS KMS does (AWS KMS
//! Developer Guide, "Determining access to AWS KMS keys"; IAM User Guide, "Policy evaluation
//! logic" and "Cross-account policy evaluation logic"). The engine decides the verdict and the
//! statements and grants that decided it; `explain.rs` puts a decision into words.
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

use crate::decision::{AllowBasis, Judgement, Reason, Verdict};
use crate::overwrite::{Found, Miss, ReasonWriter, SourceRef, TraceWriter};
use crate::request::{PolicySource, PolicyText, Request, RequestError, compile_policy};
use keyward_conditions::CompiledPolicy;
use keyward_grants::resolver::{Caller as GrantCaller, GrantSet};
use keyward_grants::{Grant, GranteeMatch};
use keyward_policy::Effect;
use keyward_policy::arn::LazyArn;
use keyward_policy::catalog::{AllowPlacement, CrossAccount, ResourceScope};
use keyward_policy::compile::{CompiledStatement, PrincipalSet};
use keyward_policy::principal::Principal;
use std::sync::Arc;

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

/// Which key-policy statements and grants name a caller ([`Authorizer::covering`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covering {
    /// By statement index: whether the key policy's statement names the caller.
    pub key_policy: Vec<bool>,
    /// By position among the grants: whether the grant names the caller.
    pub grants: Vec<bool>,
}

fn coverage(
    set: &PrincipalSet,
    request: &Request,
    caller: Option<&Principal<'_>>,
    member: Option<&str>,
) -> Coverage {
    let names_account = member.is_some_and(|a| set.names_account(a));
    if set.is_negated() {
        // NotPrincipal: everyone except the listed. A caller is exempt only when its own exact
        // ARN is listed together with the ARNs AWS validates first: its account, and for a
        // session its role (the NotPrincipal example of the IAM User Guide lists the session,
        // its role and its account). Listing an account exempts only its root user; a role
        // alone does not exempt its sessions (fail closed where the documentation is silent).
        let exempt = set.names_everyone()
            || match caller {
                Some(Principal::Root { .. }) => names_account,
                Some(Principal::Service { name }) => set.names_service(name),
                Some(Principal::AssumedRole { .. }) => {
                    set.names_identity(&request.principal)
                        && request
                            .principal_role_arn
                            .as_deref()
                            .is_some_and(|r| set.names_identity(r))
                        && names_account
                }
                _ => set.names_identity(&request.principal) && names_account,
            };
        return if exempt {
            Coverage::None
        } else {
            Coverage::Direct
        };
    }
    let is_root = matches!(caller, Some(Principal::Root { .. }));
    let names_caller = set.names_identity(&request.principal)
        || request
            .principal_role_arn
            .as_deref()
            .is_some_and(|r| set.names_identity(r))
        || matches!(caller, Some(Principal::Service { name }) if set.names_service(name))
        || (is_root && names_account);
    if set.names_everyone() || names_caller {
        Coverage::Direct
    } else if names_account {
        // Never for a service principal: it is in no account (`member` is `None`).
        Coverage::Account
    } else {
        Coverage::None
    }
}

/// The compiled policies and grants of a key and a caller: compile once, decide many times.
/// `Send + Sync`.
///
/// A reason or trace entry names its policy by position: the key policy is
/// [`PolicySource::KeyPolicy`], and `identity[i]` is [`PolicySource::IdentityPolicy`]`(i)`.
#[derive(Debug, Clone)]
pub struct Authorizer {
    key_policy: Option<Arc<CompiledPolicy>>,
    identity: Arc<[CompiledPolicy]>,
    grants: Arc<GrantSet>,
}

/// The ways a request can be decided, each gathering statements or grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Deny,
    KeyDirect,
    KeyAccount,
    IdentityAllow,
    GrantDirect,
    GrantAccount,
    AliasAllow,
}

/// What the sources said, gathered in one pass: how many statements or grants took each path,
/// and which (only when the decision is to be explained, so the fast path allocates nothing).
pub(crate) struct Findings<'a> {
    counts: [u32; 7],
    reasons: Option<[Vec<Found<'a>>; 7]>,
    /// Whether the caller is its account's root user (read once from the request).
    caller_is_root: bool,
    /// Whether the caller and the key are in the same account (read once from the request; a
    /// service principal is in no account, so for it: true).
    same_account: bool,
    /// Whether the caller is a service principal, in no account (read once from the request).
    caller_is_service: bool,
}

impl<'a> Findings<'a> {
    fn new(explain: bool) -> Self {
        Self {
            counts: [0; 7],
            reasons: explain.then(Default::default),
            caller_is_root: false,
            same_account: true,
            caller_is_service: false,
        }
    }

    fn record(&mut self, path: Path, found: Found<'a>) {
        if let Some(count) = self.counts.get_mut(path as usize) {
            *count += 1;
        }
        if let Some(list) = self.reasons.as_mut().and_then(|r| r.get_mut(path as usize)) {
            list.push(found);
        }
    }

    fn any(&self, path: Path) -> bool {
        self.counts.get(path as usize).is_some_and(|&c| c > 0)
    }

    fn reasons(&self, path: Path) -> &[Found<'a>] {
        self.reasons
            .as_ref()
            .and_then(|r| r.get(path as usize))
            .map_or(&[], Vec::as_slice)
    }
}

impl Authorizer {
    /// Compile the key policy, the identity policies and take the grants.
    pub fn new(
        key_policy: Option<&PolicyText>,
        identity: &[PolicyText],
        grants: Vec<Grant>,
    ) -> Result<Self, RequestError> {
        let key_policy = key_policy
            .map(|p| compile_policy(PolicySource::KeyPolicy, p))
            .transpose()?;
        let identity = identity
            .iter()
            .enumerate()
            .map(|(i, p)| compile_policy(PolicySource::IdentityPolicy(i), p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key_policy: key_policy.map(Arc::new),
            identity: identity.into(),
            grants: Arc::new(GrantSet::new(grants)),
        })
    }

    /// An authorizer from parts compiled once and shared (a key's policy and grants, a
    /// caller's identity policies, in order): building one costs three reference-count
    /// increments.
    pub fn from_parts(
        key_policy: Option<Arc<CompiledPolicy>>,
        identity: Arc<[CompiledPolicy]>,
        grants: Arc<GrantSet>,
    ) -> Self {
        Self {
            key_policy,
            identity,
            grants,
        }
    }

    /// The authorizer for the policies and grants a request carries.
    pub fn for_request(request: &Request) -> Result<Self, RequestError> {
        Self::new(
            request.key_policy.as_ref(),
            &request.identity_policies,
            request.grants.clone(),
        )
    }

    /// Which key-policy statements and grants name the caller of `request`, conditions and
    /// everything else aside: a statement whose `Principal` covers the caller (itself, its
    /// role, its account, or everyone), a grant whose grantee is the caller, its role or its
    /// account. What any request of this caller can be decided by, the same rules the
    /// decision applies; an analysis leaves the others out.
    pub fn covering(&self, request: &Request) -> Covering {
        let caller = request.caller();
        let member = request.member_account_for(matches!(caller, Some(Principal::Service { .. })));
        let key_policy = self.key_policy.as_ref().map_or_else(Vec::new, |policy| {
            policy
                .statements()
                .iter()
                .map(|s| {
                    s.principals.as_ref().is_some_and(|p| {
                        coverage(p, request, caller.as_ref(), member) != Coverage::None
                    })
                })
                .collect()
        });
        let role = request.principal_role_arn.as_deref();
        let grants = self
            .grants
            .grants()
            .iter()
            .map(|g| {
                g.grantee_match(&request.principal, role, member.unwrap_or_default())
                    != GranteeMatch::Other
            })
            .collect();
        Covering { key_policy, grants }
    }

    /// The verdict alone: the fast path (no trace, no explanation).
    pub fn verdict(&self, request: &Request) -> Verdict {
        let findings = self.find(request, false, None);
        outcome(&findings, request).0
    }

    /// The verdict and the statements and grants that decided it (the same reasons
    /// [`decide`](Self::decide) gives), without trace, explanation or message: what an
    /// embedder records on every call.
    pub fn judge(&self, request: &Request) -> Judgement {
        let findings = self.find(request, true, None);
        let (verdict, basis) = outcome(&findings, request);
        Judgement {
            verdict,
            basis,
            reasons: {
                let mut reasons = Vec::new();
                FindingsView::of(&findings).deciding_reasons(verdict, basis, request, &mut reasons);
                reasons
            },
        }
    }

    /// Every statement and grant considered for `request`, in `trace`, and the verdict with what
    /// the sources said: what the explanation ([`Authorizer::decide`]) puts into words.
    pub(crate) fn trace<'s>(
        &'s self,
        request: &Request,
        trace: &mut TraceWriter<'_>,
    ) -> (Verdict, Option<AllowBasis>, Findings<'s>) {
        let findings = self.find(request, true, Some(trace));
        let (verdict, basis) = outcome(&findings, request);
        (verdict, basis, findings)
    }

    fn find<'s>(
        &'s self,
        request: &Request,
        explain: bool,
        mut trace: Option<&mut TraceWriter<'_>>,
    ) -> Findings<'s> {
        let mut found = Findings::new(explain);
        let caller = request.caller();
        found.caller_is_root = matches!(caller, Some(Principal::Root { .. }));
        // The account the caller is a member of: none for a service principal
        // ([`Request::member_account`], without parsing the caller again).
        found.caller_is_service = matches!(caller, Some(Principal::Service { .. }));
        let member = request.member_account_for(found.caller_is_service);
        found.same_account = match (request.resource_account.as_deref(), member) {
            (Some(key), Some(caller)) => key == caller,
            _ => true,
        };
        // The key the action is authorized on: the resource, or an alias's target key.
        // Each parsed once, when a statement's pattern first needs it.
        let alias_resource = LazyArn::with_kept(&request.resource, &request.parsed_resource);
        let key_resource = match request.target_key.as_deref() {
            Some(target) => LazyArn::new(target),
            None => LazyArn::with_kept(&request.resource, &request.parsed_resource),
        };
        if let Some(policy) = &self.key_policy {
            let cover = |s: &CompiledStatement| {
                s.principals.as_ref().map_or(Coverage::None, |p| {
                    coverage(p, request, caller.as_ref(), member)
                })
            };
            for_each_statement(
                policy,
                PolicySource::KeyPolicy,
                request,
                &key_resource,
                trace.as_deref_mut(),
                cover,
                |s, cover, reason| {
                    let path = match (s.effect, cover) {
                        (Effect::Deny, _) => Path::Deny,
                        (Effect::Allow, Coverage::Direct) => Path::KeyDirect,
                        (Effect::Allow, _) => Path::KeyAccount,
                    };
                    found.record(path, reason);
                },
            );
        }
        for (i, policy) in self.identity.iter().enumerate() {
            let source = PolicySource::IdentityPolicy(i);
            // An identity policy's principal is the identity it is attached to.
            for_each_statement(
                policy,
                source,
                request,
                &key_resource,
                trace.as_deref_mut(),
                |_| Coverage::Direct,
                |s, _, reason| {
                    let path = if s.effect == Effect::Deny {
                        Path::Deny
                    } else {
                        Path::IdentityAllow
                    };
                    found.record(path, reason);
                },
            );
            // An alias operation also needs the identity policy to allow it on the alias.
            if request.target_key.is_some() {
                for_each_statement(
                    policy,
                    source,
                    request,
                    &alias_resource,
                    trace.as_deref_mut(),
                    |_| Coverage::Direct,
                    |s, _, reason| {
                        let path = if s.effect == Effect::Deny {
                            Path::Deny
                        } else {
                            Path::AliasAllow
                        };
                        found.record(path, reason);
                    },
                );
            }
        }
        let role = request.principal_role_arn.as_deref();
        let mut check = |grant: &'s Grant, trace: Option<&mut TraceWriter<'_>>| {
            let matched = grant.grantee_match(&request.principal, role, member.unwrap_or_default());
            let miss = match matched {
                GranteeMatch::Other => Some(Miss::Grantee),
                _ => grant
                    .refusal(request.action, &request.encryption_context)
                    .map(Miss::Grant),
            };
            let applies = miss.is_none();
            if applies {
                let path = if matched == GranteeMatch::Caller {
                    Path::GrantDirect
                } else {
                    Path::GrantAccount
                };
                found.record(path, grant_found(grant, None));
            }
            if let Some(trace) = trace {
                trace.push(
                    grant_found(grant, grant.name.as_deref()),
                    miss,
                    applies && matched == GranteeMatch::Account,
                );
            }
        };
        match trace {
            // Explaining: every grant, so the trace says why the others do not apply.
            Some(trace) => {
                for grant in self.grants.grants() {
                    check(grant, Some(&mut *trace));
                }
            }
            // Deciding: the grants indexed under the caller, its role or its account for this
            // operation only.
            None => {
                let caller = GrantCaller {
                    arn: &request.principal,
                    role,
                    account: member.unwrap_or_default(),
                    root: found.caller_is_root,
                };
                self.grants.for_each_applying(
                    caller,
                    request.action,
                    &request.encryption_context,
                    |a| {
                        let path = if a.grantee == GranteeMatch::Caller {
                            Path::GrantDirect
                        } else {
                            Path::GrantAccount
                        };
                        if let Some(grant) = self.grants.grants().get(a.index) {
                            found.record(path, grant_found(grant, None));
                        }
                    },
                );
            }
        }
        found
    }
}

/// A grant as found: its ID, and in a trace its name.
fn grant_found<'a>(grant: &'a Grant, name: Option<&'a str>) -> Found<'a> {
    Found {
        effect: Effect::Allow,
        source: SourceRef::Grant(&grant.id),
        statement: None,
        sid: name,
    }
}

/// What failed first, without detail.
#[derive(Clone, Copy)]
enum FirstMiss {
    Action,
    Resource,
    Principal,
    Condition(usize),
}

/// Evaluate the statements of `policy`, the request's policy `source` (all of them when
/// tracing; otherwise only those whose action clause covers the action, from the compiled
/// index): action, resource, principal (`cover`), then condition. `record` receives each
/// statement that applies.
fn for_each_statement<'a>(
    policy: &'a CompiledPolicy,
    source: PolicySource,
    request: &Request,
    resource: &LazyArn<'_>,
    trace: Option<&mut TraceWriter<'_>>,
    cover: impl Fn(&CompiledStatement) -> Coverage,
    mut record: impl FnMut(&CompiledStatement, Coverage, Found<'a>),
) {
    let condition = |s: &'a CompiledStatement| policy.condition(s);
    let found = |s: &'a CompiledStatement| Found {
        effect: s.effect,
        source: SourceRef::Policy(source),
        statement: Some(s.index),
        sid: s.sid.as_deref(),
    };
    // The first failing element, cheaply: a condition failure is the failing test's index.
    let mut check = |s: &'a CompiledStatement| -> (Option<FirstMiss>, Coverage) {
        if !s.actions.matches_kms(request.action) {
            return (Some(FirstMiss::Action), Coverage::None);
        }
        if !policy.covers(s, resource, &request.context) {
            return (Some(FirstMiss::Resource), Coverage::None);
        }
        let covered = cover(s);
        if covered == Coverage::None {
            return (Some(FirstMiss::Principal), covered);
        }
        if let Some(i) =
            condition(s).and_then(|c| c.tests().iter().position(|t| !t.holds(&request.context)))
        {
            return (Some(FirstMiss::Condition(i)), covered);
        }
        record(s, covered, found(s));
        (None, covered)
    };
    match trace {
        Some(trace) => {
            for s in policy.statements() {
                let (first, covered) = check(s);
                let miss = first.map(|m| match m {
                    FirstMiss::Action => Miss::Action,
                    FirstMiss::Resource => Miss::Resource,
                    FirstMiss::Principal => Miss::Principal,
                    FirstMiss::Condition(i) => condition(s)
                        .and_then(|c| c.tests().get(i))
                        .map_or(Miss::Principal, |t| Miss::Condition(t, &request.context)),
                });
                let delegates =
                    miss.is_none() && s.effect == Effect::Allow && covered == Coverage::Account;
                trace.push(found(s), miss, delegates);
            }
        }
        None => {
            for s in policy.statements_for(request.action) {
                check(s);
            }
        }
    }
}

/// The reasons each path gathered, for the explanation.
pub(crate) struct FindingsView<'f, 'a> {
    pub denies: &'f [Found<'a>],
    pub key_direct: &'f [Found<'a>],
    pub key_account: &'f [Found<'a>],
    pub identity_allows: &'f [Found<'a>],
    pub grants_direct: &'f [Found<'a>],
    pub grants_account: &'f [Found<'a>],
    pub alias_allows: &'f [Found<'a>],
    pub caller_is_root: bool,
    /// Whether the caller and the key are in the same account (true for a service principal).
    pub same_account: bool,
    /// Whether the caller is a service principal (in no account).
    pub caller_is_service: bool,
}

impl<'f, 'a> FindingsView<'f, 'a> {
    pub(crate) fn of(f: &'f Findings<'a>) -> Self {
        Self {
            denies: f.reasons(Path::Deny),
            key_direct: f.reasons(Path::KeyDirect),
            key_account: f.reasons(Path::KeyAccount),
            identity_allows: f.reasons(Path::IdentityAllow),
            grants_direct: f.reasons(Path::GrantDirect),
            grants_account: f.reasons(Path::GrantAccount),
            alias_allows: f.reasons(Path::AliasAllow),
            caller_is_root: f.caller_is_root,
            same_account: f.same_account,
            caller_is_service: f.caller_is_service,
        }
    }

    /// The statements and grants that decided `verdict`, written over `reasons`: the denies of
    /// an explicit deny, the allows on the path that allowed, nothing for an implicit deny. A
    /// statement that decides on more than one side (an IAM statement covering both an alias
    /// and its key) is named once.
    pub(crate) fn deciding_reasons(
        &self,
        verdict: Verdict,
        basis: Option<AllowBasis>,
        request: &Request,
        reasons: &mut Vec<Reason>,
    ) {
        let cross = action_is_key_scoped(request) && !self.same_account;
        let mut out = ReasonWriter::over(reasons);
        match verdict {
            Verdict::ExplicitDeny => out.add(self.denies),
            Verdict::ImplicitDeny => {}
            Verdict::Allow => match basis.unwrap_or(AllowBasis::KeyPolicy) {
                AllowBasis::RetireByGrant | AllowBasis::GrantToCaller => {
                    out.add(self.grants_direct);
                }
                AllowBasis::RetireByAccount | AllowBasis::NoKey => out.add(self.identity_allows),
                AllowBasis::Alias => {
                    let (first, then) = self.alias_key_side();
                    out.add(first);
                    out.add(then);
                    out.add(self.alias_allows);
                }
                AllowBasis::KeyPolicy => {
                    out.add(self.key_direct);
                    if cross {
                        out.add(self.identity_allows);
                    }
                }
                AllowBasis::Delegated => {
                    out.add(self.key_account);
                    out.add(self.identity_allows);
                }
                AllowBasis::GrantToAccount => {
                    out.add(self.grants_account);
                    out.add(self.identity_allows);
                }
            },
        }
        out.finish();
    }

    /// What allows the key side of an alias operation, in two parts: the key-policy
    /// statements naming the caller, or else the delegating statements and the identity-policy
    /// allows.
    pub(crate) fn alias_key_side(&self) -> (&'f [Found<'a>], &'f [Found<'a>]) {
        if self.key_direct.is_empty() {
            (self.key_account, self.identity_allows)
        } else {
            (self.key_direct, &[])
        }
    }
}

/// Whether the request's action is on a key (every action but those without a resource, such
/// as `CreateKey` and `ListKeys`).
pub(crate) fn action_is_key_scoped(request: &Request) -> bool {
    request.action.info().resource != ResourceScope::NoResource
}

/// The verdict and, for an allow, the path that allowed.
fn outcome(f: &Findings<'_>, request: &Request) -> (Verdict, Option<AllowBasis>) {
    if f.any(Path::Deny) {
        return (Verdict::ExplicitDeny, None);
    }
    let info = request.action.info();
    // The caller's own account allows through IAM: an identity-policy Allow, or the caller is
    // its account's root user (whom IAM policies do not restrict in its own account).
    let iam = f.any(Path::IdentityAllow) || f.caller_is_root;
    let grant = if f.any(Path::GrantDirect) {
        Some(AllowBasis::GrantToCaller)
    } else if f.any(Path::GrantAccount) && iam {
        Some(AllowBasis::GrantToAccount)
    } else {
        None
    };
    let basis = if info.resource == ResourceScope::NoResource {
        f.any(Path::IdentityAllow).then_some(AllowBasis::NoKey)
    } else if info.allow_in == AllowPlacement::GrantOnly {
        // RetireGrant is authorized by the grant: `kms:RetireGrant` in a key policy has no
        // effect. A grant giving the caller RetireGrant allows, and so does the key's own
        // account (the account that created the grant) through its IAM policies or root user.
        // Who the grant's retiring principal is needs the grant itself (KeyGrants::retire).
        if f.any(Path::GrantDirect) {
            Some(AllowBasis::RetireByGrant)
        } else {
            (grant.is_some() || (f.same_account && iam)).then_some(AllowBasis::RetireByAccount)
        }
    } else if info.resource == ResourceScope::AliasAndKey {
        // The alias by IAM, the key by its key policy (directly or delegated); same account only.
        (f.same_account
            && (f.any(Path::AliasAllow) || f.caller_is_root)
            && (f.any(Path::KeyDirect) || (f.any(Path::KeyAccount) && iam)))
            .then_some(AllowBasis::Alias)
    } else {
        // Across accounts both sides must allow, and only the operations KMS allows across
        // accounts can; a grant alone suffices either way.
        let policy_may = f.same_account || (iam && info.cross_account == CrossAccount::Yes);
        if policy_may && f.any(Path::KeyDirect) {
            Some(AllowBasis::KeyPolicy)
        } else if policy_may && f.any(Path::KeyAccount) && iam {
            Some(AllowBasis::Delegated)
        } else {
            grant
        }
    };
    match basis {
        Some(basis) => (Verdict::Allow, Some(basis)),
        None => (Verdict::ImplicitDeny, None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use serde_json::json;

    /// Many statements apply, allows and denies interleaved: every deny is a reason, in the
    /// policy's order, and the explanation names each.
    #[test]
    fn many_applying_statements_are_all_reasons_in_order() {
        let statements: Vec<_> = (0..12)
            .map(|i| {
                json!({
                    "Sid": format!("S{i}"),
                    "Effect": if i % 2 == 0 { "Allow" } else { "Deny" },
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
                    "Action": "kms:Decrypt",
                    "Resource": "*"
                })
            })
            .collect();
        let text = json!({
            "principal": "arn:aws:iam::111122223333:role/App",
            "action": "kms:Decrypt",
            "resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "key_policy": {"Version": "2012-10-17", "Statement": statements}
        })
        .to_string();
        let request = Request::parse(&text).unwrap();
        let decision = Authorizer::for_request(&request).unwrap().decide(&request);
        assert_eq!(decision.verdict, Verdict::ExplicitDeny);
        let sids: Vec<_> = decision
            .reasons
            .iter()
            .filter_map(|r| r.sid.clone())
            .collect();
        let denies: Vec<_> = (0..12)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("S{i}"))
            .collect();
        assert_eq!(sids, denies);
        for sid in &denies {
            assert!(decision.explanation.contains(&format!("'{sid}'")), "{sid}");
        }
    }
}

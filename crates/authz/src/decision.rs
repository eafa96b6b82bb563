//! What a decision is: the verdict, the statements and grants that decided it, the trace of
//! every statement and grant considered, and the words. The engine makes them; the explanation
//! puts them into words.

use crate::request::PolicySource;
use keyward_conditions::KeyOutcome;
use keyward_policy::Effect;

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

/// A verdict and what decided it: [`Decision`] without the trace and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// For an allow, the path that allowed.
    pub basis: Option<AllowBasis>,
    /// The statements and grants that decided (empty for an implicit deny).
    pub reasons: Vec<Reason>,
}

/// Which path allowed a request. The engine decides it in one place, with the verdict: the
/// deciding statements and grants of an allow, the explanation, and an embedder that must
/// know whether a grant was the authority (CreateGrant under a grant may only narrow it) all
/// read it from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowBasis {
    /// RetireGrant by a grant that names the caller.
    RetireByGrant,
    /// RetireGrant by an identity policy (or the root) of the account that created the grant.
    RetireByAccount,
    /// An alias operation: the alias side and the key side.
    Alias,
    /// An action without a key resource: identity policies alone.
    NoKey,
    /// A key-policy statement naming the caller (and, across accounts, an identity policy).
    KeyPolicy,
    /// The key policy delegates to the caller's account, whose identity policy allows.
    Delegated,
    /// A grant naming the caller; no policy allows.
    GrantToCaller,
    /// A grant to the caller's account, with an identity policy allowing; no policy allows on
    /// its own.
    GrantToAccount,
}

impl AllowBasis {
    /// Whether the authority is a grant alone: no key policy (directly or delegated) allows.
    pub fn is_grant(self) -> bool {
        matches!(self, Self::GrantToCaller | Self::GrantToAccount)
    }
}

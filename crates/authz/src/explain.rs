//! Decisions in words: the explanation a person reads, the AccessDeniedException message AWS
//! would send, and the contract's JSON form. The engine decides (verdict, deciding reasons,
//! trace); this module only writes them down.

use crate::decision::{AllowBasis, Decision, Failure, Source, TraceEntry, Verdict};
use crate::engine::{Authorizer, FindingsView, action_is_key_scoped};
use crate::overwrite::{Found, SourceRef, TraceWriter};
use crate::request::{PolicySource, Request};
use keyward_conditions::Actual;
use keyward_policy::Effect;
use keyward_policy::catalog::CrossAccount;
use serde_json::{Map, Value, json};

/// `statement 'Sid' (#1) of the key policy`, `statement #0 of identity policy 2`, `grant g-1`,
/// appended to `out`: pieces pushed, not formatted (a batch explains millions).
fn describe_into(
    out: &mut String,
    source: SourceRef<'_>,
    statement: Option<usize>,
    sid: Option<&str>,
) {
    let mut numbers = itoa::Buffer::new();
    match source {
        SourceRef::Grant(id) => {
            out.push_str("grant ");
            out.push_str(id);
        }
        SourceRef::Policy(policy) => {
            let n = numbers.format(statement.unwrap_or(0));
            match sid {
                Some(sid) => {
                    out.push_str("statement '");
                    out.push_str(sid);
                    out.push_str("' (#");
                    out.push_str(n);
                    out.push_str(") of ");
                }
                None => {
                    out.push_str("statement #");
                    out.push_str(n);
                    out.push_str(" of ");
                }
            }
            match policy {
                PolicySource::KeyPolicy => out.push_str("the key policy"),
                PolicySource::IdentityPolicy(i) => {
                    out.push_str("identity policy ");
                    out.push_str(numbers.format(i));
                }
            }
        }
    }
}

/// A part of an explanation: text, or statements and grants described one after another,
/// separated by commas (two lists read as one).
#[derive(Clone, Copy)]
enum Piece<'p, 'a> {
    Text(&'p str),
    Found(&'p [Found<'a>], &'p [Found<'a>]),
}

impl<'p> From<&'p str> for Piece<'p, '_> {
    fn from(text: &'p str) -> Self {
        Self::Text(text)
    }
}

/// The statements and grants described, separated by commas.
fn list<'p, 'a>(found: &'p [Found<'a>]) -> Piece<'p, 'a> {
    Piece::Found(found, &[])
}

/// The pieces written over `out`: explanations are put together so rather than by
/// `format!`, whose machinery cost more than the rest of a decision in words, and into the
/// buffer of the decision before (a batch explains millions).
fn write_words(out: &mut String, pieces: &[Piece<'_, '_>]) {
    out.clear();
    append_words(out, pieces);
}

/// The pieces appended to `out`.
fn append_words(out: &mut String, pieces: &[Piece<'_, '_>]) {
    for piece in pieces {
        match *piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Found(first, then) => {
                for (i, f) in first.iter().chain(then).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    describe_into(out, f.source, f.statement, f.sid);
                }
            }
        }
    }
}

/// `words!(out; piece, ...)`: [`write_words`] of the pieces, each text or [`Piece`].
macro_rules! words {
    ($out:expr; $($piece:expr),+ $(,)?) => {
        write_words($out, &[$(Piece::from($piece)),+])
    };
}

/// Near misses: allowing statements and grants that covered everything but a condition or a
/// grant constraint, in words.
fn near_misses(trace: &[TraceEntry]) -> Vec<String> {
    trace
        .iter()
        .filter(|t| t.effect == Effect::Allow)
        .filter_map(|t| {
            let mut what = String::with_capacity(48);
            describe_into(
                &mut what,
                SourceRef::of(&t.source),
                t.statement,
                t.sid.as_deref(),
            );
            match &t.failure {
                Some(Failure::Condition(outcome)) => {
                    Some(format!("{what} matched except its condition {outcome}"))
                }
                Some(Failure::Grant(why)) => {
                    Some(format!("{what} names this principal, but {why}"))
                }
                _ => None,
            }
        })
        .collect()
}

impl Authorizer {
    /// The full decision: verdict, reasons, trace, explanation and AWS-style message.
    pub fn decide(&self, request: &Request) -> Decision {
        let mut decision = Decision {
            verdict: Verdict::ImplicitDeny,
            reasons: Vec::new(),
            trace: Vec::new(),
            explanation: String::new(),
            message: None,
        };
        self.decide_into(request, &mut decision);
        decision
    }

    /// [`decide`](Self::decide), written over an earlier decision: its trace entries, reasons
    /// and texts are used again, so that deciding request after request (a batch of millions)
    /// allocates only when a decision outgrows the one before it. The result is the decision
    /// `decide` gives, whatever `decision` held.
    pub fn decide_into(&self, request: &Request, decision: &mut Decision) {
        let mut trace = TraceWriter::over(&mut decision.trace);
        let (verdict, basis, findings) = self.trace(request, &mut trace);
        trace.finish();
        let f = FindingsView::of(&findings);
        decision.verdict = verdict;
        f.deciding_reasons(verdict, basis, request, &mut decision.reasons);
        in_words(
            verdict,
            basis,
            &f,
            &decision.trace,
            request,
            &mut decision.explanation,
            &mut decision.message,
        );
    }
}

/// The explanation of a decision and, for a denial, the AccessDeniedException message.
fn in_words(
    verdict: Verdict,
    basis: Option<AllowBasis>,
    f: &FindingsView<'_, '_>,
    trace: &[TraceEntry],
    request: &Request,
    explanation: &mut String,
    message: &mut Option<String>,
) {
    let action = request.action.qualified_name();
    let who = request.principal.as_str();
    let member = request.member_account_for(f.caller_is_service);
    let account = member.unwrap_or("");
    let key_account = request.resource_account.as_deref().unwrap_or(account);
    let key_scoped = action_is_key_scoped(request);
    let cross = key_scoped && !f.same_account;
    // The AccessDeniedException message of a denial, ending in `tail`.
    let mut deny_message = |tail: &[&str]| {
        let text = message.get_or_insert_with(String::new);
        text.clear();
        for piece in [
            "User: ",
            who,
            " is not authorized to perform: ",
            action,
            " on resource: ",
            request.resource.as_str(),
            " ",
        ]
        .iter()
        .chain(tail)
        {
            text.push_str(piece);
        }
    };
    match verdict {
        Verdict::ExplicitDeny => {
            let in_key_policy = f
                .denies
                .iter()
                .any(|r| r.source == SourceRef::Policy(PolicySource::KeyPolicy));
            let kind = if in_key_policy {
                "a resource-based policy"
            } else {
                "an identity-based policy"
            };
            words!(explanation;
                "Denied explicitly: ",
                list(f.denies),
                " denies ",
                action,
                " for ",
                who,
                ". An explicit deny overrides every allow and every grant.",
            );
            deny_message(&["with an explicit deny in ", kind]);
        }
        Verdict::Allow => {
            match basis.unwrap_or(AllowBasis::KeyPolicy) {
                AllowBasis::RetireByGrant => words!(explanation;
                    "Allowed: ",
                    list(f.grants_direct),
                    " gives RetireGrant to ",
                    who,
                    ".",
                ),
                AllowBasis::RetireByAccount => words!(explanation;
                    "Allowed: ",
                    action,
                    " by the account that created the grant: ",
                    identity_or_root(f),
                    " allows it (a key-policy statement for kms:RetireGrant has no effect).",
                ),
                AllowBasis::Alias => {
                    let (key_first, key_then) = f.alias_key_side();
                    let alias_side = if f.alias_allows.is_empty() {
                        identity_or_root(f)
                    } else {
                        list(f.alias_allows)
                    };
                    words!(explanation;
                        "Allowed: ",
                        alias_side,
                        " allows ",
                        action,
                        " on the alias ",
                        request.resource.as_str(),
                        ", and ",
                        Piece::Found(key_first, key_then),
                        " allows it on the key ",
                        request.target_key.as_deref().unwrap_or_default(),
                        ".",
                    );
                }
                AllowBasis::NoKey => words!(explanation;
                    "Allowed: ",
                    list(f.identity_allows),
                    " allows ",
                    action,
                    " for ",
                    who,
                    "; ",
                    action,
                    " has no key resource, so identity policies alone decide.",
                ),
                AllowBasis::KeyPolicy => {
                    words!(explanation;
                        "Allowed: ",
                        list(f.key_direct),
                        " allows ",
                        action,
                        " for ",
                        who,
                    );
                    if cross {
                        append_words(
                            explanation,
                            &[
                                Piece::Text(", and across accounts "),
                                identity_or_root(f),
                                Piece::Text(" allows it in account "),
                                Piece::Text(account),
                            ],
                        );
                    }
                    explanation.push('.');
                }
                AllowBasis::GrantToCaller => words!(explanation;
                    "Allowed: ",
                    list(f.grants_direct),
                    " gives ",
                    action,
                    " to ",
                    who,
                    "; grants allow without a key-policy or IAM statement.",
                ),
                // The account's side and an identity policy: the key policy delegates, or a
                // grant gives the operation to the account.
                basis @ (AllowBasis::Delegated | AllowBasis::GrantToAccount) => {
                    let (account_side, gives) = if basis == AllowBasis::Delegated {
                        (f.key_account, " delegates ")
                    } else {
                        (f.grants_account, " gives ")
                    };
                    words!(explanation;
                        "Allowed: ",
                        list(account_side),
                        gives,
                        action,
                        " to account ",
                        account,
                        ", and ",
                        identity_or_root(f),
                        " allows it.",
                    );
                }
            }
            *message = None;
        }
        Verdict::ImplicitDeny => {
            let key_side = !f.key_direct.is_empty() || !f.key_account.is_empty();
            let alias_operation = request.target_key.is_some();
            let alias_allowed = !f.alias_allows.is_empty() || f.caller_is_root;
            let retire = request.action.info().allow_in
                == keyward_policy::catalog::AllowPlacement::GrantOnly;
            let policy_kind = if retire {
                words!(explanation;
                    "Denied: ",
                    action,
                    " is authorized by the grant, not the key policy: the caller needs a grant that gives it RetireGrant, or an identity policy of the account that created the grant (the key's account); neither applies. A grant's retiring principal may also retire it (checked against the grant itself).",
                );
                "identity-based"
            } else if alias_operation && !alias_allowed {
                words!(explanation;
                    "Denied: ",
                    action,
                    " needs an identity policy allowing it on the alias ",
                    request.resource.as_str(),
                    ", and none does.",
                );
                "identity-based"
            } else if !key_scoped {
                words!(explanation;
                    "Denied: no identity policy allows ",
                    action,
                    ". It has no key resource, so only identity policies decide.",
                );
                "identity-based"
            } else if cross && key_side && request.action.info().cross_account != CrossAccount::Yes
            {
                words!(explanation;
                    "Denied: ",
                    action,
                    " cannot be used across accounts (the caller is in account ",
                    account,
                    ", the key in account ",
                    key_account,
                    "); permissions for it in another account have no effect.",
                );
                "resource-based"
            } else if cross && key_side {
                let allowing = list(if f.key_direct.is_empty() {
                    f.key_account
                } else {
                    f.key_direct
                });
                words!(explanation;
                    "Denied: the key policy allows ",
                    action,
                    " (",
                    allowing,
                    "), but the caller is in account ",
                    account,
                    " and the key in account ",
                    key_account,
                    ": across accounts an identity policy in account ",
                    account,
                    " must allow it too, and none does.",
                );
                "identity-based"
            } else if !f.key_account.is_empty() {
                words!(explanation;
                    "Denied: ",
                    list(f.key_account),
                    " delegates ",
                    action,
                    " to account ",
                    account,
                    ", but no identity policy allows it.",
                );
                "identity-based"
            } else if member.is_none() {
                words!(explanation;
                    "Denied: the key policy does not name the service principal ",
                    who,
                    " for ",
                    action,
                    "; a service is in no account, so no account principal covers it.",
                );
                "resource-based"
            } else {
                words!(explanation;
                    "Denied: the key policy does not allow ",
                    who,
                    " to perform ",
                    action,
                    " and does not delegate it to account ",
                    account,
                    ", so identity policies are not consulted; no grant gives it either.",
                );
                "resource-based"
            };
            for miss in near_misses(trace) {
                explanation.push_str(" Note: ");
                explanation.push_str(&miss);
                explanation.push('.');
            }
            deny_message(&[
                "because no ",
                policy_kind,
                " policy allows the ",
                action,
                " action",
            ]);
        }
    }
}

fn identity_or_root<'p, 'a>(f: &FindingsView<'p, 'a>) -> Piece<'p, 'a> {
    if f.identity_allows.is_empty() {
        Piece::Text("the account's root user (whom IAM policies do not restrict)")
    } else {
        list(f.identity_allows)
    }
}

fn source_json(source: &Source) -> Value {
    Value::String(source.to_string())
}

impl Decision {
    /// The contract's JSON object: `decision`, `reasons`, `explanation`, `trace`, and for a
    /// denial the AWS-style `message`.
    pub fn to_json(&self) -> Value {
        let reasons: Vec<Value> = self
            .reasons
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("effect".into(), json!(r.effect.as_str()));
                o.insert("source".into(), source_json(&r.source));
                if let Some(n) = r.statement {
                    o.insert("statement".into(), json!(n));
                }
                if let Some(sid) = &r.sid {
                    o.insert("sid".into(), json!(sid));
                }
                Value::Object(o)
            })
            .collect();
        let trace: Vec<Value> = self.trace.iter().map(trace_json).collect();
        let mut o = Map::new();
        o.insert("decision".into(), json!(self.verdict.as_str()));
        o.insert("reasons".into(), Value::Array(reasons));
        o.insert("explanation".into(), json!(self.explanation));
        o.insert("trace".into(), Value::Array(trace));
        if let Some(m) = &self.message {
            o.insert("message".into(), json!(m));
        }
        Value::Object(o)
    }

    /// The text form: the decision on the first line, the explanation under it.
    pub fn to_text(&self) -> String {
        let head = match self.verdict {
            Verdict::Allow => "ALLOW",
            Verdict::ExplicitDeny => "EXPLICIT DENY",
            Verdict::ImplicitDeny => "IMPLICIT DENY",
        };
        let mut out = format!("{head}\n{}\n", self.explanation);
        if let Some(m) = &self.message {
            out.push_str(&format!("AccessDeniedException: {m}\n"));
        }
        out
    }
}

fn actual_json(actual: &Actual) -> Value {
    match actual {
        Actual::Missing => json!("missing"),
        Actual::Single(v) => json!(v),
        Actual::Multi(values) => json!(values),
        Actual::Variants(values) => json!({ "variants": values }),
    }
}

fn trace_json(t: &TraceEntry) -> Value {
    let mut o = Map::new();
    o.insert("source".into(), source_json(&t.source));
    if let Some(n) = t.statement {
        o.insert("statement".into(), json!(n));
    }
    if let Some(sid) = &t.sid {
        o.insert(
            if t.statement.is_some() { "sid" } else { "name" }.into(),
            json!(sid),
        );
    }
    o.insert("effect".into(), json!(t.effect.as_str()));
    o.insert("matched".into(), json!(t.failure.is_none()));
    if t.delegates {
        o.insert("delegates".into(), json!(true));
    }
    match &t.failure {
        None => {}
        Some(Failure::Action) => {
            o.insert("failed".into(), json!("action"));
        }
        Some(Failure::Resource) => {
            o.insert("failed".into(), json!("resource"));
        }
        Some(Failure::Principal) => {
            o.insert("failed".into(), json!("principal"));
        }
        Some(Failure::Grantee) => {
            o.insert("failed".into(), json!("grantee"));
        }
        Some(Failure::Grant(why)) => {
            o.insert("failed".into(), json!("grant"));
            o.insert("detail".into(), json!(why));
        }
        Some(Failure::Condition(outcome)) => {
            o.insert("failed".into(), json!("condition"));
            o.insert(
                "condition".into(),
                json!({
                    "operator": outcome.operator.to_string(),
                    "key": outcome.key,
                    "expected": outcome.expected,
                    "actual": actual_json(&outcome.actual),
                }),
            );
        }
    }
    Value::Object(o)
}

//! Decisions in words: the explanation a person reads, the AccessDeniedException message AWS
//! would send, and the contract's JSON form. The engine decides (verdict, deciding reasons,
//! trace); this module only writes them down.

use crate::decision::{AllowBasis, Decision, Failure, Reason, Source, TraceEntry, Verdict};
use crate::engine::{Authorizer, FindingsView, action_is_key_scoped};
use crate::request::{PolicySource, Request};
use keyward_conditions::Actual;
use keyward_policy::Effect;
use keyward_policy::catalog::CrossAccount;
use serde_json::{Map, Value, json};

/// `statement 'Sid' (#1) of the key policy`, `statement #0 of identity policy 2`, `grant g-1`.
fn describe(source: &Source, statement: Option<usize>, sid: Option<&str>) -> String {
    let mut out = String::with_capacity(48);
    describe_into(&mut out, source, statement, sid);
    out
}

/// [`describe`], appended to `out`: pieces pushed, not formatted (a batch explains millions).
fn describe_into(out: &mut String, source: &Source, statement: Option<usize>, sid: Option<&str>) {
    let mut numbers = itoa::Buffer::new();
    match source {
        Source::Grant(id) => {
            out.push_str("grant ");
            out.push_str(id);
        }
        Source::Policy(policy) => {
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
                    out.push_str(numbers.format(*i));
                }
            }
        }
    }
}

/// The reasons described, separated by commas.
fn list(reasons: &[Reason]) -> String {
    let mut out = String::with_capacity(64 * reasons.len());
    for (i, r) in reasons.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        describe_into(&mut out, &r.source, r.statement, r.sid.as_deref());
    }
    out
}

/// Near misses: allowing statements and grants that covered everything but a condition or a
/// grant constraint, in words.
fn near_misses(trace: &[TraceEntry]) -> Vec<String> {
    trace
        .iter()
        .filter(|t| t.effect == Effect::Allow)
        .filter_map(|t| {
            let what = describe(&t.source, t.statement, t.sid.as_deref());
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
        let mut trace = Vec::new();
        let (verdict, basis, findings) = self.trace(request, &mut trace);
        let f = FindingsView::of(&findings);
        let reasons = f.deciding_reasons(verdict, basis, request);
        let (explanation, message) = in_words(verdict, basis, &f, &trace, request);
        Decision {
            verdict,
            reasons,
            trace,
            explanation,
            message,
        }
    }
}

/// The pieces joined into one string of their exact length: explanations are put together so
/// rather than by `format!`, whose machinery costs more than the rest of a decision in words (a
/// batch explains millions).
fn words(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// The explanation of a decision and, for a denial, the AccessDeniedException message.
fn in_words(
    verdict: Verdict,
    basis: Option<AllowBasis>,
    f: &FindingsView<'_>,
    trace: &[TraceEntry],
    request: &Request,
) -> (String, Option<String>) {
    let action = request.action.qualified_name();
    let who = request.principal.as_str();
    let account = request.member_account().unwrap_or("");
    let key_account = request.resource_account.as_deref().unwrap_or(account);
    let key_scoped = action_is_key_scoped(request);
    let cross = key_scoped && !f.same_account;
    let message = |tail: &[&str]| {
        let mut text = words(&[
            "User: ",
            who,
            " is not authorized to perform: ",
            action,
            " on resource: ",
            &request.resource,
            " ",
        ]);
        for piece in tail {
            text.push_str(piece);
        }
        Some(text)
    };
    match verdict {
        Verdict::ExplicitDeny => {
            let in_key_policy = f
                .denies
                .iter()
                .any(|r| r.source == Source::Policy(PolicySource::KeyPolicy));
            let kind = if in_key_policy {
                "a resource-based policy"
            } else {
                "an identity-based policy"
            };
            (
                words(&[
                    "Denied explicitly: ",
                    &list(f.denies),
                    " denies ",
                    action,
                    " for ",
                    who,
                    ". An explicit deny overrides every allow and every grant.",
                ]),
                message(&["with an explicit deny in ", kind]),
            )
        }
        Verdict::Allow => {
            let text = match basis.unwrap_or(AllowBasis::KeyPolicy) {
                AllowBasis::RetireByGrant => words(&[
                    "Allowed: ",
                    &list(f.grants_direct),
                    " gives RetireGrant to ",
                    who,
                    ".",
                ]),
                AllowBasis::RetireByAccount => words(&[
                    "Allowed: ",
                    action,
                    " by the account that created the grant: ",
                    &identity_or_root(f),
                    " allows it (a key-policy statement for kms:RetireGrant has no effect).",
                ]),
                AllowBasis::Alias => {
                    let key_side = f.alias_key_side();
                    let alias_side = if f.alias_allows.is_empty() {
                        identity_or_root(f)
                    } else {
                        list(f.alias_allows)
                    };
                    words(&[
                        "Allowed: ",
                        &alias_side,
                        " allows ",
                        action,
                        " on the alias ",
                        &request.resource,
                        ", and ",
                        &list(&key_side),
                        " allows it on the key ",
                        request.target_key.as_deref().unwrap_or_default(),
                        ".",
                    ])
                }
                AllowBasis::NoKey => words(&[
                    "Allowed: ",
                    &list(f.identity_allows),
                    " allows ",
                    action,
                    " for ",
                    who,
                    "; ",
                    action,
                    " has no key resource, so identity policies alone decide.",
                ]),
                AllowBasis::KeyPolicy if cross => words(&[
                    "Allowed: ",
                    &list(f.key_direct),
                    " allows ",
                    action,
                    " for ",
                    who,
                    ", and across accounts ",
                    &identity_or_root(f),
                    " allows it in account ",
                    account,
                    ".",
                ]),
                AllowBasis::KeyPolicy => words(&[
                    "Allowed: ",
                    &list(f.key_direct),
                    " allows ",
                    action,
                    " for ",
                    who,
                    ".",
                ]),
                AllowBasis::Delegated => words(&[
                    "Allowed: ",
                    &list(f.key_account),
                    " delegates ",
                    action,
                    " to account ",
                    account,
                    ", and ",
                    &identity_or_root(f),
                    " allows it.",
                ]),
                AllowBasis::GrantToCaller => words(&[
                    "Allowed: ",
                    &list(f.grants_direct),
                    " gives ",
                    action,
                    " to ",
                    who,
                    "; grants allow without a key-policy or IAM statement.",
                ]),
                AllowBasis::GrantToAccount => words(&[
                    "Allowed: ",
                    &list(f.grants_account),
                    " gives ",
                    action,
                    " to account ",
                    account,
                    ", and ",
                    &identity_or_root(f),
                    " allows it.",
                ]),
            };
            (text, None)
        }
        Verdict::ImplicitDeny => {
            let key_side = !f.key_direct.is_empty() || !f.key_account.is_empty();
            let alias_operation = request.target_key.is_some();
            let alias_allowed = !f.alias_allows.is_empty() || f.caller_is_root;
            let retire = request.action.info().allow_in
                == keyward_policy::catalog::AllowPlacement::GrantOnly;
            let (mut text, policy_kind) = if retire {
                (
                    words(&[
                        "Denied: ",
                        action,
                        " is authorized by the grant, not the key policy: the caller needs a grant that gives it RetireGrant, or an identity policy of the account that created the grant (the key's account); neither applies. A grant's retiring principal may also retire it (checked against the grant itself).",
                    ]),
                    "identity-based",
                )
            } else if alias_operation && !alias_allowed {
                (
                    words(&[
                        "Denied: ",
                        action,
                        " needs an identity policy allowing it on the alias ",
                        &request.resource,
                        ", and none does.",
                    ]),
                    "identity-based",
                )
            } else if !key_scoped {
                (
                    words(&[
                        "Denied: no identity policy allows ",
                        action,
                        ". It has no key resource, so only identity policies decide.",
                    ]),
                    "identity-based",
                )
            } else if cross && key_side && request.action.info().cross_account != CrossAccount::Yes
            {
                (
                    words(&[
                        "Denied: ",
                        action,
                        " cannot be used across accounts (the caller is in account ",
                        account,
                        ", the key in account ",
                        key_account,
                        "); permissions for it in another account have no effect.",
                    ]),
                    "resource-based",
                )
            } else if cross && key_side {
                let allowing = list(if f.key_direct.is_empty() {
                    f.key_account
                } else {
                    f.key_direct
                });
                (
                    words(&[
                        "Denied: the key policy allows ",
                        action,
                        " (",
                        &allowing,
                        "), but the caller is in account ",
                        account,
                        " and the key in account ",
                        key_account,
                        ": across accounts an identity policy in account ",
                        account,
                        " must allow it too, and none does.",
                    ]),
                    "identity-based",
                )
            } else if !f.key_account.is_empty() {
                (
                    words(&[
                        "Denied: ",
                        &list(f.key_account),
                        " delegates ",
                        action,
                        " to account ",
                        account,
                        ", but no identity policy allows it.",
                    ]),
                    "identity-based",
                )
            } else if request.member_account().is_none() {
                (
                    words(&[
                        "Denied: the key policy does not name the service principal ",
                        who,
                        " for ",
                        action,
                        "; a service is in no account, so no account principal covers it.",
                    ]),
                    "resource-based",
                )
            } else {
                (
                    words(&[
                        "Denied: the key policy does not allow ",
                        who,
                        " to perform ",
                        action,
                        " and does not delegate it to account ",
                        account,
                        ", so identity policies are not consulted; no grant gives it either.",
                    ]),
                    "resource-based",
                )
            };
            for miss in near_misses(trace) {
                text.push_str(" Note: ");
                text.push_str(&miss);
                text.push('.');
            }
            (
                text,
                message(&[
                    "because no ",
                    policy_kind,
                    " policy allows the ",
                    action,
                    " action",
                ]),
            )
        }
    }
}

fn identity_or_root(f: &FindingsView<'_>) -> String {
    if f.identity_allows.is_empty() {
        "the account's root user (whom IAM policies do not restrict)".to_owned()
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

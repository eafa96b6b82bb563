//! Witnesses: a region's representative request, written in the request format of
//! `keyward authorize` (`crates/authz/REQUEST.md`) without the policies, and checked by `authz`
//! through that format before anyone sees it.

use crate::AnalysisError;
use crate::mentions::Mentions;
use crate::principals::{Candidate, PrincipalKind};
use crate::space::{ASSUMED_IDENTITY_POLICY, KeyFacts, PolicySet, Side};
use keyward_authz::{Decision, Request, Verdict};
use keyward_conditions::ContextValue;
use keyward_grants::{Grant, GrantConstraint};
use serde_json::{Map, Value, json};

/// The keys `keyward authorize` derives from the principal itself: a witness does not repeat
/// them.
const DERIVED: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "kms:calleraccount",
];

/// The witness of `request`, made by `caller`: the request without the policies, with the
/// identity policy the analysis assumed when the comparison gives none.
/// The key's properties in the request format.
pub(crate) fn key_json(key: &KeyFacts) -> Value {
    json!({
        "spec": key.spec, "usage": key.usage, "origin": key.origin,
        "multi_region": key.multi_region, "aliases": key.aliases, "tags": key.tags,
    })
}

pub(crate) fn witness(
    request: &Request,
    caller: &Candidate,
    key: &KeyFacts,
    assumed_identity: bool,
    mentions: &Mentions,
) -> Value {
    let mut out = Map::new();
    out.insert("principal".into(), caller.arn.clone().into());
    if let Some(role) = caller
        .role_arn
        .as_ref()
        .filter(|r| r.matches('/').count() > 1)
    {
        // A role with a path: the session's ARN does not say it.
        out.insert("principal_role_arn".into(), role.clone().into());
    }
    out.insert("action".into(), request.action.qualified_name().into());
    out.insert("resource".into(), request.resource.clone().into());
    if let Some(target) = &request.target_key {
        // An alias operation: its resource is the alias, and this the key it names.
        out.insert("target_key".into(), target.clone().into());
    }
    out.insert("key".into(), key_json(key));
    if !request.encryption_context.is_empty() {
        let pairs: Map<String, Value> = request
            .encryption_context
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        out.insert("encryption_context".into(), Value::Object(pairs));
    }
    let mut context = Map::new();
    for (name, value) in request.context.iter() {
        let folded = name.to_ascii_lowercase();
        // Derived by the request format, or read by no policy (and so deciding nothing).
        if DERIVED.contains(&folded.as_str())
            || folded.starts_with("kms:encryptioncontext")
            || crate::space::is_key_property(&folded)
            || !mentions.keys.contains_key(&folded)
        {
            continue;
        }
        let value = match value {
            ContextValue::Multi(items) => {
                Value::Array(items.iter().map(|s| s.text().to_owned().into()).collect())
            }
            other => other
                .scalars()
                .first()
                .map_or(Value::Null, |s| Value::String(s.text().to_owned())),
        };
        context.insert(name.to_owned(), value);
    }
    if !context.is_empty() {
        out.insert("context".into(), Value::Object(context));
    }
    if assumed_identity && caller.kind != PrincipalKind::Service {
        out.insert(
            "identity_policies".into(),
            Value::Array(vec![parse(ASSUMED_IDENTITY_POLICY)]),
        );
    }
    Value::Object(out)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::String(text.to_owned()))
}

/// A witness completed with `set`'s key policy, identity policies (when given) and grants: a
/// request in the full format of `keyward authorize`.
pub fn complete_witness(witness: &Value, set: &PolicySet) -> Value {
    let mut request = witness.clone();
    if let Value::Object(members) = &mut request {
        members.insert("key_policy".into(), parse(&set.key_policy));
        if let Some(texts) = &set.identity_policies
            && members.contains_key("principal")
            && !is_service(members.get("principal"))
        {
            members.insert(
                "identity_policies".into(),
                Value::Array(texts.iter().map(|t| parse(t)).collect()),
            );
        }
        if !set.grants.is_empty() {
            members.insert(
                "grants".into(),
                Value::Array(set.grants.iter().map(grant_json).collect()),
            );
        }
    }
    request
}

fn is_service(principal: Option<&Value>) -> bool {
    principal
        .and_then(Value::as_str)
        .is_some_and(|p| !p.starts_with("arn:"))
}

/// A grant in the request format.
pub(crate) fn grant_json(grant: &Grant) -> Value {
    let mut out = Map::new();
    out.insert("grant_id".into(), grant.id.clone().into());
    out.insert("grantee_principal".into(), grant.grantee.clone().into());
    out.insert(
        "operations".into(),
        Value::Array(
            grant
                .operations
                .iter()
                .map(|a| a.info().name.to_owned().into())
                .collect(),
        ),
    );
    let pairs = |p: &[(String, String)]| -> Value {
        Value::Object(
            p.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    match &grant.constraint {
        Some(GrantConstraint::EncryptionContextEquals(p)) => {
            out.insert(
                "constraints".into(),
                json!({"encryption_context_equals": pairs(p)}),
            );
        }
        Some(GrantConstraint::EncryptionContextSubset(p)) => {
            out.insert(
                "constraints".into(),
                json!({"encryption_context_subset": pairs(p)}),
            );
        }
        None => {}
    }
    if let Some(r) = &grant.retiring_principal {
        out.insert("retiring_principal".into(), r.clone().into());
    }
    Value::Object(out)
}

/// The decision `authz` gives the witness completed with `set`, read back through the
/// request format (so the request is derived anew from what the witness says, as `keyward
/// authorize` derives it) and decided with `side`'s policies: its key policy and grants, and
/// its identity policies when the witness carries them (as given or as assumed), or the
/// caller's own. `side` holds `set`'s policies compiled, and decides with them: the policy
/// texts the request format asks for are stand-ins (`{}`), not copies of `set`'s, which the
/// request would only carry unread.
pub(crate) fn decide(
    witness: &Value,
    side: &Side,
    set: &PolicySet,
) -> Result<Decision, AnalysisError> {
    let mut members = match witness {
        Value::Object(members) => members.clone(),
        _ => {
            return Err(AnalysisError::Bug(format!(
                "a witness is not a JSON object: {witness}"
            )));
        }
    };
    // The side's identity policies (given with the set, perhaps none) take the place of any
    // the witness assumed.
    if let Some(given) = &set.identity_policies
        && members.contains_key("principal")
        && !is_service(members.get("principal"))
    {
        members.remove("identity_policies");
        if !given.is_empty() {
            members.insert("identity_policies".into(), json!([{}]));
        }
    }
    members.insert("key_policy".into(), json!({}));
    let text = Value::Object(members).to_string();
    let request = Request::parse(&text)
        .map_err(|e| AnalysisError::Bug(format!("a witness does not read as a request: {e}")))?;
    Ok(side.decide(!request.identity_policies.is_empty(), &request))
}

/// Checks that `witness` is allowed under one side and not under the other; the two
/// decisions.
pub(crate) fn confirm(
    witness: &Value,
    (allowing, allowing_set): (&Side, &PolicySet),
    (denying, denying_set): (&Side, &PolicySet),
) -> Result<(Decision, Decision), AnalysisError> {
    let yes = decide(witness, allowing, allowing_set)?;
    let no = decide(witness, denying, denying_set)?;
    if yes.verdict != Verdict::Allow || no.verdict == Verdict::Allow {
        return Err(AnalysisError::Bug(format!(
            "a witness disagrees with authz ({:?} where Allow was found, {:?} where it was not): {witness}",
            yes.verdict, no.verdict
        )));
    }
    Ok((yes, no))
}

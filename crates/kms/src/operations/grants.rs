//! Grants: CreateGrant, ListGrants, RevokeGrant, RetireGrant, ListRetirableGrants.

use crate::audit::AuditDecision;
use crate::caller::Caller;
use crate::entry::{KeyEntry, KeySlot};
use crate::error::KmsError;
use crate::gate::{Allowed, Call, KmsOperation, Named, operation};
use crate::paging::{PageSize, paginate};
use crate::service::Kms;
use keyward_api::{
    CreateGrantRequest, CreateGrantResponse, Empty, EncryptionContext, ErrorCode, GrantConstraints,
    GrantListEntry, ListGrantsRequest, ListGrantsResponse, ListRetirableGrantsRequest,
    RetireGrantRequest, RevokeGrantRequest,
};
use keyward_authz::{AllowBasis, Authorizer, Judgement, Reason, Source, Verdict};
use keyward_conditions::RequestContext;
use keyward_grants::key_grants::{
    CreateGrant as NewGrant, Created, CreatedGrant, KeyGrants, KeyGrantsError, ListFilter,
    RetireTarget, Retirer,
};
use keyward_grants::{Grant, GrantConstraint};
use keyward_policy::Effect;
use serde_json::json;
use std::sync::Arc;

/// DryRun is refused, never acted on, for the grant operations that change grants.
fn refuse_dry_run(dry_run: bool) -> Result<(), KmsError> {
    if dry_run {
        return Err(KmsError::unsupported(
            "DryRun is not supported for this operation by Keyward; nothing was done.",
        ));
    }
    Ok(())
}

/// A grant as ListGrants and ListRetirableGrants list it.
fn grant_entry(entry: &KeyEntry, g: &Grant) -> GrantListEntry {
    GrantListEntry {
        key_id: entry.meta.arn.clone(),
        grant_id: g.id.clone(),
        name: g.name.clone(),
        grantee_principal: g.grantee.clone(),
        retiring_principal: g.retiring_principal.clone(),
        issuing_account: g.issuing_account.clone(),
        operations: g
            .operations
            .iter()
            .map(|o| o.info().name.to_owned())
            .collect(),
        constraints: g.constraint.as_ref().map(|c| {
            let pairs = |p: &[(String, String)]| Some(p.iter().cloned().collect());
            match c {
                GrantConstraint::EncryptionContextEquals(p) => GrantConstraints {
                    encryption_context_equals: pairs(p),
                    encryption_context_subset: None,
                },
                GrantConstraint::EncryptionContextSubset(p) => GrantConstraints {
                    encryption_context_equals: None,
                    encryption_context_subset: pairs(p),
                },
            }
        }),
        creation_date: g
            .created_at
            .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)),
    }
}

/// The constraint's type and pairs.
fn constraint(r: &CreateGrantRequest) -> Option<(&'static str, &EncryptionContext)> {
    let constraints = r.constraints.as_ref()?;
    match (
        &constraints.encryption_context_equals,
        &constraints.encryption_context_subset,
    ) {
        (Some(pairs), _) => Some(("EncryptionContextEquals", pairs)),
        (None, Some(pairs)) => Some(("EncryptionContextSubset", pairs)),
        (None, None) => None,
    }
}

/// CreateGrant's condition keys (its constraint is read as the request's encryption context).
fn create_grant_context(r: &CreateGrantRequest, keys: &mut RequestContext) {
    keys.insert_single("kms:GranteePrincipal", &r.grantee_principal);
    if let Some(retiring) = &r.retiring_principal {
        keys.insert_single("kms:RetiringPrincipal", retiring);
    }
    if let Some((kind, _)) = constraint(r) {
        keys.insert_single("kms:GrantConstraintType", kind);
    }
    keys.insert_multi(
        "kms:GrantOperations",
        r.operations.iter().map(String::as_str),
    );
}

operation! {
    /// CreateGrant. When a policy allows it, the new grant may give any grant operation the
    /// key supports; when only grants allow it, it must fit under one of them (a subset of its
    /// operations, a constraint at least as strict), or the call is denied.
    CreateGrant(CreateGrantRequest) -> CreateGrantResponse, via Change, action "CreateGrant", state Cryptographic;
    audit |r| json!({
        "keyId": r.key_id,
        "granteePrincipal": r.grantee_principal,
        "retiringPrincipal": r.retiring_principal,
        "operations": r.operations,
        "name": r.name,
        "constraints": constraint(r).map(|(kind, pairs)| json!({kind: pairs})),
    });
    check |r| refuse_dry_run(r.dry_run);
    context |r, keys| create_grant_context(r, keys);
    perform |op, entry, r| create_grant(op, entry, r)
}

fn create_grant(
    op: &mut Allowed<'_>,
    entry: &mut KeyEntry,
    r: &CreateGrantRequest,
) -> Result<CreateGrantResponse, KmsError> {
    let parents = parent_grants(entry, &op.judgement);
    let pairs = |m: &EncryptionContext| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let constraints = r.constraints.as_ref();
    let child = NewGrant {
        grantee_principal: r.grantee_principal.clone(),
        retiring_principal: r.retiring_principal.clone(),
        operations: r.operations.clone(),
        encryption_context_equals: constraints
            .and_then(|c| c.encryption_context_equals.as_ref())
            .map(pairs),
        encryption_context_subset: constraints
            .and_then(|c| c.encryption_context_subset.as_ref())
            .map(pairs),
        name: r.name.clone(),
    };
    let now = crate::clock::epoch_seconds(op.kms.clock.now());
    let created = match &parents {
        None => entry.grants.create_at(&child, now)?,
        Some(parents) => match create_under_any(&mut entry.grants, parents, &child, now) {
            Ok(created) => created,
            Err(KeyGrantsError::Escalation(why)) => {
                // Report mode goes on as if a policy allowed the call.
                escalation_refused(op, &entry.meta.arn, &why)?;
                entry.grants.create_at(&child, now)?
            }
            Err(other) => return Err(other.into()),
        },
    };
    let (Created::New(index) | Created::Retry(index)) = created.created;
    let grant_id = entry
        .grants
        .grants()
        .get(index)
        .map(|g| g.id.clone())
        .unwrap_or_default();
    entry.refresh_grants();
    op.call.response = json!({"grantId": grant_id});
    Ok(CreateGrantResponse {
        grant_id,
        grant_token: created.token,
    })
}

/// The grants that authorized a CreateGrant when no policy did (`None` when a key policy,
/// directly or delegated, allows it: then the caller may give any grant operation).
fn parent_grants(entry: &KeyEntry, judgement: &Judgement) -> Option<Vec<Grant>> {
    if !judgement.basis.is_some_and(AllowBasis::is_grant) {
        return None;
    }
    Some(
        judgement
            .reasons
            .iter()
            .filter_map(|r| match &r.source {
                Source::Grant(id) => entry.grants.grants().iter().find(|g| &g.id == id).cloned(),
                Source::Policy(_) => None,
            })
            .collect(),
    )
}

/// Creates `child` under the first of `parents` it fits under; the first refusal otherwise.
fn create_under_any(
    grants: &mut KeyGrants,
    parents: &[Grant],
    child: &NewGrant,
    now: u64,
) -> Result<CreatedGrant, KeyGrantsError> {
    let mut refusal = KeyGrantsError::Escalation("no grant authorizes CreateGrant".into());
    for (i, parent) in parents.iter().enumerate() {
        match grants.create_under_at(parent, child, now) {
            Ok(created) => return Ok(created),
            Err(e @ KeyGrantsError::Escalation(_)) => {
                if i == 0 {
                    refusal = e;
                }
            }
            Err(other) => return Err(other),
        }
    }
    Err(refusal)
}

/// The refusal of a CreateGrant that only grants allow and that none of them can give
/// (`AccessDeniedException`; recorded and let through in report mode).
fn escalation_refused(op: &mut Allowed<'_>, key_arn: &str, why: &str) -> Result<(), KmsError> {
    let message = format!(
        "User: {} is not authorized to perform: kms:CreateGrant on resource: {key_arn} because only a grant allows it, and a grant can delegate only what it gives: {why}",
        op.caller.arn()
    );
    let explanation = format!(
        "No policy allows {} kms:CreateGrant; grants do, and the new grant does not fit under any of them: {why}",
        op.caller.arn()
    );
    op.kms.refuse(
        op.call,
        AuditDecision {
            action: CreateGrant::ACTION,
            resource: key_arn.to_owned(),
            verdict: Verdict::ImplicitDeny,
            reasons: Vec::new(),
            denial: None,
        },
        message,
        explanation,
    )
}

operation! {
    /// ListGrants.
    ListGrants(ListGrantsRequest) -> ListGrantsResponse, via Read, action "ListGrants", state Any;
    audit |r| json!({"keyId": r.key_id, "grantId": r.grant_id, "granteePrincipal": r.grantee_principal, "limit": r.limit, "marker": r.marker});
    perform |_, entry, r| {
        let filter = ListFilter { grant_id: r.grant_id.as_deref(), grantee_principal: r.grantee_principal.as_deref() };
        let page = entry.grants.list(filter, r.limit.map(|l| l as usize), r.marker.as_deref())?;
        Ok(ListGrantsResponse {
            grants: page.grants.iter().map(|g| grant_entry(entry, g)).collect(),
            truncated: page.next_marker.is_some(),
            next_marker: page.next_marker,
        })
    }
}

operation! {
    /// RevokeGrant: authorized by the key policy (`kms:RevokeGrant`).
    RevokeGrant(RevokeGrantRequest) -> Empty, via Change, action "RevokeGrant", state Any;
    audit |r| json!({"keyId": r.key_id, "grantId": r.grant_id});
    check |r| refuse_dry_run(r.dry_run);
    perform |_, entry, r| {
        entry.grants.revoke(&r.grant_id)?;
        entry.refresh_grants();
        Ok(Empty {})
    }
}

operation! {
    /// RetireGrant: authorized by the grant (its retiring principal, its grantee when it
    /// includes RetireGrant, or the issuing account), not by the key policy.
    RetireGrant(RetireGrantRequest) -> Empty, via Own, action "RetireGrant", state Any;
    audit |r| json!({"keyId": r.key_id, "grantId": r.grant_id});
    check |r| refuse_dry_run(r.dry_run);
    run |kms, caller, call, r| retire_grant(kms, caller, call, r)
}

fn retire_grant(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &RetireGrantRequest,
) -> Result<Empty, KmsError> {
    RetireGrant::check(r)?;
    let action = RetireGrant::ACTION;
    let slot = match (&r.grant_token, &r.key_id) {
        (Some(token), _) => {
            let holder = |kms: &Kms| -> Result<Option<Arc<KeySlot>>, KmsError> {
                Ok(kms
                    .read()?
                    .keys
                    .values()
                    .find(|slot| {
                        slot.read()
                            .is_ok_and(|e| e.grants.resolve_token(token).is_ok())
                    })
                    .cloned())
            };
            let found = match holder(kms)? {
                Some(slot) => Some(slot),
                // A grant created through another instance sharing the store.
                None => {
                    kms.load_token_owner(token)?;
                    holder(kms)?
                }
            };
            found.ok_or_else(|| {
                KmsError::refused(ErrorCode::InvalidGrantToken, "The grant token is not valid")
            })?
        }
        (None, Some(key_id)) => kms.resolve(caller, key_id, action)?.0,
        (None, None) => {
            return Err(KmsError::validation(
                "Either GrantToken or KeyId and GrantId must be given",
            ));
        }
    };
    let mut guard = slot.write()?;
    let entry = &mut *guard;
    call.resources.push(entry.meta.arn.clone());
    // Whether the caller's identity policies allow kms:RetireGrant (how an account
    // delegates retiring).
    let context = kms.context(caller, Some(entry), &Named::default());
    let request = kms.request(caller, action, entry.meta.arn.clone(), None, None, context);
    let iam = Authorizer::from_parts(None, Arc::clone(caller.identity()), Arc::default());
    let identity_verdict = iam.verdict(&request);
    // An explicit deny in the caller's identity policies stops RetireGrant even for the
    // grant's retiring principal or grantee: IAM evaluation ends at a deny (fail-closed
    // where the sources say nothing more).
    if identity_verdict == Verdict::ExplicitDeny {
        let reasons = iam.judge(&request).reasons;
        let explanation = iam.decide(&request).explanation;
        kms.refuse(
            call,
            AuditDecision {
                action,
                resource: entry.meta.arn.clone(),
                verdict: Verdict::ExplicitDeny,
                reasons,
                denial: None,
            },
            format!(
                "User: {} is not authorized to perform: kms:RetireGrant on resource: {} with an explicit deny in an identity-based policy",
                caller.arn(),
                entry.meta.arn
            ),
            explanation,
        )?;
    }
    let target = match (&r.grant_token, &r.grant_id) {
        (Some(token), _) => RetireTarget::Token(token),
        (None, Some(grant_id)) => RetireTarget::GrantId(grant_id),
        (None, None) => return Err(KmsError::validation("GrantId is required with KeyId")),
    };
    let key_arn = entry.meta.arn.clone();
    kms.commit_key(entry, |entry| {
        let retired = entry.grants.retire(
            target,
            Retirer {
                arn: caller.arn(),
                role: caller.role_arn(),
                account: caller.account(),
                identity_allows_retire: identity_verdict == Verdict::Allow,
            },
        );
        // RetireGrant is authorized against the grant itself (its retiring principal or
        // grantee) or the identity policies of the key's account.
        let grant = match retired {
            Ok(grant) => grant,
            Err(KeyGrantsError::AccessDenied(why)) => {
                kms.refuse(
                    call,
                    AuditDecision {
                        action,
                        resource: key_arn.clone(),
                        verdict: Verdict::ImplicitDeny,
                        reasons: Vec::new(),
                        denial: None,
                    },
                    why.clone(),
                    format!("The grant does not let {} retire it: {why}", caller.arn()),
                )?;
                // Report mode: retired as if allowed.
                let id = match target {
                    RetireTarget::GrantId(id) => id.to_owned(),
                    RetireTarget::Token(token) => {
                        let index = entry.grants.resolve_token(token)?;
                        entry
                            .grants
                            .grants()
                            .get(index)
                            .map(|g| g.id.clone())
                            .unwrap_or_default()
                    }
                };
                entry.grants.revoke(&id)?;
                entry.refresh_grants();
                return Ok(Empty {});
            }
            Err(other) => return Err(other.into()),
        };
        call.decisions.push(AuditDecision {
            action,
            resource: key_arn,
            verdict: Verdict::Allow,
            reasons: vec![Reason {
                effect: Effect::Allow,
                source: Source::Grant(grant.id.clone()),
                statement: None,
                sid: None,
            }],
            denial: None,
        });
        entry.refresh_grants();
        Ok(Empty {})
    })
}

operation! {
    /// ListRetirableGrants: the grants, on every key, whose retiring principal is
    /// `RetiringPrincipal`, which must be in the caller's account (another account's is
    /// refused, failing closed). Identity policies alone decide.
    ListRetirableGrants(ListRetirableGrantsRequest) -> ListGrantsResponse, via NoKey,
        action "ListRetirableGrants", state Any;
    audit |r| json!({"retiringPrincipal": r.retiring_principal, "limit": r.limit, "marker": r.marker});
    perform |op, r| list_retirable_grants(op, r)
}

fn list_retirable_grants(
    op: &mut Allowed<'_>,
    r: &ListRetirableGrantsRequest,
) -> Result<ListGrantsResponse, KmsError> {
    let principal = r.retiring_principal.as_str();
    let account = keyward_policy::principal::Principal::parse_caller(principal)
        .ok()
        .and_then(|p| p.account().map(str::to_owned));
    match account {
        None => {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{principal}' at 'retiringPrincipal' failed to satisfy constraint: Member must be a principal ARN"
            )));
        }
        Some(a) if a != op.caller.account() => {
            op.kms.refuse(
                op.call,
                AuditDecision {
                    action: ListRetirableGrants::ACTION,
                    resource: "*".to_owned(),
                    verdict: Verdict::ImplicitDeny,
                    reasons: Vec::new(),
                    denial: None,
                },
                format!(
                    "User: {} is not authorized to perform: kms:ListRetirableGrants on resource: {principal}: the retiring principal is in another account",
                    op.caller.arn()
                ),
                format!(
                    "The retiring principal {principal} is in account {a}, not the caller's ({}): refused, failing closed.",
                    op.caller.account()
                ),
            )?;
        }
        Some(_) => {}
    }
    let mut slots: Vec<Arc<KeySlot>> = op.kms.read()?.keys.values().cloned().collect();
    slots.sort_by(|a, b| a.id.cmp(&b.id));
    let mut grants: Vec<GrantListEntry> = Vec::new();
    for slot in slots {
        // A key deleted meanwhile has no grants to list.
        let Ok(e) = slot.read() else { continue };
        grants.extend(
            e.grants
                .grants()
                .iter()
                .filter(|g| g.retiring_principal.as_deref() == Some(principal))
                .map(|g| grant_entry(&e, g)),
        );
    }
    let page = paginate(
        grants,
        r.limit,
        r.marker.as_deref(),
        PageSize {
            default: 50,
            max: 100,
        },
    )?;
    Ok(ListGrantsResponse {
        grants: page.items,
        next_marker: page.next_marker,
        truncated: page.truncated,
    })
}

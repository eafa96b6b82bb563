//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias operation needs its
//! action on the alias (identity policies) and on the key (key policy, delegated identity
//! policies); an alias belongs to the caller's account.

use crate::caller::Caller;
use crate::clock::epoch_seconds;
use crate::entry::{KeyEntry, State};
use crate::error::KmsError;
use crate::gate::{Allowed, Call, KmsOperation, operation};
use crate::key_state;
use crate::paging::{PageSize, paginate};
use crate::service::Kms;
use crate::store::Change;
use keyward_api::{
    AliasListEntry, CreateAliasRequest, DeleteAliasRequest, Empty, ErrorCode, ListAliasesRequest,
    ListAliasesResponse, UpdateAliasRequest,
};
use keyward_crypto::KeySpec;
use serde_json::json;

/// The aliases AWS predefines in every account and Region for the AWS managed keys of the
/// services that use them (`alias/aws/<service>`); ListAliases shows them without a target
/// until the managed key is created.
pub(crate) const PREDEFINED_ALIASES: &[&str] = &[
    "alias/aws/acm",
    "alias/aws/dynamodb",
    "alias/aws/ebs",
    "alias/aws/elasticfilesystem",
    "alias/aws/es",
    "alias/aws/glue",
    "alias/aws/kinesisvideo",
    "alias/aws/lambda",
    "alias/aws/rds",
    "alias/aws/redshift",
    "alias/aws/s3",
    "alias/aws/secretsmanager",
    "alias/aws/ssm",
    "alias/aws/xray",
];

/// An alias's target is a key: an alias name or alias ARN there is refused as AWS does.
fn check_alias_target(target_key_id: &str) -> Result<(), KmsError> {
    if target_key_id.starts_with("alias/") || target_key_id.contains(":alias/") {
        return Err(KmsError::validation(
            "Aliases must refer to keys. Not aliases",
        ));
    }
    Ok(())
}

/// An alias name as AWS takes it.
pub(crate) fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") {
        return Err(KmsError::validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::refused(
            ErrorCode::AccessDenied,
            "Alias names beginning with alias/aws/ are reserved for AWS managed keys",
        ));
    }
    // The API's pattern (`^[a-zA-Z0-9:/_-]+$`) and length first, then its documented rule:
    // "It can contain only alphanumeric characters, forward slashes (/), underscores (_), and
    // dashes (-)" (no colon).
    let pattern = name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
    if !pattern {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    if name.len() == "alias/".len() || name.contains(':') {
        return Err(KmsError::validation(format!(
            "Alias name {name} is not valid: after \"alias/\" it can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)"
        )));
    }
    Ok(())
}

/// Points alias `name` of `account` at key `to` (from key `from`, if it had one):
/// persisted, then in memory, with both keys' `kms:ResourceAliases` refreshed. The caller
/// holds the map's write lock and no key's lock: both keys are locked here, in order.
pub(crate) fn point_alias(
    kms: &Kms,
    state: &mut State,
    account: &str,
    name: &str,
    from: Option<&str>,
    to: &str,
) -> Result<(), KmsError> {
    let now = epoch_seconds(kms.clock.now());
    let created = state.aliases.get(account, name).map_or(now, |a| a.created);
    let record = kms.alias_record(account, name, to, created, now);
    let new_slot = state.slot(to);
    let old_slot = from.and_then(|id| state.slot(id));
    // Both keys locked before the write, so no call sees the alias moved and a key's
    // `kms:ResourceAliases` not yet.
    let (mut new, mut old) = match (&new_slot, &old_slot) {
        (Some(new), Some(old)) => {
            let (new, old) = crate::entry::KeySlot::write_both(new, old)?;
            (Some(new), old)
        }
        (Some(new), None) => (Some(new.write()?), None),
        (None, _) => (None, None),
    };
    // Written only if the alias still points where this instance saw it, and the keys it
    // decided on are as it saw them (another instance sharing the store may have changed
    // them).
    let mut changes = kms.key_guards([new.as_deref(), old.as_deref()]);
    changes.push(Change::AliasGuard {
        account: account.to_owned(),
        name: name.to_owned(),
        key_id: from.map(str::to_owned),
    });
    changes.push(Change::PutAlias(record.clone()));
    kms.persist(&changes)?;
    state.aliases.insert(record);
    match (&mut new, &mut old) {
        // The alias stays on its key (UpdateAlias to the key it already names).
        (Some(_), None) if from == Some(to) => {}
        _ => {
            if let Some(old) = old.as_deref_mut() {
                old.aliases.retain(|a| a != name);
                old.refresh_context();
            }
            if let Some(new) = new.as_deref_mut() {
                new.aliases.push(name.to_owned());
                new.refresh_context();
            }
        }
    }
    Ok(())
}

operation! {
    /// CreateAlias: the alias belongs to the caller's account, and its target must be a key of
    /// that account named by key ID or key ARN.
    CreateAlias(CreateAliasRequest) -> Empty, via Own, action "CreateAlias", state NotPendingDeletion;
    audit |r| json!({"aliasName": r.alias_name, "targetKeyId": r.target_key_id});
    check |r| {
        check_alias_name(&r.alias_name)?;
        check_alias_target(&r.target_key_id)
    };
    run |kms, caller, call, r| create_alias(kms, caller, call, r)
}

fn create_alias(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &CreateAliasRequest,
) -> Result<Empty, KmsError> {
    CreateAlias::check(r)?;
    kms.housekeeping()?;
    kms.fill(caller, &r.target_key_id, CreateAlias::ACTION)?;
    kms.load_missing_alias(caller.account(), &r.alias_name)?;
    // One write lock from the check that the name is free to the alias's creation.
    let mut state = kms.write()?;
    let id = {
        let (slot, _) = kms.resolve_in(&state, caller, &r.target_key_id, CreateAlias::ACTION)?;
        let guard = slot.read()?;
        let entry = &*guard;
        call.resources.push(entry.meta.arn.clone());
        kms.authorize_alias(call, caller, entry, CreateAlias::ACTION, &r.alias_name)?;
        crate::managed::refuse_change(entry, CreateAlias::ACTION)?;
        key_state::check(entry, CreateAlias::STATE)?;
        if state.aliases.contains(caller.account(), &r.alias_name) {
            return Err(KmsError::refused(
                ErrorCode::AlreadyExists,
                format!(
                    "An alias with the name {} already exists",
                    kms.alias_arn(caller.account(), &r.alias_name)
                ),
            ));
        }
        entry.meta.id.clone()
    };
    point_alias(kms, &mut state, caller.account(), &r.alias_name, None, &id)?;
    Ok(Empty {})
}

operation! {
    /// UpdateAlias: points an alias at another key of the same type and usage.
    /// `kms:UpdateAlias` is needed on the alias (identity policies), on the key it points to
    /// now and on the new key (key policies or delegated identity policies). The new target
    /// may not be pending deletion (the current one may).
    UpdateAlias(UpdateAliasRequest) -> Empty, via Own, action "UpdateAlias", state NotPendingDeletion;
    audit |r| json!({"aliasName": r.alias_name, "targetKeyId": r.target_key_id});
    check |r| {
        check_alias_name(&r.alias_name)?;
        check_alias_target(&r.target_key_id)
    };
    run |kms, caller, call, r| update_alias(kms, caller, call, r)
}

/// A key's type for UpdateAlias: an alias moves only to a key of the same type and usage.
fn alias_kind(entry: &KeyEntry) -> (&'static str, &'static str) {
    let family = match entry.meta.spec {
        KeySpec::SymmetricDefault => "symmetric",
        KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => "HMAC",
        _ => "asymmetric",
    };
    (family, entry.meta.usage.as_str())
}

fn update_alias(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &UpdateAliasRequest,
) -> Result<Empty, KmsError> {
    UpdateAlias::check(r)?;
    kms.housekeeping()?;
    kms.fill(caller, &r.target_key_id, UpdateAlias::ACTION)?;
    kms.load_missing_alias(caller.account(), &r.alias_name)?;
    let mut state = kms.write()?;
    let (old_id, new_id) = {
        let current_slot = kms.resolve_alias(&state, caller, &r.alias_name)?;
        let (target_slot, _) =
            kms.resolve_in(&state, caller, &r.target_key_id, UpdateAlias::ACTION)?;
        let (current, target) = crate::entry::KeySlot::read_both(&current_slot, &target_slot)?;
        let current = &*current;
        let target = target.as_deref().unwrap_or(current);
        call.resources.push(current.meta.arn.clone());
        call.resources.push(target.meta.arn.clone());
        kms.authorize_alias(call, caller, current, UpdateAlias::ACTION, &r.alias_name)?;
        kms.authorize_alias(call, caller, target, UpdateAlias::ACTION, &r.alias_name)?;
        crate::managed::refuse_change(target, UpdateAlias::ACTION)?;
        key_state::check(target, UpdateAlias::STATE)?;
        if alias_kind(current) != alias_kind(target) {
            return Err(KmsError::validation(format!(
                "{} is not the same type of key as {}: an alias can move only to a key of the same type and key usage.",
                target.meta.arn, current.meta.arn
            )));
        }
        (current.meta.id.clone(), target.meta.id.clone())
    };
    point_alias(
        kms,
        &mut state,
        caller.account(),
        &r.alias_name,
        Some(&old_id),
        &new_id,
    )?;
    Ok(Empty {})
}

operation! {
    /// DeleteAlias.
    DeleteAlias(DeleteAliasRequest) -> Empty, via Own, action "DeleteAlias", state Any;
    audit |r| json!({"aliasName": r.alias_name});
    check |r| check_alias_name(&r.alias_name);
    run |kms, caller, call, r| delete_alias(kms, caller, call, r)
}

fn delete_alias(
    kms: &Kms,
    caller: &Caller,
    call: &mut Call,
    r: &DeleteAliasRequest,
) -> Result<Empty, KmsError> {
    DeleteAlias::check(r)?;
    let account = caller.account();
    kms.load_missing_alias(account, &r.alias_name)?;
    let mut state = kms.write()?;
    let slot = kms.resolve_alias(&state, caller, &r.alias_name)?;
    let mut entry = slot.write()?;
    call.resources.push(entry.meta.arn.clone());
    kms.authorize_alias(call, caller, &entry, DeleteAlias::ACTION, &r.alias_name)?;
    let mut changes = kms.key_guards([Some(&*entry)]);
    changes.push(Change::AliasGuard {
        account: account.to_owned(),
        name: r.alias_name.clone(),
        key_id: Some(entry.meta.id.clone()),
    });
    changes.push(Change::DeleteAlias {
        account: account.to_owned(),
        name: r.alias_name.clone(),
    });
    kms.persist(&changes)?;
    state.aliases.remove(account, &r.alias_name);
    entry.aliases.retain(|a| *a != r.alias_name);
    entry.refresh_context();
    Ok(Empty {})
}

operation! {
    /// ListAliases: the caller's account's aliases, optionally of one key, and, without a key,
    /// the aliases AWS predefines for its managed keys (listed without a target until the
    /// managed key exists, as the API Reference describes). Identity policies decide.
    ListAliases(ListAliasesRequest) -> ListAliasesResponse, via NoKey, action "ListAliases", state Any;
    audit |r| json!({"keyId": r.key_id});
    perform |op, r| list_aliases(op, r)
}

fn list_aliases(
    op: &mut Allowed<'_>,
    r: &ListAliasesRequest,
) -> Result<ListAliasesResponse, KmsError> {
    let (kms, account) = (op.kms, op.caller.account());
    if let Some(k) = &r.key_id {
        kms.fill(op.caller, k, ListAliases::ACTION)?;
    }
    let state = kms.read()?;
    let only = match &r.key_id {
        Some(k) => Some(
            kms.resolve_in(&state, op.caller, k, ListAliases::ACTION)?
                .0
                .id
                .clone(),
        ),
        None => None,
    };
    let mut aliases: Vec<AliasListEntry> = state
        .aliases
        .of(account)
        .filter(|a| only.as_ref().is_none_or(|id| &a.key_id == id))
        .map(|a| AliasListEntry {
            alias_name: a.name.clone(),
            alias_arn: kms.alias_arn(account, &a.name),
            target_key_id: Some(a.key_id.clone()),
        })
        .collect();
    if only.is_none() {
        aliases.extend(
            PREDEFINED_ALIASES
                .iter()
                .filter(|name| !state.aliases.contains(account, name))
                .map(|name| AliasListEntry {
                    alias_name: (*name).to_owned(),
                    alias_arn: kms.alias_arn(account, name),
                    target_key_id: None,
                }),
        );
        aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
    }
    let page = paginate(
        aliases,
        r.limit,
        r.marker.as_deref(),
        PageSize {
            default: 50,
            max: 1000,
        },
    )?;
    Ok(ListAliasesResponse {
        aliases: page.items,
        next_marker: page.next_marker,
        truncated: page.truncated,
    })
}

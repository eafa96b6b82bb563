//! Checks decided by the access analysis (`keyward-analysis`): who can use the key, from which
//! account, whether anyone can still change its policy, and whether one principal both
//! administers and uses it. Each is a question put to the engine, which decides every kind of
//! caller exactly (the account's principals, those the policy names, other accounts, anyone,
//! AWS services) with identity policies that allow everything, as IAM Access Analyzer assumes;
//! every finding carries a witness request that `authz` allows. A policy the engine cannot
//! decide exactly gets a `not-analysed` finding that says why, never a guess.

use super::catalog::statement_actions;
use super::hygiene::{beside_root_delegation, only_accounts, principal_entries, through_a_service};
use crate::{LintOptions, Raw};
use keyward_analysis::{
    KeyFacts, PolicySet, PrincipalKind, Reach, ReachQuestion, ReachWitness, principal_facts, reach,
    reach_parsed,
};
use keyward_policy::catalog::{ActionId, ActionSet, kms_action};
use keyward_policy::model::{PrincipalType, PrincipalValue, Statement};
use keyward_policy::operator::OperatorKind;
use keyward_policy::principal::Principal;
use keyward_policy::wildcard::has_wildcard;
use keyward_policy::{
    Effect, PolicyDocument, PolicyKind, Span, Spanned, StatementMatchers, delegated_account,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const KEY_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Condition keys that say who the caller is; an outsider cannot choose their values.
fn identity_key(key: &str) -> bool {
    [
        "aws:PrincipalAccount",
        "kms:CallerAccount",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalArn",
        "aws:userid",
        "aws:SourceAccount",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(key))
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn list(actions: ActionSet) -> String {
    let names: Vec<_> = actions.iter().map(|a| a.qualified_name()).collect();
    let shown = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 3 {
        format!("{shown} and {} more", names.len() - 3)
    } else {
        shown
    }
}

/// The key's own ARN: `--key-arn`, else the one key ARN the policy's `Resource` elements name,
/// when they name exactly one and no pattern of key ARNs.
pub(crate) fn own_key_arn(document: &PolicyDocument, options: &LintOptions) -> Option<String> {
    if let Some(arn) = &options.key_arn {
        return Some(arn.clone());
    }
    let mut named: Vec<&str> = document
        .statements
        .iter()
        .filter_map(|s| s.value.resource.as_ref())
        .flat_map(|r| r.value.patterns.iter())
        .map(|p| p.value.as_str())
        .filter(|p| p.starts_with("arn:") && p.contains(":kms:") && p.contains(":key/"))
        .collect();
    named.sort_unstable();
    named.dedup();
    match named.as_slice() {
        [one] if !has_wildcard(one) && account_of(one).is_some() => Some((*one).to_owned()),
        _ => None,
    }
}

/// The key's account: `--account`, else the account of the key's own ARN (`--key-arn`, or the
/// one the policy names), else the one account the policy delegates to.
pub(crate) fn own_account(document: &PolicyDocument, options: &LintOptions) -> Option<String> {
    if let Some(account) = &options.account {
        return Some(account.clone());
    }
    if let Some(arn) = own_key_arn(document, options)
        && let Some(account) = account_of(&arn)
    {
        return Some(account.to_owned());
    }
    let matchers = StatementMatchers::new(document, PolicyKind::KeyPolicy).ok()?;
    delegated_account(matchers.statements()).map(str::to_owned)
}

/// The key's account as the checks take it: [`own_account`], else the one account the policy
/// names.
pub(crate) fn key_account(document: &PolicyDocument, options: &LintOptions) -> Option<String> {
    own_account(document, options).or_else(|| named_account(document))
}

/// Where a finding about the whole policy points: its first statement (the start when it has
/// none).
fn first_statement(document: &PolicyDocument) -> Span {
    document
        .statements
        .first()
        .map_or(Span::new(0, 0), |s| s.span)
}

/// The one account the policy names, when it names exactly one: in `Principal` (accounts,
/// roots, users, roles, sessions) and in `kms:CallerAccount` and `aws:PrincipalAccount` tests.
fn named_account(document: &PolicyDocument) -> Option<String> {
    let mut accounts: Vec<String> = Vec::new();
    for statement in &document.statements {
        let s = &statement.value;
        if let Some(clause) = &s.principal
            && let PrincipalValue::Map(entries) = &clause.value.value
        {
            for entry in entries {
                for value in &entry.values {
                    if let Ok(principal) =
                        Principal::parse_in_policy(entry.principal_type.value, &value.value)
                        && let Some(account) = principal.account()
                    {
                        accounts.push(account.to_owned());
                    }
                }
            }
        }
        for entry in s.condition.iter().flat_map(|c| c.value.operators.iter()) {
            for key in &entry.keys {
                let name = key.key.value.as_str();
                if name.eq_ignore_ascii_case("kms:CallerAccount")
                    || name.eq_ignore_ascii_case("aws:PrincipalAccount")
                {
                    accounts.extend(
                        key.values
                            .iter()
                            .map(|v| v.value.text.clone())
                            .filter(|t| t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit())),
                    );
                }
            }
        }
    }
    accounts.sort();
    accounts.dedup();
    match accounts.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Conditions of a statement on identity keys, described for messages.
fn identity_conditions(statement: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(block) = &statement.condition {
        for entry in &block.value.operators {
            for key in entry.keys.iter().filter(|k| identity_key(&k.key.value)) {
                let values: Vec<String> = key
                    .values
                    .iter()
                    .map(|v| format!("\"{}\"", v.value.text))
                    .collect();
                let operator = &entry.operator.value;
                out.push(format!(
                    "`{}` is only tested with {} {}{}",
                    key.key.value,
                    operator,
                    values.join(", "),
                    if operator.if_exists {
                        ", which holds for a caller that has no value for it"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    out
}

/// Whether the policy has the shape AWS gives its managed keys: no `Deny`; Allows to the
/// account that only read the key (`Describe*`, `Get*`, `List*`) and revoke grants; and
/// Allows to everyone that hold only through a service (`kms:ViaService`) for callers of an
/// account (`kms:CallerAccount`).
fn aws_managed_shape(document: &PolicyDocument) -> bool {
    let reads = |s: &Statement| {
        statement_actions(s).iter().all(|a| {
            let name = a.qualified_name();
            ["kms:Describe", "kms:Get", "kms:List"]
                .iter()
                .any(|p| name.starts_with(p))
                || name == "kms:RevokeGrant"
        })
    };
    let for_the_account = |s: &Statement| {
        s.condition.as_ref().is_some_and(|block| {
            block.value.operators.iter().any(|entry| {
                entry.operator.value.kind == OperatorKind::StringEquals
                    && !entry.operator.value.if_exists
                    && entry
                        .keys
                        .iter()
                        .any(|k| k.key.value.eq_ignore_ascii_case("kms:CallerAccount"))
            })
        })
    };
    let statements: Vec<&Statement> = document.statements.iter().map(|s| &s.value).collect();
    let (mut account_reads, mut through_services) = (false, false);
    for s in &statements {
        if s.effect.value != Effect::Allow {
            return false;
        }
        if only_accounts(s) && reads(s) {
            account_reads = true;
        } else if through_a_service(s) && for_the_account(s) {
            through_services = true;
        } else {
            return false;
        }
    }
    account_reads && through_services
}

/// The actions that administer a key (alias actions among them; alone they do not make an
/// administrator).
pub(crate) fn administration() -> ActionSet {
    static SET: OnceLock<ActionSet> = OnceLock::new();
    *SET.get_or_init(|| {
        named(&[
            "PutKeyPolicy",
            "ScheduleKeyDeletion",
            "CancelKeyDeletion",
            "DisableKey",
            "EnableKey",
            "DisableKeyRotation",
            "EnableKeyRotation",
            "UpdateKeyDescription",
            "UpdateAlias",
            "CreateAlias",
            "DeleteAlias",
            "ImportKeyMaterial",
            "DeleteImportedKeyMaterial",
            "TagResource",
            "UntagResource",
            "RotateKeyOnDemand",
            "ReplicateKey",
            "UpdatePrimaryRegion",
        ])
    })
}

/// The actions of `actions` that administer the key; none when they are alias actions only,
/// which alone do not make an administrator (the CloudTrail console's default lets every
/// caller of the account create an alias during setup).
pub(crate) fn administered(actions: ActionSet) -> ActionSet {
    static ALIASES: OnceLock<ActionSet> = OnceLock::new();
    let administration = administration();
    let administers = actions
        .iter()
        .filter(|a| administration.contains(*a))
        .fold(ActionSet::EMPTY, ActionSet::with);
    let aliases = *ALIASES.get_or_init(|| named(&["CreateAlias", "UpdateAlias", "DeleteAlias"]));
    if administers.iter().all(|a| aliases.contains(a)) {
        ActionSet::EMPTY
    } else {
        administers
    }
}

/// The actions that use a key for cryptography.
pub(crate) fn cryptography() -> ActionSet {
    static SET: OnceLock<ActionSet> = OnceLock::new();
    *SET.get_or_init(|| {
        named(&[
            "Encrypt",
            "Decrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "Sign",
            "GenerateMac",
            "DeriveSharedSecret",
        ])
    })
}

fn named(names: &[&str]) -> ActionSet {
    names
        .iter()
        .filter_map(|n| kms_action(&format!("kms:{n}")))
        .fold(ActionSet::EMPTY, ActionSet::with)
}

/// The key the questions are about: its own ARN when it is of `account`, else a key of it.
fn key_facts(document: &PolicyDocument, options: &LintOptions, account: &str) -> KeyFacts {
    let arn = own_key_arn(document, options)
        .filter(|arn| account_of(arn) == Some(account))
        .unwrap_or_else(|| format!("arn:aws:kms:us-east-1:{account}:key/{KEY_ID}"));
    KeyFacts::symmetric(&arn)
}

/// Whatever the engine cannot decide exactly: what was not checked, and why.
fn not_analysed(
    document: &PolicyDocument,
    error: &keyward_analysis::AnalysisError,
    checks: &str,
    out: &mut Vec<Raw>,
) {
    out.push(Raw::new(
        "not-analysed",
        first_statement(document),
        format!("{checks} were not checked: the access analysis cannot decide this policy exactly ({error})"),
    ));
}

pub(crate) fn semantic(
    document: &PolicyDocument,
    text: &str,
    options: &LintOptions,
    out: &mut Vec<Raw>,
) {
    let own = key_account(document, options);
    // Public access does not depend on the key's account: without one, a stand-in.
    let account = own.clone().unwrap_or_else(|| "111122223333".to_owned());
    let key = key_facts(document, options, &account);
    let assumed = PolicySet {
        key_policy: text.to_owned(),
        identity_policies: None,
        grants: Vec::new(),
    };
    // One question for public access, cross-account access and lockout: every caller and
    // action, callers of accounts no policy names in no organization, and kms:PutKeyPolicy
    // called directly (nobody calls it through a service: an allow that needs kms:ViaService
    // manages nothing).
    let put = kms_action("kms:PutKeyPolicy");
    let question = ReachQuestion {
        strangers_outside_organizations: true,
        direct_actions: put.into_iter().collect(),
        ..ReachQuestion::default()
    };
    let found = match reach_parsed(&assumed, document.clone(), &key, &question) {
        Ok(found) => found,
        Err(e) => {
            not_analysed(
                document,
                &e,
                "public access, cross-account access, lockout and separation of duties",
                out,
            );
            return;
        }
    };
    public_access(document, &found, out);
    match &own {
        Some(own) => {
            cross_account(document, &found, own, options, out);
            lockout(document, &found, (&assumed, &key), own, out);
        }
        None => {
            // No account to decide lockout and cross-account access for: say so rather than
            // decide them for an invented one.
            out.push(Raw::new(
                "account-unknown",
                first_statement(document),
                "the key's account is not known (no --account, no one account the policy delegates to, and not exactly one account named): lockout and cross-account access were not checked; give --account",
            ));
        }
    }
    separation_of_duties(document, text, own.as_deref(), &key, out);
}

/// A witness in a few words: who calls what, with which context.
fn example(witness: &ReachWitness) -> String {
    let request = &witness.request;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut with: Vec<String> = Vec::new();
    if let Some(Value::Object(pairs)) = request.get("encryption_context") {
        with.extend(
            pairs
                .iter()
                .map(|(k, v)| format!("encryption context {k}={}", text(v))),
        );
    }
    if let Some(Value::Object(keys)) = request.get("context") {
        with.extend(keys.iter().map(|(k, v)| format!("{k}={}", text(v))));
    }
    format!(
        "`{}` calling {}{}",
        request.get("principal").map(text).unwrap_or_default(),
        request.get("action").map(text).unwrap_or_default(),
        if with.is_empty() {
            String::new()
        } else {
            format!(" with {}", with.join(", "))
        }
    )
}

fn set_of(actions: &[ActionId]) -> ActionSet {
    actions
        .iter()
        .copied()
        .fold(ActionSet::EMPTY, ActionSet::with)
}

/// What one finding gathers: where it is, the actions, the first witness, and who.
struct Gathered {
    actions: ActionSet,
    witness: ReachWitness,
    /// The statement that allows it.
    statement: usize,
    /// For cross-account access: the account, and the principal the policy names (or the
    /// class's, when `class`).
    account: String,
    principal: String,
    class: bool,
}

/// Adds `actions` to the finding at `span`, made with `first` when it is the first there.
fn gather<'a>(
    found: &'a mut BTreeMap<(usize, usize), Gathered>,
    span: Span,
    actions: &[ActionId],
    first: impl FnOnce() -> Gathered,
) -> &'a mut Gathered {
    let entry = found.entry((span.start, span.end)).or_insert_with(first);
    entry.actions = entry.actions.union(set_of(actions));
    entry
}

fn public_access(document: &PolicyDocument, found: &Reach, out: &mut Vec<Raw>) {
    let mut by_statement: BTreeMap<(usize, usize), Gathered> = BTreeMap::new();
    for reached in found
        .reached
        .iter()
        .filter(|r| r.public && r.kind != PrincipalKind::Service)
    {
        let Ok(witnesses) = found.witnesses(reached) else {
            continue;
        };
        for (actions, witness) in &witnesses {
            for at in &witness.statements {
                let Some(statement) = document.statements.get(at.index) else {
                    continue;
                };
                let span = statement
                    .value
                    .principal
                    .as_ref()
                    .map_or(statement.span, |p| p.span);
                gather(&mut by_statement, span, actions, || Gathered {
                    actions: ActionSet::EMPTY,
                    witness: witness.clone(),
                    statement: at.index,
                    account: String::new(),
                    principal: String::new(),
                    class: true,
                });
            }
        }
    }
    for ((start, end), gathered) in by_statement {
        let Some(statement) = document.statements.get(gathered.statement) else {
            continue;
        };
        let why = identity_conditions(&statement.value);
        let why = if why.is_empty() {
            "no condition restricts the caller's account or organization".to_owned()
        } else {
            why.join("; ")
        };
        out.push(
            Raw::new(
                "public-access",
                Span::new(start, end),
                format!(
                    "any principal in any account, in no organization, can {}: {why}; for example {} is allowed",
                    list(gathered.actions),
                    example(&gathered.witness)
                ),
            )
            .with_witness(gathered.witness.request),
        );
    }
}

/// Where a statement names `account`: a principal of it, else a condition value that is the
/// account, else the statement's principal, else the statement.
fn naming(statement: &Spanned<Statement>, account: &str) -> Span {
    let s = &statement.value;
    for entry in principal_entries(s) {
        for value in &entry.values {
            if Principal::parse_in_policy(entry.principal_type.value, &value.value)
                .is_ok_and(|p| p.account() == Some(account))
            {
                return value.span;
            }
        }
    }
    for entry in s.condition.iter().flat_map(|c| c.value.operators.iter()) {
        for key in &entry.keys {
            if let Some(value) = key.values.iter().find(|v| v.value.text == account) {
                return value.span;
            }
        }
    }
    s.principal.as_ref().map_or(statement.span, |p| p.span)
}

fn cross_account(
    document: &PolicyDocument,
    found: &Reach,
    own: &str,
    options: &LintOptions,
    out: &mut Vec<Raw>,
) {
    let trusted =
        |account: &str| account == own || options.trusted_accounts.iter().any(|t| t == account);
    let mut by_place: BTreeMap<(usize, usize), Gathered> = BTreeMap::new();
    for reached in found.reached.iter().filter(|r| {
        !r.public
            && r.kind != PrincipalKind::Service
            && r.account.as_deref().is_some_and(|a| !trusted(a))
    }) {
        let Some(account) = reached.account.as_deref() else {
            continue;
        };
        let Ok(witnesses) = found.witnesses(reached) else {
            continue;
        };
        // A principal the policy names by ARN (a session of a named role is that role), or a
        // class of the account's principals.
        let (principal, class) = match reached.kind {
            PrincipalKind::Session => (
                session_role(&reached.principal).unwrap_or_else(|| reached.principal.clone()),
                false,
            ),
            PrincipalKind::Root | PrincipalKind::Account => (reached.principal.clone(), true),
            _ => (reached.principal.clone(), reached.principal.contains('*')),
        };
        for (actions, witness) in &witnesses {
            for at in &witness.statements {
                let Some(statement) = document.statements.get(at.index) else {
                    continue;
                };
                let entry = gather(&mut by_place, naming(statement, account), actions, || {
                    Gathered {
                        actions: ActionSet::EMPTY,
                        witness: witness.clone(),
                        statement: at.index,
                        account: account.to_owned(),
                        principal: principal.clone(),
                        class,
                    }
                });
                entry.class |= class;
            }
        }
    }
    for ((start, end), gathered) in by_place {
        let Gathered {
            actions,
            witness,
            account,
            principal,
            class,
            ..
        } = gathered;
        let who = if class {
            "principals of".to_owned()
        } else {
            format!("`{principal}` of")
        };
        out.push(
            Raw::new(
                "cross-account-access",
                Span::new(start, end),
                format!(
                    "{who} account {account}, outside {own} and the trusted accounts, can {}; for example {} is allowed; if that account is meant to use the key, pass --trusted-account {account}",
                    list(actions),
                    example(&witness)
                ),
            )
            .with_witness(witness.request),
        );
    }
}

fn lockout(
    document: &PolicyDocument,
    found: &Reach,
    (assumed, key): (&PolicySet, &KeyFacts),
    own: &str,
    out: &mut Vec<Raw>,
) {
    let Some(put) = kms_action("kms:PutKeyPolicy") else {
        return;
    };
    let can = |found: &Reach| {
        found
            .reached
            .iter()
            .any(|r| r.kind != PrincipalKind::Service && r.actions.contains(&put))
    };
    if can(found) {
        return;
    }
    // The shared question took callers of accounts no policy names to be in no
    // organization; asked again with them in any, before saying nobody can.
    let question = ReachQuestion {
        actions: vec![put],
        direct_actions: vec![put],
        ..ReachQuestion::default()
    };
    let found = match reach_parsed(assumed, document.clone(), key, &question) {
        Ok(found) if can(&found) => return,
        Ok(found) => found,
        Err(e) => {
            not_analysed(document, &e, "lockout", out);
            return;
        }
    };
    if aws_managed_shape(document) {
        out.push(Raw::new(
            "aws-managed-key-policy",
            first_statement(document),
            "this is the shape of an AWS managed key's policy: the account may only read the key and revoke its grants, and a service uses it for the account's callers; nobody can change it, by design (were this a customer managed key, nobody could call kms:PutKeyPolicy)",
        ));
        return;
    }
    let deny = document.statements.iter().find(|s| {
        s.value.effect.value == Effect::Deny && statement_actions(&s.value).contains(put)
    });
    let (at, cause) = match deny {
        Some(statement) => (statement.span, "this Deny leaves"),
        None => (first_statement(document), "the policy leaves"),
    };
    out.push(Raw::new(
        "lockout-risk",
        at,
        format!(
            "{cause} nobody able to call kms:PutKeyPolicy, proved over every kind of caller ({} in all: the root user and principals of account {own}, those the policy names, other accounts, anyone, AWS services) with identity policies that allow everything: the key could not be managed again without AWS Support",
            found.callers
        ),
    ));
}

/// `request` with the principal facts of `from`.
fn with_facts_of(request: &Value, from: &Value) -> Value {
    let mut out = request.clone();
    if let Value::Object(members) = &mut out {
        let mut context = match members.remove("context") {
            Some(Value::Object(keys)) => keys,
            _ => serde_json::Map::new(),
        };
        context.retain(|k, _| !k.to_ascii_lowercase().starts_with("aws:principal"));
        context.extend(principal_facts(from));
        if !context.is_empty() {
            members.insert("context".into(), Value::Object(context));
        }
    }
    out
}

/// The role of a role session's ARN (`arn:aws:sts::A:assumed-role/R/S` is a session of
/// `arn:aws:iam::A:role/R`).
fn session_role(arn: &str) -> Option<String> {
    keyward_policy::arn::Arn::parse(arn)?.session_role_arn()
}

/// `text` with each statement of `drop` made one that applies to nothing (indices kept).
fn without_statements(text: &str, drop: &[usize]) -> Option<String> {
    if drop.is_empty() {
        return Some(text.to_owned());
    }
    let mut value: Value = serde_json::from_str(text).ok()?;
    let inert: Value = serde_json::from_str(
        r#"{"Sid":"LeftOut","Effect":"Allow","Principal":"*","Action":"kms:CreateKey","Resource":"*"}"#,
    )
    .ok()?;
    match value.get_mut("Statement")? {
        Value::Array(list) => {
            for &i in drop {
                *list.get_mut(i)? = inert.clone();
            }
        }
        single => *single = inert,
    }
    Some(value.to_string())
}

/// Whether some principal could both administer the key and use it (or, without
/// kms:PutKeyPolicy, grant itself use), by what the statements name: without IAM policies only
/// the Allow statements that name a principal allow it anything, so the actions they name are
/// an upper bound on what it is allowed. A role's statements apply to its sessions too; a
/// statement that names everyone, every principal but some, or a pattern could apply to any.
/// When this says no, the analysis would find no one: it is not asked.
fn separation_possible(document: &PolicyDocument, delegating: &[usize], put: ActionId) -> bool {
    let (crypto, create_grant) = (cryptography(), named(&["CreateGrant"]));
    // By role (a session's), or principal: the actions named, and whether an unconditioned
    // statement naming it allows kms:PutKeyPolicy.
    let mut families: BTreeMap<String, (ActionSet, bool)> = BTreeMap::new();
    let denies_put = document
        .statements
        .iter()
        .any(|s| s.value.effect.value == Effect::Deny && statement_actions(&s.value).contains(put));
    for (i, statement) in document.statements.iter().enumerate() {
        let s = &statement.value;
        if s.effect.value != Effect::Allow || delegating.contains(&i) {
            continue;
        }
        let entries = match s
            .principal
            .as_ref()
            .map(|p| (p.value.negated, &p.value.value))
        {
            Some((false, PrincipalValue::Map(entries))) => entries,
            _ => return true,
        };
        let actions = statement_actions(s);
        for entry in entries {
            // A service principal or an account (its root user, or the delegation to IAM that
            // no IAM policy takes up here) is never reported.
            if entry.principal_type.value == PrincipalType::Service {
                continue;
            }
            for value in &entry.values {
                if value.value.contains('*') || entry.principal_type.value != PrincipalType::Aws {
                    return true;
                }
                if matches!(
                    Principal::parse_in_policy(PrincipalType::Aws, &value.value),
                    Ok(Principal::Account { .. } | Principal::Root { .. })
                ) {
                    continue;
                }
                let (family, whole) = match session_role(&value.value) {
                    Some(role) => (role, false),
                    None => (value.value.clone(), true),
                };
                let known = families.entry(family).or_insert((ActionSet::EMPTY, false));
                known.0 = known.0.union(actions);
                known.1 |= whole && s.condition.is_none() && !denies_put && actions.contains(put);
            }
        }
    }
    families.values().any(|&(actions, surely_puts)| {
        let uses = actions.iter().any(|a| crypto.contains(a));
        let grants = create_grant.iter().any(|g| actions.contains(g));
        !administered(actions).is_empty() && (uses || (grants && !surely_puts))
    })
}

/// Who administers the key and also uses it, decided on the key policy alone (no IAM policy:
/// a principal the policy delegates to IAM is the IAM policies' to split), for calls made
/// directly (what a statement allows only through a service is the service's work on the
/// caller's behalf). The account's root, and principals named beside it in the statement that
/// delegates to IAM (`principal-beside-root-delegation`'s finding), are not reported.
fn separation_of_duties(
    document: &PolicyDocument,
    text: &str,
    own: Option<&str>,
    key: &KeyFacts,
    out: &mut Vec<Raw>,
) {
    let Some(put_key_policy) = kms_action("kms:PutKeyPolicy") else {
        return;
    };
    let delegating: Vec<usize> = document
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| own.is_some_and(|own| beside_root_delegation(&s.value, own)))
        .map(|(i, _)| i)
        .collect();
    if separation_possible(document, &delegating, put_key_policy) {
        separation_by_analysis(document, text, (&delegating, put_key_policy), key, out);
    }
}

/// [`separation_of_duties`], asked of the analysis.
fn separation_by_analysis(
    document: &PolicyDocument,
    text: &str,
    (delegating, put_key_policy): (&[usize], ActionId),
    key: &KeyFacts,
    out: &mut Vec<Raw>,
) {
    let (admin, crypto) = (administration(), cryptography());
    let create_grant = named(&["CreateGrant"]);
    let Some(key_policy) = without_statements(text, delegating) else {
        return;
    };
    let direct = PolicySet {
        key_policy,
        identity_policies: Some(Vec::new()),
        grants: Vec::new(),
    };
    // The alias operations need an identity policy allowing them on the alias, and these
    // callers have none: they are never allowed here, and not asked about.
    let actions: Vec<ActionId> = admin
        .union(crypto)
        .union(create_grant)
        .iter()
        .filter(|a| a.is_on_a_key())
        .collect();
    let question = ReachQuestion {
        direct_actions: actions.clone(),
        actions,
        ..ReachQuestion::default()
    };
    let found = match reach(&direct, key, &question) {
        Ok(found) => found,
        Err(e) => {
            not_analysed(document, &e, "separation of duties", out);
            return;
        }
    };
    for reached in found.reached.iter().filter(|r| {
        !matches!(
            r.kind,
            PrincipalKind::Root | PrincipalKind::Account | PrincipalKind::Service
        )
    }) {
        let administers = administered(set_of(&reached.actions));
        if administers.is_empty() {
            continue;
        }
        let uses = reached
            .actions
            .iter()
            .copied()
            .filter(|a| crypto.contains(*a))
            .fold(ActionSet::EMPTY, ActionSet::with);
        let grants = reached.actions.iter().any(|a| create_grant.contains(*a));
        // Whoever may call kms:PutKeyPolicy can give itself anything: that is what
        // administering a key means, and every key needs someone who can. Use granted
        // alongside it is the finding; kms:CreateGrant is one only for an administrator
        // without kms:PutKeyPolicy, to whom it is a way to use the key it would not have.
        let (how, used) = if !uses.is_empty() {
            (format!("can also use it: {}", list(uses)), uses)
        } else if grants && !administers.contains(put_key_policy) {
            (
                "can also grant itself use of it through kms:CreateGrant".to_owned(),
                create_grant,
            )
        } else {
            continue;
        };
        let (Some(&administering), Some(using)) = (
            reached.actions.iter().find(|a| administers.contains(**a)),
            used.iter().next(),
        ) else {
            continue;
        };
        let (Ok(as_admin), Ok(as_user)) = (
            found.witness(reached, administering),
            found.witness(reached, using),
        ) else {
            continue;
        };
        // One principal: the use is allowed with the administrator's own facts (its tags,
        // its organization), when the policy tells principals apart by them. When the first
        // points found disagree, every point is asked: some principal may still do both.
        let (as_admin, witness) =
            if principal_facts(&as_admin.request) == principal_facts(&as_user.request) {
                (as_admin, as_user)
            } else if let Ok(Some(witness)) =
                found.confirm(&with_facts_of(&as_user.request, &as_admin.request))
            {
                (as_admin, witness)
            } else {
                let administering: Vec<ActionId> = administers.iter().collect();
                let using: Vec<ActionId> = used.iter().collect();
                match found.witnesses_together(reached, &administering, &using) {
                    Ok(Some(both)) => both,
                    Ok(None) => continue,
                    Err(e) => {
                        not_analysed(document, &e, "separation of duties", out);
                        continue;
                    }
                }
            };
        let Some(statement) = as_admin
            .statements
            .first()
            .and_then(|at| document.statements.get(at.index))
        else {
            continue;
        };
        // The principal as the statement names it: its ARN, its role's (for a session), or
        // the statement's first principal (`*` narrowed by a condition on the caller).
        let role = session_role(&reached.principal);
        let values = || {
            principal_entries(&statement.value)
                .iter()
                .flat_map(|e| e.values.iter())
        };
        let span = values()
            .find(|v| v.value == reached.principal)
            .or_else(|| values().find(|v| role.as_deref() == Some(v.value.as_str())))
            .or_else(|| values().next())
            .map(|v| v.span)
            .or_else(|| statement.value.principal.as_ref().map(|p| p.span))
            .unwrap_or(statement.span);
        out.push(
            Raw::new(
                "no-separation-of-duties",
                span,
                format!(
                    "`{}` administers the key ({}) and {how}; for example {} is allowed; give administration and use to different principals",
                    reached.principal,
                    list(administers),
                    example(&witness)
                ),
            )
            .with_witness(witness.request),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::panic,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// Where the statements say no principal can both administer and use the key, the
    /// analysis finds none either: skipping it changes no answer. Over every key policy of the
    /// lint corpus.
    #[test]
    fn separation_is_only_skipped_where_the_analysis_finds_none() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/lint");
        let (mut skipped, mut asked) = (0, 0);
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(document) = keyward_policy::parse_and_validate(&text, PolicyKind::KeyPolicy)
            else {
                continue;
            };
            let options = LintOptions::default();
            let own = key_account(&document, &options);
            let account = own.clone().unwrap_or_else(|| "111122223333".to_owned());
            let key = key_facts(&document, &options, &account);
            let put = kms_action("kms:PutKeyPolicy").unwrap();
            let delegating: Vec<usize> = document
                .statements
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    own.as_deref()
                        .is_some_and(|own| beside_root_delegation(&s.value, own))
                })
                .map(|(i, _)| i)
                .collect();
            let mut found = Vec::new();
            separation_by_analysis(&document, &text, (&delegating, put), &key, &mut found);
            found.retain(|r| r.rule == "no-separation-of-duties");
            if separation_possible(&document, &delegating, put) {
                asked += 1;
            } else {
                skipped += 1;
                assert!(
                    found.is_empty(),
                    "{}: {:?}",
                    path.display(),
                    found.first().map(|r| &r.message)
                );
            }
        }
        assert!(
            skipped >= 100 && asked >= 10,
            "skipped {skipped}, asked {asked}"
        );
    }
}

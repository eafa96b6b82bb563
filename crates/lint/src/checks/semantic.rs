//! Checks decided by the authorization engine: who can use the key, from which account, and
//! whether anyone can still change its policy. Each question is a request put to `authz` with
//! a representative caller and a context built from the statement's own conditions (a
//! "witness": the values an outsider would send to satisfy them), so a condition that really
//! restricts passes and one that only looks restrictive does not.

use super::catalog::statement_actions;
use super::hygiene::{beside_root_delegation, only_accounts, principal_entries, through_a_service};
use super::reach::called_by_services;
use crate::{LintOptions, Raw};
use keyward_authz::{Authorizer, PolicyText, Request, Verdict};
use keyward_conditions::RequestContext;
use keyward_policy::catalog::{ActionId, ActionSet, ResourceScope, kms_action};
use keyward_policy::model::{PrincipalType, PrincipalValue, Statement};
use keyward_policy::operator::{OperatorFamily, OperatorKind};
use keyward_policy::principal::Principal;
use keyward_policy::wildcard::has_wildcard;
use keyward_policy::{
    Effect, PolicyDocument, PolicyKind, Span, StatementMatchers, delegated_account,
};
use std::collections::BTreeMap;

/// An account no policy names: the outsider of the public-access question.
const STRANGER: &str = "999999999999";
const STRANGER_ORG: &str = "o-keywardprobe0";
const KEY_ID: &str = "00000000-0000-4000-8000-000000000000";
/// Identity policy of every probe caller: its own account lets it do anything, so the answer
/// depends on the key policy alone.
const ALLOW_ALL: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#;

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

/// Keys only AWS services set, for the calls they make on a caller's behalf.
fn via_service_key(key: &str) -> bool {
    [
        "kms:ViaService",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:ViaAWSService",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(key))
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Who a probe is.
#[derive(Debug, Clone)]
struct Caller {
    arn: String,
    account: String,
}

impl Caller {
    fn role(account: &str, name: &str) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:role/{name}"),
            account: account.to_owned(),
        }
    }
}

/// A text that satisfies a string pattern (wildcards become `x`).
fn fill(pattern: &str) -> String {
    pattern.replace(['*', '?'], "x")
}

/// A value satisfying `operator` with the statement's values (`None`: leave the key out).
fn witness_value(kind: OperatorKind, values: &[String]) -> Option<String> {
    let first = values.first()?;
    Some(match kind.family() {
        OperatorFamily::Null => return None,
        _ if kind.is_negated() => "keyward-probe-value".to_owned(),
        OperatorFamily::Numeric => {
            let n: f64 = first.parse().ok()?;
            match kind {
                OperatorKind::NumericLessThan => (n - 1.0).to_string(),
                OperatorKind::NumericGreaterThan => (n + 1.0).to_string(),
                _ => first.clone(),
            }
        }
        OperatorFamily::Date => match kind {
            OperatorKind::DateLessThan | OperatorKind::DateLessThanEquals => {
                "1971-01-01T00:00:00Z".to_owned()
            }
            OperatorKind::DateGreaterThan | OperatorKind::DateGreaterThanEquals => {
                "2999-01-01T00:00:00Z".to_owned()
            }
            _ => first.clone(),
        },
        OperatorFamily::IpAddress => first.split('/').next().unwrap_or(first).to_owned(),
        _ => fill(first),
    })
}

/// The context a `caller` would send for `action` to satisfy `statement`'s conditions and to
/// escape the document's Deny statements, with identity keys fixed to who the caller really is
/// and only keys `action` can carry (PutKeyPolicy never comes through a service, so no
/// `kms:ViaService` value can help it).
fn witness(
    document: &PolicyDocument,
    statement: Option<&Statement>,
    caller: &Caller,
    org: Option<&str>,
    action: ActionId,
) -> RequestContext {
    let mut context = RequestContext::new();
    context.insert_single("aws:PrincipalArn", &caller.arn);
    context.insert_single("aws:PrincipalAccount", &caller.account);
    context.insert_single("kms:CallerAccount", &caller.account);
    if let Some(org) = org {
        context.insert_single("aws:PrincipalOrgID", org);
        context.insert_multi("aws:PrincipalOrgPaths", [format!("{org}/r-ab12/").as_str()]);
    }
    for (name, value) in [
        ("kms:KeySpec", "SYMMETRIC_DEFAULT"),
        ("kms:KeyUsage", "ENCRYPT_DECRYPT"),
        ("kms:KeyOrigin", "AWS_KMS"),
        ("kms:MultiRegion", "false"),
    ] {
        context.insert_single(name, value);
    }
    let mut encryption_context: BTreeMap<String, String> = BTreeMap::new();
    let mut set: Vec<String> = Vec::new();
    // The Allow statement's conditions first, then what escapes each Deny (a negated Deny
    // condition is escaped by a listed value, a positive one by any other value).
    let denies = document
        .statements
        .iter()
        .filter(|s| s.value.effect.value == Effect::Deny)
        .map(|s| (&s.value, true));
    for (source, escape) in statement.map(|s| (s, false)).into_iter().chain(denies) {
        let Some(block) = &source.condition else {
            continue;
        };
        for entry in &block.value.operators {
            let mut kind = entry.operator.value.kind;
            for key in &entry.keys {
                let name = key.key.value.as_str();
                if identity_key(name)
                    || !action.sets_key(name)
                    || (via_service_key(name) && !called_by_services(action))
                    || set.iter().any(|k| k.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                let values: Vec<String> = key.values.iter().map(|v| v.value.text.clone()).collect();
                if escape {
                    // To make the Deny's test false: the opposite test's witness.
                    if kind.family() == OperatorFamily::Null {
                        continue;
                    }
                    kind = if kind.is_negated() {
                        OperatorKind::StringEquals
                    } else {
                        OperatorKind::StringNotEquals
                    };
                }
                let Some(value) = witness_value(kind, &values) else {
                    continue;
                };
                set.push(name.to_owned());
                let lower = name.to_ascii_lowercase();
                if let Some(ec_key) = lower
                    .strip_prefix("kms:encryptioncontext:")
                    .and_then(|_| name.get("kms:EncryptionContext:".len()..))
                {
                    encryption_context.insert(ec_key.to_owned(), value);
                } else if lower == "kms:encryptioncontextkeys" {
                    encryption_context.insert(value, "keyward-probe".to_owned());
                } else if entry.operator.value.qualifier.is_some() {
                    context.insert_multi(name, [value.as_str()]);
                } else {
                    context.insert_single(name, &value);
                }
            }
        }
    }
    context.insert_encryption_context(
        encryption_context
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    context
}

struct Probe<'a> {
    authorizer: Authorizer,
    key_arn: String,
    account: &'a str,
}

impl Probe<'_> {
    fn allows(&self, caller: &Caller, action: ActionId, context: RequestContext) -> bool {
        let request = Request {
            principal: caller.arn.clone(),
            principal_account: Some(caller.account.clone()),
            principal_role_arn: None,
            action,
            resource: self.key_arn.clone(),
            resource_account: Some(self.account.to_owned()),
            target_key: None,
            key_policy: None,
            identity_policies: Vec::new(),
            grants: Vec::new(),
            grant_tokens: Vec::new(),
            encryption_context: Vec::new(),
            context,
            parsed_caller: Default::default(),
        };
        self.authorizer.verdict(&request) == Verdict::Allow
    }

    /// The actions of `actions` the caller is allowed, trying each Allow statement's witness.
    fn allowed(
        &self,
        document: &PolicyDocument,
        caller: &Caller,
        org: Option<&str>,
        actions: ActionSet,
    ) -> ActionSet {
        let mut allowed = ActionSet::EMPTY;
        for action in actions.iter() {
            let witnesses = std::iter::once(None).chain(
                document
                    .statements
                    .iter()
                    .filter(|s| s.value.effect.value == Effect::Allow)
                    .filter(|s| statement_actions(&s.value).contains(action))
                    .map(|s| Some(&s.value)),
            );
            for statement in witnesses {
                if self.allows(
                    caller,
                    action,
                    witness(document, statement, caller, org, action),
                ) {
                    allowed = allowed.with(action);
                    break;
                }
            }
        }
        allowed
    }
}

/// The organization of the stranger and every organization ID the policy's conditions name.
fn organizations_named(document: &PolicyDocument) -> Vec<String> {
    let mut orgs = vec![STRANGER_ORG.to_owned()];
    let blocks = document
        .statements
        .iter()
        .filter_map(|s| s.value.condition.as_ref());
    for block in blocks {
        for key in block.value.operators.iter().flat_map(|e| e.keys.iter()) {
            if key.key.value.eq_ignore_ascii_case("aws:PrincipalOrgID") {
                for value in &key.values {
                    let org = fill(&value.value.text);
                    if !orgs.contains(&org) {
                        orgs.push(org);
                    }
                }
            }
        }
    }
    orgs
}

fn key_actions() -> ActionSet {
    ActionId::all()
        .filter(|a| {
            matches!(
                a.info().resource,
                ResourceScope::Key | ResourceScope::AliasAndKey
            )
        })
        .fold(ActionSet::EMPTY, ActionSet::with)
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

/// The accounts a document's principals name.
/// The AWS principals the policy names that belong to an account: a caller standing for each
/// (the identity itself, or a role of the account for an account principal), where it is
/// named, and the statement's index.
fn named_accounts(document: &PolicyDocument) -> Vec<(Caller, Span, usize)> {
    let mut out = Vec::new();
    for (index, statement) in document.statements.iter().enumerate() {
        for entry in principal_entries(&statement.value)
            .iter()
            .filter(|e| e.principal_type.value == PrincipalType::Aws)
        {
            for value in &entry.values {
                if let Ok(principal) = Principal::parse_in_policy(PrincipalType::Aws, &value.value)
                    && let Some(account) = principal.account()
                {
                    let caller = if principal.is_account_principal() {
                        Caller::role(account, "keyward-probe")
                    } else {
                        Caller {
                            arn: value.value.clone(),
                            account: account.to_owned(),
                        }
                    };
                    out.push((caller, value.span, index));
                }
            }
        }
    }
    out
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

pub(crate) fn semantic(
    document: &PolicyDocument,
    text: &str,
    options: &LintOptions,
    out: &mut Vec<Raw>,
) {
    let own = key_account(document, options);
    // Public access does not depend on the key's account: without one, a stand-in.
    let account = own.clone().unwrap_or_else(|| "111122223333".to_owned());
    let Ok(authorizer) = Authorizer::new(
        Some(&PolicyText {
            text: text.to_owned(),
            offset: None,
        }),
        &[PolicyText {
            text: ALLOW_ALL.to_owned(),
            offset: None,
        }],
        Vec::new(),
    ) else {
        return;
    };
    let probe = Probe {
        authorizer,
        key_arn: own_key_arn(document, options)
            .filter(|arn| account_of(arn) == Some(account.as_str()))
            .unwrap_or_else(|| format!("arn:aws:kms:us-east-1:{account}:key/{KEY_ID}")),
        account: &account,
    };
    let key_actions = key_actions();
    public_access(document, &probe, key_actions, out);
    let Some(own) = &own else {
        // No account to decide lockout and cross-account access for: say so rather than
        // decide them for an invented one.
        out.push(Raw::new(
            "account-unknown",
            first_statement(document),
            "the key's account is not known (no --account, no one account the policy delegates to, and not exactly one account named): lockout and cross-account access were not checked; give --account",
        ));
        separation_of_duties(document, None, out);
        return;
    };
    cross_account(document, &probe, own, options, key_actions, out);
    lockout(document, &probe, out);
    separation_of_duties(document, Some(own), out);
}

fn names_everyone(statement: &Statement) -> bool {
    statement.principal.as_ref().is_some_and(|clause| {
        clause.value.negated
            || match &clause.value.value {
                PrincipalValue::Everyone => true,
                PrincipalValue::Map(entries) => entries.iter().any(|e| {
                    e.principal_type.value == PrincipalType::Aws
                        && e.values.iter().any(|v| v.value == "*")
                }),
            }
    })
}

fn public_access(
    document: &PolicyDocument,
    probe: &Probe<'_>,
    key_actions: ActionSet,
    out: &mut Vec<Raw>,
) {
    let stranger = Caller::role(STRANGER, "keyward-probe");
    for statement in &document.statements {
        let s = &statement.value;
        if s.effect.value != Effect::Allow || !names_everyone(s) {
            continue;
        }
        let actions = statement_actions(s)
            .iter()
            .filter(|a| key_actions.contains(*a))
            .fold(ActionSet::EMPTY, ActionSet::with);
        let mut allowed = ActionSet::EMPTY;
        for action in actions.iter() {
            let orgs = [Some(STRANGER_ORG), None];
            if orgs.into_iter().any(|org| {
                probe.allows(
                    &stranger,
                    action,
                    witness(document, Some(s), &stranger, org, action),
                )
            }) {
                allowed = allowed.with(action);
            }
        }
        if allowed.is_empty() {
            continue;
        }
        let why = identity_conditions(s);
        let why = if why.is_empty() {
            "no condition restricts the caller's account or organization".to_owned()
        } else {
            why.join("; ")
        };
        let at = s.principal.as_ref().map_or(statement.span, |p| p.span);
        out.push(Raw::new(
            "public-access",
            at,
            format!(
                "any principal in any account can {} (a role in account {STRANGER} was allowed): {why}",
                list(allowed)
            ),
        ));
    }
}

fn cross_account(
    document: &PolicyDocument,
    probe: &Probe<'_>,
    own: &str,
    options: &LintOptions,
    key_actions: ActionSet,
    out: &mut Vec<Raw>,
) {
    let trusted =
        |account: &str| account == own || options.trusted_accounts.iter().any(|t| t == account);
    let orgs = organizations_named(document);
    for (caller, span, index) in named_accounts(document) {
        let account = caller.account.clone();
        if trusted(&account) {
            continue;
        }
        let Some(statement) = document.statements.get(index) else {
            continue;
        };
        if statement.value.effect.value != Effect::Allow {
            continue;
        }
        let actions = statement_actions(&statement.value)
            .iter()
            .filter(|a| key_actions.contains(*a))
            .fold(ActionSet::EMPTY, ActionSet::with);
        // A named account may belong to any organization, the ones the policy names included:
        // an organization condition narrows who else gets in, not whether this account does.
        let allowed = actions
            .iter()
            .filter(|a| {
                orgs.iter().any(|org| {
                    probe.allows(
                        &caller,
                        *a,
                        witness(document, Some(&statement.value), &caller, Some(org), *a),
                    )
                })
            })
            .fold(ActionSet::EMPTY, ActionSet::with);
        if !allowed.is_empty() {
            out.push(Raw::new(
                "cross-account-access",
                span,
                format!(
                    "{who} account {account}, outside {own} and the trusted accounts, can {}; if that account is meant to use the key, pass --trusted-account {account}",
                    list(allowed),
                    who = if caller.arn.ends_with(":role/keyward-probe") {
                        "principals of".to_owned()
                    } else {
                        format!("`{}` of", caller.arn)
                    }
                ),
            ));
        }
    }
    // Everyone, narrowed by an account condition to a foreign account.
    for statement in &document.statements {
        let s = &statement.value;
        if s.effect.value != Effect::Allow || !names_everyone(s) {
            continue;
        }
        let Some(block) = &s.condition else { continue };
        for entry in &block.value.operators {
            for key in entry.keys.iter().filter(|k| {
                k.key.value.eq_ignore_ascii_case("kms:CallerAccount")
                    || k.key.value.eq_ignore_ascii_case("aws:PrincipalAccount")
            }) {
                for value in key
                    .values
                    .iter()
                    .filter(|v| !trusted(&v.value.text) && !v.value.text.contains('*'))
                {
                    let caller = Caller::role(&value.value.text, "keyward-probe");
                    let allowed = statement_actions(s)
                        .iter()
                        .filter(|a| key_actions.contains(*a))
                        .filter(|a| {
                            probe.allows(
                                &caller,
                                *a,
                                witness(document, Some(s), &caller, Some(STRANGER_ORG), *a),
                            )
                        })
                        .fold(ActionSet::EMPTY, ActionSet::with);
                    if !allowed.is_empty() {
                        out.push(Raw::new(
                            "cross-account-access",
                            value.span,
                            format!(
                                "principals of account {}, outside {own} and the trusted accounts, can {}",
                                value.value.text,
                                list(allowed)
                            ),
                        ));
                    }
                }
            }
        }
    }
}

fn lockout(document: &PolicyDocument, probe: &Probe<'_>, out: &mut Vec<Raw>) {
    let Some(put) = kms_action("kms:PutKeyPolicy") else {
        return;
    };
    let mut callers = vec![
        Caller {
            arn: format!("arn:aws:iam::{}:root", probe.account),
            account: probe.account.to_owned(),
        },
        Caller::role(probe.account, "keyward-admin-probe"),
    ];
    for statement in &document.statements {
        let s = &statement.value;
        if let Some(clause) = &s.principal
            && let PrincipalValue::Map(entries) = &clause.value.value
        {
            for value in entries.iter().flat_map(|e| e.values.iter()) {
                if let Some(account) = account_of(&value.value) {
                    callers.push(Caller {
                        arn: value.value.clone(),
                        account: account.to_owned(),
                    });
                }
            }
        }
        if let Some(block) = &s.condition {
            for key in block.value.operators.iter().flat_map(|e| e.keys.iter()) {
                if key.key.value.eq_ignore_ascii_case("aws:PrincipalArn") {
                    for value in &key.values {
                        let arn = fill(&value.value.text);
                        if let Some(account) = account_of(&arn) {
                            callers.push(Caller {
                                account: account.to_owned(),
                                arn,
                            });
                        }
                    }
                }
            }
        }
    }
    let only_put = ActionSet::EMPTY.with(put);
    let anyone = callers.iter().any(|caller| {
        [Some("o-keywardowner0"), None]
            .into_iter()
            .any(|org| !probe.allowed(document, caller, org, only_put).is_empty())
    });
    if anyone {
        return;
    }
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
            "{cause} nobody able to call kms:PutKeyPolicy (tried the account root, an administrator role of account {} and {} principals the policy names): the key could not be managed again without AWS Support",
            probe.account,
            callers.len().saturating_sub(2)
        ),
    ));
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
}

/// The actions of `actions` that administer the key; none when they are alias actions only,
/// which alone do not make an administrator (the CloudTrail console's default lets every
/// caller of the account create an alias during setup).
pub(crate) fn administered(actions: ActionSet) -> ActionSet {
    let administers = actions
        .iter()
        .filter(|a| administration().contains(*a))
        .fold(ActionSet::EMPTY, ActionSet::with);
    let aliases = named(&["CreateAlias", "UpdateAlias", "DeleteAlias"]);
    if administers.iter().all(|a| aliases.contains(a)) {
        ActionSet::EMPTY
    } else {
        administers
    }
}

/// The actions that use a key for cryptography.
pub(crate) fn cryptography() -> ActionSet {
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
}

fn named(names: &[&str]) -> ActionSet {
    names
        .iter()
        .filter_map(|n| kms_action(&format!("kms:{n}")))
        .fold(ActionSet::EMPTY, ActionSet::with)
}

/// The tests of a statement on who the caller is (its ARN, user ID or name, type, tags), in
/// a canonical order and in words: `aws:PrincipalArn StringEquals "arn:...:role/Admin"`.
fn caller_conditions(statement: &Statement) -> String {
    let names_the_caller = |key: &str| {
        let folded = key.to_ascii_lowercase();
        matches!(
            folded.as_str(),
            "aws:principalarn" | "aws:userid" | "aws:username" | "aws:principaltype"
        ) || folded.starts_with("aws:principaltag/")
    };
    let mut tests: Vec<String> = statement
        .condition
        .iter()
        .flat_map(|block| block.value.operators.iter())
        .flat_map(|entry| entry.keys.iter().map(move |key| (entry, key)))
        .filter(|(_, key)| names_the_caller(&key.key.value))
        .map(|(entry, key)| {
            let mut values: Vec<String> = key
                .values
                .iter()
                .map(|v| format!("\"{}\"", v.value.text))
                .collect();
            values.sort();
            format!(
                "{} {} {}",
                key.key.value.to_ascii_lowercase(),
                entry.operator.value,
                values.join(", ")
            )
        })
        .collect();
    tests.sort();
    tests.join(" and ")
}

/// `own`: the key's account, when known (principals of it named beside its root, in the
/// statement that delegates to IAM, are `principal-beside-root-delegation`'s finding).
fn separation_of_duties(document: &PolicyDocument, own: Option<&str>, out: &mut Vec<Raw>) {
    let (admin, crypto) = (administration(), cryptography());
    let create_grant = named(&["CreateGrant"]);
    let Some(put_key_policy) = kms_action("kms:PutKeyPolicy") else {
        return;
    };
    // Per principal (as written): actions, and the first span naming it in an admin statement.
    let mut principals: BTreeMap<String, (ActionSet, Option<Span>)> = BTreeMap::new();
    for statement in &document.statements {
        let s = &statement.value;
        if s.effect.value != Effect::Allow || own.is_some_and(|own| beside_root_delegation(s, own))
        {
            continue;
        }
        let mut actions = statement_actions(s);
        // What a statement allows only through a service is the service's work on the
        // caller's behalf (the caller cannot call it directly): not administration.
        if through_a_service(s) {
            actions = actions
                .iter()
                .filter(|a| !admin.contains(*a))
                .fold(ActionSet::EMPTY, ActionSet::with);
        }
        for (entry, value) in principal_entries(s)
            .iter()
            .flat_map(|e| e.values.iter().map(move |v| (e, v)))
        {
            // An account (its root ARN or its ID) is the delegation to IAM, not a person: IAM
            // policies decide who in it administers and who uses the key.
            if matches!(
                Principal::parse_in_policy(entry.principal_type.value, &value.value),
                Ok(Principal::Account { .. } | Principal::Root { .. })
            ) {
                continue;
            }
            // Statements that tell callers apart by who they are (their ARN, tags, type) name
            // different principals, even when both write `*`.
            let who = match caller_conditions(s) {
                conditions if conditions.is_empty() => value.value.clone(),
                conditions => format!("{} when {conditions}", value.value),
            };
            let entry = principals.entry(who).or_insert((ActionSet::EMPTY, None));
            entry.0 = entry.0.union(actions);
            if entry.1.is_none() && !actions.iter().all(|a| !admin.contains(a)) {
                entry.1 = Some(value.span);
            }
        }
    }
    for (principal, (actions, span)) in principals {
        let administers = administered(actions);
        if administers.is_empty() {
            continue;
        }
        let uses = actions
            .iter()
            .filter(|a| crypto.contains(*a))
            .fold(ActionSet::EMPTY, ActionSet::with);
        let grants = actions.iter().any(|a| create_grant.contains(a));
        // Whoever may call kms:PutKeyPolicy can give itself anything: that is what
        // administering a key means, and every key needs someone who can. Use granted
        // alongside it is the finding; kms:CreateGrant is one only for an administrator
        // without kms:PutKeyPolicy, to whom it is a way to use the key it would not have.
        let how = if !uses.is_empty() {
            format!("can also use it: {}", list(uses))
        } else if grants && !administers.contains(put_key_policy) {
            "can also grant itself use of it through kms:CreateGrant".to_owned()
        } else {
            continue;
        };
        if let Some(span) = span {
            out.push(Raw::new(
                "no-separation-of-duties",
                span,
                format!("`{principal}` administers the key ({}) and {how}; give administration and use to different principals", list(administers)),
            ));
        }
    }
}

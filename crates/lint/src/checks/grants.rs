//! The grants a file makes on a key (Terraform's `aws_kms_grant`), decided by the engine with
//! the key's policy: what each grant gives its grantee, whether that reaches outside the key's
//! account and the trusted ones, and whether it gives an administrator use of the key.

use crate::LintOptions;
use keyward_authz::{Authorizer, PolicyText, Request, Verdict};
use keyward_conditions::RequestContext;
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use keyward_policy::PolicyDocument;
use keyward_policy::catalog::{ActionId, ActionSet};
use keyward_policy::principal::Principal;
use keyward_templates::GrantSource;

/// A finding about one grant: its index among the sources, the rule, the message.
pub(crate) type GrantFinding = (usize, &'static str, String);

/// The findings of `sources`, the grants on the key whose policy is `text`.
pub(crate) fn grants(
    document: &PolicyDocument,
    text: &str,
    options: &LintOptions,
    sources: &[GrantSource],
) -> Vec<GrantFinding> {
    let mut out = Vec::new();
    // Without the key's account, cross-account access is not decided (account-unknown says
    // so); what a grant is and whom it gives use are.
    let own = super::semantic::key_account(document, options);
    for (index, source) in sources.iter().enumerate() {
        let grant = match grant_of(source, index) {
            Ok(grant) => grant,
            Err(why) => {
                out.push((index, "invalid-template", why));
                continue;
            }
        };
        // A grant that gives an administrator use of the key: the separation-of-duties
        // finding, at the grant.
        let administers = administered_by(document, &source.grantee);
        let uses = grant
            .operations
            .iter()
            .filter(|a| super::semantic::cryptography().contains(*a))
            .fold(ActionSet::EMPTY, ActionSet::with);
        if !administers.is_empty() && !uses.is_empty() {
            out.push((
                index,
                "no-separation-of-duties",
                format!(
                    "this grant gives `{}`, which administers the key ({}), use of it: {}; give administration and use to different principals",
                    source.grantee,
                    names(administers),
                    names(uses)
                ),
            ));
        }
        let (Some(own), Some(account)) = (own.as_deref(), account_of(&source.grantee)) else {
            continue;
        };
        let key_arn = super::semantic::own_key_arn(document, options).unwrap_or_else(|| {
            format!("arn:aws:kms:us-east-1:{own}:key/00000000-0000-4000-8000-000000000000")
        });
        // The stand-in for "this account" (a role the plan creates, say) is the key's own.
        if account == own
            || account == keyward_templates::THIS_ACCOUNT
            || options.trusted_accounts.contains(&account)
        {
            continue;
        }
        let given = given(text, &grant, &source.grantee, &account, &key_arn, own);
        if given.is_empty() {
            continue;
        }
        out.push((
            index,
            "cross-account-access",
            format!(
                "this grant gives `{}` of account {account}, outside {own} and the trusted accounts, {}; if that account is meant to use the key, pass --trusted-account {account}",
                source.grantee,
                names(given)
            ),
        ));
    }
    out
}

fn names(actions: ActionSet) -> String {
    actions
        .iter()
        .map(ActionId::qualified_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The administrative actions the key policy allows `grantee` by name (its exact ARN in an
/// Allow statement's `Principal`, not only through a service); alias actions alone do not
/// administer.
fn administered_by(document: &PolicyDocument, grantee: &str) -> ActionSet {
    let mut actions = ActionSet::EMPTY;
    for statement in &document.statements {
        let s = &statement.value;
        let names_it = super::hygiene::principal_entries(s)
            .iter()
            .flat_map(|e| e.values.iter())
            .any(|v| v.value == grantee);
        if s.effect.value == keyward_policy::Effect::Allow
            && names_it
            && !super::hygiene::through_a_service(s)
        {
            actions = actions.union(super::catalog::statement_actions(s));
        }
    }
    super::semantic::administered(actions)
}

/// The grant as KMS would hold it, or why KMS would refuse it.
fn grant_of(source: &GrantSource, index: usize) -> Result<Grant, String> {
    let operations = parse_operations(source.operations.iter().map(String::as_str))
        .map_err(|e| format!("{}: {e}", source.resource))?;
    let constraint = source.constraint.as_ref().map(|(equals, pairs)| {
        if *equals {
            GrantConstraint::EncryptionContextEquals(pairs.clone())
        } else {
            GrantConstraint::EncryptionContextSubset(pairs.clone())
        }
    });
    Ok(Grant {
        id: format!("grant-{index}"),
        name: Some(source.resource.clone()),
        grantee: source.grantee.clone(),
        retiring_principal: source.retiring_principal.clone(),
        issuing_account: None,
        key: None,
        created_at: None,
        operations,
        constraint,
    })
}

/// The account of a grantee (an account ID, or an ARN with one).
fn account_of(grantee: &str) -> Option<String> {
    Principal::parse_in_policy(keyward_policy::model::PrincipalType::Aws, grantee)
        .ok()?
        .account()
        .map(str::to_owned)
}

/// The operations the grant lets its grantee perform that the key policy alone does not, as
/// the engine decides them: a request of each operation from the grantee (a role of its
/// account when the grantee is the account), with an encryption context that meets the
/// constraint.
fn given(
    text: &str,
    grant: &Grant,
    grantee: &str,
    account: &str,
    key_arn: &str,
    own: &str,
) -> ActionSet {
    let policy = || PolicyText::new(text.to_owned());
    let (Ok(with), Ok(without)) = (
        Authorizer::new(Some(&policy()), &[], vec![grant.clone()]),
        Authorizer::new(Some(&policy()), &[], Vec::new()),
    ) else {
        return ActionSet::EMPTY;
    };
    let caller =
        match Principal::parse_in_policy(keyward_policy::model::PrincipalType::Aws, grantee) {
            Ok(Principal::Account { .. } | Principal::Root { .. }) => {
                format!("arn:aws:iam::{account}:role/keyward-probe")
            }
            _ => grantee.to_owned(),
        };
    let pairs: Vec<(String, String)> = match &grant.constraint {
        Some(
            GrantConstraint::EncryptionContextEquals(p)
            | GrantConstraint::EncryptionContextSubset(p),
        ) => p.clone(),
        None => Vec::new(),
    };
    let mut given = ActionSet::EMPTY;
    for action in grant.operations.iter() {
        let mut context = RequestContext::new();
        context.insert_single("aws:PrincipalArn", &caller);
        context.insert_single("aws:PrincipalAccount", account);
        context.insert_single("kms:CallerAccount", account);
        context.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let request = Request {
            principal: caller.clone(),
            principal_account: Some(account.to_owned()),
            principal_role_arn: None,
            action,
            resource: key_arn.to_owned(),
            resource_account: Some(own.to_owned()),
            target_key: None,
            key_policy: None,
            identity_policies: Vec::new(),
            grants: Vec::new(),
            grant_tokens: Vec::new(),
            encryption_context: pairs.clone(),
            context,
            parsed_caller: Default::default(),
            parsed_resource: Default::default(),
        };
        if with.verdict(&request) == Verdict::Allow && without.verdict(&request) != Verdict::Allow {
            given = given.with(action);
        }
    }
    given
}

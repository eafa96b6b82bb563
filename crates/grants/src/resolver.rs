//! Finding the grants that apply to a request among many: grants indexed by grantee and
//! operation when the set is built, so a request looks only at its own candidates.

use crate::{Grant, GranteeMatch};
use keyward_policy::catalog::ActionId;
use keyward_policy::model::PrincipalType;
use keyward_policy::principal::Principal;
use std::collections::HashMap;

/// The caller of a request, as grants see it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The caller's ARN.
    pub arn: &'a str,
    /// For an assumed-role session, its role's ARN.
    pub role: Option<&'a str>,
    /// The caller's account.
    pub account: &'a str,
    /// Whether the caller is its account's root user, which an account grant names directly.
    /// The request has parsed the caller already ([`Caller::of`] parses it when it has not).
    pub root: bool,
}

impl<'a> Caller<'a> {
    /// The caller `arn`, parsed here to tell whether it is a root user.
    pub fn of(arn: &'a str, role: Option<&'a str>, account: &'a str) -> Self {
        Self {
            arn,
            role,
            account,
            root: Principal::parse_caller(arn).is_ok_and(|p| matches!(p, Principal::Root { .. })),
        }
    }
}

/// A grant that applies, and whether it names the caller or only its account (then the
/// account's IAM policies must also allow, as with a key-policy account principal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applying {
    /// Its index in the set.
    pub index: usize,
    /// How it names the caller.
    pub grantee: GranteeMatch,
}

/// Grants on one key, indexed for resolution.
#[derive(Debug, Clone, Default)]
pub struct GrantSet {
    grants: Vec<Grant>,
    /// Grantee ARN → operation → grants.
    by_grantee: HashMap<String, OperationIndex>,
    /// Account ID → operation → grants whose grantee is the account.
    by_account: HashMap<String, OperationIndex>,
}

/// Operation → grants.
type OperationIndex = HashMap<ActionId, Vec<usize>>;

impl GrantSet {
    /// Index `grants`.
    pub fn new(grants: Vec<Grant>) -> Self {
        let mut by_grantee: HashMap<String, OperationIndex> = HashMap::new();
        let mut by_account: HashMap<String, OperationIndex> = HashMap::new();
        for (i, grant) in grants.iter().enumerate() {
            let operations = match Principal::parse_in_policy(PrincipalType::Aws, &grant.grantee) {
                Ok(p) if p.is_account_principal() => by_account
                    .entry(p.account().unwrap_or_default().to_owned())
                    .or_default(),
                _ => by_grantee.entry(grant.grantee.clone()).or_default(),
            };
            for op in grant.operations.iter() {
                operations.entry(op).or_default().push(i);
            }
        }
        Self {
            grants,
            by_grantee,
            by_account,
        }
    }

    /// The grants, in order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    fn candidates<'s>(
        index: &'s HashMap<String, OperationIndex>,
        key: &str,
        action: ActionId,
    ) -> &'s [usize] {
        index
            .get(key)
            .and_then(|ops| ops.get(&action))
            .map_or(&[], Vec::as_slice)
    }

    /// The grants that allow `action` for `caller` with `encryption_context`, in order. Looks
    /// at the grants naming the caller, its role or its account for this operation only.
    pub fn applying(
        &self,
        caller: Caller<'_>,
        action: ActionId,
        encryption_context: &[(String, String)],
    ) -> Vec<Applying> {
        let mut out = Vec::new();
        self.for_each_applying(caller, action, encryption_context, |a| out.push(a));
        out
    }

    /// As [`applying`](Self::applying), without collecting: calls `found` for each.
    pub fn for_each_applying(
        &self,
        caller: Caller<'_>,
        action: ActionId,
        encryption_context: &[(String, String)],
        mut found: impl FnMut(Applying),
    ) {
        let mut visit = |indices: &[usize], grantee: GranteeMatch| {
            for &i in indices {
                if let Some(grant) = self.grants.get(i)
                    && grant.allows(action, encryption_context)
                {
                    found(Applying { index: i, grantee });
                }
            }
        };
        visit(
            Self::candidates(&self.by_grantee, caller.arn, action),
            GranteeMatch::Caller,
        );
        if let Some(role) = caller.role {
            visit(
                Self::candidates(&self.by_grantee, role, action),
                GranteeMatch::Caller,
            );
        }
        // The root user is its account: an account grant names it directly.
        let account = if caller.root {
            GranteeMatch::Caller
        } else {
            GranteeMatch::Account
        };
        visit(
            Self::candidates(&self.by_account, caller.account, action),
            account,
        );
    }

    /// For every grant, why it does not allow the request (`None` when it does).
    pub fn explain(
        &self,
        caller: Caller<'_>,
        action: ActionId,
        encryption_context: &[(String, String)],
    ) -> Vec<(usize, Option<String>)> {
        self.grants
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let why = match g.grantee_match(caller.arn, caller.role, caller.account) {
                    GranteeMatch::Other => {
                        Some(format!("its grantee is {}, not this caller", g.grantee))
                    }
                    _ => g.refusal(action, encryption_context),
                };
                (i, why)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;

//! KMS grants: what a grant allows and whether it applies to a request.
//!
//! A grant on a key lets its grantee use the listed operations when its constraints hold (AWS
//! KMS Developer Guide, "Grants in AWS KMS"): the grantee names the caller (a role grant covers
//! the role's sessions; an account grant delegates to the account's IAM policies), the
//! operation is listed, and the request's encryption context satisfies `EncryptionContextEquals`
//! or `EncryptionContextSubset` (keys compared without case, values with case: "Grant
//! constraints"). Grants only allow; they never deny.
//!
//! * [`key_grants`]: the grants of one key and the rules for creating, delegating, retiring,
//!   revoking and listing them, with grant tokens.
//! * [`resolver`]: which grants apply to a request, indexed for the decision's fast path.

#![warn(missing_docs)]

pub mod key_grants;
pub mod resolver;

use keyward_conditions::encryption_context::{same_key, values_of};
use keyward_policy::catalog::{self, ActionId, ActionSet};
use keyward_policy::principal::Principal;
use std::fmt;

/// A grant's encryption-context constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantConstraint {
    /// The request's encryption context must be exactly these pairs.
    EncryptionContextEquals(Vec<(String, String)>),
    /// The request's encryption context must contain these pairs (and may have more).
    EncryptionContextSubset(Vec<(String, String)>),
}

impl GrantConstraint {
    /// The constraint that `EncryptionContextEquals` and `EncryptionContextSubset`, as a
    /// request or a listing gives them, make: none when both are absent or empty (an empty map
    /// constrains nothing), [`GrantError::TwoConstraints`] when both are given.
    pub fn from_members(
        equals: Option<Vec<(String, String)>>,
        subset: Option<Vec<(String, String)>>,
    ) -> Result<Option<Self>, GrantError> {
        match (equals, subset) {
            (Some(_), Some(_)) => Err(GrantError::TwoConstraints),
            (Some(pairs), None) if !pairs.is_empty() => {
                Ok(Some(Self::EncryptionContextEquals(pairs)))
            }
            (None, Some(pairs)) if !pairs.is_empty() => {
                Ok(Some(Self::EncryptionContextSubset(pairs)))
            }
            _ => Ok(None),
        }
    }

    /// The constraint's name as in the KMS API.
    pub fn name(&self) -> &'static str {
        match self {
            Self::EncryptionContextEquals(_) => "EncryptionContextEquals",
            Self::EncryptionContextSubset(_) => "EncryptionContextSubset",
        }
    }

    /// The first constraint pair the request's `context` does not satisfy, or, for `Equals`, a
    /// request pair the constraint does not list. `None` when the constraint holds.
    ///
    /// Keys compare without case and values with case; a context that gives a constrained key
    /// in several variants (`TENANT` and `tenant`) meets the constraint only if every variant
    /// has the required value ([`keyward_conditions::encryption_context`]: fail closed).
    pub fn unmet<'a>(&'a self, context: &'a [(String, String)]) -> Option<Unmet<'a>> {
        let pairs = match self {
            Self::EncryptionContextEquals(pairs) | Self::EncryptionContextSubset(pairs) => pairs,
        };
        for (key, value) in pairs {
            let mut readings = values_of(context, key).peekable();
            if readings.peek().is_none() {
                return Some(Unmet::Missing { key, value });
            }
            if let Some(actual) = readings.find(|actual| *actual != value.as_str()) {
                return Some(Unmet::Different {
                    key,
                    expected: value,
                    actual,
                });
            }
        }
        if let Self::EncryptionContextEquals(pairs) = self
            && let Some((key, value)) = context
                .iter()
                .find(|(k, _)| !pairs.iter().any(|(p, _)| same_key(p, k)))
        {
            return Some(Unmet::Extra { key, value });
        }
        None
    }
}

/// How a request fails a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmet<'a> {
    /// A required pair is absent.
    Missing {
        /// The constraint's key.
        key: &'a str,
        /// The constraint's value.
        value: &'a str,
    },
    /// The key is there with another value (values compare with case).
    Different {
        /// The constraint's key.
        key: &'a str,
        /// The constraint's value.
        expected: &'a str,
        /// The request's value.
        actual: &'a str,
    },
    /// `EncryptionContextEquals`: the request has a pair the constraint does not list.
    Extra {
        /// The request's key.
        key: &'a str,
        /// The request's value.
        value: &'a str,
    },
}

impl fmt::Display for Unmet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { key, value } => {
                write!(f, "the encryption context lacks \"{key}\": \"{value}\"")
            }
            Self::Different {
                key,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "encryption context \"{key}\" is \"{actual}\", the grant requires \"{expected}\""
                )
            }
            Self::Extra { key, value } => {
                write!(
                    f,
                    "the encryption context has \"{key}\": \"{value}\", which the grant's EncryptionContextEquals does not list"
                )
            }
        }
    }
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The grant ID.
    pub id: String,
    /// The optional name.
    pub name: Option<String>,
    /// Who may use it: an account, user, role, session or federated user ARN.
    pub grantee: String,
    /// Who may retire it.
    pub retiring_principal: Option<String>,
    /// The account that created it.
    pub issuing_account: Option<String>,
    /// The key it is on (its ARN), when known.
    pub key: Option<String>,
    /// When it was created (epoch seconds), when the creator gave the time.
    pub created_at: Option<u64>,
    /// The operations it allows.
    pub operations: ActionSet,
    /// Its encryption-context constraint, if any (an empty map is no constraint).
    pub constraint: Option<GrantConstraint>,
}

/// Why a grant was refused when it was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// An operation that is not a KMS operation or cannot be granted.
    #[error("\"{0}\" is not a grant operation; grants can give {1}")]
    NotGrantable(String, String),
    /// No operations.
    #[error("a grant needs at least one operation")]
    NoOperations,
    /// Both constraint types.
    #[error(
        "a grant has at most one constraint: EncryptionContextEquals or EncryptionContextSubset"
    )]
    TwoConstraints,
}

/// The grantable operation names, for messages.
fn grantable_names() -> String {
    catalog::actions()
        .iter()
        .filter(|a| a.grantable)
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parse grant operations as the KMS API names them (`Decrypt`, not `kms:Decrypt`).
pub fn parse_operations<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<ActionSet, GrantError> {
    let mut set = ActionSet::EMPTY;
    for name in names {
        match catalog::action_by_name(name).filter(|a| a.info().grantable && a.info().name == name)
        {
            Some(id) => set = set.with(id),
            None => return Err(GrantError::NotGrantable(name.to_owned(), grantable_names())),
        }
    }
    if set.is_empty() {
        return Err(GrantError::NoOperations);
    }
    Ok(set)
}

/// How a grant's grantee relates to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GranteeMatch {
    /// The grant names the caller (or, for a session, its role).
    Caller,
    /// The grant names the caller's account: its IAM policies must also allow.
    Account,
    /// The grant is for someone else.
    Other,
}

impl Grant {
    /// How this grant's grantee relates to `caller` (an ARN) in `caller_account`, whose role is
    /// `caller_role` when it is an assumed-role session.
    pub fn grantee_match(
        &self,
        caller: &str,
        caller_role: Option<&str>,
        caller_account: &str,
    ) -> GranteeMatch {
        if self.grantee == caller || caller_role.is_some_and(|r| r == self.grantee) {
            return GranteeMatch::Caller;
        }
        match Principal::parse_in_policy(keyward_policy::model::PrincipalType::Aws, &self.grantee) {
            Ok(p) if p.is_account_principal() && p.account() == Some(caller_account) => {
                // The root user is the account itself.
                if Principal::parse_caller(caller)
                    .is_ok_and(|c| matches!(c, Principal::Root { .. }))
                {
                    GranteeMatch::Caller
                } else {
                    GranteeMatch::Account
                }
            }
            _ => GranteeMatch::Other,
        }
    }

    /// Whether the grant lists `action`.
    pub fn allows_operation(&self, action: ActionId) -> bool {
        self.operations.contains(action)
    }

    /// Whether the constraint applies to `action`: only operations that take an encryption
    /// context (symmetric cryptography and CreateGrant) are constrained.
    pub fn constraint_applies_to(action: ActionId) -> bool {
        matches!(
            action.info().name,
            "Encrypt"
                | "Decrypt"
                | "ReEncryptFrom"
                | "ReEncryptTo"
                | "GenerateDataKey"
                | "GenerateDataKeyWithoutPlaintext"
                | "GenerateDataKeyPair"
                | "GenerateDataKeyPairWithoutPlaintext"
                | "CreateGrant"
        )
    }

    /// Whether the grant allows `action` with `encryption_context` for a caller it names. No
    /// allocation (the resolver's path); [`refusal`](Self::refusal) says why not.
    pub fn allows(&self, action: ActionId, encryption_context: &[(String, String)]) -> bool {
        self.allows_operation(action)
            && !(Self::constraint_applies_to(action)
                && self
                    .constraint
                    .as_ref()
                    .is_some_and(|c| c.unmet(encryption_context).is_some()))
    }

    /// Why the grant does not allow `action` with `encryption_context` for a caller it names,
    /// or `None` when it does.
    pub fn refusal<'a>(
        &'a self,
        action: ActionId,
        encryption_context: &'a [(String, String)],
    ) -> Option<String> {
        if !self.allows_operation(action) {
            let ops: Vec<_> = self.operations.iter().map(|a| a.info().name).collect();
            return Some(format!(
                "{action} is not among the grant's operations ({})",
                ops.join(", ")
            ));
        }
        if Self::constraint_applies_to(action)
            && let Some(constraint) = &self.constraint
            && let Some(unmet) = constraint.unmet(encryption_context)
        {
            return Some(format!(
                "its {} constraint fails: {unmet}",
                constraint.name()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn grant(grantee: &str, ops: &[&str], constraint: Option<GrantConstraint>) -> Grant {
        Grant {
            id: "g-1".into(),
            name: None,
            grantee: grantee.into(),
            retiring_principal: None,
            issuing_account: None,
            key: None,
            created_at: None,
            operations: parse_operations(ops.iter().copied()).unwrap(),
            constraint,
        }
    }

    #[test]
    fn constraint_keys_ignore_case_and_values_do_not() {
        let subset = GrantConstraint::EncryptionContextSubset(pairs(&[("Dept", "Finance")]));
        assert_eq!(
            subset.unmet(&pairs(&[("dept", "Finance"), ("extra", "x")])),
            None
        );
        assert!(matches!(
            subset.unmet(&pairs(&[("Dept", "finance")])),
            Some(Unmet::Different { .. })
        ));
        assert!(matches!(subset.unmet(&[]), Some(Unmet::Missing { .. })));
    }

    /// The case: `{TENANT: a, tenant: b}` passed a grant constrained to exactly
    /// `{tenant: a}` by reading one variant. Every variant must meet the constraint.
    #[test]
    fn a_constrained_key_in_several_variants_must_meet_the_constraint_in_each() {
        let equals = GrantConstraint::EncryptionContextEquals(pairs(&[("tenant", "a")]));
        assert!(matches!(
            equals.unmet(&pairs(&[("TENANT", "a"), ("tenant", "b")])),
            Some(Unmet::Different { actual: "b", .. })
        ));
        assert!(matches!(
            equals.unmet(&pairs(&[("TENANT", "b"), ("tenant", "a")])),
            Some(Unmet::Different { actual: "b", .. })
        ));
        let subset = GrantConstraint::EncryptionContextSubset(pairs(&[("tenant", "a")]));
        assert!(
            subset
                .unmet(&pairs(&[("Tenant", "a"), ("tenant", "b")]))
                .is_some()
        );
        assert_eq!(
            subset.unmet(&pairs(&[("Tenant", "a"), ("tenant", "a")])),
            None,
            "every variant has the required value"
        );
    }

    #[test]
    fn equals_needs_exactly_the_pairs() {
        let equals = GrantConstraint::EncryptionContextEquals(pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(equals.unmet(&pairs(&[("B", "2"), ("a", "1")])), None);
        assert!(matches!(
            equals.unmet(&pairs(&[("a", "1"), ("b", "2"), ("c", "3")])),
            Some(Unmet::Extra { key: "c", .. })
        ));
        assert!(matches!(
            equals.unmet(&pairs(&[("a", "1")])),
            Some(Unmet::Missing { key: "b", .. })
        ));
    }

    #[test]
    fn grantees_match_callers_roles_and_accounts() {
        let role = grant("arn:aws:iam::111122223333:role/App", &["Decrypt"], None);
        let session = "arn:aws:sts::111122223333:assumed-role/App/s1";
        assert_eq!(
            role.grantee_match(
                session,
                Some("arn:aws:iam::111122223333:role/App"),
                "111122223333"
            ),
            GranteeMatch::Caller
        );
        assert_eq!(
            role.grantee_match("arn:aws:iam::111122223333:role/Other", None, "111122223333"),
            GranteeMatch::Other
        );
        let account = grant("arn:aws:iam::111122223333:root", &["Decrypt"], None);
        assert_eq!(
            account.grantee_match("arn:aws:iam::111122223333:user/bob", None, "111122223333"),
            GranteeMatch::Account
        );
        assert_eq!(
            account.grantee_match("arn:aws:iam::111122223333:root", None, "111122223333"),
            GranteeMatch::Caller
        );
        assert_eq!(
            account.grantee_match("arn:aws:iam::444455556666:user/bob", None, "444455556666"),
            GranteeMatch::Other
        );
    }

    #[test]
    fn operations_are_grantable_kms_operation_names() {
        assert!(parse_operations(["Decrypt", "RetireGrant"]).is_ok());
        assert!(matches!(
            parse_operations(["PutKeyPolicy"]),
            Err(GrantError::NotGrantable(..))
        ));
        assert!(matches!(
            parse_operations(["kms:Decrypt"]),
            Err(GrantError::NotGrantable(..))
        ));
        assert!(
            matches!(
                parse_operations(["decrypt"]),
                Err(GrantError::NotGrantable(..))
            ),
            "names are exact"
        );
        assert_eq!(parse_operations([]), Err(GrantError::NoOperations));
    }

    #[test]
    fn refusals_say_why() {
        let g = grant(
            "arn:aws:iam::111122223333:role/App",
            &["Decrypt"],
            Some(GrantConstraint::EncryptionContextSubset(pairs(&[(
                "dept", "finance",
            )]))),
        );
        let decrypt = catalog::kms_action("kms:Decrypt").unwrap();
        let encrypt = catalog::kms_action("kms:Encrypt").unwrap();
        let describe = catalog::kms_action("kms:DescribeKey").unwrap();
        assert_eq!(g.refusal(decrypt, &pairs(&[("dept", "finance")])), None);
        assert!(
            g.refusal(encrypt, &[])
                .unwrap()
                .contains("not among the grant's operations (Decrypt)")
        );
        assert!(
            g.refusal(decrypt, &[])
                .unwrap()
                .contains("EncryptionContextSubset")
        );
        let describe_grant = grant(
            "arn:aws:iam::111122223333:role/App",
            &["DescribeKey"],
            g.constraint.clone(),
        );
        assert_eq!(
            describe_grant.refusal(describe, &[]),
            None,
            "DescribeKey takes no encryption context"
        );
    }
}

//! The grants of one key: creating them as KMS does (validation, idempotency by name, the
//! 50,000-grant quota, no escalation through a parent grant).
//!
//! Rules: `shared/reference/kms-authorization.md` §4.1–4.5 and §1.9. Where the notes and the
//! documentation are silent the store fails closed, and a test named after the rule pins it.

use crate::{Grant, GrantConstraint, parse_operations};
use keyward_policy::catalog::{ActionSet, action_by_name};
use keyward_policy::model::PrincipalType;
use keyward_policy::principal::Principal;

/// Grants per key (adjustable in AWS; this is the default quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;
/// Pairs in one encryption-context constraint.
pub const MAX_CONSTRAINT_PAIRS: usize = 8;
/// Characters in one constraint value.
pub const MAX_CONSTRAINT_VALUE_CHARS: usize = 384;

/// What a key is, as far as grants care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `SYMMETRIC_DEFAULT` with `ENCRYPT_DECRYPT`.
    SymmetricEncryption,
    /// RSA or SM2 with `ENCRYPT_DECRYPT`.
    AsymmetricEncryption,
    /// `SIGN_VERIFY`.
    Signing,
    /// `GENERATE_VERIFY_MAC` (HMAC).
    Mac,
    /// `KEY_AGREEMENT`.
    KeyAgreement,
}

impl KeyKind {
    /// The key kind of a key spec and usage as KMS names them.
    pub fn of(spec: &str, usage: &str) -> Option<Self> {
        match (spec, usage) {
            ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") => Some(Self::SymmetricEncryption),
            (_, "ENCRYPT_DECRYPT") if spec.starts_with("RSA_") || spec == "SM2" => {
                Some(Self::AsymmetricEncryption)
            }
            (_, "SIGN_VERIFY") => Some(Self::Signing),
            (_, "GENERATE_VERIFY_MAC") if spec.starts_with("HMAC_") => Some(Self::Mac),
            (_, "KEY_AGREEMENT") => Some(Self::KeyAgreement),
            _ => None,
        }
    }

    /// The grant operations a key of this kind supports (reference §4.2).
    pub fn supported_operations(self) -> ActionSet {
        let names: &[&str] = match self {
            Self::SymmetricEncryption => &[
                "Encrypt",
                "Decrypt",
                "ReEncryptFrom",
                "ReEncryptTo",
                "GenerateDataKey",
                "GenerateDataKeyWithoutPlaintext",
                "GenerateDataKeyPair",
                "GenerateDataKeyPairWithoutPlaintext",
            ],
            Self::AsymmetricEncryption => &[
                "Encrypt",
                "Decrypt",
                "ReEncryptFrom",
                "ReEncryptTo",
                "GetPublicKey",
            ],
            Self::Signing => &["Sign", "Verify", "GetPublicKey"],
            Self::Mac => &["GenerateMac", "VerifyMac"],
            Self::KeyAgreement => &["DeriveSharedSecret", "GetPublicKey"],
        };
        names
            .iter()
            .chain(&["DescribeKey", "CreateGrant", "RetireGrant"])
            .filter_map(|n| action_by_name(n))
            .fold(ActionSet::EMPTY, ActionSet::with)
    }
}

/// A CreateGrant request, as the KMS API shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateGrant {
    /// `GranteePrincipal`.
    pub grantee_principal: String,
    /// `RetiringPrincipal`.
    pub retiring_principal: Option<String>,
    /// `Operations`, as the API names them.
    pub operations: Vec<String>,
    /// `Constraints.EncryptionContextEquals`.
    pub encryption_context_equals: Option<Vec<(String, String)>>,
    /// `Constraints.EncryptionContextSubset`.
    pub encryption_context_subset: Option<Vec<(String, String)>>,
    /// `Name`.
    pub name: Option<String>,
}

/// Why a grant was not created, with the KMS error it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateGrantError {
    /// A parameter breaks a constraint (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The key has as many grants as it may (`LimitExceededException`).
    #[error("The grant limit of {MAX_GRANTS_PER_KEY} grants for the key has been reached")]
    LimitExceeded,
    /// Authority from a parent grant does not reach this far (`AccessDeniedException`).
    #[error("the parent grant cannot give this: {0}")]
    Escalation(String),
}

impl CreateGrantError {
    /// The KMS error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationException",
            Self::LimitExceeded => "LimitExceededException",
            Self::Escalation(_) => "AccessDeniedException",
        }
    }
}

/// The outcome of a CreateGrant that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// A new grant, at this index of the store.
    New(usize),
    /// A retry of an existing grant (same name and properties): its index.
    Retry(usize),
}

/// The grants of one key.
#[derive(Debug, Clone)]
pub struct GrantStore {
    key_kind: KeyKind,
    issuing_account: String,
    grants: Vec<Grant>,
    next_id: u64,
}

fn validation(message: impl Into<String>) -> CreateGrantError {
    CreateGrantError::Validation(message.into())
}

/// `^[\w+=,.@:/-]+$`, 1–256 characters (the API's principal pattern).
fn check_principal(field: &str, value: &str) -> Result<(), CreateGrantError> {
    let valid = !value.is_empty()
        && value.len() <= 256
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || "_+=,.@:/-".contains(c));
    if !valid {
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$"
        )));
    }
    match Principal::parse_in_policy(PrincipalType::Aws, value) {
        Ok(Principal::Everyone | Principal::UniqueId { .. }) | Err(_) => Err(validation(format!(
            "{field} must be the ARN of an AWS account, IAM user, IAM role, federated user or assumed-role user, not \"{value}\""
        ))),
        Ok(_) => Ok(()),
    }
}

fn check_constraint(pairs: &[(String, String)]) -> Result<(), CreateGrantError> {
    if pairs.len() > MAX_CONSTRAINT_PAIRS {
        return Err(validation(format!(
            "An encryption context grant constraint has at most {MAX_CONSTRAINT_PAIRS} pairs; this one has {}",
            pairs.len()
        )));
    }
    if let Some((key, _)) = pairs
        .iter()
        .find(|(_, v)| v.chars().count() > MAX_CONSTRAINT_VALUE_CHARS)
    {
        return Err(validation(format!(
            "The value of encryption context key \"{key}\" in a grant constraint is longer than {MAX_CONSTRAINT_VALUE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Whether `child` is at least as strict as `parent` (reference §4.5): a Subset parent admits
/// a Subset or Equals child holding every parent pair; an Equals parent only the same Equals.
/// Keys compare without case, values with case.
fn at_least_as_strict(
    parent: Option<&GrantConstraint>,
    child: Option<&GrantConstraint>,
) -> Result<(), String> {
    let holds = |pairs: &[(String, String)], (k, v): &(String, String)| {
        pairs
            .iter()
            .any(|(pk, pv)| pk.eq_ignore_ascii_case(k) && pv == v)
    };
    match (parent, child) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(
            "the parent grant has an encryption context constraint; the child must keep it".into(),
        ),
        (
            Some(GrantConstraint::EncryptionContextSubset(p)),
            Some(
                GrantConstraint::EncryptionContextSubset(c)
                | GrantConstraint::EncryptionContextEquals(c),
            ),
        ) => match p.iter().find(|pair| !holds(c, pair)) {
            None => Ok(()),
            Some((k, v)) => Err(format!(
                "the child constraint drops the parent's pair \"{k}\": \"{v}\""
            )),
        },
        (
            Some(GrantConstraint::EncryptionContextEquals(p)),
            Some(GrantConstraint::EncryptionContextEquals(c)),
        ) => {
            if p.len() == c.len() && p.iter().all(|pair| holds(c, pair)) {
                Ok(())
            } else {
                Err("under an EncryptionContextEquals parent the child must have the same EncryptionContextEquals".into())
            }
        }
        (
            Some(GrantConstraint::EncryptionContextEquals(_)),
            Some(GrantConstraint::EncryptionContextSubset(_)),
        ) => Err(
            "an EncryptionContextEquals parent cannot give an EncryptionContextSubset child".into(),
        ),
    }
}

/// The same pairs, keys without case, in any order.
fn same_pairs(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.len() == b.len()
        && a.iter().all(|(k, v)| {
            b.iter()
                .any(|(bk, bv)| bk.eq_ignore_ascii_case(k) && bv == v)
        })
}

fn same_constraint(a: Option<&GrantConstraint>, b: Option<&GrantConstraint>) -> bool {
    match (a, b) {
        (None, None) => true,
        (
            Some(GrantConstraint::EncryptionContextEquals(x)),
            Some(GrantConstraint::EncryptionContextEquals(y)),
        )
        | (
            Some(GrantConstraint::EncryptionContextSubset(x)),
            Some(GrantConstraint::EncryptionContextSubset(y)),
        ) => same_pairs(x, y),
        _ => false,
    }
}

impl GrantStore {
    /// No grants yet, on a key of `key_kind` owned by `issuing_account`.
    pub fn new(key_kind: KeyKind, issuing_account: &str) -> Self {
        Self {
            key_kind,
            issuing_account: issuing_account.to_owned(),
            grants: Vec::new(),
            next_id: 1,
        }
    }

    /// The grants, in creation order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Check `request` and build the grant it asks for (without storing it).
    fn build(&self, request: &CreateGrant) -> Result<Grant, CreateGrantError> {
        check_principal("granteePrincipal", &request.grantee_principal)?;
        if let Some(retiring) = &request.retiring_principal {
            check_principal("retiringPrincipal", retiring)?;
        }
        if let Some(name) = &request.name {
            let valid = !name.is_empty()
                && name.len() <= 256
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
            if !valid {
                return Err(validation(format!(
                    "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
                )));
            }
        }
        let operations = parse_operations(request.operations.iter().map(String::as_str))
            .map_err(|e| validation(e.to_string()))?;
        let unsupported: Vec<_> = operations
            .iter()
            .filter(|op| !self.key_kind.supported_operations().contains(*op))
            .map(|op| op.info().name)
            .collect();
        if !unsupported.is_empty() {
            return Err(validation(format!(
                "Grant operations {} are not supported by this key ({:?})",
                unsupported.join(", "),
                self.key_kind
            )));
        }
        let constraint = match (
            &request.encryption_context_equals,
            &request.encryption_context_subset,
        ) {
            (Some(_), Some(_)) => {
                return Err(validation(crate::GrantError::TwoConstraints.to_string()));
            }
            (Some(pairs), None) if !pairs.is_empty() => {
                Some(GrantConstraint::EncryptionContextEquals(pairs.clone()))
            }
            (None, Some(pairs)) if !pairs.is_empty() => {
                Some(GrantConstraint::EncryptionContextSubset(pairs.clone()))
            }
            _ => None,
        };
        if let Some(
            GrantConstraint::EncryptionContextEquals(pairs)
            | GrantConstraint::EncryptionContextSubset(pairs),
        ) = &constraint
        {
            check_constraint(pairs)?;
            // Only symmetric encryption keys take an encryption context (fail closed).
            if self.key_kind != KeyKind::SymmetricEncryption {
                return Err(validation(
                    "Encryption context grant constraints are supported only on symmetric encryption KMS keys",
                ));
            }
        }
        Ok(Grant {
            id: String::new(),
            name: request.name.clone(),
            grantee: request.grantee_principal.clone(),
            retiring_principal: request.retiring_principal.clone(),
            issuing_account: Some(self.issuing_account.clone()),
            operations,
            constraint,
        })
    }

    /// CreateGrant with authority from a key policy or IAM policy: any grant operation the key
    /// supports may be given. A request with the name and properties of an existing grant is a
    /// retry and returns that grant.
    pub fn create(&mut self, request: &CreateGrant) -> Result<Created, CreateGrantError> {
        let grant = self.build(request)?;
        if grant.name.is_some()
            && let Some(i) = self.grants.iter().position(|g| {
                g.name == grant.name
                    && g.grantee == grant.grantee
                    && g.retiring_principal == grant.retiring_principal
                    && g.operations == grant.operations
                    && same_constraint(g.constraint.as_ref(), grant.constraint.as_ref())
            })
        {
            return Ok(Created::Retry(i));
        }
        if self.grants.len() >= MAX_GRANTS_PER_KEY {
            return Err(CreateGrantError::LimitExceeded);
        }
        let id = format!("{:064x}", self.next_id);
        self.next_id += 1;
        self.grants.push(Grant { id, ..grant });
        Ok(Created::New(self.grants.len() - 1))
    }

    /// CreateGrant with authority from the grant `parent`: only a subset of its operations, with
    /// a constraint at least as strict (reference §4.5).
    pub fn create_under(
        &mut self,
        parent: &Grant,
        request: &CreateGrant,
    ) -> Result<Created, CreateGrantError> {
        let child = self.build(request)?;
        let beyond: Vec<_> = child
            .operations
            .iter()
            .filter(|op| !parent.operations.contains(*op))
            .map(|op| op.info().name)
            .collect();
        if !beyond.is_empty() {
            return Err(CreateGrantError::Escalation(format!(
                "operations {} are not among the parent grant's",
                beyond.join(", ")
            )));
        }
        at_least_as_strict(parent.constraint.as_ref(), child.constraint.as_ref())
            .map_err(CreateGrantError::Escalation)?;
        self.create(request)
    }
}

#[cfg(test)]
mod tests;

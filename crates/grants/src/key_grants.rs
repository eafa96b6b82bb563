//! The grants of one key ([`KeyGrants`]) and the rules KMS applies to them: creating a grant
//! (validation, idempotency by name, the 50,000-grant quota), creating one under a parent grant
//! (no escalation), retiring, revoking, listing, and the grant tokens that make a new grant
//! usable at once. It keeps no storage of its own: the key service saves and restores it.
//!
//! Rules: AWS KMS Developer Guide, "Grants in AWS KMS", "Grant concepts" and "Retiring and
//! revoking grants"; AWS KMS API Reference, CreateGrant, RetireGrant, RevokeGrant and
//! ListGrants. Where the documentation is silent the rules fail closed, and a test named after
//! the rule pins it.

use crate::{Grant, GrantConstraint, parse_operations};
use keyward_conditions::encryption_context::same_key;
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

    /// The grant operations a key of this kind supports (AWS KMS Developer Guide, "Grant concepts": grant operations).
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

/// Why a grant operation failed, with the KMS error it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyGrantsError {
    /// A parameter breaks a constraint (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The key has as many grants as it may (`LimitExceededException`).
    #[error("The grant limit of {MAX_GRANTS_PER_KEY} grants for the key has been reached")]
    LimitExceeded,
    /// Authority from a parent grant does not reach this far (`AccessDeniedException`).
    #[error("the parent grant cannot give this: {0}")]
    Escalation(String),
    /// The caller may not retire the grant (`AccessDeniedException`).
    #[error("{0}")]
    AccessDenied(String),
    /// A grant token that is malformed, forged, or names no current grant
    /// (`InvalidGrantTokenException`).
    #[error("The grant token is not valid")]
    InvalidGrantToken,
    /// A grant ID that is not a grant ID (`InvalidGrantIdException`).
    #[error("Invalid grant ID: {0}")]
    InvalidGrantId(String),
    /// No grant has this ID (`NotFoundException`).
    #[error("Grant ID {0} not found")]
    NotFound(String),
    /// A `Marker` these grants did not give (`InvalidMarkerException`).
    #[error("The marker is not valid")]
    InvalidMarker,
    /// The system's random source failed (`KMSInternalException`).
    #[error("the system random generator failed")]
    Random,
}

impl KeyGrantsError {
    /// The KMS error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationException",
            Self::LimitExceeded => "LimitExceededException",
            Self::Escalation(_) | Self::AccessDenied(_) => "AccessDeniedException",
            Self::InvalidGrantToken => "InvalidGrantTokenException",
            Self::InvalidGrantId(_) => "InvalidGrantIdException",
            Self::NotFound(_) => "NotFoundException",
            Self::InvalidMarker => "InvalidMarkerException",
            Self::Random => "KMSInternalException",
        }
    }
}

/// The secret that makes grant tokens tamper-evident (HMAC-SHA-256). Zeroized when dropped;
/// never printed.
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl Drop for TokenKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Clone for TokenKey {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// The prefix of every grant token [`KeyGrants`] makes.
const TOKEN_PREFIX: &str = "kwgt1.";

/// At most this many grant tokens in one request.
pub const MAX_GRANT_TOKENS: usize = 10;

/// A grant as CreateGrant returns it: where it is, whether the call was a retry, and a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedGrant {
    /// New or retry, with the grant's index among the key's grants.
    pub created: Created,
    /// A new token for it (every call gets a new one; all resolve to the grant).
    pub token: String,
}

/// How RetireGrant names its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetireTarget<'a> {
    /// By grant token.
    Token(&'a str),
    /// By grant ID (with the key, which is these grants' key).
    GrantId(&'a str),
}

/// Who calls RetireGrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retirer<'a> {
    /// The caller's ARN.
    pub arn: &'a str,
    /// For an assumed-role session, its role's ARN.
    pub role: Option<&'a str>,
    /// The caller's account.
    pub account: &'a str,
    /// Whether the caller's identity policies allow `kms:RetireGrant` (how an account delegates
    /// retiring to its users and roles).
    pub identity_allows_retire: bool,
}

/// ListGrants filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFilter<'a> {
    /// Only this grant.
    pub grant_id: Option<&'a str>,
    /// Only grants to this grantee.
    pub grantee_principal: Option<&'a str>,
}

/// One page of ListGrants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPage<'a> {
    /// The grants on this page.
    pub grants: Vec<&'a Grant>,
    /// Where the next page starts, when there is one.
    pub next_marker: Option<String>,
}

/// The outcome of a CreateGrant that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// A new grant, at this index of the key's grants.
    New(usize),
    /// A retry of an existing grant (same name and properties): its index.
    Retry(usize),
}

/// The grants of one key.
#[derive(Debug, Clone)]
pub struct KeyGrants {
    key_kind: KeyKind,
    issuing_account: String,
    grants: Vec<Grant>,
    token_key: TokenKey,
    next_nonce: u64,
    key_arn: Option<String>,
}

fn validation(message: impl Into<String>) -> KeyGrantsError {
    KeyGrantsError::Validation(message.into())
}

/// The `GrantOperation` enumeration, in the order of the KMS API model, as a validation message
/// lists it.
const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// A new grant ID: 64 random lowercase hex digits, as AWS's grant IDs look (so an ID says
/// nothing about how many grants a key has, and cannot be guessed from another).
fn random_grant_id() -> Result<String, KeyGrantsError> {
    use std::fmt::Write as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| KeyGrantsError::Random)?;
    let mut id = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(id, "{byte:02x}");
    }
    Ok(id)
}

/// `^[\w+=,.@:/-]+$`, 1–256 characters (the API's principal pattern).
fn check_principal(field: &str, value: &str) -> Result<(), KeyGrantsError> {
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
        // The API takes an ARN ("use the Amazon Resource Name (ARN) of an AWS principal"); a
        // bare account ID would name the account without being its root ARN, where every rule
        // about the account is written (fail closed: refused).
        Ok(Principal::Account { account }) => Err(validation(format!(
            "{field} must be an ARN: to name account {account}, use arn:aws:iam::{account}:root"
        ))),
        Ok(Principal::Everyone | Principal::UniqueId { .. }) | Err(_) => Err(validation(format!(
            "{field} must be the ARN of an AWS account, IAM user, IAM role, federated user or assumed-role user, not \"{value}\""
        ))),
        Ok(_) => Ok(()),
    }
}

fn check_constraint(pairs: &[(String, String)]) -> Result<(), KeyGrantsError> {
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

/// Whether `child` is at least as strict as `parent` (AWS KMS Developer Guide, "Grant constraints"): a Subset parent admits
/// a Subset or Equals child holding every parent pair; an Equals parent only the same Equals.
/// Keys compare without case, values with case.
fn at_least_as_strict(
    parent: Option<&GrantConstraint>,
    child: Option<&GrantConstraint>,
) -> Result<(), String> {
    let holds = |pairs: &[(String, String)], (k, v): &(String, String)| {
        pairs.iter().any(|(pk, pv)| same_key(pk, k) && pv == v)
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
            if same_pairs(p, c) {
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

/// The same pairs, keys without case, in any order: each side's pairs all held by the other
/// (one direction is not enough when one side names a key twice in different cases:
/// `{Dept: x, dept: x}` against `{dept: x, team: y}`).
fn same_pairs(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let within = |a: &[(String, String)], b: &[(String, String)]| {
        a.iter()
            .all(|(k, v)| b.iter().any(|(bk, bv)| same_key(bk, k) && bv == v))
    };
    within(a, b) && within(b, a)
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

impl KeyGrants {
    /// No grants yet, on a key of `key_kind` owned by `issuing_account`; tokens are signed
    /// with `token_key`.
    pub fn new(key_kind: KeyKind, issuing_account: &str, token_key: TokenKey) -> Self {
        Self {
            key_kind,
            issuing_account: issuing_account.to_owned(),
            grants: Vec::new(),
            token_key,
            next_nonce: 1,
            key_arn: None,
        }
    }

    /// The key's `grants` as they were saved: tokens issued before keep resolving (they
    /// are signed with `token_key`).
    pub fn restore(
        key_kind: KeyKind,
        issuing_account: &str,
        token_key: TokenKey,
        grants: Vec<Grant>,
    ) -> Self {
        Self {
            key_kind,
            issuing_account: issuing_account.to_owned(),
            grants,
            token_key,
            next_nonce: 1,
            key_arn: None,
        }
    }

    /// The same grants, recording `key_arn` as the key of every grant it creates.
    #[must_use]
    pub fn with_key_arn(mut self, key_arn: &str) -> Self {
        self.key_arn = Some(key_arn.to_owned());
        self
    }

    /// CreateGrant at `now` (epoch seconds), recorded as the grant's creation time: see
    /// [`create`](Self::create).
    pub fn create_at(
        &mut self,
        request: &CreateGrant,
        now: u64,
    ) -> Result<CreatedGrant, KeyGrantsError> {
        let created = self.create(request)?;
        if let Created::New(i) = created.created
            && let Some(grant) = self.grants.get_mut(i)
        {
            grant.created_at = Some(now);
        }
        Ok(created)
    }

    fn tag(&self, payload: &[u8]) -> Vec<u8> {
        use hmac::Mac;
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.token_key.0) {
            Ok(mut mac) => {
                Self::bind(&mut mac, self.key_arn.as_deref());
                mac.update(payload);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; this cannot happen, and an empty tag verifies nothing.
            Err(_) => Vec::new(),
        }
    }

    /// Binds a token to its key: grant IDs are numbered per key, so the same ID exists on many
    /// keys, and a token must name the grant of one key only.
    fn bind(mac: &mut hmac::Hmac<sha2::Sha256>, key_arn: Option<&str>) {
        use hmac::Mac;
        let arn = key_arn.unwrap_or("").as_bytes();
        mac.update(&(arn.len() as u64).to_be_bytes());
        mac.update(arn);
    }

    /// A new token for the grant at `index`: its ID and a nonce, authenticated.
    fn token_for(&mut self, index: usize) -> String {
        use base64::Engine as _;
        let id = self
            .grants
            .get(index)
            .map(|g| g.id.clone())
            .unwrap_or_default();
        let mut payload = id.into_bytes();
        payload.extend_from_slice(&self.next_nonce.to_be_bytes());
        self.next_nonce += 1;
        let tag = self.tag(&payload);
        payload.extend_from_slice(&tag);
        format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
        )
    }

    /// The ID of the grant a token names, read without checking the token (which only the
    /// key it is of can do, with [`KeyGrants::resolve_token`]): to find that key. `None` for
    /// text that is no token.
    pub fn token_grant_id(token: &str) -> Option<String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.strip_prefix(TOKEN_PREFIX)?)
            .ok()?;
        let id = std::str::from_utf8(bytes.get(..64)?).ok()?;
        id.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| id.to_owned())
    }

    /// The index of the grant a token names. A malformed or forged token, or one for a grant
    /// that was retired or revoked, is `InvalidGrantTokenException`.
    pub fn resolve_token(&self, token: &str) -> Result<usize, KeyGrantsError> {
        let id = self.token_id(token)?;
        self.grants
            .iter()
            .position(|g| g.id == id)
            .ok_or(KeyGrantsError::InvalidGrantToken)
    }

    /// Whether `token` is a token this key issued (its tag checks), whether or not its grant is
    /// among those held: a grant made elsewhere (another instance sharing the store) that is
    /// worth reading the key again for. A forged token is not.
    pub fn issued_token(&self, token: &str) -> bool {
        self.token_id(token).is_ok()
    }

    /// The grant ID of a token this key issued (its tag checked).
    fn token_id(&self, token: &str) -> Result<String, KeyGrantsError> {
        use base64::Engine as _;
        use hmac::Mac;
        let body = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(KeyGrantsError::InvalidGrantToken)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KeyGrantsError::InvalidGrantToken)?;
        // 64 hex characters of ID, 8 bytes of nonce, 32 bytes of tag.
        let (payload, tag) = bytes
            .split_at_checked(72)
            .ok_or(KeyGrantsError::InvalidGrantToken)?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.token_key.0)
            .map_err(|_| KeyGrantsError::InvalidGrantToken)?;
        Self::bind(&mut mac, self.key_arn.as_deref());
        mac.update(payload);
        mac.verify_slice(tag)
            .map_err(|_| KeyGrantsError::InvalidGrantToken)?;
        std::str::from_utf8(payload.get(..64).unwrap_or_default())
            .map(str::to_owned)
            .map_err(|_| KeyGrantsError::InvalidGrantToken)
    }

    /// Resolve the tokens sent with a request (at most ten).
    pub fn resolve_tokens(&self, tokens: &[String]) -> Result<Vec<usize>, KeyGrantsError> {
        if tokens.len() > MAX_GRANT_TOKENS {
            return Err(validation(format!(
                "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to {MAX_GRANT_TOKENS}"
            )));
        }
        tokens.iter().map(|t| self.resolve_token(t)).collect()
    }

    fn index_of(&self, grant_id: &str) -> Result<usize, KeyGrantsError> {
        if grant_id.len() != 64 || !grant_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyGrantsError::InvalidGrantId(grant_id.to_owned()));
        }
        self.grants
            .iter()
            .position(|g| g.id == grant_id)
            .ok_or_else(|| KeyGrantsError::NotFound(grant_id.to_owned()))
    }

    /// RetireGrant (AWS KMS Developer Guide, "Retiring and revoking grants"): the retiring principal, the grantee when the grant includes
    /// `RetireGrant`, or the issuing account (its root user, or principals its IAM policies
    /// allow) may retire; so may a retiring principal that is an account, the same way.
    pub fn retire(
        &mut self,
        target: RetireTarget<'_>,
        caller: Retirer<'_>,
    ) -> Result<Grant, KeyGrantsError> {
        let index = match target {
            RetireTarget::Token(token) => self.resolve_token(token)?,
            RetireTarget::GrantId(id) => self.index_of(id)?,
        };
        let grant = self
            .grants
            .get(index)
            .ok_or(KeyGrantsError::InvalidGrantToken)?;
        let names = |principal: &str| principal == caller.arn || caller.role == Some(principal);
        let is_root =
            Principal::parse_caller(caller.arn).is_ok_and(|p| matches!(p, Principal::Root { .. }));
        let account_may =
            |account: &str| account == caller.account && (is_root || caller.identity_allows_retire);
        let retiring_account = grant
            .retiring_principal
            .as_deref()
            .and_then(|p| Principal::parse_in_policy(PrincipalType::Aws, p).ok())
            .filter(Principal::is_account_principal)
            .and_then(|p| p.account());
        let retire_op = action_by_name("RetireGrant");
        let allowed = grant.retiring_principal.as_deref().is_some_and(names)
            || (names(&grant.grantee) && retire_op.is_some_and(|op| grant.operations.contains(op)))
            || grant.issuing_account.as_deref().is_some_and(account_may)
            || retiring_account.is_some_and(account_may);
        if !allowed {
            return Err(KeyGrantsError::AccessDenied(format!(
                "User: {} is not authorized to perform: kms:RetireGrant because it is not the grant's retiring principal, a grantee the grant lets retire, or a principal of the account that created the grant",
                caller.arn
            )));
        }
        Ok(self.grants.remove(index))
    }

    /// RevokeGrant by grant ID. Who may revoke is decided by the key policy (`kms:RevokeGrant`),
    /// not here.
    pub fn revoke(&mut self, grant_id: &str) -> Result<Grant, KeyGrantsError> {
        let index = self.index_of(grant_id)?;
        Ok(self.grants.remove(index))
    }

    /// ListGrants: grants in creation order, filtered, `limit` (1–100, default 50) at a time;
    /// `marker` is the `next_marker` of the previous page.
    pub fn list(
        &self,
        filter: ListFilter<'_>,
        limit: Option<usize>,
        marker: Option<&str>,
    ) -> Result<GrantPage<'_>, KeyGrantsError> {
        let limit = limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100"
            )));
        }
        let start = match marker {
            None => 0,
            Some(m) => {
                let after = self
                    .index_of(m)
                    .map_err(|_| KeyGrantsError::InvalidMarker)?;
                after + 1
            }
        };
        let mut matching = self
            .grants
            .iter()
            .skip(start)
            .filter(|g| filter.grant_id.is_none_or(|id| g.id == id))
            .filter(|g| filter.grantee_principal.is_none_or(|p| g.grantee == p));
        let grants: Vec<&Grant> = matching.by_ref().take(limit).collect();
        let next_marker = match (matching.next(), grants.last()) {
            (Some(_), Some(last)) => Some(last.id.clone()),
            _ => None,
        };
        Ok(GrantPage {
            grants,
            next_marker,
        })
    }

    /// ListRetirableGrants on this key: the grants whose retiring principal is `principal`.
    pub fn retirable_by(&self, principal: &str) -> Vec<&Grant> {
        self.grants
            .iter()
            .filter(|g| g.retiring_principal.as_deref() == Some(principal))
            .collect()
    }

    /// The grants, in creation order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Check `request` and build the grant it asks for (without storing it).
    fn build(&self, request: &CreateGrant) -> Result<Grant, KeyGrantsError> {
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
            .map_err(|e| match e {
                crate::GrantError::NotGrantable(..) => validation(format!(
                    "1 validation error detected: Value '[{}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}], Member must not be null]",
                    request.operations.join(", "),
                    GRANT_OPERATIONS.join(", ")
                )),
                other => validation(other.to_string()),
            })?;
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
        let constraint = GrantConstraint::from_members(
            request.encryption_context_equals.clone(),
            request.encryption_context_subset.clone(),
        )
        .map_err(|e| validation(e.to_string()))?;
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
            key: self.key_arn.clone(),
            created_at: None,
            operations,
            constraint,
        })
    }

    /// CreateGrant with authority from a key policy or IAM policy: any grant operation the key
    /// supports may be given. A request with the name and properties of an existing grant is a
    /// retry and returns that grant.
    pub fn create(&mut self, request: &CreateGrant) -> Result<CreatedGrant, KeyGrantsError> {
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
            let token = self.token_for(i);
            return Ok(CreatedGrant {
                created: Created::Retry(i),
                token,
            });
        }
        if self.grants.len() >= MAX_GRANTS_PER_KEY {
            return Err(KeyGrantsError::LimitExceeded);
        }
        let id = random_grant_id()?;
        self.grants.push(Grant { id, ..grant });
        let index = self.grants.len() - 1;
        let token = self.token_for(index);
        Ok(CreatedGrant {
            created: Created::New(index),
            token,
        })
    }

    /// [`create_under`](Self::create_under) at `now` (epoch seconds), recorded as the grant's
    /// creation time.
    pub fn create_under_at(
        &mut self,
        parent: &Grant,
        request: &CreateGrant,
        now: u64,
    ) -> Result<CreatedGrant, KeyGrantsError> {
        self.check_under(parent, request)?;
        self.create_at(request, now)
    }

    /// CreateGrant with authority from the grant `parent`: only a subset of its operations, with
    /// a constraint at least as strict (AWS KMS Developer Guide, "Grant constraints").
    pub fn create_under(
        &mut self,
        parent: &Grant,
        request: &CreateGrant,
    ) -> Result<CreatedGrant, KeyGrantsError> {
        self.check_under(parent, request)?;
        self.create(request)
    }

    /// Whether `parent` can give the grant `request` asks for.
    fn check_under(&self, parent: &Grant, request: &CreateGrant) -> Result<(), KeyGrantsError> {
        let child = self.build(request)?;
        let beyond: Vec<_> = child
            .operations
            .iter()
            .filter(|op| !parent.operations.contains(*op))
            .map(|op| op.info().name)
            .collect();
        if !beyond.is_empty() {
            return Err(KeyGrantsError::Escalation(format!(
                "operations {} are not among the parent grant's",
                beyond.join(", ")
            )));
        }
        at_least_as_strict(parent.constraint.as_ref(), child.constraint.as_ref())
            .map_err(KeyGrantsError::Escalation)
    }
}

#[cfg(test)]
mod tests;

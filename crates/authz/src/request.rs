//! The authorization request of `keyward authorize` (`crates/authz/REQUEST.md`): parsed,
//! checked, and turned into the pieces a decision needs, with the derived context keys.

use crate::library::{PolicyLibrary, PolicyRef};
use keyward_conditions::{CompiledPolicy, ContextValue, RequestContext};
use keyward_grants::{Grant, GrantConstraint};
use keyward_policy::arn::ParsedArn;
use keyward_policy::catalog::{self, ActionId, ResourceScope};
use keyward_policy::principal::{ParsedCaller, Principal};
use keyward_policy::{Diagnostics, PolicyKind, Span};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;

/// Which policy of a request a problem or a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// `key_policy`.
    KeyPolicy,
    /// `identity_policies[i]`.
    IdentityPolicy(usize),
}

impl PolicySource {
    /// The kind of policy it is.
    pub const fn kind(self) -> PolicyKind {
        match self {
            Self::KeyPolicy => PolicyKind::KeyPolicy,
            Self::IdentityPolicy(_) => PolicyKind::IdentityPolicy,
        }
    }
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyPolicy => f.write_str("key_policy"),
            Self::IdentityPolicy(i) => write!(f, "identity_policy:{i}"),
        }
    }
}

/// A request that cannot be evaluated (exit status 2).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestError {
    /// Not JSON, an unknown field, a missing field, or a field of the wrong type.
    #[error("{message}")]
    Format {
        /// What is wrong (serde_json's words, naming the field).
        message: String,
        /// 1-based line in the request text.
        line: usize,
        /// 1-based column in the request text.
        column: usize,
    },
    /// A policy of the request is invalid.
    #[error("{policy} is not a valid policy")]
    Policy {
        /// Which policy.
        policy: PolicySource,
        /// Its problems, with spans into `text`.
        errors: Diagnostics,
        /// The policy's text.
        text: String,
        /// Where `text` starts in the request text, when it is written there verbatim (an
        /// object); `None` when it was a JSON string holding the document.
        offset: Option<usize>,
    },
    /// A field's value is not acceptable.
    #[error("{field}: {message}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest<'a> {
    principal: String,
    principal_account: Option<String>,
    principal_role_arn: Option<String>,
    action: String,
    resource: Option<String>,
    resource_account: Option<String>,
    target_key: Option<String>,
    #[serde(borrow)]
    key_policy: Option<&'a RawValue>,
    #[serde(borrow, default)]
    identity_policies: Vec<&'a RawValue>,
    #[serde(default)]
    grants: Vec<RawGrant>,
    #[serde(default)]
    grant_tokens: Vec<String>,
    #[serde(default)]
    key: RawKey,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    #[serde(default)]
    context: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    grant_id: String,
    grantee_principal: String,
    operations: Vec<String>,
    #[serde(default)]
    constraints: Option<RawConstraints>,
    retiring_principal: Option<String>,
    name: Option<String>,
    issuing_account: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstraints {
    encryption_context_subset: Option<BTreeMap<String, String>>,
    encryption_context_equals: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawKey {
    spec: String,
    usage: String,
    origin: String,
    multi_region: bool,
    aliases: Vec<String>,
    tags: BTreeMap<String, String>,
}

impl Default for RawKey {
    fn default() -> Self {
        Self {
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            aliases: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// What the condition keys of a key-scoped request say about the key.
#[derive(Debug, Clone, Copy)]
pub struct KeyAttributes<'a> {
    /// `kms:KeySpec` (and the deprecated `kms:CustomerMasterKeySpec`).
    pub spec: &'a str,
    /// `kms:KeyUsage` (and `kms:CustomerMasterKeyUsage`).
    pub usage: &'a str,
    /// `kms:KeyOrigin`.
    pub origin: &'a str,
    /// `kms:MultiRegion`.
    pub multi_region: bool,
    /// `kms:MultiRegionKeyType` (`PRIMARY` or `REPLICA`), for a multi-Region key only.
    pub multi_region_key_type: Option<&'a str>,
    /// `kms:ResourceAliases`: alias names (`alias/...`).
    pub aliases: &'a [String],
    /// `aws:ResourceTag/<key>`.
    pub tags: &'a BTreeMap<String, String>,
}

/// Inserts the keys every request carries: who calls (`aws:PrincipalArn` — the role for a
/// role session —, `aws:PrincipalAccount`, `kms:CallerAccount`) and, for a key-scoped action,
/// what the key is. The one place these keys are derived: [`insert_caller`] and
/// [`insert_key`] are its two halves, for callers that keep each half in its own layer.
pub fn insert_caller_and_key(
    ctx: &mut RequestContext,
    principal_arn: &str,
    account: &str,
    key: Option<&KeyAttributes<'_>>,
) {
    insert_caller(ctx, principal_arn, account);
    if let Some(key) = key {
        insert_key(ctx, key);
    }
}

/// The caller's half of [`insert_caller_and_key`].
pub fn insert_caller(ctx: &mut RequestContext, principal_arn: &str, account: &str) {
    ctx.insert_static("aws:PrincipalArn", ContextValue::single(principal_arn));
    ctx.insert_static("aws:PrincipalAccount", ContextValue::single(account));
    ctx.insert_static("kms:CallerAccount", ContextValue::single(account));
}

/// The keys AWS sets from the kind of principal that calls (IAM User Guide, global condition
/// keys): `aws:PrincipalIsAWSService` on every signed request, `aws:PrincipalServiceName` for
/// a service principal, and `aws:PrincipalType` (`Account` for a root user, `User`,
/// `AssumedRole` for a role or its session, `FederatedUser`). The guide gives no
/// `aws:PrincipalType` for a service principal: it is left out (a policy that tests it sees
/// nothing, and fails closed). The request format does not derive them (its contract lists
/// what it derives); the key service and the analysis, which stand for real callers, do.
pub fn insert_principal_kind(ctx: &mut RequestContext, caller: &Principal<'_>) {
    let principal_type = match caller {
        Principal::Root { .. } | Principal::Account { .. } => Some("Account"),
        Principal::User { .. } => Some("User"),
        Principal::Role { .. } | Principal::AssumedRole { .. } => Some("AssumedRole"),
        Principal::FederatedUser { .. } => Some("FederatedUser"),
        _ => None,
    };
    if let Some(principal_type) = principal_type {
        ctx.insert_static("aws:PrincipalType", ContextValue::single(principal_type));
    }
    match caller {
        Principal::Service { name } => {
            ctx.insert_static("aws:PrincipalIsAWSService", ContextValue::single("true"));
            ctx.insert_static("aws:PrincipalServiceName", ContextValue::single(name));
        }
        _ => ctx.insert_static("aws:PrincipalIsAWSService", ContextValue::single("false")),
    }
}

/// The prefix of a key tag's condition key.
const RESOURCE_TAG: &str = "aws:ResourceTag/";

/// The key's half of [`insert_caller_and_key`].
pub fn insert_key(ctx: &mut RequestContext, key: &KeyAttributes<'_>) {
    for name in ["kms:KeySpec", "kms:CustomerMasterKeySpec"] {
        ctx.insert_static(name, ContextValue::single(key.spec));
    }
    for name in ["kms:KeyUsage", "kms:CustomerMasterKeyUsage"] {
        ctx.insert_static(name, ContextValue::single(key.usage));
    }
    ctx.insert_static("kms:KeyOrigin", ContextValue::single(key.origin));
    ctx.insert_static(
        "kms:MultiRegion",
        ContextValue::single(if key.multi_region { "true" } else { "false" }),
    );
    if let Some(key_type) = key.multi_region_key_type {
        ctx.insert_static("kms:MultiRegionKeyType", ContextValue::single(key_type));
    }
    ctx.insert_static(
        "kms:ResourceAliases",
        ContextValue::multi(key.aliases.iter().map(String::as_str)),
    );
    for (k, v) in key.tags {
        let mut name = String::with_capacity(RESOURCE_TAG.len() + k.len());
        name.push_str(RESOURCE_TAG);
        name.push_str(k);
        ctx.insert_owned(name, ContextValue::single(v));
    }
}

/// A policy as the request wrote it: its text and where that text is in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyText {
    /// The policy document's text.
    pub text: String,
    /// Its offset in the request text, when written there as an object.
    pub offset: Option<usize>,
    /// When it was taken from a `--policies` library (`{"ref": NAME}`): the document's
    /// number there ([`PolicyLibrary::document`]). Two policies with the same number, from
    /// the same library, are the same text.
    pub library_document: Option<usize>,
}

impl PolicyText {
    /// A policy given on its own: not written inside a request, nor taken from a library.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            offset: None,
            library_document: None,
        }
    }
}

/// Check and compile `policy` as the policy `source` of a request: the compiled policy, or the
/// error naming the policy, with every problem located in its text.
pub fn compile_policy(
    source: PolicySource,
    policy: &PolicyText,
) -> Result<CompiledPolicy, RequestError> {
    CompiledPolicy::new(&policy.text, source.kind()).map_err(|errors| RequestError::Policy {
        policy: source,
        errors,
        text: policy.text.clone(),
        offset: policy.offset,
    })
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The caller's ARN (or service principal).
    pub principal: String,
    /// The caller's account: derived from an IAM principal's ARN; for a service principal, only
    /// what the request gives (a service is in no account: see [`Request::member_account`]).
    pub principal_account: Option<String>,
    /// For an assumed-role session, the role's ARN.
    pub principal_role_arn: Option<String>,
    /// The action.
    pub action: ActionId,
    /// The resource ARN (`*` for actions without one).
    pub resource: String,
    /// The key's account, when the action has a resource.
    pub resource_account: Option<String>,
    /// For alias operations (`resource` is the alias ARN): the ARN of the key the alias points
    /// to, on which the key policy (and delegated IAM policies) must also allow the action.
    pub target_key: Option<String>,
    /// The key policy, for key-scoped actions.
    pub key_policy: Option<PolicyText>,
    /// The caller's identity policies.
    pub identity_policies: Vec<PolicyText>,
    /// The grants on the key.
    pub grants: Vec<Grant>,
    /// Grant tokens sent with the request.
    pub grant_tokens: Vec<String>,
    /// The encryption context, in key order.
    pub encryption_context: Vec<(String, String)>,
    /// The request context, derived keys included.
    pub context: RequestContext,
    /// `principal` parsed once ([`Request::caller`]): [`Request::new`] and [`Request::parse`]
    /// fill it in; a request built field by field gives its caller's
    /// ([`ParsedCaller::of`]), or the default, with which every decision parses `principal`.
    pub parsed_caller: ParsedCaller,
    /// `resource` parsed once, for the decisions' resource patterns: [`Request::new`] and
    /// [`Request::parse`] fill it in; a request built field by field gives
    /// [`ParsedArn::of`] its resource, or the default, with which every decision that reads
    /// the resource parses it.
    pub parsed_resource: ParsedArn,
}

fn field(field: &'static str, message: impl Into<String>) -> RequestError {
    RequestError::Field {
        field,
        message: message.into(),
    }
}

/// A policy given as an object (verbatim text), as a JSON string holding the document, or as
/// a reference to a document of `library` (`{"ref": "NAME"}`). `what` names the field in
/// errors.
fn policy_text(
    raw: &RawValue,
    request_text: &str,
    library: Option<&PolicyLibrary>,
    what: &'static str,
) -> Result<PolicyText, RequestError> {
    let text = raw.get();
    if text.starts_with('"') {
        let inner: String = serde_json::from_str(text).map_err(|e| field(what, e.to_string()))?;
        return Ok(PolicyText {
            text: inner,
            offset: None,
            library_document: None,
        });
    }
    // A reference is an object whose only member is `ref`; a policy document, whose first
    // member is another, is not looked at further.
    if PolicyRef::may_be(text)
        && let Ok(reference) = serde_json::from_str::<PolicyRef>(text)
    {
        let Some(library) = library else {
            return Err(field(
                what,
                format!(
                    "{{\"ref\": \"{}\"}} names a policy of a --policies file, and none was given",
                    reference.name
                ),
            ));
        };
        let Some((number, document)) = library.document(&reference.name) else {
            return Err(field(
                what,
                format!(
                    "no policy named \"{}\" in the --policies file",
                    reference.name
                ),
            ));
        };
        return Ok(PolicyText {
            text: document.to_owned(),
            offset: None,
            library_document: Some(number),
        });
    }
    // The raw value borrows from the request text: its offset is the distance between them.
    let offset = (text.as_ptr() as usize).checked_sub(request_text.as_ptr() as usize);
    Ok(PolicyText {
        text: text.to_owned(),
        offset: offset.filter(|o| *o <= request_text.len()),
        library_document: None,
    })
}

/// What a caller's ARN says: its account (none for a service principal: a service is not an
/// identity in an account) and, for an assumed-role session, its role's ARN.
fn caller_parts(caller: &Principal<'_>) -> (Option<String>, Option<String>) {
    let role = match caller {
        Principal::AssumedRole {
            partition,
            account,
            role,
            ..
        } => Some(format!("arn:{partition}:iam::{account}:role/{role}")),
        _ => None,
    };
    (caller.account().map(str::to_owned), role)
}

impl Request {
    /// A request built in code: `principal` doing `action` on `resource` (a key ARN, or `*`)
    /// with `encryption_context`. The caller's account, a session's role, the key's account and
    /// the context keys they give are derived as [`Request::parse`] derives them; add to
    /// `context` whatever else the call carries (source IP, tags, ...). The policies and grants
    /// are the [`Authorizer`](crate::Authorizer)'s, compiled once.
    pub fn new(
        principal: &str,
        action: ActionId,
        resource: &str,
        encryption_context: &[(&str, &str)],
    ) -> Result<Self, RequestError> {
        let caller =
            Principal::parse_caller(principal).map_err(|e| field("principal", e.to_string()))?;
        let parsed_caller = ParsedCaller::of(principal, &caller);
        let (principal_account, principal_role_arn) = caller_parts(&caller);
        let mut context = RequestContext::new();
        let arn = principal_role_arn.as_deref().unwrap_or(principal);
        match &principal_account {
            Some(account) => insert_caller(&mut context, arn, account),
            None => context.insert_static("aws:PrincipalArn", ContextValue::single(arn)),
        }
        context.insert_encryption_context(encryption_context.iter().copied());
        let parsed_resource = ParsedArn::of(resource);
        Ok(Self {
            principal: principal.to_owned(),
            principal_account,
            principal_role_arn,
            action,
            resource: resource.to_owned(),
            resource_account: parsed_resource
                .get(resource)
                .map(|a| a.account.to_owned())
                .filter(|a| !a.is_empty()),
            parsed_resource,
            target_key: None,
            key_policy: None,
            identity_policies: Vec::new(),
            grants: Vec::new(),
            grant_tokens: Vec::new(),
            encryption_context: encryption_context
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            context,
            parsed_caller,
        })
    }

    /// Parse and check a request.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        Self::parse_with(text, None)
    }

    /// Parse and check a request whose policies may refer to documents of `library` by name
    /// (`"key_policy": {"ref": "payroll"}`). Without a library, a reference is an error that
    /// says so.
    pub fn parse_with(text: &str, library: Option<&PolicyLibrary>) -> Result<Self, RequestError> {
        let raw: RawRequest<'_> = serde_json::from_str(text).map_err(|e| {
            let message = strip_position(&e.to_string());
            // serde_json stops after an unknown key's closing quote; point at its opening one.
            let column = if message.starts_with("unknown field") {
                key_start(text, e.line(), e.column()).unwrap_or(e.column())
            } else {
                e.column()
            };
            RequestError::Format {
                message,
                line: e.line(),
                column,
            }
        })?;
        let caller = Principal::parse_caller(&raw.principal)
            .map_err(|e| field("principal", e.to_string()))?;
        let parsed_caller = ParsedCaller::of(&raw.principal, &caller);
        let (account, role) = caller_parts(&caller);
        let principal_account = raw.principal_account.or(account);
        let principal_role_arn = raw.principal_role_arn.or(role);
        let action = catalog::kms_action(&raw.action).ok_or_else(|| {
            field(
                "action",
                format!(
                    "\"{}\" is not a KMS action (kms:Operation, such as kms:Decrypt)",
                    raw.action
                ),
            )
        })?;
        let key_scoped = action.info().resource != ResourceScope::NoResource;
        let resource = match raw.resource {
            Some(r) => r,
            None if !key_scoped => "*".to_owned(),
            None => {
                return Err(field(
                    "resource",
                    format!("{action} acts on a key: give the key ARN"),
                ));
            }
        };
        let parsed_resource = ParsedArn::of(&resource);
        let resource_account = match raw.resource_account {
            Some(a) => Some(a),
            None => parsed_resource
                .get(&resource)
                .map(|a| a.account.to_owned())
                .filter(|a| !a.is_empty()),
        };
        if key_scoped && resource_account.is_none() {
            return Err(field(
                "resource_account",
                "needed: the resource is not an ARN with an account",
            ));
        }
        let alias_operation = action.info().resource == ResourceScope::AliasAndKey;
        let target_key = match raw.target_key {
            Some(key) if alias_operation => Some(key),
            Some(_) => {
                return Err(field(
                    "target_key",
                    format!("only alias operations name a target key; {action} acts on `resource`"),
                ));
            }
            None if alias_operation => {
                return Err(field(
                    "target_key",
                    format!(
                        "{action} needs permission on the alias and on its key: give the key's ARN"
                    ),
                ));
            }
            None => None,
        };
        if alias_operation
            && !keyward_policy::arn::Arn::parse(&resource)
                .is_some_and(|a| a.resource.starts_with("alias/"))
        {
            return Err(field(
                "resource",
                format!(
                    "{action} acts on an alias: give the alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME)"
                ),
            ));
        }
        let key_policy = match raw.key_policy {
            Some(p) => Some(policy_text(p, text, library, "key_policy")?),
            None if key_scoped => {
                return Err(field(
                    "key_policy",
                    format!("{action} acts on a key: give its key policy"),
                ));
            }
            None => None,
        };
        if matches!(caller, Principal::Service { .. }) && !raw.identity_policies.is_empty() {
            return Err(field(
                "identity_policies",
                "a service principal has no identity policies: only the key policy and grants apply to it",
            ));
        }
        let identity_policies = raw
            .identity_policies
            .iter()
            .map(|p| policy_text(p, text, library, "identity_policies"))
            .collect::<Result<Vec<_>, _>>()?;
        let grants = raw
            .grants
            .into_iter()
            .map(grant)
            .collect::<Result<Vec<_>, _>>()?;
        if raw.grant_tokens.len() > 10 {
            return Err(field(
                "grant_tokens",
                "at most 10 grant tokens may be sent with a request",
            ));
        }
        let encryption_context: Vec<(String, String)> =
            raw.encryption_context.into_iter().collect();
        let mut request = Self {
            principal: raw.principal,
            principal_account,
            principal_role_arn,
            action,
            resource,
            resource_account,
            target_key,
            key_policy,
            identity_policies,
            grants,
            grant_tokens: raw.grant_tokens,
            encryption_context,
            context: RequestContext::new(),
            parsed_caller,
            parsed_resource,
        };
        request.context = request.derive_context(&raw.key, key_scoped, raw.context)?;
        Ok(request)
    }

    /// The context: derived keys first, then `context` verbatim (it overrides). Nothing else is
    /// invented: no `aws:CurrentTime` unless given.
    fn derive_context(
        &self,
        key: &RawKey,
        key_scoped: bool,
        given: serde_json::Map<String, Value>,
    ) -> Result<RequestContext, RequestError> {
        let mut ctx = RequestContext::new();
        let principal_arn = self
            .principal_role_arn
            .as_deref()
            .unwrap_or(&self.principal);
        let attributes = KeyAttributes {
            spec: &key.spec,
            usage: &key.usage,
            origin: &key.origin,
            multi_region: key.multi_region,
            multi_region_key_type: None,
            aliases: &key.aliases,
            tags: &key.tags,
        };
        match &self.principal_account {
            Some(account) => insert_caller_and_key(
                &mut ctx,
                principal_arn,
                account,
                key_scoped.then_some(&attributes),
            ),
            None => {
                ctx.insert_static("aws:PrincipalArn", ContextValue::single(principal_arn));
                if key_scoped {
                    insert_key(&mut ctx, &attributes);
                }
            }
        }
        ctx.insert_encryption_context(
            self.encryption_context
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        for (name, value) in given {
            /// A context value's text: a string as it is, a number or a boolean as JSON.
            fn text<'v>(
                name: &str,
                v: &'v Value,
            ) -> Result<std::borrow::Cow<'v, str>, RequestError> {
                match v {
                    Value::String(s) => Ok(std::borrow::Cow::Borrowed(s.as_str())),
                    Value::Number(_) | Value::Bool(_) => Ok(std::borrow::Cow::Owned(v.to_string())),
                    _ => Err(field(
                        "context",
                        format!(
                            "\"{name}\": a value is a string, a number, a boolean or an array of those"
                        ),
                    )),
                }
            }
            let value = match &value {
                Value::Array(items) => {
                    let texts = items
                        .iter()
                        .map(|v| text(&name, v))
                        .collect::<Result<Vec<_>, _>>()?;
                    ContextValue::multi(texts.iter().map(|t| &**t))
                }
                other => ContextValue::single(&text(&name, other)?),
            };
            ctx.insert_owned(name, value);
        }
        Ok(ctx)
    }

    /// The caller parsed (it was checked when the request was), once per request and its
    /// copies.
    pub fn caller(&self) -> Option<Principal<'_>> {
        self.parsed_caller.get(&self.principal)
    }

    /// The account the caller is a member of: its principal's account, and none for a service
    /// principal (a service is not an identity in an account, whatever `principal_account`
    /// says: the account principal neither delegates to it nor denies it).
    pub fn member_account(&self) -> Option<&str> {
        self.member_account_for(matches!(self.caller(), Some(Principal::Service { .. })))
    }

    /// [`member_account`](Self::member_account), told whether the caller is a service
    /// principal (by a decision that has read the caller already, so as not to read it again).
    pub(crate) fn member_account_for(&self, caller_is_service: bool) -> Option<&str> {
        if caller_is_service {
            None
        } else {
            self.principal_account.as_deref()
        }
    }

    /// Whether the caller and the key are in the same account. A service principal is in no
    /// account, so cross-account rules do not apply to it: true.
    pub fn same_account(&self) -> bool {
        match (self.resource_account.as_deref(), self.member_account()) {
            (Some(key), Some(caller)) => key == caller,
            _ => true,
        }
    }
}

fn grant(raw: RawGrant) -> Result<Grant, RequestError> {
    let operations = keyward_grants::parse_operations(raw.operations.iter().map(String::as_str))
        .map_err(|e| field("grants", format!("grant \"{}\": {e}", raw.grant_id)))?;
    let to_pairs = |m: BTreeMap<String, String>| m.into_iter().collect::<Vec<_>>();
    let (equals, subset) = raw.constraints.map_or((None, None), |c| {
        (
            c.encryption_context_equals.map(to_pairs),
            c.encryption_context_subset.map(to_pairs),
        )
    });
    let constraint = GrantConstraint::from_members(equals, subset)
        .map_err(|e| field("grants", format!("grant \"{}\": {e}", raw.grant_id)))?;
    Ok(Grant {
        id: raw.grant_id,
        name: raw.name,
        grantee: raw.grantee_principal,
        retiring_principal: raw.retiring_principal,
        issuing_account: raw.issuing_account,
        key: None,
        created_at: None,
        operations,
        constraint,
    })
}

/// The 1-based column of the opening quote of the key whose closing quote is at `column`.
fn key_start(text: &str, line: usize, column: usize) -> Option<usize> {
    let line_text = text.lines().nth(line.checked_sub(1)?)?;
    let before = line_text.get(..column.checked_sub(1)?)?;
    before.rfind('"').map(|i| i + 1)
}

/// serde_json appends " at line L column C"; the position is reported separately.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

impl RequestError {
    /// Render as `NAME:LINE:COL: error: message` lines, positions in the request text `text`
    /// (which starts on line `first_line` of the file: 1 for a request file, the line number for
    /// a line of a batch) where they apply.
    pub fn render(&self, name: &str, text: &str, first_line: usize) -> Vec<String> {
        let shift = first_line.saturating_sub(1);
        match self {
            Self::Format {
                message,
                line,
                column,
            } => {
                vec![format!(
                    "{name}:{}:{column}: error: {message}",
                    line + shift
                )]
            }
            Self::Field { .. } => vec![format!("{name}: error: {self}")],
            Self::Policy {
                policy: source,
                errors,
                text: policy,
                offset,
            } => {
                let file = keyward_policy::LineIndex::new(text);
                let own = keyward_policy::LineIndex::new(policy);
                errors
                    .errors()
                    .iter()
                    .map(|e| match offset {
                        Some(base) => {
                            let at = file.position(base + e.span.start);
                            format!("{name}:{}:{}: error[{}]: {source}: {}", at.line + shift, at.column, e.code(), e.kind)
                        }
                        None => {
                            let at = own.start(Span::new(e.span.start, e.span.end));
                            format!("{name}: error[{}]: {source} (line {} column {} of the policy string): {}", e.code(), at.line, at.column, e.kind)
                        }
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// A request built in code derives what the same request parsed from JSON derives.
    #[test]
    fn a_request_built_in_code_derives_what_parsing_derives() {
        let key = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let session = "arn:aws:sts::111122223333:assumed-role/App/worker-1";
        let decrypt = catalog::kms_action("kms:Decrypt").unwrap();
        let built = Request::new(session, decrypt, key, &[("tenant", "acme")]).unwrap();
        let parsed = Request::parse(&format!(
            r#"{{"principal": "{session}", "action": "kms:Decrypt", "resource": "{key}",
                "key_policy": {{"Version": "2012-10-17", "Statement": []}},
                "encryption_context": {{"tenant": "acme"}}}}"#
        ))
        .unwrap();
        assert_eq!(built.principal_account, parsed.principal_account);
        assert_eq!(built.principal_role_arn, parsed.principal_role_arn);
        assert_eq!(built.resource_account.as_deref(), Some("444455556666"));
        assert_eq!(built.resource_account, parsed.resource_account);
        assert_eq!(built.encryption_context, parsed.encryption_context);
        for name in [
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "kms:CallerAccount",
            "kms:EncryptionContext:tenant",
            "kms:EncryptionContextKeys",
        ] {
            assert_eq!(built.context.get(name), parsed.context.get(name), "{name}");
        }
        assert!(Request::new("not an arn", decrypt, key, &[]).is_err());
    }
}

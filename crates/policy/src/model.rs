//! The typed policy document.
//!
//! Every element and value carries the [`Span`] it was parsed from. Equality of model values
//! compares content only, never positions: two documents are equal when they say the same thing,
//! however they were laid out.

use crate::operator::ConditionOperator;
use crate::source::Span;
use std::fmt;

/// A value and the span of text it came from. Equality ignores the span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wrap `value` with `span`.
    pub const fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Which kind of policy a document is; the validation rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A KMS key policy: a resource policy attached to one key. `Principal` is required,
    /// `Resource: "*"` means "this key", and the KMS quotas apply.
    KeyPolicy,
    /// An IAM identity-based policy attached to a user, group or role: no `Principal`.
    IdentityPolicy,
}

impl PolicyKind {
    /// A short name for messages: "key policy" or "identity policy".
    pub const fn describe(self) -> &'static str {
        match self {
            Self::KeyPolicy => "key policy",
            Self::IdentityPolicy => "identity policy",
        }
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2008-10-17`: policy variables are literal text.
    V2008_10_17,
    /// `2012-10-17`: the current language, with policy variables.
    V2012_10_17,
}

impl Version {
    /// The text of the version.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2008_10_17 => "2008-10-17",
            Self::V2012_10_17 => "2012-10-17",
        }
    }

    /// Parse the exact text of a version.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "2008-10-17" => Some(Self::V2008_10_17),
            "2012-10-17" => Some(Self::V2012_10_17),
            _ => None,
        }
    }
}

/// A whole policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// `Version`, when given.
    pub version: Option<Spanned<Version>>,
    /// `Id`, when given.
    pub id: Option<Spanned<String>>,
    /// The statements, in order. A single statement object is a list of one.
    pub statements: Vec<Spanned<Statement>>,
}

impl PolicyDocument {
    /// Whether policy variables (`${...}`) are substituted: only under `2012-10-17`.
    pub fn variables_enabled(&self) -> bool {
        matches!(
            self.version.as_ref().map(|v| v.value),
            Some(Version::V2012_10_17)
        )
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The statement allows what it matches.
    Allow,
    /// The statement denies what it matches; a matching deny always wins.
    Deny,
}

impl Effect {
    /// `"Allow"` or `"Deny"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One statement. Clause spans cover the whole `"Key": value` member, so they start at the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, when given.
    pub sid: Option<Spanned<String>>,
    /// `Effect` (span of the value).
    pub effect: Spanned<Effect>,
    /// `Principal` or `NotPrincipal`, when given.
    pub principal: Option<Spanned<PrincipalClause>>,
    /// `Action` or `NotAction`.
    pub action: Spanned<ActionClause>,
    /// `Resource` or `NotResource`.
    /// `Resource` / `NotResource`. A key-policy statement may lack both: KMS accepts the
    /// policy, and the statement "doesn't apply to any KMS key" (KMS Developer Guide, key
    /// policy elements). IAM requires one in an identity policy.
    pub resource: Option<Spanned<ResourceClause>>,
    /// `Condition`, when given.
    pub condition: Option<Spanned<ConditionBlock>>,
}

/// `Principal` or `NotPrincipal` and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalClause {
    /// `true` for `NotPrincipal`.
    pub negated: bool,
    /// The principals named.
    pub value: PrincipalValue,
}

impl PrincipalClause {
    /// The element name: `Principal` or `NotPrincipal`.
    pub const fn element(&self) -> &'static str {
        if self.negated {
            "NotPrincipal"
        } else {
            "Principal"
        }
    }
}

/// The value of a principal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalValue {
    /// The string `"*"`: everyone, equivalent to `{"AWS": "*"}`.
    Everyone,
    /// A map of principal types to values, in the order written.
    Map(Vec<PrincipalEntry>),
}

/// One `"Type": value(s)` member of a principal map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    /// The principal type (span of the key).
    pub principal_type: Spanned<PrincipalType>,
    /// The values, each with its span.
    pub values: Vec<Spanned<String>>,
}

/// The principal types of the policy grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// `AWS`: accounts, users, roles, sessions, federated users, or `*`.
    Aws,
    /// `Service`: an AWS service principal such as `s3.amazonaws.com`.
    Service,
    /// `Federated`: an identity provider.
    Federated,
    /// `CanonicalUser`: an S3 canonical user ID.
    CanonicalUser,
}

impl PrincipalType {
    /// All principal types, in canonical order.
    pub const ALL: [Self; 4] = [
        Self::Aws,
        Self::Service,
        Self::Federated,
        Self::CanonicalUser,
    ];

    /// The key as written in the policy.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Service => "Service",
            Self::Federated => "Federated",
            Self::CanonicalUser => "CanonicalUser",
        }
    }

    /// Parse the exact key.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// `Action` or `NotAction` and its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionClause {
    /// `true` for `NotAction`.
    pub negated: bool,
    /// The action patterns, as written.
    pub patterns: Vec<Spanned<String>>,
}

impl ActionClause {
    /// The element name: `Action` or `NotAction`.
    pub const fn element(&self) -> &'static str {
        if self.negated { "NotAction" } else { "Action" }
    }
}

/// `Resource` or `NotResource` and its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceClause {
    /// `true` for `NotResource`.
    pub negated: bool,
    /// The resource patterns, as written.
    pub patterns: Vec<Spanned<String>>,
}

impl ResourceClause {
    /// The element name: `Resource` or `NotResource`.
    pub const fn element(&self) -> &'static str {
        if self.negated {
            "NotResource"
        } else {
            "Resource"
        }
    }
}

/// The `Condition` element: operators, each with keys and values. All must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConditionBlock {
    /// One entry per operator, in the order written.
    pub operators: Vec<ConditionOperatorEntry>,
}

/// `"Operator": { "key": values, ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOperatorEntry {
    /// The operator (span of its name).
    pub operator: Spanned<ConditionOperator>,
    /// The keys it tests, in the order written.
    pub keys: Vec<ConditionKeyEntry>,
}

/// `"key": value | [values]` under an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionKeyEntry {
    /// The context key name as written (names compare case-insensitively).
    pub key: Spanned<String>,
    /// The values, each with its span; never empty.
    pub values: Vec<Spanned<ConditionValue>>,
}

/// A scalar condition value. Numbers and booleans keep their text and their JSON kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConditionValue {
    /// The value as text (a JSON number or boolean as written, e.g. `10`, `true`).
    pub text: String,
    /// How it was written in JSON.
    pub kind: ScalarKind,
}

impl ConditionValue {
    /// A string value.
    pub fn string(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            kind: ScalarKind::String,
        }
    }
}

/// The JSON kind of a scalar condition value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// A JSON string.
    String,
    /// A JSON number, kept as written.
    Number,
    /// A JSON boolean.
    Bool,
}

//! Errors of the parser and the validator: one named kind per problem, each with its span.
//!
//! Every error has a stable kebab-case [`code`](PolicyError::code) that tools and the fixture
//! corpus match on, and a message that says what to change.

use crate::source::{LineIndex, Position, Span};
use std::fmt;

/// What is wrong with a policy, with the context needed to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The input is larger than the parser accepts at all.
    #[error("the input is {size} bytes; Keyward reads policies of at most {limit} bytes")]
    InputTooLarge {
        /// Length of the input, in bytes.
        size: usize,
        /// Largest input the parser reads, in bytes
        /// ([`MAX_INPUT_BYTES`](crate::parser::MAX_INPUT_BYTES)).
        limit: usize,
    },
    /// Objects and arrays nested deeper than the parser accepts.
    #[error(
        "objects and arrays are nested more than {limit} deep; no policy needs more than 7 levels"
    )]
    NestingTooDeep {
        /// Deepest nesting of objects and arrays the parser accepts
        /// ([`MAX_NESTING_DEPTH`](crate::parser::MAX_NESTING_DEPTH)).
        limit: usize,
    },
    /// The text is not valid JSON.
    #[error("invalid JSON: {detail}")]
    InvalidJson {
        /// The JSON parser's description of the syntax error, without its position.
        detail: String,
    },
    /// An object names the same key twice (serde_json would silently keep the last).
    #[error(
        "duplicate key \"{key}\" (first at {first}); a policy object may name each key once: remove or merge one of them"
    )]
    DuplicateKey {
        /// The key named more than once.
        key: String,
        /// Line and column of the key's first occurrence.
        first: Position,
    },
    /// A key that is not part of the policy grammar at this place.
    #[error("unknown element \"{name}\" in {context}{}", suggestion_suffix(.suggestion.as_deref()))]
    UnknownElement {
        /// The unknown key, as written.
        name: String,
        /// Where it appears, as a phrase: `"the policy"` or `"a statement"`.
        context: &'static str,
        /// The known element whose name is closest to `name`, if one is close enough.
        suggestion: Option<&'static str>,
    },
    /// An element has the wrong JSON type.
    #[error("{element} must be {expected}, found {found}")]
    WrongType {
        /// The element or value at fault, as a phrase (e.g. `"Statement"`, `"each statement"`).
        element: String,
        /// The JSON type(s) allowed there, as a phrase (e.g. `"a string or an array of strings"`).
        expected: &'static str,
        /// The JSON type found, as a phrase (e.g. `"a number"`, `"null"`).
        found: &'static str,
    },
    /// A required element is absent.
    #[error("{context} is missing the required element \"{element}\"{}", required_because(.reason))]
    MissingElement {
        /// The name of the absent element (e.g. `"Statement"`, `"Effect"`).
        element: &'static str,
        /// What lacks it, as a phrase: `"the policy"`, `"a statement"` or
        /// `"a key policy statement"`.
        context: &'static str,
        /// Alternatives or the reason it is required, shown in parentheses after the message;
        /// empty when there is nothing to add.
        reason: &'static str,
    },
    /// An element is present but holds no values.
    #[error("{element} is empty; give at least one value")]
    EmptyElement {
        /// The empty element, as a phrase (e.g. `"Statement"` or
        /// `the values of condition key "aws:SourceAccount"`).
        element: String,
    },
    /// Two mutually exclusive elements appear in one statement.
    #[error("a statement may have \"{first}\" or \"{second}\", not both; remove one")]
    ConflictingElements {
        /// The positive element of the pair: `"Principal"`, `"Action"` or `"Resource"`.
        first: &'static str,
        /// Its negated counterpart: `"NotPrincipal"`, `"NotAction"` or `"NotResource"`.
        second: &'static str,
    },
    /// `Version` is not one of the two policy-language versions.
    #[error(
        "Version \"{value}\" is not a policy language version; use \"2012-10-17\" (or \"2008-10-17\")"
    )]
    InvalidVersion {
        /// The `Version` value, as written.
        value: String,
    },
    /// `Effect` is not `Allow` or `Deny`.
    #[error("Effect \"{value}\" is not valid; use \"Allow\" or \"Deny\"{}", suggestion_suffix(.suggestion.as_deref()))]
    InvalidEffect {
        /// The `Effect` value, as written.
        value: String,
        /// `"Allow"` or `"Deny"` if `value` is close to one of them (e.g. a misspelling).
        suggestion: Option<&'static str>,
    },
    /// A `Sid` has characters the policy kind does not allow.
    #[error("Sid \"{value}\" may contain only ASCII letters and digits in an identity policy")]
    InvalidSid {
        /// The `Sid` value, as written.
        value: String,
    },
    /// Two statements of an identity policy share a `Sid`.
    #[error(
        "Sid \"{value}\" is used by more than one statement; statement IDs in a policy must be unique"
    )]
    DuplicateSid {
        /// The `Sid` value shared by more than one statement.
        value: String,
    },
    /// `Id` in an identity policy.
    #[error("\"Id\" is allowed in resource-based policies but not in identity policies; remove it")]
    IdNotAllowed,
    /// `Principal`/`NotPrincipal` in a policy kind that forbids it.
    #[error(
        "\"{element}\" is not allowed in an identity policy: the principal is the identity the policy is attached to"
    )]
    PrincipalNotAllowed {
        /// The element present: `"Principal"` or `"NotPrincipal"`.
        element: &'static str,
    },
    /// A principal map key other than `AWS`, `Service`, `Federated`, `CanonicalUser`.
    #[error("unknown principal type \"{name}\"; use \"AWS\", \"Service\", \"Federated\" or \"CanonicalUser\"{}", suggestion_suffix(.suggestion.as_deref()))]
    UnknownPrincipalType {
        /// The principal map key, as written.
        name: String,
        /// The principal type whose name is closest to `name`, if one is close enough.
        suggestion: Option<&'static str>,
    },
    /// A principal value that is not a valid principal of its type.
    #[error("invalid {principal_type} principal \"{value}\": {reason}")]
    InvalidPrincipal {
        /// The principal type the value is given under: `"AWS"`, `"Service"`, `"Federated"` or
        /// `"CanonicalUser"`.
        principal_type: &'static str,
        /// The principal value, as written.
        value: String,
        /// Why the value is not a principal of that type.
        reason: String,
    },
    /// A wildcard used for part of a principal (only a lone `*` is allowed).
    #[error(
        "principal \"{value}\" uses a wildcard for part of a name; AWS does not match principals by pattern: use \"*\" with a condition such as aws:PrincipalArn"
    )]
    PrincipalPartialWildcard {
        /// The principal value, as written.
        value: String,
    },
    /// An action that is not `*` or `service:Action`.
    #[error("action \"{value}\" is not valid: {reason}")]
    InvalidAction {
        /// The action, as written.
        value: String,
        /// Why it is not a valid action.
        reason: &'static str,
    },
    /// A resource that is not `*` or an ARN.
    #[error("resource \"{value}\" is not valid: {reason}")]
    InvalidResource {
        /// The resource, as written.
        value: String,
        /// Why it is not a valid resource.
        reason: &'static str,
    },
    /// A condition operator that does not exist.
    #[error("unknown condition operator \"{name}\"{}", suggestion_suffix(.suggestion.as_deref()))]
    UnknownConditionOperator {
        /// The operator, as written (with any `ForAllValues:`/`ForAnyValue:` prefix and
        /// `IfExists` suffix).
        name: String,
        /// The known operator whose name is closest to `name`, if one is close enough.
        suggestion: Option<String>,
    },
    /// A condition value that cannot be read as its operator requires.
    #[error("{operator} cannot use \"{value}\": {reason}")]
    InvalidConditionValue {
        /// The condition operator, in its full written form (e.g. `NumericLessThanIfExists`).
        operator: String,
        /// The condition value, as written.
        value: String,
        /// Why the value cannot be read as the operator requires, often with an example of a
        /// valid one.
        reason: String,
    },
    /// A condition key that is not of the form `prefix:name`.
    #[error("condition key \"{key}\" is not valid: {reason}")]
    InvalidConditionKey {
        /// The condition key, as written.
        key: String,
        /// Why it is not a valid condition key.
        reason: &'static str,
    },
    /// A key policy over the KMS size quota.
    #[error(
        "the key policy is {size} bytes; AWS KMS accepts key policies of at most {limit} bytes (not adjustable)"
    )]
    PolicyTooLarge {
        /// Length of the key policy, in bytes.
        size: usize,
        /// The KMS key policy size quota, in bytes
        /// ([`KEY_POLICY_MAX_BYTES`](crate::validate::KEY_POLICY_MAX_BYTES)).
        limit: usize,
    },
    /// A character outside what KMS accepts in a key policy.
    #[error(
        "character {ch:?} (U+{code:04X}) is not allowed in a key policy; KMS accepts printable ASCII, Latin-1 (up to U+00FF), tab, line feed and carriage return"
    )]
    InvalidCharacter {
        /// The character refused.
        ch: char,
        /// Its Unicode code point (`ch as u32`), shown as `U+XXXX`.
        code: u32,
    },
    /// A condition key that AWS KMS refuses in key policies.
    #[error(
        "condition key \"{key}\" is not permitted in a key policy (KMS rejects it with MalformedPolicyDocumentException); use it in an IAM policy"
    )]
    ConditionKeyNotPermitted {
        /// The condition key, as written.
        key: String,
    },
    /// A pattern that could not be compiled for matching.
    #[error("pattern \"{pattern}\" cannot be used for matching: {reason}")]
    InvalidPattern {
        /// The action or resource pattern, as written.
        pattern: String,
        /// Why it cannot be compiled.
        reason: String,
    },
    /// `ForAllValues` on a single-valued key that KMS rejects as overly permissive.
    #[error(
        "ForAllValues with the single-valued key \"{key}\" matches requests without it or with unspecified values (KMS: OverlyPermissiveCondition); remove ForAllValues"
    )]
    OverlyPermissiveCondition {
        /// The single-valued condition key, as written.
        key: String,
    },
    /// A warning, not an error: a key-policy statement without `Resource` or `NotResource`
    /// applies to no key (KMS accepts the policy).
    #[error(
        "this statement has no \"Resource\" or \"NotResource\", so it applies to no KMS key (KMS accepts the policy, but the statement has no effect); add \"Resource\": \"*\", which means this key"
    )]
    StatementWithoutResource,
}

fn suggestion_suffix(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default()
}

fn required_because(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

impl PolicyErrorKind {
    /// The stable kebab-case code of this kind of error.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InputTooLarge { .. } => "input-too-large",
            Self::NestingTooDeep { .. } => "nesting-too-deep",
            Self::InvalidJson { .. } => "invalid-json",
            Self::DuplicateKey { .. } => "duplicate-key",
            Self::UnknownElement { .. } => "unknown-element",
            Self::WrongType { .. } => "wrong-type",
            Self::MissingElement { .. } => "missing-element",
            Self::EmptyElement { .. } => "empty-element",
            Self::ConflictingElements { .. } => "conflicting-elements",
            Self::InvalidVersion { .. } => "invalid-version",
            Self::InvalidEffect { .. } => "invalid-effect",
            Self::InvalidSid { .. } => "invalid-sid",
            Self::DuplicateSid { .. } => "duplicate-sid",
            Self::IdNotAllowed => "id-not-allowed",
            Self::PrincipalNotAllowed { .. } => "principal-not-allowed",
            Self::UnknownPrincipalType { .. } => "unknown-principal-type",
            Self::InvalidPrincipal { .. } => "invalid-principal",
            Self::PrincipalPartialWildcard { .. } => "principal-partial-wildcard",
            Self::InvalidAction { .. } => "invalid-action",
            Self::InvalidResource { .. } => "invalid-resource",
            Self::UnknownConditionOperator { .. } => "unknown-condition-operator",
            Self::InvalidConditionKey { .. } => "invalid-condition-key",
            Self::InvalidConditionValue { .. } => "invalid-condition-value",
            Self::PolicyTooLarge { .. } => "policy-too-large",
            Self::InvalidCharacter { .. } => "invalid-character",
            Self::ConditionKeyNotPermitted { .. } => "condition-key-not-permitted",
            Self::OverlyPermissiveCondition { .. } => "overly-permissive-condition",
            Self::InvalidPattern { .. } => "invalid-pattern",
            Self::StatementWithoutResource => "statement-without-resource",
        }
    }
}

/// Every error code, in a stable order (used by documentation and tests).
pub const ERROR_CODES: &[&str] = &[
    "input-too-large",
    "nesting-too-deep",
    "invalid-json",
    "duplicate-key",
    "unknown-element",
    "wrong-type",
    "missing-element",
    "empty-element",
    "conflicting-elements",
    "invalid-version",
    "invalid-effect",
    "invalid-sid",
    "duplicate-sid",
    "id-not-allowed",
    "principal-not-allowed",
    "unknown-principal-type",
    "invalid-principal",
    "principal-partial-wildcard",
    "invalid-action",
    "invalid-resource",
    "unknown-condition-operator",
    "invalid-condition-key",
    "invalid-condition-value",
    "policy-too-large",
    "invalid-character",
    "condition-key-not-permitted",
    "overly-permissive-condition",
    "invalid-pattern",
    "statement-without-resource",
];

/// The codes of [`crate::validate::warnings`]: what KMS accepts but is almost certainly a
/// mistake (reported, the policy still valid).
pub const WARNING_CODES: &[&str] = &["statement-without-resource"];

/// One problem in a policy, at a place in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct PolicyError {
    /// What is wrong.
    pub kind: PolicyErrorKind,
    /// Where: the element or value at fault.
    pub span: Span,
}

impl PolicyError {
    /// An error of `kind` at `span`.
    pub const fn new(kind: PolicyErrorKind, span: Span) -> Self {
        Self { kind, span }
    }

    /// The stable kebab-case code.
    pub const fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Render as `NAME:LINE:COL: error[CODE]: message`.
    pub fn render(&self, name: &str, index: &LineIndex<'_>) -> String {
        let at = index.start(self.span);
        let severity = if WARNING_CODES.contains(&self.code()) {
            "warning"
        } else {
            "error"
        };
        format!("{name}:{at}: {severity}[{}]: {}", self.code(), self.kind)
    }
}

/// At most this many problems are recorded for one document; past it, the rest are dropped so
/// hostile input cannot make reporting quadratic.
pub const MAX_ERRORS: usize = 100;

/// All the problems found in one policy, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics {
    errors: Vec<PolicyError>,
}

impl Diagnostics {
    /// No problems yet.
    pub const fn new() -> Self {
        Self { errors: Vec::new() }
    }

    /// Record a problem (up to [`MAX_ERRORS`]).
    pub fn push(&mut self, kind: PolicyErrorKind, span: Span) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(PolicyError::new(kind, span));
        }
    }

    /// Whether the limit of recorded problems is reached.
    pub fn is_full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The problems, sorted by position.
    pub fn errors(&self) -> &[PolicyError] {
        &self.errors
    }

    /// Sort by position (then code) so output is stable.
    pub(crate) fn sort(&mut self) {
        self.errors
            .sort_by(|a, b| (a.span, a.code()).cmp(&(b.span, b.code())));
    }
}

impl IntoIterator for Diagnostics {
    type Item = PolicyError;
    type IntoIter = std::vec::IntoIter<PolicyError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}..{}: error[{}]: {}",
                e.span.start,
                e.span.end,
                e.code(),
                e.kind
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

//! Compiled condition blocks and their evaluation.
//!
//! The rules (IAM User Guide: "IAM JSON policy elements: Condition operators", "Conditions
//! with multiple context keys or values", "Single-valued vs. multivalued context keys"):
//! * every operator and every key in a block must hold (AND);
//! * several values for one key: a positive operator holds if any matches (OR), a negated
//!   operator holds if none matches (NOR);
//! * a missing key: positive operators are false, negated ones true, `...IfExists` true;
//! * `ForAllValues:` holds when every request value matches (and when the key is missing or
//!   empty); `ForAnyValue:` when some does (never when missing or empty);
//! * a single-valued operator on a multivalued key is false;
//! * a key given in several variants (encryption-context keys differing only in case) must
//!   satisfy an `Allow`'s test with every reading, a `Deny`'s with any;
//! * `Null: true` holds when the key is missing, `Null: false` when it is present.

use crate::context::{ContextKey, ContextValue, RequestContext, Scalar};
use crate::value;
use crate::variables::Template;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use keyward_policy::arn::{Arn, ArnPattern};
use keyward_policy::model::{ConditionBlock, ConditionKeyEntry, Effect, PolicyDocument};
use keyward_policy::operator::{ConditionOperator, OperatorFamily, OperatorKind, SetQualifier};
use keyward_policy::wildcard::{Case, Wildcard};
use keyward_policy::{Diagnostics, PolicyErrorKind, Span};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// A condition block compiled for evaluation.
#[derive(Debug, Clone)]
pub struct CompiledCondition {
    tests: Box<[KeyTest]>,
}

/// One operator applied to one key, with its values compiled.
#[derive(Debug, Clone)]
pub struct KeyTest {
    pub(crate) operator: ConditionOperator,
    pub(crate) operator_span: Span,
    pub(crate) key: Box<str>,
    pub(crate) name: ContextKey,
    pub(crate) key_span: Span,
    pub(crate) values: Values,
    /// The values as written, for explanations.
    pub(crate) written: Box<[Box<str>]>,
    /// How a key given in several variants is read ([`ContextValue::Variants`]).
    pub(crate) readings: Readings,
}

/// How a test reads a key the request gives in several variants (encryption-context keys that
/// differ only in case): fail closed, whichever the statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readings {
    /// An Allow's test holds only if it holds for every reading.
    Every,
    /// A Deny's test holds if it holds for any reading.
    Any,
}

#[derive(Debug, Clone)]
pub(crate) enum Values {
    String(Box<[StringValue]>),
    Number(Box<[Decimal]>),
    Date(Box<[DateTime<Utc>]>),
    Bool(Box<[BoolValue]>),
    Binary(Box<[Box<[u8]>]>),
    Network(Box<[IpNet]>),
    Arn(Box<[ArnValue]>),
    Null(Box<[bool]>),
}

#[derive(Debug, Clone)]
pub(crate) enum StringValue {
    Plain {
        text: Box<str>,
        like: Option<Wildcard>,
    },
    Template(Template),
}

#[derive(Debug, Clone)]
pub(crate) enum BoolValue {
    Plain(bool),
    Template(Template),
}

#[derive(Debug, Clone)]
pub(crate) enum ArnValue {
    Plain(Box<ArnPattern>),
    Template(Template),
}

impl CompiledCondition {
    /// Compile `block` of an `Allow` statement: see [`CompiledCondition::for_statement`].
    pub fn new(block: &ConditionBlock, variables: bool) -> Result<Self, Diagnostics> {
        Self::for_statement(block, variables, Effect::Allow)
    }

    /// Compile `block` of a statement with `effect`. `variables` is whether policy variables
    /// are substituted (the policy's `Version` is `2012-10-17`). Every value that cannot be
    /// read as its operator requires is reported with its span. The effect decides how a key
    /// given in several variants is read: every reading must satisfy an `Allow`'s test, any
    /// reading satisfies a `Deny`'s (fail closed both ways).
    pub fn for_statement(
        block: &ConditionBlock,
        variables: bool,
        effect: Effect,
    ) -> Result<Self, Diagnostics> {
        let readings = match effect {
            Effect::Allow => Readings::Every,
            Effect::Deny => Readings::Any,
        };
        let mut diags = Diagnostics::new();
        let mut tests = Vec::new();
        for entry in &block.operators {
            for key in &entry.keys {
                if let Some(test) = KeyTest::new(
                    entry.operator.value,
                    entry.operator.span,
                    key,
                    variables,
                    &mut diags,
                ) {
                    tests.push(KeyTest { readings, ..test });
                }
            }
        }
        if diags.is_empty() {
            Ok(Self {
                tests: tests.into(),
            })
        } else {
            Err(diags)
        }
    }

    /// Whether every test holds in `context`. No allocation, except to resolve policy variables
    /// in `StringLike`, ARN and `Bool` values (a `StringEquals` variable is compared in place).
    pub fn evaluate(&self, context: &RequestContext) -> bool {
        self.tests.iter().all(|t| t.holds(context))
    }

    /// The tests, one per operator and key, in the order written.
    pub fn tests(&self) -> &[KeyTest] {
        &self.tests
    }
}

/// The conditions of every statement of `document`, by statement index (`None` for a statement
/// without `Condition`).
pub fn compile_conditions(
    document: &PolicyDocument,
) -> Result<Vec<Option<CompiledCondition>>, Diagnostics> {
    let variables = document.variables_enabled();
    let mut out = Vec::with_capacity(document.statements.len());
    let mut diags = Diagnostics::new();
    for statement in &document.statements {
        match statement
            .condition
            .as_ref()
            .map(|c| CompiledCondition::for_statement(&c.value, variables, statement.effect.value))
        {
            None => out.push(None),
            Some(Ok(c)) => out.push(Some(c)),
            Some(Err(errors)) => {
                for e in errors {
                    diags.push(e.kind, e.span);
                }
            }
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// Compile each value with `read`, reporting the ones it refuses.
fn each<T>(
    entry: &ConditionKeyEntry,
    diags: &mut Diagnostics,
    operator: ConditionOperator,
    reason: &str,
    read: impl Fn(&str) -> Option<T>,
) -> Box<[T]> {
    entry
        .values
        .iter()
        .filter_map(|v| {
            let read = read(&v.value.text);
            if read.is_none() {
                diags.push(
                    PolicyErrorKind::InvalidConditionValue {
                        operator: operator.to_string(),
                        value: v.value.text.clone(),
                        reason: reason.to_owned(),
                    },
                    v.span,
                );
            }
            read
        })
        .collect()
}

impl KeyTest {
    fn new(
        operator: ConditionOperator,
        operator_span: Span,
        entry: &ConditionKeyEntry,
        variables: bool,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let errors_before = diags.len();
        let template = |text: &str| {
            if variables && operator.kind.accepts_policy_variables() {
                Template::parse(text)
            } else {
                None
            }
        };
        let values = match operator.kind.family() {
            OperatorFamily::String => {
                let like = matches!(
                    operator.kind,
                    OperatorKind::StringLike | OperatorKind::StringNotLike
                );
                Values::String(each(
                    entry,
                    diags,
                    operator,
                    "not a valid pattern",
                    |text| match template(text) {
                        Some(t) => Some(StringValue::Template(t)),
                        None => Some(StringValue::Plain {
                            text: text.into(),
                            like: if like {
                                Some(Wildcard::new(text, Case::Sensitive).ok()?)
                            } else {
                                None
                            },
                        }),
                    },
                ))
            }
            OperatorFamily::Numeric => Values::Number(each(
                entry,
                diags,
                operator,
                "not a number (use an integer or a decimal such as 10 or 2.5)",
                value::parse_number,
            )),
            OperatorFamily::Date => Values::Date(each(
                entry,
                diags,
                operator,
                "not a date (use ISO 8601 such as 2026-01-01T00:00:00Z, or epoch seconds)",
                value::parse_instant,
            )),
            OperatorFamily::Bool => Values::Bool(each(
                entry,
                diags,
                operator,
                "not a boolean (use true or false)",
                |text| match template(text) {
                    Some(t) => Some(BoolValue::Template(t)),
                    None => value::parse_bool(text).map(BoolValue::Plain),
                },
            )),
            OperatorFamily::Binary => {
                Values::Binary(each(entry, diags, operator, "not base64", |text| {
                    value::parse_binary(text).map(Vec::into_boxed_slice)
                }))
            }
            OperatorFamily::IpAddress => Values::Network(each(
                entry,
                diags,
                operator,
                "not an IP address or CIDR block (such as 203.0.113.0/24 or 2001:db8::/32)",
                value::parse_network,
            )),
            OperatorFamily::Arn => Values::Arn(each(
                entry,
                diags,
                operator,
                "not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, wildcards allowed)",
                |text| match template(text) {
                    Some(t) => Some(ArnValue::Template(t)),
                    None => ArnPattern::new(text)
                        .ok()
                        .map(|p| ArnValue::Plain(Box::new(p))),
                },
            )),
            OperatorFamily::Null => Values::Null(each(
                entry,
                diags,
                operator,
                "Null takes true (the key is missing) or false (the key is present)",
                value::parse_bool,
            )),
        };
        if diags.len() != errors_before {
            return None;
        }
        Some(Self {
            operator,
            operator_span,
            key: entry.key.value.as_str().into(),
            name: ContextKey::new(&entry.key.value),
            key_span: entry.key.span,
            values,
            written: entry
                .values
                .iter()
                .map(|v| v.value.text.as_str().into())
                .collect(),
            readings: Readings::Every,
        })
    }

    /// The operator.
    pub fn operator(&self) -> ConditionOperator {
        self.operator
    }

    /// The key as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the key is written.
    pub fn key_span(&self) -> Span {
        self.key_span
    }

    /// Where the operator is written.
    pub fn operator_span(&self) -> Span {
        self.operator_span
    }

    /// The values as written.
    pub fn written_values(&self) -> impl Iterator<Item = &str> {
        self.written.iter().map(|v| &**v)
    }

    /// Whether the test holds in `context`.
    pub fn holds(&self, context: &RequestContext) -> bool {
        let found = context.lookup(&self.name);
        let op = self.operator;
        if let Values::Null(expected) = &self.values {
            let present = found.is_some_and(|v| !v.scalars().is_empty());
            return expected.iter().any(|&missing| missing != present);
        }
        match op.qualifier {
            Some(SetQualifier::ForAllValues) => match found {
                None => true,
                Some(v) => v.scalars().iter().all(|s| self.one(s, context)),
            },
            Some(SetQualifier::ForAnyValue) => match found {
                Some(v) if !v.scalars().is_empty() => {
                    v.scalars().iter().any(|s| self.one(s, context))
                }
                // Missing or empty: false, unless `IfExists` (AWS documents nothing; Keyward
                // holds true).
                _ => op.if_exists,
            },
            None => match found {
                None => op.if_exists || op.kind.is_negated(),
                Some(ContextValue::Multi(_)) => false,
                Some(ContextValue::Single(s)) => self.one(s, context),
                Some(ContextValue::Variants(readings)) => match self.readings {
                    Readings::Every => readings.iter().all(|s| self.one(s, context)),
                    Readings::Any => readings.iter().any(|s| self.one(s, context)),
                },
            },
        }
    }

    /// One request value against all the policy values: OR, or NOR for negated operators.
    pub(crate) fn one(&self, scalar: &Scalar, context: &RequestContext) -> bool {
        self.any_positive(scalar, context) != self.operator.kind.is_negated()
    }

    /// Whether `scalar` matches any policy value under the positive form of the operator.
    fn any_positive(&self, scalar: &Scalar, context: &RequestContext) -> bool {
        let kind = self.operator.kind;
        match &self.values {
            Values::String(values) => values
                .iter()
                .any(|v| string_matches(kind, v, scalar.text(), context)),
            Values::Number(values) => scalar
                .number()
                .is_some_and(|n| values.iter().any(|p| ordered(kind, n.cmp(p)))),
            Values::Date(values) => scalar
                .instant()
                .is_some_and(|d| values.iter().any(|p| ordered(kind, d.cmp(p)))),
            Values::Bool(values) => scalar.boolean().is_some_and(|b| {
                values.iter().any(|v| match v {
                    BoolValue::Plain(p) => *p == b,
                    BoolValue::Template(t) => {
                        t.resolve(context).and_then(|r| value::parse_bool(&r)) == Some(b)
                    }
                })
            }),
            Values::Binary(values) => scalar
                .binary()
                .is_some_and(|b| values.iter().any(|p| **p == *b)),
            Values::Network(values) => scalar
                .address()
                .is_some_and(|a| values.iter().any(|net| net.contains(&a))),
            Values::Arn(values) => {
                let Some(arn) = Arn::parse(scalar.text()) else {
                    return false;
                };
                values.iter().any(|v| match v {
                    ArnValue::Plain(pattern) => pattern.matches(&arn),
                    ArnValue::Template(t) => t.matches_arn(&arn, context),
                })
            }
            // Null is decided in `holds`, before any value is compared.
            Values::Null(_) => false,
        }
    }
}

/// The positive comparison of an ordering operator: request value `ordering` policy value.
fn ordered(kind: OperatorKind, ordering: Ordering) -> bool {
    use OperatorKind::*;
    match kind {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => {
            ordering == Ordering::Equal
        }
        NumericLessThan | DateLessThan => ordering == Ordering::Less,
        NumericLessThanEquals | DateLessThanEquals => ordering != Ordering::Greater,
        NumericGreaterThan | DateGreaterThan => ordering == Ordering::Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ordering != Ordering::Less,
        _ => false,
    }
}

fn string_matches(
    kind: OperatorKind,
    value: &StringValue,
    text: &str,
    context: &RequestContext,
) -> bool {
    use OperatorKind::*;
    match (kind, value) {
        (StringEquals | StringNotEquals, StringValue::Plain { text: p, .. }) => text == &**p,
        (
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase,
            StringValue::Plain { text: p, .. },
        ) => equal_ignoring_case(text, p),
        (StringLike | StringNotLike, StringValue::Plain { like, .. }) => {
            like.as_ref().is_some_and(|w| w.is_match(text))
        }
        (StringEquals | StringNotEquals, StringValue::Template(t)) => {
            t.equals(text, context, Case::Sensitive)
        }
        (StringEqualsIgnoreCase | StringNotEqualsIgnoreCase, StringValue::Template(t)) => {
            t.equals(text, context, Case::Insensitive)
        }
        (StringLike | StringNotLike, StringValue::Template(t)) => {
            t.matches_pattern(text, context, Case::Sensitive)
        }
        _ => false,
    }
}

/// Whether two strings are equal ignoring case (simple Unicode lowercase, per character).
pub fn equal_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(c), Some(d)) if c.to_lowercase().eq(d.to_lowercase()) => {}
            _ => return false,
        }
    }
}

//! What a condition compared, for people: per operator and key, the values the policy expects,
//! what the request had, and the outcome. Built only when asked (it allocates); evaluation
//! itself does not.

use crate::condition::{CompiledCondition, KeyTest, StringValue, Values};
use crate::context::RequestContext;
use crate::variables::{Part, Template};
use keyward_policy::Span;
use keyward_policy::operator::ConditionOperator;
use std::fmt;

/// What the request had for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actual {
    /// The key was not in the request.
    Missing,
    /// A single value.
    Single(String),
    /// A set of values (possibly empty).
    Multi(Vec<String>),
    /// A single-valued key given in several variants (encryption-context keys differing only
    /// in case): each reading.
    Variants(Vec<String>),
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("missing"),
            Self::Single(v) => write!(f, "`{v}`"),
            Self::Multi(values) => {
                f.write_str("[")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{v}`")?;
                }
                f.write_str("]")
            }
            Self::Variants(values) => {
                f.write_str("variants differing only in case: ")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{v}`")?;
                }
                Ok(())
            }
        }
    }
}

/// The outcome of one operator on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOutcome {
    /// The operator.
    pub operator: ConditionOperator,
    /// The key as written in the policy.
    pub key: String,
    /// Where the operator is written.
    pub operator_span: Span,
    /// Where the key is written.
    pub key_span: Span,
    /// The policy's values, with policy variables resolved (`${aws:username}` = `alice`) or
    /// marked as having no value.
    pub expected: Vec<String>,
    /// What the request had.
    pub actual: Actual,
    /// Whether the test held.
    pub holds: bool,
}

impl fmt::Display for KeyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: expected ", self.operator, self.key)?;
        match self.expected.as_slice() {
            [one] => write!(f, "`{one}`")?,
            many => {
                f.write_str("one of ")?;
                for (i, v) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{v}`")?;
                }
            }
        }
        write!(
            f,
            ", request has {} ({})",
            self.actual,
            if self.holds { "holds" } else { "fails" }
        )
    }
}

impl CompiledCondition {
    /// Every test's outcome, in the order written.
    pub fn explain(&self, context: &RequestContext) -> Vec<KeyOutcome> {
        self.tests().iter().map(|t| t.explain(context)).collect()
    }

    /// The first test that fails, if any: why the block does not hold.
    pub fn first_failure(&self, context: &RequestContext) -> Option<KeyOutcome> {
        self.tests()
            .iter()
            .find(|t| !t.holds(context))
            .map(|t| t.explain(context))
    }
}

impl KeyTest {
    /// This test's outcome in `context`.
    ///
    /// The texts are copied with `String::from`: `to_string` on a `Box<str>` would go through
    /// the formatting machinery, a cost that showed in every explained decision.
    pub fn explain(&self, context: &RequestContext) -> KeyOutcome {
        let actual = match context.lookup(&self.name) {
            None => Actual::Missing,
            Some(crate::ContextValue::Single(s)) => Actual::Single(s.text().to_owned()),
            Some(crate::ContextValue::Multi(values)) => {
                Actual::Multi(values.iter().map(|s| s.text().to_owned()).collect())
            }
            Some(crate::ContextValue::Variants(values)) => {
                Actual::Variants(values.iter().map(|s| s.text().to_owned()).collect())
            }
        };
        let expected = match &self.values {
            Values::String(values) => values
                .iter()
                .map(|v| match v {
                    StringValue::Plain { text, .. } => String::from(&**text),
                    StringValue::Template(t) => describe_template(t, context),
                })
                .collect(),
            _ => self.written.iter().map(|w| String::from(&**w)).collect(),
        };
        KeyOutcome {
            operator: self.operator,
            key: String::from(&*self.key),
            operator_span: self.operator_span,
            key_span: self.key_span,
            expected,
            actual,
            holds: self.holds(context),
        }
    }
}

/// `home/${aws:username}` as `home/alice`, or `home/${aws:username} (aws:username has no value)`.
fn describe_template(template: &Template, context: &RequestContext) -> String {
    match template.resolve(context) {
        Some(resolved) => resolved,
        None => {
            let missing: Vec<&str> = template
                .parts()
                .iter()
                .filter_map(|p| match p {
                    Part::Variable {
                        key,
                        name,
                        default: None,
                    } if crate::variables::variable_value(context, name).is_none() => Some(&**key),
                    _ => None,
                })
                .collect();
            let written: String = template
                .parts()
                .iter()
                .map(|p| match p {
                    Part::Text { text, .. } => text.to_string(),
                    Part::Variable {
                        key,
                        default: Some(d),
                        ..
                    } => format!("${{{key}, '{d}'}}"),
                    Part::Variable { key, .. } => format!("${{{key}}}"),
                })
                .collect();
            format!("{written} ({} has no value)", missing.join(", "))
        }
    }
}

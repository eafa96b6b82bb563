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
    pub fn explain(&self, context: &RequestContext) -> KeyOutcome {
        let mut outcome = KeyOutcome {
            operator: self.operator,
            key: String::new(),
            operator_span: self.operator_span,
            key_span: self.key_span,
            expected: Vec::new(),
            actual: Actual::Missing,
            holds: false,
        };
        self.explain_into(context, &mut outcome);
        outcome
    }

    /// [`explain`](Self::explain), written over an earlier outcome: its strings and lists are
    /// used again, so that explaining the same test request after request (a batch) allocates
    /// only when a text outgrows the one before it.
    pub fn explain_into(&self, context: &RequestContext, outcome: &mut KeyOutcome) {
        self.describe_into(context, outcome);
        outcome.holds = self.holds(context);
    }

    /// [`explain_into`](Self::explain_into) for a test the caller has just seen fail in
    /// `context` (a trace's first failing test): the outcome says it fails without the test
    /// being evaluated again.
    pub fn explain_failed_into(&self, context: &RequestContext, outcome: &mut KeyOutcome) {
        self.describe_into(context, outcome);
        outcome.holds = false;
    }

    /// Everything of the outcome but whether the test holds.
    fn describe_into(&self, context: &RequestContext, outcome: &mut KeyOutcome) {
        outcome.operator = self.operator;
        outcome.operator_span = self.operator_span;
        outcome.key_span = self.key_span;
        set_text(&mut outcome.key, &self.key);
        match &self.values {
            Values::String(values) => {
                set_texts(&mut outcome.expected, values, |v, into| match v {
                    StringValue::Plain { text, .. } => set_text(into, text),
                    StringValue::Template(t) => *into = describe_template(t, context),
                });
            }
            _ => set_texts(&mut outcome.expected, &self.written, |w, into| {
                set_text(into, w);
            }),
        }
        let texts = |values: &[crate::context::Scalar], into: &mut Vec<String>| {
            set_texts(into, values, |v, into| set_text(into, v.text()));
        };
        match (context.lookup(&self.name), &mut outcome.actual) {
            (None, actual) => *actual = Actual::Missing,
            (Some(crate::ContextValue::Single(v)), Actual::Single(text)) => {
                set_text(text, v.text())
            }
            (Some(crate::ContextValue::Single(v)), actual) => {
                *actual = Actual::Single(v.text().to_owned());
            }
            (Some(crate::ContextValue::Multi(values)), Actual::Multi(into))
            | (Some(crate::ContextValue::Variants(values)), Actual::Variants(into)) => {
                texts(values, into);
            }
            (Some(crate::ContextValue::Multi(values)), actual) => {
                let mut into = Vec::new();
                texts(values, &mut into);
                *actual = Actual::Multi(into);
            }
            (Some(crate::ContextValue::Variants(values)), actual) => {
                let mut into = Vec::new();
                texts(values, &mut into);
                *actual = Actual::Variants(into);
            }
        }
    }
}

/// `text` written over `into`, in its buffer when it fits. (Not `to_string`, which on a
/// `Box<str>` goes through the formatting machinery.)
fn set_text(into: &mut String, text: &str) {
    into.clear();
    into.push_str(text);
}

/// One string per item of `items`, written over `into`'s strings by `set`: as many as there
/// are items, reusing the strings already there.
fn set_texts<T>(into: &mut Vec<String>, items: &[T], mut set: impl FnMut(&T, &mut String)) {
    into.truncate(items.len());
    for (i, item) in items.iter().enumerate() {
        match into.get_mut(i) {
            Some(text) => set(item, text),
            None => {
                let mut text = String::new();
                set(item, &mut text);
                into.push(text);
            }
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

//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, and the literal
//! escapes `${*}`, `${?}`, `${$}` (IAM User Guide, "Policy variables").
//!
//! A value with variables is a [`Template`] of text and variables, resolved against each
//! request. Substituted text is always literal: a tag value `a*` never acts as a wildcard. A
//! variable whose key is missing or multivalued has no value (its default, if any, applies);
//! a template with a valueless variable matches nothing, so positive operators fail and negated
//! ones succeed.

use crate::context::{ContextKey, ContextValue, RequestContext};
use keyward_policy::wildcard::{Case, PatternChar, match_pattern};

/// How many characters of a resolved pattern are kept on the stack ([`Template::pattern`]).
pub const PATTERN_INLINE: usize = 256;

/// A resolved template as a wildcard pattern ([`Template::pattern`]).
pub type ResolvedPattern = smallvec::SmallVec<[PatternChar; PATTERN_INLINE]>;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text. From the policy (`wildcards`: `*` and `?` keep their meaning in `...Like`
    /// operators) or from an escape such as `${*}` (literal).
    Text {
        /// The text.
        text: Box<str>,
        /// Whether `*` and `?` in it are wildcards.
        wildcards: bool,
    },
    /// `${key}` or `${key, 'default'}`.
    Variable {
        /// The key as written.
        key: Box<str>,
        /// The key prepared for lookup.
        name: ContextKey,
        /// The default, when given.
        default: Option<Box<str>>,
    },
}

/// A condition value with policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Box<[Part]>,
}

impl Template {
    /// Read the variables in `text`; `None` when it has none (then it is plain text).
    /// A `${` without a closing `}`, or with something other than a key and an optional quoted
    /// default inside, is literal text.
    pub fn parse(text: &str) -> Option<Self> {
        if !text.contains("${") {
            return None;
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut any_variable = false;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            literal.push_str(before);
            let body_and_rest = after.get(2..).unwrap_or("");
            let Some(end) = body_and_rest.find('}') else {
                literal.push_str(after);
                rest = "";
                break;
            };
            let body = body_and_rest.get(..end).unwrap_or("");
            rest = body_and_rest.get(end + 1..).unwrap_or("");
            match Self::variable(body) {
                Some(part) => {
                    any_variable = true;
                    if !literal.is_empty() {
                        parts.push(Part::Text {
                            text: std::mem::take(&mut literal).into(),
                            wildcards: true,
                        });
                    }
                    parts.push(part);
                }
                None => {
                    literal.push_str("${");
                    literal.push_str(body);
                    literal.push('}');
                }
            }
        }
        literal.push_str(rest);
        if !any_variable {
            return None;
        }
        if !literal.is_empty() {
            parts.push(Part::Text {
                text: literal.into(),
                wildcards: true,
            });
        }
        Some(Self {
            parts: parts.into(),
        })
    }

    fn variable(body: &str) -> Option<Part> {
        if let escape @ ("*" | "?" | "$") = body {
            return Some(Part::Text {
                text: escape.into(),
                wildcards: false,
            });
        }
        let (key, default) = match body.split_once(',') {
            Some((key, default)) => {
                let quoted = default.trim();
                let inner = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
                (key.trim(), Some(inner.into()))
            }
            None => (body.trim(), None),
        };
        let valid = key
            .split_once(':')
            .is_some_and(|(p, n)| !p.is_empty() && !n.is_empty())
            && !key.chars().any(char::is_whitespace);
        valid.then(|| Part::Variable {
            key: key.into(),
            name: ContextKey::new(key),
            default,
        })
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether `text` equals the resolved template (`case` as the operator says). No
    /// allocation; `false` when a variable has no value.
    pub fn equals(&self, text: &str, context: &RequestContext, case: Case) -> bool {
        let mut rest = text;
        for part in self.parts.iter() {
            let Some(piece) = piece(part, context) else {
                return false;
            };
            match strip_prefix(rest, piece, case) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The resolved template as text (for booleans and explanations); `None` when a variable
    /// has no value.
    pub fn resolve(&self, context: &RequestContext) -> Option<String> {
        let mut out = String::new();
        for part in self.parts.iter() {
            out.push_str(piece(part, context)?);
        }
        Some(out)
    }

    /// Whether `arn` matches the resolved template as an ARN pattern: split on its first five
    /// literal colons, each segment matched as [`keyward_policy::arn::ArnPattern`] does.
    /// `false` when a variable has no value.
    pub fn matches_arn(
        &self,
        arn: &keyward_policy::arn::Arn<'_>,
        context: &RequestContext,
    ) -> bool {
        let Some(pattern) = self.pattern(context) else {
            return false;
        };
        let mut segments = pattern.splitn(6, |t| *t == PatternChar::Literal(':'));
        let head = segments.next().unwrap_or(&[]);
        let is_arn = head
            == [
                PatternChar::Literal('a'),
                PatternChar::Literal('r'),
                PatternChar::Literal('n'),
            ];
        is_arn
            && arn.segments().iter().all(|text| {
                segments
                    .next()
                    .is_some_and(|p| match_pattern(p, text, Case::Sensitive))
            })
    }

    /// Whether `text` matches the resolved template as a wildcard pattern (only the policy's own
    /// `*` and `?` are wildcards); `false` when a variable has no value.
    pub fn matches_pattern(&self, text: &str, context: &RequestContext, case: Case) -> bool {
        self.pattern(context)
            .is_some_and(|p| match_pattern(&p[..], text, case))
    }

    /// The resolved template as a wildcard pattern in which only the policy's own `*` and `?`
    /// are wildcards; `None` when a variable has no value. Kept on the stack up to
    /// [`PATTERN_INLINE`] characters (every ARN a policy names in practice): a decision that
    /// resolves a template allocates nothing.
    pub fn pattern(&self, context: &RequestContext) -> Option<ResolvedPattern> {
        let mut out = ResolvedPattern::new();
        for part in self.parts.iter() {
            let wildcards = matches!(
                part,
                Part::Text {
                    wildcards: true,
                    ..
                }
            );
            out.extend(piece(part, context)?.chars().map(|c| match c {
                '*' if wildcards => PatternChar::AnyRun,
                '?' if wildcards => PatternChar::AnyOne,
                c => PatternChar::Literal(c),
            }));
        }
        Some(out)
    }
}

/// The text a part stands for in `context`.
fn piece<'a>(part: &'a Part, context: &'a RequestContext) -> Option<&'a str> {
    match part {
        Part::Text { text, .. } => Some(text),
        Part::Variable { name, default, .. } => {
            variable_value(context, name).or(default.as_deref())
        }
    }
}

/// The value of a variable: the key's single value. A missing or multivalued key has none, and
/// neither has a key given in several variants (no one reading is the value: fail closed).
pub fn variable_value<'c>(context: &'c RequestContext, name: &ContextKey) -> Option<&'c str> {
    match context.lookup(name)? {
        ContextValue::Single(s) => Some(s.text()),
        ContextValue::Multi(_) | ContextValue::Variants(_) => None,
    }
}

/// `text` without `prefix`, compared with or without case.
pub fn strip_prefix<'t>(text: &'t str, prefix: &str, case: Case) -> Option<&'t str> {
    match case {
        Case::Sensitive => text.strip_prefix(prefix),
        Case::Insensitive => {
            let mut chars = text.char_indices();
            for p in prefix.chars() {
                let (_, t) = chars.next()?;
                if !p.to_lowercase().eq(t.to_lowercase()) {
                    return None;
                }
            }
            let at = chars.next().map_or(text.len(), |(i, _)| i);
            text.get(at..)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        let mut ctx = RequestContext::new();
        ctx.insert_single("aws:username", "alice");
        ctx.insert_single("aws:PrincipalTag/team", "a*");
        ctx.insert_multi("aws:TagKeys", ["x", "y"]);
        ctx
    }

    #[test]
    fn variables_are_substituted_case_insensitively_by_key() {
        let t = Template::parse("home/${AWS:UserName}/*").unwrap_or_else(|| panic!("a template"));
        assert_eq!(t.resolve(&context()).as_deref(), Some("home/alice/*"));
        assert!(t.equals("home/alice/*", &context(), Case::Sensitive));
        assert!(!t.equals("home/alice/x", &context(), Case::Sensitive));
    }

    #[test]
    fn defaults_apply_when_the_key_has_no_value() {
        let t = Template::parse("${aws:PrincipalTag/dept, 'company-wide'}")
            .unwrap_or_else(|| panic!("a template"));
        assert_eq!(t.resolve(&context()).as_deref(), Some("company-wide"));
        let multi =
            Template::parse("${aws:TagKeys, 'none'}").unwrap_or_else(|| panic!("a template"));
        assert_eq!(
            multi.resolve(&context()).as_deref(),
            Some("none"),
            "a multivalued key has no value"
        );
        let missing =
            Template::parse("${aws:PrincipalTag/dept}").unwrap_or_else(|| panic!("a template"));
        assert_eq!(missing.resolve(&context()), None);
        assert!(
            !missing.equals("", &context(), Case::Sensitive),
            "no value matches not even the empty string"
        );
    }

    #[test]
    fn escapes_and_substituted_text_are_literal_in_patterns() {
        let t = Template::parse("${*}-${aws:PrincipalTag/team}-*")
            .unwrap_or_else(|| panic!("a template"));
        let pattern = t.pattern(&context()).unwrap_or_default();
        use PatternChar::*;
        assert_eq!(
            pattern[..],
            [
                Literal('*'),
                Literal('-'),
                Literal('a'),
                Literal('*'),
                Literal('-'),
                AnyRun
            ]
        );
        let dollar = Template::parse("${$}{aws:username}").unwrap_or_else(|| panic!("a template"));
        assert_eq!(
            dollar.resolve(&context()).as_deref(),
            Some("${aws:username}")
        );
    }

    #[test]
    fn text_without_a_valid_variable_is_plain() {
        for text in [
            "plain",
            "${",
            "${unterminated",
            "${nocolon}",
            "${aws:x, unquoted}",
            "${ }",
        ] {
            assert_eq!(Template::parse(text), None, "{text}");
        }
        let mixed =
            Template::parse("${bad} ${aws:username}").unwrap_or_else(|| panic!("a template"));
        assert_eq!(mixed.resolve(&context()).as_deref(), Some("${bad} alice"));
    }

    #[test]
    fn case_insensitive_prefixes_compare_characters() {
        assert_eq!(strip_prefix("ÉTÉ-x", "été", Case::Insensitive), Some("-x"));
        assert_eq!(strip_prefix("abc", "ABC", Case::Sensitive), None);
        assert_eq!(strip_prefix("ab", "abc", Case::Insensitive), None);
    }
}

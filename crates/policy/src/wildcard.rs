//! Wildcard patterns: `*` matches any run of characters (including none, and including `/` and
//! `:`), `?` matches exactly one character, everything else is literal.
//!
//! This is the one place wildcard semantics live: action names, ARN segments, and the
//! `StringLike` / `ArnLike` condition operators all use it. Patterns are compiled once; common
//! shapes (`*`, exact text, `prefix*`) never reach the glob engine.
//!
//! globset compiles a pattern to a byte-oriented DFA (linear time, no backtracking); it is exact
//! when pattern and text are ASCII. Its `?` matches one byte and its case folding is ASCII only,
//! so non-ASCII text goes through [`match_chars`], which works on characters. A property test
//! checks that the two agree on ASCII.

use globset::{GlobBuilder, GlobMatcher};
use std::fmt;

/// Whether letters compare with or without case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// `A` and `a` differ (resources, `StringLike`).
    Sensitive,
    /// `A` and `a` are the same (action names).
    Insensitive,
}

#[derive(Clone)]
enum Shape {
    /// `*`: matches everything.
    Any,
    /// No wildcard: the source is the text.
    Exact,
    /// `text*` with no other wildcard: the source minus its last byte is the text.
    Prefix,
    /// An ASCII pattern with wildcards: globset for ASCII text, characters otherwise.
    Glob(GlobMatcher),
    /// A non-ASCII pattern with wildcards or folded case: compared by characters.
    Chars,
}

/// A compiled wildcard pattern.
#[derive(Clone)]
pub struct Wildcard {
    shape: Shape,
    case: Case,
    source: Box<str>,
}

impl fmt::Debug for Wildcard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wildcard")
            .field("pattern", &self.source)
            .field("case", &self.case)
            .finish()
    }
}

impl PartialEq for Wildcard {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.case == other.case
    }
}

impl Eq for Wildcard {}

/// A pattern the glob engine could not compile (should not happen after escaping; reported
/// rather than unwrapped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wildcard pattern \"{pattern}\" could not be compiled: {reason}")]
pub struct WildcardError {
    /// The pattern.
    pub pattern: String,
    /// Why.
    pub reason: String,
}

/// Whether `text` contains a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.bytes().any(|b| b == b'*' || b == b'?')
}

impl Wildcard {
    /// Compile `pattern`.
    pub fn new(pattern: &str, case: Case) -> Result<Self, WildcardError> {
        let shape = if pattern == "*" {
            Shape::Any
        } else if !has_wildcard(pattern) && (case == Case::Sensitive || pattern.is_ascii()) {
            Shape::Exact
        } else if pattern
            .strip_suffix('*')
            .is_some_and(|p| !has_wildcard(p) && (case == Case::Sensitive || p.is_ascii()))
        {
            Shape::Prefix
        } else if pattern.is_ascii() {
            Shape::Glob(compile_glob(pattern, case)?)
        } else {
            Shape::Chars
        };
        Ok(Self {
            shape,
            case,
            source: pattern.into(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern is the lone `*`.
    pub fn matches_everything(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// Whether `text` matches the whole pattern.
    pub fn is_match(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Any => true,
            Shape::Exact => match self.case {
                Case::Sensitive => text == &*self.source,
                Case::Insensitive => text.eq_ignore_ascii_case(&self.source),
            },
            Shape::Prefix => {
                let prefix = self
                    .source
                    .get(..self.source.len().saturating_sub(1))
                    .unwrap_or("");
                text.get(..prefix.len())
                    .is_some_and(|head| match self.case {
                        Case::Sensitive => head == prefix,
                        Case::Insensitive => head.eq_ignore_ascii_case(prefix),
                    })
            }
            Shape::Glob(glob) if text.is_ascii() => glob.is_match(text),
            Shape::Glob(_) | Shape::Chars => match_chars(&self.source, text, self.case),
        }
    }
}

/// Whether two characters are equal under `case` (simple Unicode lowercase folding).
fn chars_equal(a: char, b: char, case: Case) -> bool {
    a == b || (case == Case::Insensitive && a.to_lowercase().eq(b.to_lowercase()))
}

/// One element of a wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternChar {
    /// A character that must match itself (a `*` or `?` here is literal).
    Literal(char),
    /// `*`: any run of characters, possibly empty.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A pattern the matcher can walk: text where `*` and `?` are wildcards, or a token slice
/// (which can hold literal `*` and `?`, as substituted policy variables need).
pub trait PatternSource {
    /// The element at position `at` and the position after it, or `None` at the end.
    fn element(&self, at: usize) -> Option<(PatternChar, usize)>;
}

impl PatternSource for str {
    fn element(&self, at: usize) -> Option<(PatternChar, usize)> {
        let c = self.get(at..)?.chars().next()?;
        let element = match c {
            '*' => PatternChar::AnyRun,
            '?' => PatternChar::AnyOne,
            c => PatternChar::Literal(c),
        };
        Some((element, at + c.len_utf8()))
    }
}

impl PatternSource for [PatternChar] {
    fn element(&self, at: usize) -> Option<(PatternChar, usize)> {
        self.get(at).map(|&e| (e, at + 1))
    }
}

/// Match `text` against `pattern` character by character.
pub fn match_chars(pattern: &str, text: &str, case: Case) -> bool {
    match_pattern(pattern, text, case)
}

/// The wildcard matcher: the greedy algorithm that remembers only the last `*`,
/// O(len(pattern) x len(text)) at worst, no allocation, no recursion.
pub fn match_pattern<P: PatternSource + ?Sized>(pattern: &P, text: &str, case: Case) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // After the last `*` seen: where the pattern resumes, and where the text resumes next time.
    let mut resume: Option<(usize, usize)> = None;
    while let Some(tc) = text.get(t..).and_then(|rest| rest.chars().next()) {
        match pattern.element(p) {
            Some((PatternChar::AnyRun, next)) => {
                p = next;
                resume = Some((p, t));
                continue;
            }
            Some((PatternChar::AnyOne, next)) => {
                p = next;
                t += tc.len_utf8();
                continue;
            }
            Some((PatternChar::Literal(pc), next)) if chars_equal(pc, tc, case) => {
                p = next;
                t += tc.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((star_p, star_t)) = resume else {
            return false;
        };
        // Let the last `*` swallow one more character and try again from there.
        let swallowed = text
            .get(star_t..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8);
        resume = Some((star_p, star_t + swallowed));
        p = star_p;
        t = star_t + swallowed;
    }
    while let Some((element, next)) = pattern.element(p) {
        if element != PatternChar::AnyRun {
            return false;
        }
        p = next;
    }
    true
}

/// Translate to globset syntax: escape its metacharacters, fold runs of `*` (globset gives `**`
/// a path meaning), and let `*` cross `/`.
fn compile_glob(pattern: &str, case: Case) -> Result<GlobMatcher, WildcardError> {
    let mut glob = String::with_capacity(pattern.len() + 8);
    let mut previous_star = false;
    for c in pattern.chars() {
        match c {
            '*' if previous_star => continue,
            '*' | '?' => glob.push(c),
            '[' | ']' | '{' | '}' | '\\' | '!' | ',' => {
                glob.push('\\');
                glob.push(c);
            }
            _ => glob.push(c),
        }
        previous_star = c == '*';
    }
    GlobBuilder::new(&glob)
        .case_insensitive(case == Case::Insensitive)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| WildcardError {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, case: Case, text: &str) -> bool {
        Wildcard::new(pattern, case)
            .map(|w| w.is_match(text))
            .unwrap_or(false)
    }

    #[test]
    fn star_matches_any_run_including_separators() {
        assert!(m("a*b", Case::Sensitive, "ab"));
        assert!(m("a*b", Case::Sensitive, "a/x:y/b"));
        assert!(m("*", Case::Sensitive, ""));
        assert!(m(
            "bucket/*/test/*",
            Case::Sensitive,
            "bucket/1///test///object.jpg"
        ));
        assert!(!m("a*b", Case::Sensitive, "a/x:y/c"));
        assert!(m("a**b", Case::Sensitive, "a-b"));
        assert!(m("*a*", Case::Sensitive, "line\nwith a\nnewline"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(m("kms:?ecrypt", Case::Insensitive, "kms:Decrypt"));
        assert!(!m("kms:?ecrypt", Case::Insensitive, "kms:ecrypt"));
        assert!(m("caf?", Case::Sensitive, "café"));
        assert!(!m("a?c", Case::Sensitive, "abbc"));
    }

    #[test]
    fn glob_metacharacters_are_literal() {
        for lit in ["[abc]", "{a,b}", "a\\b", "!x", "a,b", "x]"] {
            assert!(m(lit, Case::Sensitive, lit), "{lit}");
            let with_star = format!("{lit}*");
            assert!(
                m(&with_star, Case::Sensitive, &format!("{lit}tail")),
                "{with_star}"
            );
            let inner = format!("*{lit}?");
            assert!(
                m(&inner, Case::Sensitive, &format!("head{lit}z")),
                "{inner}"
            );
        }
        assert!(!m("[abc]*", Case::Sensitive, "a"));
        assert!(!m("*{a,b}", Case::Sensitive, "a"));
    }

    #[test]
    fn case_follows_the_setting_on_every_shape() {
        for p in ["kms:decrypt", "kms:De*", "kms:*crypt", "kms:De?rypt"] {
            assert!(m(p, Case::Insensitive, "KMS:DECRYPT"), "{p}");
            assert!(!m(p, Case::Sensitive, "KMS:DECRYPT"), "{p}");
        }
        assert!(m("ÉTÉ*", Case::Insensitive, "été-x"));
    }

    #[test]
    fn non_ascii_text_is_matched_by_characters() {
        assert!(m("caf?-*", Case::Sensitive, "café-au-lait"));
        assert!(!m("caf??", Case::Sensitive, "café"));
        assert!(m("*ÉE", Case::Insensitive, "ouvrée"));
        assert!(!m("*É", Case::Insensitive, "ouvrée"));
        assert!(match_chars("a*b*c", "a€€b€c", Case::Sensitive));
        assert!(!match_chars("a*b*c", "a€€b€", Case::Sensitive));
        assert!(match_chars("", "", Case::Sensitive));
        assert!(!match_chars("", "x", Case::Sensitive));
        assert!(match_chars("***", "", Case::Sensitive));
    }

    proptest::proptest! {
        #[test]
        fn globset_and_the_char_matcher_agree_on_ascii(
            pattern in "[ab*?/:A-B]{0,12}",
            text in "[ab/:A-B]{0,16}",
            insensitive in proptest::bool::ANY,
        ) {
            let case = if insensitive { Case::Insensitive } else { Case::Sensitive };
            let compiled = Wildcard::new(&pattern, case).map(|w| w.is_match(&text));
            proptest::prop_assert_eq!(compiled, Ok(match_chars(&pattern, &text, case)));
        }
    }

    #[test]
    fn token_patterns_can_hold_literal_wildcards() {
        use PatternChar::*;
        let literal_star = [Literal('a'), Literal('*'), AnyRun];
        assert!(match_pattern(&literal_star[..], "a*bc", Case::Sensitive));
        assert!(!match_pattern(&literal_star[..], "abc", Case::Sensitive));
        let one = [AnyOne, Literal('?')];
        assert!(match_pattern(&one[..], "é?", Case::Sensitive));
        assert!(!match_pattern(&one[..], "éx", Case::Sensitive));
    }

    #[test]
    fn pathological_patterns_finish_quickly() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!match_chars(&pattern, &text, Case::Sensitive));
        assert!(!m(&pattern, Case::Sensitive, &text));
        let unicode = "é".repeat(10_000);
        assert!(!m(
            &format!("{}b", "*é".repeat(50)),
            Case::Sensitive,
            &unicode
        ));
    }

    #[test]
    fn prefix_shape_respects_char_boundaries() {
        assert!(!m("é*", Case::Sensitive, "e"));
        assert!(!m("ab*", Case::Sensitive, "a"));
        assert!(m("ab*", Case::Sensitive, "ab"));
    }
}

//! JSON written straight into a buffer by its schema ([`JsonOut`]), and a decision written so
//! in the contract's JSON form: the same bytes as [`Decision::to_json`] prints (keys in the
//! same, sorted, order), with no intermediate `serde_json::Value`. For `keyward authorize
//! --batch`, which writes millions of them, and the key service's audit records.
//!
//! The keys and the punctuation are the schema's, written as they are. Each string value is
//! checked for a byte JSON escapes (a quote, a backslash, a control character); one with none
//! is copied as it is, and one with some is escaped by `serde_json`, so the escaping is
//! `serde_json`'s in every case. Numbers are written by `itoa`, as `serde_json` writes them.

use crate::decision::{Decision, Failure, Reason, Source, TraceEntry};
use crate::request::PolicySource;
use keyward_conditions::{Actual, KeyOutcome};
use keyward_policy::Effect;

impl Decision {
    /// Appends [`to_json`](Self::to_json)'s object to `out`, with `"line": line` among its
    /// keys when given (the batch's line number), byte for byte what printing `to_json` with
    /// that key inserted gives.
    pub fn write_json(&self, out: &mut Vec<u8>, line: Option<usize>) -> std::io::Result<()> {
        let mut json = JsonOut::new(out);
        // The verdict, effects and failure kinds are the program's own words, with nothing
        // to escape: written as the schema is.
        json.raw("{\"decision\":\"");
        json.raw(self.verdict.as_str());
        json.raw("\",\"explanation\":");
        json.string(&self.explanation)?;
        if let Some(line) = line {
            json.raw(",\"line\":");
            json.number(line);
        }
        if let Some(message) = &self.message {
            json.raw(",\"message\":");
            json.string(message)?;
        }
        json.raw(",\"reasons\":[");
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                json.raw(",");
            }
            json.reason(reason)?;
        }
        json.raw("],\"trace\":[");
        for (i, entry) in self.trace.iter().enumerate() {
            if i > 0 {
                json.raw(",");
            }
            json.trace(entry)?;
        }
        json.raw("]}");
        Ok(())
    }
}

/// A buffer that JSON is written into by its schema: the caller writes the keys and the
/// punctuation ([`raw`](Self::raw)), and the values through the methods, which write them as
/// `serde_json` does.
#[derive(Debug)]
pub struct JsonOut<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> JsonOut<'a> {
    /// Writes at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    /// Bytes of the schema (keys, punctuation), which the caller knows need no escaping.
    pub fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// A string value, quoted and escaped as `serde_json` escapes it.
    ///
    /// # Errors
    /// Never for a buffer in memory: `serde_json`'s, passed on.
    pub fn string(&mut self, text: &str) -> std::io::Result<()> {
        if needs_escape(text.as_bytes()) {
            serde_json::to_writer(&mut *self.out, text)?;
        } else {
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        }
        Ok(())
    }

    /// A string value or `null`.
    ///
    /// # Errors
    /// As [`string`](Self::string).
    pub fn optional_string(&mut self, text: Option<&str>) -> std::io::Result<()> {
        match text {
            Some(text) => self.string(text),
            None => {
                self.raw("null");
                Ok(())
            }
        }
    }

    /// Any value `serde_json` writes (a `serde_json::Value`, say), as it writes it.
    ///
    /// # Errors
    /// `serde_json`'s: a value that cannot be written as JSON.
    pub fn value(&mut self, value: &impl serde::Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut *self.out, value)?;
        Ok(())
    }

    /// An array of string values.
    fn strings(&mut self, texts: &[String]) -> std::io::Result<()> {
        self.raw("[");
        for (i, text) in texts.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.string(text)?;
        }
        self.raw("]");
        Ok(())
    }

    /// A non-negative integer.
    pub fn number(&mut self, n: usize) {
        self.raw(itoa::Buffer::new().format(n));
    }

    /// A non-negative integer or `null`.
    pub fn optional_number(&mut self, n: Option<usize>) {
        match n {
            Some(n) => self.number(n),
            None => self.raw("null"),
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    /// Where a reason or trace entry comes from, as [`Source`]'s `Display` spells it.
    ///
    /// # Errors
    /// As [`string`](Self::string).
    pub fn source(&mut self, source: &Source) -> std::io::Result<()> {
        match source {
            Source::Policy(PolicySource::KeyPolicy) => self.raw("\"key_policy\""),
            Source::Policy(PolicySource::IdentityPolicy(i)) => {
                self.raw("\"identity_policy:");
                self.number(*i);
                self.raw("\"");
            }
            Source::Grant(id) if !needs_escape(id.as_bytes()) => {
                self.raw("\"grant:");
                self.raw(id);
                self.raw("\"");
            }
            Source::Grant(_) => self.string(&source.to_string())?,
        }
        Ok(())
    }

    fn reason(&mut self, r: &Reason) -> std::io::Result<()> {
        self.raw(match r.effect {
            Effect::Allow => "{\"effect\":\"Allow\"",
            Effect::Deny => "{\"effect\":\"Deny\"",
        });
        if let Some(sid) = &r.sid {
            self.raw(",\"sid\":");
            self.string(sid)?;
        }
        self.source_and_statement(&r.source, r.statement)
    }

    /// The `source` and `statement` keys that end a reason or trace entry, and its closing
    /// brace: for a key-policy statement (most of them), the keys in one piece.
    fn source_and_statement(
        &mut self,
        source: &Source,
        statement: Option<usize>,
    ) -> std::io::Result<()> {
        if let (Source::Policy(PolicySource::KeyPolicy), Some(n)) = (source, statement) {
            self.raw(",\"source\":\"key_policy\",\"statement\":");
            self.number(n);
        } else {
            self.raw(",\"source\":");
            self.source(source)?;
            if let Some(n) = statement {
                self.raw(",\"statement\":");
                self.number(n);
            }
        }
        self.raw("}");
        Ok(())
    }

    /// A trace entry's keys, in sorted order; each after the first follows a comma.
    fn trace(&mut self, t: &TraceEntry) -> std::io::Result<()> {
        self.raw("{");
        if let Some(Failure::Condition(outcome)) = &t.failure {
            self.raw("\"condition\":");
            self.condition(outcome)?;
            self.raw(",");
        }
        if t.delegates {
            self.raw("\"delegates\":true,");
        }
        if let Some(Failure::Grant(why)) = &t.failure {
            self.raw("\"detail\":");
            self.string(why)?;
            self.raw(",");
        }
        self.raw(match t.effect {
            Effect::Allow => "\"effect\":\"Allow\"",
            Effect::Deny => "\"effect\":\"Deny\"",
        });
        self.raw(match &t.failure {
            None => ",\"matched\":true",
            Some(Failure::Action) => ",\"failed\":\"action\",\"matched\":false",
            Some(Failure::Resource) => ",\"failed\":\"resource\",\"matched\":false",
            Some(Failure::Principal) => ",\"failed\":\"principal\",\"matched\":false",
            Some(Failure::Grantee) => ",\"failed\":\"grantee\",\"matched\":false",
            Some(Failure::Grant(_)) => ",\"failed\":\"grant\",\"matched\":false",
            Some(Failure::Condition(_)) => ",\"failed\":\"condition\",\"matched\":false",
        });
        // A grant's name is `name`; a statement's Sid is `sid`.
        if let Some(sid) = &t.sid {
            self.raw(if t.statement.is_none() {
                ",\"name\":"
            } else {
                ",\"sid\":"
            });
            self.string(sid)?;
        }
        self.source_and_statement(&t.source, t.statement)
    }

    fn condition(&mut self, o: &KeyOutcome) -> std::io::Result<()> {
        self.raw("{\"actual\":");
        match &o.actual {
            Actual::Missing => self.raw("\"missing\""),
            Actual::Single(v) => self.string(v)?,
            Actual::Multi(values) => self.strings(values)?,
            Actual::Variants(values) => {
                self.raw("{\"variants\":");
                self.strings(values)?;
                self.raw("}");
            }
        }
        self.raw(",\"expected\":");
        self.strings(&o.expected)?;
        self.raw(",\"key\":");
        self.string(&o.key)?;
        // The operator's name as its `Display` spells it, from its static parts.
        self.raw(",\"operator\":\"");
        if let Some(qualifier) = o.operator.qualifier {
            self.raw(qualifier.as_str());
            self.raw(":");
        }
        self.raw(o.operator.kind.as_str());
        if o.operator.if_exists {
            self.raw("IfExists");
        }
        self.raw("\"}");
        Ok(())
    }
}

/// Whether JSON escapes some byte of `text`: a quote, a backslash or a control character
/// (below 0x20). Read sixteen bytes at a time without a branch per byte, so that the compiler
/// can test them together.
fn needs_escape(text: &[u8]) -> bool {
    fn escaped(b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }
    fn any_escaped(block: &[u8; 16]) -> bool {
        block.iter().fold(false, |any, &b| any | escaped(b))
    }
    let (blocks, rest) = text.as_chunks::<16>();
    if blocks.iter().any(any_escaped) {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    // The last bytes: the last sixteen tested as one block (overlapping bytes already tested,
    // which is harmless), or one at a time in a string shorter than a block.
    match text.last_chunk::<16>() {
        Some(last) => any_escaped(last),
        None => rest.iter().any(|&b| escaped(b)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    /// Every byte JSON escapes is found wherever it is in the text, and nothing else is.
    #[test]
    fn a_byte_to_escape_is_found_anywhere() {
        for len in [0, 1, 15, 16, 17, 40] {
            let clean = "a".repeat(len);
            assert!(!needs_escape(clean.as_bytes()), "{len}");
            for at in 0..len {
                for bad in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut text = clean.clone().into_bytes();
                    text[at] = bad;
                    assert!(needs_escape(&text), "{len} {at} {bad}");
                }
            }
        }
        assert!(!needs_escape("ünïcödé / <tag> \u{7f} '".as_bytes()));
    }

    /// A failed condition's operator is written as its `Display` spells it, for every base
    /// operator with and without a set qualifier and `IfExists`: the bytes `to_json` prints.
    #[test]
    fn every_condition_operator_is_written_as_to_json_prints_it() {
        use crate::decision::Verdict;
        use keyward_policy::operator::{ConditionOperator, OperatorKind, SetQualifier};
        use keyward_policy::{Effect, Span};
        for kind in OperatorKind::ALL {
            for qualifier in [
                None,
                Some(SetQualifier::ForAllValues),
                Some(SetQualifier::ForAnyValue),
            ] {
                for if_exists in [false, true] {
                    let operator = ConditionOperator {
                        qualifier,
                        kind,
                        if_exists,
                    };
                    let outcome = KeyOutcome {
                        operator,
                        key: "kms:EncryptionContext:tenant".to_owned(),
                        operator_span: Span::new(0, 0),
                        key_span: Span::new(0, 0),
                        expected: vec!["t-1".to_owned()],
                        actual: Actual::Single("t-2".to_owned()),
                        holds: false,
                    };
                    let decision = Decision {
                        verdict: Verdict::ImplicitDeny,
                        reasons: Vec::new(),
                        trace: vec![TraceEntry {
                            source: Source::Policy(PolicySource::KeyPolicy),
                            statement: Some(0),
                            sid: None,
                            effect: Effect::Allow,
                            failure: Some(Failure::Condition(Box::new(outcome))),
                            delegates: false,
                        }],
                        explanation: "Denied.".to_owned(),
                        message: None,
                    };
                    let mut written = Vec::new();
                    decision.write_json(&mut written, None).unwrap();
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        decision.to_json().to_string(),
                        "{operator}"
                    );
                }
            }
        }
    }
}

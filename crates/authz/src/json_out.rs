//! A decision written straight to a writer in the contract's JSON form: the same bytes as
//! [`Decision::to_json`] prints (keys in the same, sorted, order), with no intermediate
//! `serde_json::Value`. For `keyward authorize --batch`, which writes millions of them.

use crate::decision::{Decision, Failure, Reason, Source, TraceEntry};
use keyward_conditions::{Actual, KeyOutcome};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

impl Decision {
    /// Writes [`to_json`](Self::to_json)'s object to `out`, with `"line": line` among its keys
    /// when given (the batch's line number), byte for byte what printing `to_json` with that
    /// key inserted gives.
    pub fn write_json(
        &self,
        out: &mut impl std::io::Write,
        line: Option<usize>,
    ) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &DecisionJson {
                decision: self,
                line,
            },
        )
    }
}

struct DecisionJson<'a> {
    decision: &'a Decision,
    line: Option<usize>,
}

struct ReasonJson<'a>(&'a Reason);
struct TraceJson<'a>(&'a TraceEntry);
struct ConditionJson<'a>(&'a KeyOutcome);
struct ActualJson<'a>(&'a Actual);
struct SourceJson<'a>(&'a Source);

impl Serialize for SourceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

impl Serialize for DecisionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Keys in sorted order, as `serde_json::Map` keeps them.
        let d = self.decision;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("decision", d.verdict.as_str())?;
        map.serialize_entry("explanation", &d.explanation)?;
        if let Some(line) = self.line {
            map.serialize_entry("line", &line)?;
        }
        if let Some(message) = &d.message {
            map.serialize_entry("message", message)?;
        }
        map.serialize_entry("reasons", &Seq(&d.reasons, ReasonJson))?;
        map.serialize_entry("trace", &Seq(&d.trace, TraceJson))?;
        map.end()
    }
}

/// A slice written as a JSON array, each element through its wrapper.
struct Seq<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for Seq<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

impl Serialize for ReasonJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("effect", r.effect.as_str())?;
        if let Some(sid) = &r.sid {
            map.serialize_entry("sid", sid)?;
        }
        map.serialize_entry("source", &SourceJson(&r.source))?;
        if let Some(n) = r.statement {
            map.serialize_entry("statement", &n)?;
        }
        map.end()
    }
}

impl Serialize for TraceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut map = s.serialize_map(None)?;
        if let Some(Failure::Condition(outcome)) = &t.failure {
            map.serialize_entry("condition", &ConditionJson(outcome))?;
        }
        if t.delegates {
            map.serialize_entry("delegates", &true)?;
        }
        if let Some(Failure::Grant(why)) = &t.failure {
            map.serialize_entry("detail", why)?;
        }
        map.serialize_entry("effect", t.effect.as_str())?;
        let failed = t.failure.as_ref().map(|f| match f {
            Failure::Action => "action",
            Failure::Resource => "resource",
            Failure::Principal => "principal",
            Failure::Grantee => "grantee",
            Failure::Grant(_) => "grant",
            Failure::Condition(_) => "condition",
        });
        if let Some(failed) = failed {
            map.serialize_entry("failed", failed)?;
        }
        map.serialize_entry("matched", &t.failure.is_none())?;
        // A grant's name is `name`; a statement's Sid is `sid`.
        if let Some(sid) = &t.sid
            && t.statement.is_none()
        {
            map.serialize_entry("name", sid)?;
        }
        if let Some(sid) = &t.sid
            && t.statement.is_some()
        {
            map.serialize_entry("sid", sid)?;
        }
        map.serialize_entry("source", &SourceJson(&t.source))?;
        if let Some(n) = t.statement {
            map.serialize_entry("statement", &n)?;
        }
        map.end()
    }
}

impl Serialize for ConditionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("actual", &ActualJson(&o.actual))?;
        map.serialize_entry("expected", &o.expected)?;
        map.serialize_entry("key", &o.key)?;
        map.serialize_entry("operator", &o.operator.to_string())?;
        map.end()
    }
}

impl Serialize for ActualJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Actual::Missing => s.serialize_str("missing"),
            Actual::Single(v) => s.serialize_str(v),
            Actual::Multi(values) => values.serialize(s),
            Actual::Variants(values) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("variants", values)?;
                map.end()
            }
        }
    }
}

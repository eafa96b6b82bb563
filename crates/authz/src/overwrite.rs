//! Decisions written over earlier ones ([`Authorizer::decide_into`]): each trace entry and
//! reason takes the place of the one at its position, and its strings are written into the
//! buffers already there. A caller that decides request after request with the same policies
//! (a batch of millions of lines) then allocates only when a text outgrows the one before it.
//!
//! While deciding, the engine records what took each path as [`Found`]: borrowed from the
//! authorizer, made into a [`Reason`] only if it decides.
//!
//! [`Authorizer::decide_into`]: crate::Authorizer::decide_into

use crate::decision::{Failure, Reason, Source, TraceEntry};
use crate::request::PolicySource;
use keyward_conditions::{KeyTest, RequestContext};
use keyward_policy::Effect;

/// `text` written over `into`, in its buffer when it fits.
pub(crate) fn set_text(into: &mut String, text: &str) {
    into.clear();
    into.push_str(text);
}

/// `text` written over an optional string, reusing its buffer when there is one.
fn set_optional_text(into: &mut Option<String>, text: Option<&str>) {
    match (into.as_mut(), text) {
        (Some(buffer), Some(text)) => set_text(buffer, text),
        (_, text) => *into = text.map(str::to_owned),
    }
}

/// Where a reason or trace entry comes from, borrowed: [`Source`] without its grant ID copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceRef<'a> {
    /// A policy of the request.
    Policy(PolicySource),
    /// A grant, by ID.
    Grant(&'a str),
}

impl<'a> SourceRef<'a> {
    /// `source`, borrowed.
    pub(crate) fn of(source: &'a Source) -> Self {
        match source {
            Source::Policy(policy) => Self::Policy(*policy),
            Source::Grant(id) => Self::Grant(id),
        }
    }

    /// Whether `source` is this one.
    pub(crate) fn is(self, source: &Source) -> bool {
        match (self, source) {
            (Self::Policy(a), Source::Policy(b)) => a == *b,
            (Self::Grant(a), Source::Grant(b)) => a == b,
            _ => false,
        }
    }

    /// Written over `into`, reusing a grant ID's buffer.
    fn write_over(self, into: &mut Source) {
        match (self, into) {
            (Self::Grant(id), Source::Grant(buffer)) => set_text(buffer, id),
            (Self::Grant(id), into) => *into = Source::Grant(id.to_owned()),
            (Self::Policy(policy), into) => *into = Source::Policy(policy),
        }
    }
}

/// A statement or grant that applied to a request, borrowed from the authorizer that found it:
/// what a [`Reason`] says, before it is made one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found<'a> {
    /// Allow or Deny.
    pub effect: Effect,
    /// Where.
    pub source: SourceRef<'a>,
    /// The statement's 0-based index (`None` for a grant).
    pub statement: Option<usize>,
    /// The statement's Sid.
    pub sid: Option<&'a str>,
}

impl Found<'_> {
    /// The reason it gives.
    pub(crate) fn to_reason(self) -> Reason {
        let mut reason = Reason {
            effect: self.effect,
            source: Source::Policy(PolicySource::KeyPolicy),
            statement: None,
            sid: None,
        };
        self.write_over(&mut reason);
        reason
    }

    /// Written over `into`, reusing its strings.
    fn write_over(self, into: &mut Reason) {
        into.effect = self.effect;
        self.source.write_over(&mut into.source);
        into.statement = self.statement;
        set_optional_text(&mut into.sid, self.sid);
    }

    /// Whether `reason` names the same statement or grant.
    fn names(self, reason: &Reason) -> bool {
        self.statement == reason.statement && self.source.is(&reason.source)
    }
}

/// Reasons written over a list, each statement or grant once (the first time it is given).
pub(crate) struct ReasonWriter<'r> {
    reasons: &'r mut Vec<Reason>,
    len: usize,
}

impl<'r> ReasonWriter<'r> {
    /// Writing from the start of `reasons`.
    pub(crate) fn over(reasons: &'r mut Vec<Reason>) -> Self {
        Self { reasons, len: 0 }
    }

    /// Each of `found` not already written.
    pub(crate) fn add(&mut self, found: &[Found<'_>]) {
        for &f in found {
            let written = self.reasons.get(..self.len).unwrap_or_default();
            if written.iter().any(|r| f.names(r)) {
                continue;
            }
            match self.reasons.get_mut(self.len) {
                Some(reason) => f.write_over(reason),
                None => self.reasons.push(f.to_reason()),
            }
            self.len += 1;
        }
    }

    /// The list ends at the last reason written.
    pub(crate) fn finish(self) {
        self.reasons.truncate(self.len);
    }
}

/// Why a traced statement or grant did not apply, before it is written down.
pub(crate) enum Miss<'a> {
    /// Its actions do not cover the action.
    Action,
    /// Its resources do not cover the resource.
    Resource,
    /// It does not name the caller.
    Principal,
    /// A grant to someone else.
    Grantee,
    /// A grant whose constraints refuse, and why.
    Grant(String),
    /// A condition test that fails (the engine has just evaluated it), explained in the
    /// request's context.
    Condition(&'a KeyTest, &'a RequestContext),
}

/// A trace written over an earlier one: see the module's documentation.
pub(crate) struct TraceWriter<'t> {
    entries: &'t mut Vec<TraceEntry>,
    len: usize,
}

impl<'t> TraceWriter<'t> {
    /// Writing from the start of `entries`.
    pub(crate) fn over(entries: &'t mut Vec<TraceEntry>) -> Self {
        Self { entries, len: 0 }
    }

    /// The next entry: a statement or grant, and what failed (`None`: it applied).
    pub(crate) fn push(&mut self, found: Found<'_>, miss: Option<Miss<'_>>, delegates: bool) {
        if self.entries.len() <= self.len {
            self.entries.push(TraceEntry {
                source: Source::Policy(PolicySource::KeyPolicy),
                statement: None,
                sid: None,
                effect: found.effect,
                failure: None,
                delegates: false,
            });
        }
        if let Some(entry) = self.entries.get_mut(self.len) {
            found.source.write_over(&mut entry.source);
            entry.statement = found.statement;
            set_optional_text(&mut entry.sid, found.sid);
            entry.effect = found.effect;
            entry.delegates = delegates;
            entry.failure = match (miss, entry.failure.take()) {
                (None, _) => None,
                (Some(Miss::Action), _) => Some(Failure::Action),
                (Some(Miss::Resource), _) => Some(Failure::Resource),
                (Some(Miss::Principal), _) => Some(Failure::Principal),
                (Some(Miss::Grantee), _) => Some(Failure::Grantee),
                (Some(Miss::Grant(why)), _) => Some(Failure::Grant(why)),
                (Some(Miss::Condition(test, context)), Some(Failure::Condition(mut outcome))) => {
                    test.explain_failed_into(context, &mut outcome);
                    Some(Failure::Condition(outcome))
                }
                (Some(Miss::Condition(test, context)), _) => {
                    Some(Failure::Condition(Box::new(test.explain(context))))
                }
            };
        }
        self.len += 1;
    }

    /// The trace ends at the last entry written.
    pub(crate) fn finish(self) {
        self.entries.truncate(self.len);
    }
}

//! Findings: what a rule reports, where, and how serious it is.

use keyward_policy::{LineIndex, Position, Span};
use std::fmt;

/// How serious a finding is, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look; not wrong.
    Suggestion,
    /// Probably not what was meant.
    Warning,
    /// Gives access it should not, or locks the owner out.
    Security,
    /// KMS would refuse the policy, or a part of it can never work.
    Error,
}

impl Severity {
    /// Every severity, least first.
    pub const ALL: [Self; 4] = [Self::Suggestion, Self::Warning, Self::Security, Self::Error];

    /// The name used in output and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Suggestion => "suggestion",
            Self::Warning => "warning",
            Self::Security => "security",
            Self::Error => "error",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding in one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's stable kebab-case id.
    pub rule: &'static str,
    /// Its severity (the rule's).
    pub severity: Severity,
    /// What is wrong and what to change.
    pub message: String,
    /// The bytes of the policy text at fault.
    pub span: Span,
    /// JSON pointer of the element at fault (RFC 6901), e.g. `/Statement/1/Action/0`.
    pub pointer: String,
    /// The `Sid` of the statement it is in, when there is one.
    pub sid: Option<String>,
    /// The reason from `keyward-lint.toml` when a suppression silences it.
    pub suppressed: Option<String>,
    /// In a template: the logical ID of the key whose policy it is about.
    pub resource: Option<String>,
    /// In a CDK template: the key's construct path (`aws:cdk:path`).
    pub construct: Option<String>,
    /// For a finding of the access analysis: a request in the `keyward authorize` format
    /// without the policies that shows it (completed with the key policy, allowed).
    pub witness: Option<serde_json::Value>,
}

/// A finding's position: 1-based lines and columns (columns count characters); the end is
/// exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Where the span starts.
    pub start: Position,
    /// Just past where the span ends.
    pub end: Position,
}

impl Finding {
    /// The finding's region in `index`'s text.
    pub fn region(&self, index: &LineIndex<'_>) -> Region {
        Region {
            start: index.start(self.span),
            end: index.end(self.span),
        }
    }
}

//! Suppressions: `keyward-lint.toml` silences a rule for a file, or for one statement of it,
//! and every suppression must say why.
//!
//! ```toml
//! [[suppress]]
//! rule = "cross-account-access"              # required: a rule id
//! file = "keys/audit-*.json"                 # optional: a glob over the linted path
//! sid = "AuditAccountReads"                  # optional: only findings in this statement
//! reason = "The audit account 444455556666 reads these logs (SEC-1234)."   # required
//! ```
//!
//! Paths are matched as they were given to `keyward lint` (a leading `./` is ignored, `\` is
//! read as `/`); `*` does not cross `/`, `**` does. Without `file` the suppression applies to
//! every file; without `sid`, to every statement.

use crate::{Finding, rule_by_id};
use globset::{GlobBuilder, GlobMatcher};
use keyward_policy::LineIndex;
use keyward_policy::suggest::did_you_mean;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// A `keyward-lint.toml` that cannot be used, with where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct SuppressionError {
    /// The configuration file's path, as given.
    pub path: String,
    /// 1-based line of the problem (1 when the TOML parser gives no place).
    pub line: usize,
    /// 1-based column of the problem, in characters.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    suppress: Vec<Spanned<RawSuppression>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rule: Spanned<String>,
    file: Option<Spanned<String>>,
    resource: Option<String>,
    sid: Option<String>,
    reason: Option<Spanned<String>>,
}

/// One `[[suppress]]` entry.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// The rule it silences.
    pub rule: &'static str,
    /// The file glob, as written.
    pub file: Option<String>,
    matcher: Option<GlobMatcher>,
    /// In a template, the key (logical ID) it is limited to.
    pub resource: Option<String>,
    /// The statement it is limited to.
    pub sid: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Where the entry is in the configuration file (1-based).
    pub line: usize,
    /// The entry's 1-based column, in characters.
    pub column: usize,
}

impl Suppression {
    /// Whether it silences `finding` in the file at `path`.
    pub fn matches(&self, path: &str, finding: &Finding) -> bool {
        finding.rule == self.rule
            && self
                .resource
                .as_ref()
                .is_none_or(|r| finding.resource.as_ref() == Some(r))
            && self
                .sid
                .as_ref()
                .is_none_or(|sid| finding.sid.as_ref() == Some(sid))
            && self
                .matcher
                .as_ref()
                .is_none_or(|m| m.is_match(normalize(path)))
    }
}

fn normalize(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut rest = path.as_str();
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped;
    }
    rest.to_owned()
}

/// The suppressions of one configuration file.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    /// The configuration file's path, for messages.
    pub path: String,
    /// The `[[suppress]]` entries, in file order (the first that matches a finding wins).
    pub entries: Vec<Suppression>,
}

impl Suppressions {
    /// Reads a configuration file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, SuppressionError> {
        let index = LineIndex::new(text);
        let error = |span: Option<Range<usize>>, message: String| {
            let at = index.position(span.map_or(0, |s| s.start));
            SuppressionError {
                path: path.to_owned(),
                line: at.line,
                column: at.column,
                message,
            }
        };
        let config: ConfigFile =
            toml::from_str(text).map_err(|e| error(e.span(), e.message().to_owned()))?;
        let mut entries = Vec::with_capacity(config.suppress.len());
        for entry in config.suppress {
            let entry_span = entry.span();
            let raw = entry.into_inner();
            let rule_span = raw.rule.span();
            let rule_name = raw.rule.into_inner();
            let Some(rule) = rule_by_id(&rule_name) else {
                let hint = did_you_mean(&rule_name, crate::RULES.iter().map(|r| r.id))
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                return Err(error(
                    Some(rule_span),
                    format!("unknown rule \"{rule_name}\"{hint}"),
                ));
            };
            let reason = match raw.reason {
                Some(reason) if !reason.get_ref().trim().is_empty() => reason.into_inner(),
                Some(reason) => {
                    return Err(error(
                        Some(reason.span()),
                        format!(
                            "the suppression of {} has an empty reason; say why the finding is accepted",
                            rule.id
                        ),
                    ));
                }
                None => {
                    return Err(error(
                        Some(entry_span.clone()),
                        format!(
                            "the suppression of {} has no reason; add reason = \"...\" saying why the finding is accepted",
                            rule.id
                        ),
                    ));
                }
            };
            let (file, matcher) = match raw.file {
                Some(file) => {
                    let file_span = file.span();
                    let pattern = file.into_inner();
                    let matcher = GlobBuilder::new(&normalize(&pattern))
                        .literal_separator(true)
                        .build()
                        .map_err(|e| {
                            error(
                                Some(file_span),
                                format!("invalid file pattern \"{pattern}\": {}", e.kind()),
                            )
                        })?
                        .compile_matcher();
                    (Some(pattern), Some(matcher))
                }
                None => (None, None),
            };
            let at = index.position(entry_span.start);
            entries.push(Suppression {
                rule: rule.id,
                file,
                matcher,
                resource: raw.resource,
                sid: raw.sid,
                reason,
                line: at.line,
                column: at.column,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// Marks the findings of the file at `path` that an entry silences (`Finding::suppressed`
    /// holds the reason) and records which entries were used in `used` (one flag per entry).
    pub fn apply(&self, path: &str, findings: &mut [Finding], used: &mut [bool]) {
        for finding in findings {
            let entry = self
                .entries
                .iter()
                .enumerate()
                .find(|(_, s)| s.matches(path, finding));
            if let Some((i, suppression)) = entry {
                finding.suppressed = Some(suppression.reason.clone());
                if let Some(flag) = used.get_mut(i) {
                    *flag = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_policy::Span;

    fn finding(rule: &'static str, sid: Option<&str>) -> Finding {
        Finding {
            rule,
            severity: crate::Severity::Security,
            message: String::new(),
            span: Span::new(0, 1),
            pointer: String::new(),
            sid: sid.map(str::to_owned),
            suppressed: None,
            resource: None,
            construct: None,
            witness: None,
        }
    }

    const CONFIG: &str = r#"
[[suppress]]
rule = "cross-account-access"
file = "keys/audit-*.json"
sid = "AuditReads"
reason = "The audit account reads these logs (SEC-1234)."

[[suppress]]
rule = "missing-root-delegation"
reason = "Break-glass keys are administered by one role only."
"#;

    #[test]
    fn suppression_matches_rule_file_and_sid() {
        let s = Suppressions::parse(CONFIG, "keyward-lint.toml").unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!((s.entries[0].line, s.entries[0].column), (2, 1));
        let first = &s.entries[0];
        let hit = finding("cross-account-access", Some("AuditReads"));
        assert!(first.matches("keys/audit-logs.json", &hit));
        assert!(first.matches("./keys/audit-logs.json", &hit));
        assert!(
            !first.matches("keys/sub/audit-logs.json", &hit),
            "* does not cross /"
        );
        assert!(!first.matches("keys/app.json", &hit));
        assert!(!first.matches(
            "keys/audit-logs.json",
            &finding("cross-account-access", Some("Other"))
        ));
        assert!(!first.matches(
            "keys/audit-logs.json",
            &finding("cross-account-access", None)
        ));
        assert!(!first.matches(
            "keys/audit-logs.json",
            &finding("public-access", Some("AuditReads"))
        ));
        let second = &s.entries[1];
        assert!(second.matches("any/where.json", &finding("missing-root-delegation", None)));
    }

    #[test]
    fn a_suppression_for_one_key_of_a_template_leaves_the_others() {
        let s = Suppressions::parse(
            "[[suppress]]\nrule = \"public-access\"\nresource = \"LogsKey\"\nsid = \"Everyone\"\nreason = \"r\"\n",
            "keyward-lint.toml",
        )
        .unwrap();
        let mut logs = finding("public-access", Some("Everyone"));
        logs.resource = Some("LogsKey".into());
        let mut app = logs.clone();
        app.resource = Some("AppKey".into());
        assert!(s.entries[0].matches("stack.yaml", &logs));
        assert!(!s.entries[0].matches("stack.yaml", &app));
        assert!(!s.entries[0].matches("policy.json", &finding("public-access", Some("Everyone"))));
    }

    #[test]
    fn apply_marks_findings_and_used_entries() {
        let s = Suppressions::parse(CONFIG, "keyward-lint.toml").unwrap();
        let mut findings = vec![
            finding("missing-root-delegation", None),
            finding("public-access", None),
        ];
        let mut used = vec![false; 2];
        s.apply("k.json", &mut findings, &mut used);
        assert_eq!(
            findings[0].suppressed.as_deref(),
            Some("Break-glass keys are administered by one role only.")
        );
        assert_eq!(findings[1].suppressed, None);
        assert_eq!(used, [false, true]);
    }

    /// Rule ids are a contract: a suppression written with the id a rule had before it was
    /// renamed still silences the rule's findings.
    #[test]
    fn former_rule_ids_still_suppress() {
        let config = r#"
[[suppress]]
rule = "unknown-operator"
reason = "r1"

[[suppress]]
rule = "key-policy-forbidden-condition-key"
reason = "r2"
"#;
        let s = Suppressions::parse(config, "keyward-lint.toml").unwrap();
        let rules: Vec<&str> = s.entries.iter().map(|e| e.rule).collect();
        assert_eq!(
            rules,
            ["unknown-condition-operator", "condition-key-not-permitted",]
        );
        // An unknown operator stops the parse, so it has a policy of its own.
        let policies = [
            r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
   "Action": "kms:*", "Resource": "*",
   "Condition": {"stringEquals": {"kms:CallerAccount": "111122223333"}}}]}"#,
            r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
   "Action": "kms:Decrypt", "Resource": "*",
   "Condition": {"StringEquals": {"aws:ResourceTag/team": "x"}}},
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
   "Action": "kms:Encrypt"}]}"#,
        ];
        let mut used = vec![false; 2];
        let mut reported = Vec::new();
        for policy in policies {
            let mut findings = crate::lint(policy, &crate::LintOptions::default());
            s.apply("key.json", &mut findings, &mut used);
            for finding in findings.iter().filter(|f| rules.contains(&f.rule)) {
                assert!(finding.suppressed.is_some(), "{finding:?}");
                reported.push(finding.rule);
            }
        }
        reported.sort_unstable();
        let mut expected = rules.clone();
        expected.sort_unstable();
        assert_eq!(reported, expected, "each renamed rule is reported once");
        assert_eq!(used, [true, true]);
    }

    fn error_of(text: &str) -> String {
        Suppressions::parse(text, "keyward-lint.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn suppression_without_reason_is_refused_with_its_position() {
        assert_eq!(
            error_of("\n[[suppress]]\nrule = \"public-access\"\n"),
            "keyward-lint.toml:2:1: the suppression of public-access has no reason; add reason = \"...\" saying why the finding is accepted"
        );
        assert_eq!(
            error_of("[[suppress]]\nrule = \"public-access\"\nreason = \"  \"\n"),
            "keyward-lint.toml:3:10: the suppression of public-access has an empty reason; say why the finding is accepted"
        );
    }

    #[test]
    fn suppression_of_unknown_rule_suggests_one() {
        assert_eq!(
            error_of("[[suppress]]\nrule = \"public-acess\"\nreason = \"r\"\n"),
            "keyward-lint.toml:2:8: unknown rule \"public-acess\"; did you mean \"public-access\"?"
        );
    }

    #[test]
    fn suppression_config_errors_name_line_and_column() {
        let unknown_field =
            error_of("[[suppress]]\nrule = \"public-access\"\nreason = \"r\"\nsids = \"A\"\n");
        assert!(
            unknown_field.starts_with("keyward-lint.toml:4:1: unknown field `sids`"),
            "{unknown_field}"
        );
        let syntax = error_of("[[suppress]\n");
        assert!(syntax.starts_with("keyward-lint.toml:1:"), "{syntax}");
        let glob =
            error_of("[[suppress]]\nrule = \"public-access\"\nfile = \"a/[b\"\nreason = \"r\"\n");
        assert!(
            glob.starts_with("keyward-lint.toml:3:8: invalid file pattern \"a/[b\""),
            "{glob}"
        );
        assert!(Suppressions::parse("", "k").unwrap().entries.is_empty());
    }
}

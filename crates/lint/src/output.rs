//! Output formats: compiler-style text, JSON, and SARIF 2.1.0 for code scanning.

use crate::{Finding, RULES, Severity};
use keyward_policy::LineIndex;
use serde_json::{Value, json};

/// The findings of one file.
#[derive(Debug, Clone, Copy)]
pub struct FileFindings<'a> {
    /// The path as given (repo-relative in CI).
    pub path: &'a str,
    /// The file's whole text, which the findings' spans index into.
    pub text: &'a str,
    /// The file's findings, suppressed ones among them: text and JSON leave those out, SARIF
    /// marks them accepted.
    pub findings: &'a [Finding],
}

/// `file:line:col: severity[rule]: message`, the source line and a caret under the span.
/// Suppressed findings are left out. A file that is not JSON gets no source lines: its text
/// may be anything (a secret a link pointed at), and is never echoed.
pub fn text(file: &FileFindings<'_>) -> String {
    let index = LineIndex::new(file.text);
    let echo = !file
        .findings
        .iter()
        .any(|f| matches!(f.rule, "invalid-json" | "input-too-large"));
    let mut out = String::new();
    for finding in file.findings.iter().filter(|f| f.suppressed.is_none()) {
        let region = finding.region(&index);
        let place = match (&finding.resource, &finding.construct) {
            (_, Some(construct)) => format!(" (in {construct})"),
            (Some(resource), None) => format!(" (in {resource})"),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}{place}\n",
            file.path,
            region.start.line,
            region.start.column,
            finding.severity,
            finding.rule,
            finding.message
        ));
        if !echo {
            continue;
        }
        let line = index.line_text(region.start.line);
        let line = line.trim_end_matches(['\r', '\n']);
        let length = line.chars().count();
        let width = if region.end.line == region.start.line {
            region.end.column.saturating_sub(region.start.column).max(1)
        } else {
            length
                .saturating_sub(region.start.column.saturating_sub(1))
                .max(1)
        };
        // A long line (a Terraform plan is one line) is shown around the finding only.
        let (shown, column, width) = excerpt(line, length, region.start.column, width);
        out.push_str(&format!("  {shown}\n"));
        out.push_str(&format!(
            "  {}{}\n",
            " ".repeat(column.saturating_sub(1)),
            "^".repeat(width)
        ));
    }
    out
}

/// The most characters of a source line shown; a longer one is cut around the finding.
const MAX_SHOWN: usize = 160;

/// `line` (of `length` characters) as shown, with the 1-based column the caret starts at and
/// its width: the whole line when it is short, otherwise `MAX_SHOWN` characters around
/// `column` marked with `…` where cut.
fn excerpt(line: &str, length: usize, column: usize, width: usize) -> (String, usize, usize) {
    if length <= MAX_SHOWN {
        return (line.to_owned(), column, width);
    }
    let before = 40;
    let start = column.saturating_sub(1).saturating_sub(before);
    let taken: String = line.chars().skip(start).take(MAX_SHOWN).collect();
    let cut_left = start > 0;
    let cut_right = start + MAX_SHOWN < length;
    let shown = format!(
        "{}{taken}{}",
        if cut_left { "…" } else { "" },
        if cut_right { "…" } else { "" }
    );
    let column = column.saturating_sub(start) + usize::from(cut_left);
    let width = width.min(MAX_SHOWN.saturating_sub(column.saturating_sub(1)).max(1));
    (shown, column, width)
}

fn finding_json(path: &str, index: &LineIndex<'_>, finding: &Finding) -> Value {
    let region = finding.region(index);
    let mut out = json!({
        "file": path,
        "rule": finding.rule,
        "severity": finding.severity.as_str(),
        "message": finding.message,
        "line": region.start.line,
        "column": region.start.column,
        "end_line": region.end.line,
        "end_column": region.end.column,
        "pointer": finding.pointer,
        "sid": finding.sid,
    });
    // In a template: the key's logical ID and, from CDK, its construct path.
    if let Some(map) = out.as_object_mut() {
        if let Some(resource) = &finding.resource {
            map.insert("resource".into(), json!(resource));
        }
        if let Some(construct) = &finding.construct {
            map.insert("construct".into(), json!(construct));
        }
        // From the access analysis: the request that shows the finding.
        if let Some(witness) = &finding.witness {
            map.insert("witness".into(), witness.clone());
        }
    }
    out
}

/// One JSON object per finding, in an array. Suppressed findings are left out.
pub fn json(files: &[FileFindings<'_>]) -> Value {
    let mut all = Vec::new();
    for file in files {
        let index = LineIndex::new(file.text);
        all.extend(
            file.findings
                .iter()
                .filter(|f| f.suppressed.is_none())
                .map(|f| finding_json(file.path, &index, f)),
        );
    }
    Value::Array(all)
}

const fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error | Severity::Security => "error",
        Severity::Warning => "warning",
        Severity::Suggestion => "note",
    }
}

/// SARIF 2.1.0: one run, the whole rule catalogue, 1-based regions (end column exclusive).
/// Suppressed findings are kept, with an external suppression carrying the reason, so code
/// scanning records them as accepted rather than losing them.
pub fn sarif(files: &[FileFindings<'_>]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            let mut properties = json!({
                "tags": if rule.security_severity.is_some() { vec!["security", "kms"] } else { vec!["kms"] },
                "precision": "high",
            });
            if let (Some(score), Some(map)) = (rule.security_severity, properties.as_object_mut()) {
                map.insert("security-severity".into(), json!(score));
            }
            let mut descriptor = json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule.help},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": properties,
            });
            // SARIF 2.1.0 `reportingDescriptor.deprecatedIds`: the ids a renamed rule was known
            // by, so code scanning connects results reported under an old id to the new one.
            if let (false, Some(map)) = (rule.former_ids.is_empty(), descriptor.as_object_mut()) {
                map.insert("deprecatedIds".into(), json!(rule.former_ids));
            }
            descriptor
        })
        .collect();
    let mut results = Vec::new();
    for file in files {
        let index = LineIndex::new(file.text);
        let prints = fingerprints(file.findings);
        for (finding, print) in file.findings.iter().zip(prints) {
            let region = finding.region(&index);
            let rule_index = RULES.iter().position(|r| r.id == finding.rule);
            let mut result = json!({
                "ruleId": finding.rule,
                "level": sarif_level(finding.severity),
                "message": {"text": finding.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": file.path},
                        "region": {
                            "startLine": region.start.line,
                            "startColumn": region.start.column,
                            "endLine": region.end.line,
                            "endColumn": region.end.column,
                        }
                    },
                    "logicalLocations": [{"fullyQualifiedName": finding.pointer, "kind": "element"}],
                }],
                "partialFingerprints": {
                    "keyward/v1": print,
                },
            });
            if let Some(map) = result.as_object_mut() {
                if let Some(index) = rule_index {
                    map.insert("ruleIndex".into(), json!(index));
                }
                if let Some(reason) = &finding.suppressed {
                    map.insert(
                        "suppressions".into(),
                        json!([{"kind": "external", "status": "accepted", "justification": reason}]),
                    );
                }
                if let Some(witness) = &finding.witness {
                    map.insert("properties".into(), json!({"witness": witness}));
                }
            }
            results.push(result);
        }
    }
    keyward_analysis::sarif_log(Value::Array(rules), results)
}

/// What makes each of one file's findings the same finding from one commit to the next (SARIF
/// `partialFingerprints`, beside the file): the rule and where in the policy it points. Inside
/// a statement with a `Sid`, the place is the Sid and the path within the statement, so that
/// statements added, removed or moved around it leave it alone; elsewhere, and where two
/// statements share a Sid, it is the JSON pointer. No two findings of a file share one.
pub fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let by_sid: Vec<Option<String>> = findings.iter().map(within_statement).collect();
    by_sid
        .iter()
        .zip(findings)
        .map(|(print, finding)| match print {
            Some(p)
                if by_sid
                    .iter()
                    .filter(|other| other.as_ref() == Some(p))
                    .count()
                    == 1 =>
            {
                p.clone()
            }
            _ => format!("{}:{}", finding.rule, finding.pointer),
        })
        .collect()
}

/// `RULE:sid=SID:PATH` for a finding inside a statement with a Sid (in a template,
/// `RULE:resource=KEY:sid=SID:PATH`).
fn within_statement(finding: &Finding) -> Option<String> {
    let sid = finding.sid.as_deref()?;
    let at = finding.pointer.find("/Statement")?;
    let rest = finding.pointer.get(at + "/Statement".len()..)?;
    // `/Statement/N/...` in a list, `/Statement/...` for a single statement object.
    let rest = match rest.strip_prefix('/') {
        Some(after) => {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                after.get(digits..)?
            } else {
                rest
            }
        }
        None => rest,
    };
    Some(match &finding.resource {
        Some(resource) => format!("{}:resource={resource}:sid={sid}:{rest}", finding.rule),
        None => format!("{}:sid={sid}:{rest}", finding.rule),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_shown_around_the_finding() {
        let short = "  \"Principal\": \"*\",";
        assert_eq!(excerpt(short, 20, 4, 11), (short.to_owned(), 4, 11));
        let long: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let (shown, column, width) = excerpt(&long, 1000, 501, 30);
        assert_eq!(shown.chars().count(), MAX_SHOWN + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        // The caret still sits under the finding's first character.
        assert_eq!(shown.chars().nth(column - 1), long.chars().nth(500));
        assert_eq!(width, 30);
        let (shown, column, _) = excerpt(&long, 1000, 3, 1);
        assert!(!shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(column, 3);
    }
}

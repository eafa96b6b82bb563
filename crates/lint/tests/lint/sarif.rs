//! The SARIF output validates against the OASIS SARIF 2.1.0 schema (shipped in
//! `fixtures/sarif/`), and carries what GitHub code scanning reads.

use crate::common::fixture;
use keyward_lint::output::{FileFindings, sarif};
use keyward_lint::{Finding, LintOptions, RULES, lint};
use serde_json::Value;
use std::path::Path;

fn schema() -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn corpus() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = format!("fixtures/lint/{}", p.file_name().unwrap().to_string_lossy());
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn sarif_of_the_whole_corpus_validates_against_the_2_1_0_schema() {
    let validator = schema();
    let files = corpus();
    let findings: Vec<Vec<Finding>> = files
        .iter()
        .map(|(_, text)| lint(text, &LintOptions::default()))
        .collect();
    let inputs: Vec<FileFindings<'_>> = files
        .iter()
        .zip(&findings)
        .map(|((path, text), findings)| FileFindings {
            path,
            text,
            findings,
        })
        .collect();
    let document = sarif(&inputs);
    let problems = errors(&validator, &document);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let results = document["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 100, "{} results", results.len());
}

#[test]
fn schema_validation_catches_a_broken_document() {
    // The check can fail: a region with a 0 line, a level that does not exist, a result
    // without a message are each refused.
    let validator = schema();
    let text = std::fs::read_to_string(fixture("unknown-action-typo.json")).unwrap();
    let findings = lint(&text, &LintOptions::default());
    let good = sarif(&[FileFindings {
        path: "p.json",
        text: &text,
        findings: &findings,
    }]);
    assert!(errors(&validator, &good).is_empty());
    let region = "/runs/0/results/0/locations/0/physicalLocation/region/startLine";
    for (pointer, value) in [
        (region, Value::from(0)),
        ("/runs/0/results/0/level", Value::from("fatal")),
        ("/runs/0/results/0/message", Value::from(7)),
        ("/version", Value::from("2.0.0")),
    ] {
        let mut broken = good.clone();
        *broken.pointer_mut(pointer).unwrap() = value;
        assert!(!errors(&validator, &broken).is_empty(), "{pointer}");
    }
}

#[test]
fn sarif_carries_rules_help_security_severity_and_one_based_regions() {
    let text = r#"{"Version": "2012-10-17", "Statement": [{
  "Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
    let findings = lint(text, &LintOptions::default());
    let document = sarif(&[FileFindings {
        path: "keys/open.json",
        text,
        findings: &findings,
    }]);
    let driver = &document["runs"][0]["tool"]["driver"];
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RULES.len());
    for (rule, json) in RULES.iter().zip(rules) {
        assert_eq!(json["id"], rule.id);
        assert!(
            !json["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert!(!json["help"]["text"].as_str().unwrap().is_empty());
        let former: Vec<&str> = json["deprecatedIds"]
            .as_array()
            .map(|ids| ids.iter().map(|id| id.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(former, rule.former_ids, "{}", rule.id);
        let score = json["properties"]["security-severity"].as_str();
        assert_eq!(score, rule.security_severity, "{}", rule.id);
        if let Some(score) = score {
            let score: f64 = score.parse().unwrap();
            assert!((0.1..=10.0).contains(&score));
        }
    }
    let renamed = rules
        .iter()
        .find(|r| r["id"] == "unknown-condition-operator")
        .unwrap();
    assert_eq!(
        renamed["deprecatedIds"],
        serde_json::json!(["unknown-operator"])
    );
    let public = document["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "public-access")
        .unwrap();
    let region = &public["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 37, "the Principal member, 1-based");
    assert_eq!(region["endColumn"], 53, "exclusive");
    assert_eq!(
        public["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "keys/open.json"
    );
    assert_eq!(public["level"], "error");
    assert_eq!(
        rules[public["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "public-access"
    );
}

#[test]
fn sarif_keeps_suppressed_findings_with_their_justification() {
    let text = r#"{"Version": "2012-10-17", "Statement": [{
  "Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
    let mut findings = lint(text, &LintOptions::default());
    for f in &mut findings {
        f.suppressed = Some("Demo key, no data (SEC-1).".into());
    }
    let document = sarif(&[FileFindings {
        path: "open.json",
        text,
        findings: &findings,
    }]);
    assert!(errors(&schema(), &document).is_empty());
    let result = &document["runs"][0]["results"][0];
    assert_eq!(result["suppressions"][0]["kind"], "external");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "Demo key, no data (SEC-1)."
    );
}

/// A finding inside a statement with a Sid keeps its fingerprint when statements are added
/// before it; one without a Sid is told by its pointer; two findings of one file never share
/// one.
#[test]
fn fingerprints_survive_statements_added_before_a_named_one() {
    use keyward_lint::output::fingerprints;
    let before = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
  {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
    let after = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Encrypt", "Resource": "*"},
  {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
    let public = |text: &str| {
        lint(text, &LintOptions::default())
            .into_iter()
            .find(|f| f.rule == "public-access")
            .unwrap()
    };
    let print = |text: &str| {
        let findings = lint(text, &LintOptions::default());
        let at = findings
            .iter()
            .position(|f| f.rule == "public-access")
            .unwrap();
        fingerprints(&findings).swap_remove(at)
    };
    assert_ne!(
        public(before).pointer,
        public(after).pointer,
        "the statement moved"
    );
    assert_eq!(print(before), print(after));
    assert_eq!(print(before), "public-access:sid=Everyone:/Principal");
    for (name, text) in corpus() {
        let findings = lint(&text, &LintOptions::default());
        let mut prints = fingerprints(&findings);
        let n = prints.len();
        prints.sort();
        prints.dedup();
        assert_eq!(prints.len(), n, "{name}: two findings share a fingerprint");
    }
}

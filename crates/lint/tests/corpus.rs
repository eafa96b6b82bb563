//! Runs the lint corpus: every `fixtures/lint/*.json` beside its `.expected`, which lists the
//! exact findings as `rule line:column`, one per line, in output order. Lines starting with `#`
//! are comments or options: `# account: ID`, `# trusted: ID`, `# kind: identity`.
//!
//! `KEYWARD_BLESS=1 cargo test -p keyward-lint --test corpus` writes missing `.expected` files
//! from the current output (review them before committing).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_lint::{LintOptions, RULES, lint};
use keyward_policy::{LineIndex, PolicyKind};
use std::path::Path;

fn options(expected: &str) -> LintOptions {
    let mut options = LintOptions::default();
    for line in expected.lines() {
        let Some(option) = line.strip_prefix('#') else {
            continue;
        };
        let Some((name, value)) = option.split_once(':') else {
            continue;
        };
        let value = value.trim().to_owned();
        match name.trim() {
            "account" => options.account = Some(value),
            "trusted" => options.trusted_accounts.push(value),
            "kind" if value == "identity" => options.kind = PolicyKind::IdentityPolicy,
            _ => {}
        }
    }
    options
}

fn findings(text: &str, options: &LintOptions) -> Vec<String> {
    let index = LineIndex::new(text);
    lint(text, options)
        .iter()
        .map(|f| {
            let at = index.start(f.span);
            format!("{} {}:{}", f.rule, at.line, at.column)
        })
        .collect()
}

#[test]
fn lint_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/lint");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 80, "{} policies", paths.len());
    let bless = std::env::var_os("KEYWARD_BLESS").is_some();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let expected_path = path.with_extension("expected");
        let expected_text = match std::fs::read_to_string(&expected_path) {
            Ok(text) => text,
            Err(_) if bless => {
                let actual = findings(&text, &LintOptions::default());
                let mut out = actual.join("\n");
                out.push('\n');
                std::fs::write(&expected_path, out.trim_start()).unwrap();
                continue;
            }
            Err(e) => panic!("{}: {e}", expected_path.display()),
        };
        let expected: Vec<&str> = expected_text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        let actual = findings(&text, &options(&expected_text));
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {expected:?}\n  actual   {actual:?}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Rules no fixture can show, each with the reason and the test that covers it instead.
const WITHOUT_FIXTURES: &[(&str, &str)] = &[
    (
        "input-too-large",
        "a fixture over 1 MiB does not belong in the repository; see input_over_one_mebibyte_is_one_finding",
    ),
    (
        "invalid-pattern",
        "every wildcard pattern compiles (globset patterns are escaped); kept for defence in depth",
    ),
];

/// Every rule has a fixture named after it that triggers it (`RULE.json`, `RULE-*.json`) and
/// one that must not (`RULE-clean*.json`).
#[test]
fn every_rule_has_a_triggering_and_a_clean_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/lint");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".expected"))
        .map(|n| n.trim_end_matches(".expected").to_owned())
        .collect();
    let reports = |name: &str, rule: &str| {
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected"))).unwrap();
        expected
            .lines()
            .any(|l| l.split_whitespace().next() == Some(rule))
    };
    let mut missing = Vec::new();
    for rule in RULES {
        if WITHOUT_FIXTURES.iter().any(|(id, _)| *id == rule.id) {
            continue;
        }
        let named = |n: &&String| *n == rule.id || n.starts_with(&format!("{}-", rule.id));
        let clean_prefix = format!("{}-clean", rule.id);
        let triggers = names
            .iter()
            .filter(named)
            .filter(|n| !n.starts_with(&clean_prefix))
            .any(|n| reports(n, rule.id));
        let clean: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&clean_prefix))
            .collect();
        if !triggers {
            missing.push(format!("{}: no fixture named after it reports it", rule.id));
        }
        if clean.is_empty() {
            missing.push(format!("{}: no {clean_prefix}*.json", rule.id));
        }
        for name in clean {
            if reports(name, rule.id) {
                missing.push(format!("{name}: a clean fixture reports {}", rule.id));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn input_over_one_mebibyte_is_one_finding() {
    let mut text = String::from(r#"{"Version": "2012-10-17", "Statement": [], "Id": ""#);
    text.push_str(&"a".repeat(1 << 20));
    text.push_str("\"}");
    let findings = lint(&text, &LintOptions::default());
    let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["input-too-large"]);
}

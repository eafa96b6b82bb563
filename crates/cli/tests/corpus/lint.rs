//! `fixtures/lint/NAME.json` (a policy or a CloudFormation template) or `NAME.yaml` (a template)
//! beside `NAME.expected`: the exact findings, `RULE LINE:COLUMN`, one
//! per line in output order. Lines starting with `#` are comments or options: `# account: ID`,
//! `# trusted: ID`, `# kind: identity`. A policy's exact text is its input (findings point at
//! lines and columns), so each is its own file; files are named after the rule they show
//! (`RULE.json`, `RULE-*.json`, and `RULE-clean*.json` for one that must not report it).
//!
//! Trials: `lint/NAME`, and `lint/coverage/rules`: every rule has a fixture named after it that
//! reports it and a clean one that does not. When blessing, a policy without `.expected` gets
//! one.

use crate::support::{Collected, blessing, corpus_dir, list, read, settle_lines, shown, stem};
use keyward_lint::{LintOptions, RULES, lint_file};
use keyward_policy::{LineIndex, PolicyKind};
use libtest_mimic::Failed;
use std::path::PathBuf;

/// Rules no fixture can show, each with the reason and the test that covers it instead.
const WITHOUT_FIXTURES: &[(&str, &str)] = &[
    (
        "input-too-large",
        "a fixture over 1 MiB does not belong in the repository; see input_over_one_mebibyte_is_one_finding in crates/lint/tests",
    ),
    (
        "invalid-pattern",
        "every wildcard pattern compiles (globset patterns are escaped); kept for defence in depth",
    ),
];

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("lint");
    let files = match list(&dir, &["json", "yaml", "expected"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let mut expectations = Vec::new();
    for path in &files {
        let is = |ext: &str| path.extension().is_some_and(|e| e == ext);
        if is("expected")
            && !path.with_extension("json").is_file()
            && !path.with_extension("yaml").is_file()
        {
            out.problem(format!("{}: no policy or template beside it", shown(path)));
        }
        if !is("json") && !is("yaml") {
            continue;
        }
        let expected_path = path.with_extension("expected");
        let expected_text = match read(&expected_path) {
            Ok(text) => text,
            Err(_) if blessing() => String::new(),
            Err(e) => {
                out.problem(e);
                continue;
            }
        };
        let name = stem(&dir, path);
        let expected: Vec<String> = expected_text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        expectations.push((name.clone(), expected.clone()));
        let case = Case {
            policy: path.clone(),
            expected_path,
            options: options(&expected_text),
            expected,
        };
        out.trial(format!("lint/{name}"), move || case.run());
    }
    out.at_least("fixtures/lint", expectations.len(), 80);
    out.trial("lint/coverage/rules".to_owned(), move || {
        every_rule_has_a_triggering_and_a_clean_fixture(&expectations)
    });
}

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
            "key-arn" => options.key_arn = Some(value),
            "kind" if value == "identity" => options.kind = PolicyKind::IdentityPolicy,
            _ => {}
        }
    }
    options
}

struct Case {
    policy: PathBuf,
    expected_path: PathBuf,
    options: LintOptions,
    expected: Vec<String>,
}

impl Case {
    fn run(&self) -> Result<(), Failed> {
        let text = read(&self.policy)?;
        let index = LineIndex::new(&text);
        let actual: Vec<String> = lint_file(&text, &self.options, keyward_templates::Format::Auto)
            .iter()
            .map(|f| {
                let at = index.start(f.span);
                format!("{} {}:{}", f.rule, at.line, at.column)
            })
            .collect();
        settle_lines(&self.expected_path, &self.expected, &actual, String::new)
    }
}

/// Every rule has a fixture named after it that reports it (`RULE.json`, `RULE-*.json`) and
/// one that must not (`RULE-clean*.json`), as their expectations say.
fn every_rule_has_a_triggering_and_a_clean_fixture(
    expectations: &[(String, Vec<String>)],
) -> Result<(), Failed> {
    let reports = |expected: &[String], rule: &str| {
        expected
            .iter()
            .any(|l| l.split_whitespace().next() == Some(rule))
    };
    let mut missing = Vec::new();
    for rule in RULES {
        if WITHOUT_FIXTURES.iter().any(|(id, _)| *id == rule.id) {
            continue;
        }
        let named = |n: &str| n == rule.id || n.starts_with(&format!("{}-", rule.id));
        let clean_prefix = format!("{}-clean", rule.id);
        let triggers = expectations
            .iter()
            .filter(|(n, _)| named(n) && !n.starts_with(&clean_prefix))
            .any(|(_, expected)| reports(expected, rule.id));
        let clean: Vec<&(String, Vec<String>)> = expectations
            .iter()
            .filter(|(n, _)| n.starts_with(&clean_prefix))
            .collect();
        if !triggers {
            missing.push(format!("{}: no fixture named after it reports it", rule.id));
        }
        if clean.is_empty() {
            missing.push(format!("{}: no {clean_prefix}*.json", rule.id));
        }
        for (name, expected) in clean {
            if reports(expected, rule.id) {
                missing.push(format!("{name}: a clean fixture reports {}", rule.id));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("\n").into())
    }
}

//! `fixtures/policies/`: policies through every check `keyward validate` runs
//! (`check_policy`: the grammar, the kind's rules, and the compiled form authz uses). A policy's exact text is its input (errors point at lines and columns),
//! so each is its own file:
//!
//! - `valid/key/NAME.json`, `valid/identity/NAME.json`: must pass, compile and round-trip
//!   through the printer (invariants, not expectations: nothing to bless).
//! - `invalid/NAME.json` + `NAME.expected`: exactly the expected errors (`LINE:COLUMN CODE`).
//! - `warning/NAME.json` + `NAME.expected`: valid, with exactly the expected warnings.
//!
//! Trials: `policies/valid/key/NAME`, `policies/invalid/NAME`, ...; and
//! `policies/coverage/error-codes`, `policies/coverage/warning-codes`: every code the corpus can
//! exercise has a case.

use crate::support::{Collected, corpus_dir, list, read, settle_lines, shown, stem};
use keyward_conditions::CompiledPolicy;
use keyward_policy::{
    Diagnostics, LineIndex, PolicyDocument, PolicyKind, parse_and_validate, parse_policy,
    print_policy,
};
use libtest_mimic::Failed;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every check `keyward validate` runs: parsed and validated, then compiled into the form
/// authz evaluates. The document, for the printer and the warnings.
fn check_policy(text: &str, kind: PolicyKind) -> Result<PolicyDocument, Diagnostics> {
    let document = parse_and_validate(text, kind)?;
    CompiledPolicy::from_document(&document, kind)?;
    Ok(document)
}

pub(crate) fn collect(out: &mut Collected) {
    let base = corpus_dir("policies");
    for (dir, kind, minimum) in [
        ("valid/key", PolicyKind::KeyPolicy, 30),
        ("valid/identity", PolicyKind::IdentityPolicy, 8),
    ] {
        match list(&base.join(dir), &["json"]) {
            Ok(files) => {
                out.at_least(&format!("fixtures/policies/{dir}"), files.len(), minimum);
                for path in files {
                    let name = format!("policies/{}", stem(&base, &path));
                    out.trial(name, move || check_valid(&path, kind));
                }
            }
            Err(problems) => problems.into_iter().for_each(|p| out.problem(p)),
        }
    }
    let mut error_codes = BTreeSet::new();
    let mut warning_codes = BTreeSet::new();
    for (dir, minimum, warnings) in [("invalid", 30, false), ("warning", 1, true)] {
        let codes = if warnings {
            &mut warning_codes
        } else {
            &mut error_codes
        };
        let cases = match cases_with_expectations(&base.join(dir)) {
            Ok(cases) => cases,
            Err(problems) => {
                problems.into_iter().for_each(|p| out.problem(p));
                continue;
            }
        };
        out.at_least(&format!("fixtures/policies/{dir}"), cases.len(), minimum);
        for case in cases {
            codes.extend(
                case.errors
                    .iter()
                    .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned)),
            );
            let name = format!("policies/{}", stem(&base, &case.policy));
            out.trial(name, move || case.run(warnings));
        }
    }
    // Every error the corpus can exercise is exercised (input-too-large and invalid-pattern are
    // covered by unit tests: the first needs a 1 MiB file, the second cannot be written).
    out.trial("policies/coverage/error-codes".to_owned(), move || {
        let untested: Vec<_> = keyward_policy::error::ERROR_CODES
            .iter()
            .filter(|c| {
                !error_codes.contains(**c)
                    && !["input-too-large", "invalid-pattern"].contains(c)
                    && !keyward_policy::error::WARNING_CODES.contains(c)
            })
            .collect();
        if untested.is_empty() {
            Ok(())
        } else {
            Err(format!("no invalid policy exercises {untested:?}").into())
        }
    });
    out.trial("policies/coverage/warning-codes".to_owned(), move || {
        let untested: Vec<_> = keyward_policy::error::WARNING_CODES
            .iter()
            .filter(|c| !warning_codes.contains(**c))
            .collect();
        if untested.is_empty() {
            Ok(())
        } else {
            Err(format!("no policy with warnings exercises {untested:?}").into())
        }
    });
}

fn check_valid(path: &Path, kind: PolicyKind) -> Result<(), Failed> {
    let text = read(path)?;
    let name = shown(path);
    let document = match check_policy(&text, kind) {
        Ok(document) => document,
        Err(diags) => {
            let index = LineIndex::new(&text);
            let errors: Vec<String> = diags
                .errors()
                .iter()
                .map(|e| e.render(&name, &index))
                .collect();
            return Err(errors.join("\n").into());
        }
    };
    let mut failures = Vec::new();
    let printed = print_policy(&document);
    match parse_policy(&printed) {
        Ok(reparsed) => {
            if reparsed != document {
                failures.push(format!("{name}: printing changed the document:\n{printed}"));
            }
            if print_policy(&reparsed) != printed {
                failures.push(format!("{name}: the canonical form is not stable"));
            }
        }
        Err(e) => failures.push(format!(
            "{name}: printed form does not parse: {e}\n{printed}"
        )),
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

struct Case {
    policy: PathBuf,
    expected: PathBuf,
    kind: PolicyKind,
    errors: Vec<String>,
}

/// `NAME.json` beside `NAME.expected`: `# kind: key|identity`, comments, then the expected
/// lines. An expected file that expects nothing is a problem: it would belong in `valid/`.
fn cases_with_expectations(dir: &Path) -> Result<Vec<Case>, Vec<String>> {
    let files = list(dir, &["json", "expected"])?;
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "expected"))
    {
        if !path.with_extension("json").is_file() {
            problems.push(format!("{}: no policy beside it", shown(path)));
        }
    }
    for policy in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let expected = policy.with_extension("expected");
        let text = match read(&expected) {
            Ok(text) => text,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let mut kind = None;
        let mut errors = Vec::new();
        for line in text.lines() {
            if let Some(k) = line.strip_prefix("# kind: ") {
                kind = match k.trim() {
                    "key" => Some(PolicyKind::KeyPolicy),
                    "identity" => Some(PolicyKind::IdentityPolicy),
                    other => {
                        problems.push(format!("{}: unknown kind {other}", shown(&expected)));
                        None
                    }
                };
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                errors.push(line.trim().to_owned());
            }
        }
        let Some(kind) = kind else {
            problems.push(format!("{}: no '# kind:' line", shown(&expected)));
            continue;
        };
        if errors.is_empty() {
            problems.push(format!("{}: expects nothing", shown(&expected)));
            continue;
        }
        cases.push(Case {
            policy: policy.clone(),
            expected,
            kind,
            errors,
        });
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems)
    }
}

impl Case {
    fn run(&self, warnings: bool) -> Result<(), Failed> {
        let text = read(&self.policy)?;
        let index = LineIndex::new(&text);
        let actual: Vec<String> = match (check_policy(&text, self.kind), warnings) {
            (Ok(_), false) => vec!["(valid)".to_owned()],
            (Err(diags), false) => diags
                .errors()
                .iter()
                .map(|e| format!("{} {}", index.start(e.span), e.code()))
                .collect(),
            (Err(diags), true) => diags
                .errors()
                .iter()
                .map(|e| format!("error {}", e.render("", &index)))
                .collect(),
            (Ok(document), true) => keyward_policy::validate::warnings(&document, self.kind)
                .errors()
                .iter()
                .map(|w| format!("{} {}", index.start(w.span), w.code()))
                .collect(),
        };
        settle_lines(&self.expected, &self.errors, &actual, String::new)
    }
}

//! `keyward lint`: lint policies (files, directories walked for `*.json`, or standard input).

use super::Outcome;
use crate::input;
use keyward_lint::output::{self, FileFindings};
use keyward_lint::{Finding, LintOptions, Severity, Suppressions, lint_file};
use std::path::{Path, PathBuf};

/// The name of the suppressions file looked for when `--config` is not given.
pub(crate) const CONFIG_NAME: &str = "keyward-lint.toml";

/// Where suppressions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigChoice {
    /// `keyward-lint.toml` in the current directory or the nearest parent that has one.
    Discover,
    /// `--config FILE`: must exist.
    File(String),
    /// `--no-config`.
    None,
}

fn discover() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join(CONFIG_NAME))
        .find(|path| path.is_file())
}

fn load_suppressions(choice: &ConfigChoice) -> Result<Suppressions, String> {
    let path = match choice {
        ConfigChoice::None => return Ok(Suppressions::default()),
        ConfigChoice::File(path) => PathBuf::from(path),
        ConfigChoice::Discover => match discover() {
            Some(path) => path,
            None => return Ok(Suppressions::default()),
        },
    };
    let shown = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("keyward: error: cannot read {shown}: {e}"))?;
    Suppressions::parse(&text, &shown).map_err(|e| format!("{e}"))
}

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LintFormat {
    Text,
    Json,
    Sarif,
}

/// Lint each target; exit 1 when some finding is at or above `min_severity`.
pub(crate) fn run(
    targets: &[String],
    options: &LintOptions,
    input_format: keyward_templates::Format,
    format: LintFormat,
    min_severity: Severity,
    config: &ConfigChoice,
) -> Outcome {
    let suppressions = match load_suppressions(config) {
        Ok(suppressions) => suppressions,
        Err(message) => {
            crate::out::eprintln(&message);
            return Outcome::Error;
        }
    };
    let mut used = vec![false; suppressions.entries.len()];
    let mut outcome = Outcome::Success;
    let mut paths = Vec::new();
    for target in targets {
        let path = Path::new(target);
        if target != "-" && path.is_dir() {
            match input::walk(path) {
                Ok((files, warnings)) => {
                    for warning in warnings {
                        crate::out::eprintln(&warning);
                    }
                    paths.extend(files);
                }
                Err(message) => {
                    crate::out::eprintln(&message);
                    outcome = Outcome::Error;
                }
            }
        } else {
            paths.push(target.clone());
        }
    }
    let mut inputs = Vec::new();
    for path in &paths {
        match input::read(path) {
            Ok(input) => inputs.push(input),
            Err(message) => {
                crate::out::eprintln(&message);
                outcome = Outcome::Error;
            }
        }
    }
    let results: Vec<Vec<Finding>> = inputs
        .iter()
        .map(|input| {
            // Suppressions apply before the severity filter, so one is "used" whatever
            // --min-severity hides.
            let mut findings = match input.too_large {
                Some(size) => vec![keyward_lint::too_large(size)],
                None => lint_file(&input.text, options, input_format),
            };
            suppressions.apply(&input.name, &mut findings, &mut used);
            findings.retain(|f| f.severity >= min_severity);
            findings
        })
        .collect();
    for (entry, used) in suppressions.entries.iter().zip(&used) {
        if !used {
            crate::out::eprintln(&format!(
                "{}:{}:{}: warning: this suppression of {} matched no finding; remove it",
                suppressions.path, entry.line, entry.column, entry.rule
            ));
        }
    }
    let files: Vec<FileFindings<'_>> = inputs
        .iter()
        .zip(&results)
        .map(|(input, findings)| FileFindings {
            path: &input.name,
            text: &input.text,
            findings,
        })
        .collect();
    match format {
        LintFormat::Text => {
            for file in &files {
                crate::out::print(&output::text(file));
            }
        }
        LintFormat::Json => crate::out::println(&output::json(&files).to_string()),
        LintFormat::Sarif => crate::out::println(&format!("{:#}", output::sarif(&files))),
    }
    let unsuppressed = |findings: &Vec<Finding>| findings.iter().any(|f| f.suppressed.is_none());
    if outcome == Outcome::Success && results.iter().any(unsuppressed) {
        outcome = Outcome::Failure;
    }
    outcome
}

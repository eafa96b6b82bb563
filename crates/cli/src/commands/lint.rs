//! `keyward lint`: lint policies (files, directories walked for `*.json`, or standard input).

use super::Outcome;
use crate::input;
use keyward_lint::output::{self, FileFindings};
use keyward_lint::{Finding, LintOptions, Severity, lint};
use std::path::Path;

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

/// Every `*.json` file under `dir`, sorted, so output is stable.
fn walk(dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "keyward: error: cannot read directory {}: {e}",
            dir.display()
        )
    })?;
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Lint each target; exit 1 when some finding is at or above `min_severity`.
pub fn run(
    targets: &[String],
    options: &LintOptions,
    format: LintFormat,
    min_severity: Severity,
) -> Outcome {
    let mut outcome = Outcome::Success;
    let mut paths = Vec::new();
    for target in targets {
        let path = Path::new(target);
        if target != "-" && path.is_dir() {
            if let Err(message) = walk(path, &mut paths) {
                eprintln!("{message}");
                outcome = Outcome::Error;
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
                eprintln!("{message}");
                outcome = Outcome::Error;
            }
        }
    }
    let results: Vec<Vec<Finding>> = inputs
        .iter()
        .map(|input| {
            lint(&input.text, options)
                .into_iter()
                .filter(|f| f.severity >= min_severity)
                .collect()
        })
        .collect();
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
                print!("{}", output::text(file));
            }
        }
        LintFormat::Json => println!("{}", output::json(&files)),
        LintFormat::Sarif => println!("{:#}", output::sarif(&files)),
    }
    if outcome == Outcome::Success && results.iter().any(|findings| !findings.is_empty()) {
        outcome = Outcome::Failure;
    }
    outcome
}

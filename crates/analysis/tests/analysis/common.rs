//! The corpus the tests read: every key policy under `fixtures/`.

use keyward_analysis::{AnalysisError, DiffReport, KeyFacts, PolicySet, diff};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The key every test analyses: in the account the corpus's policies delegate to.
pub(crate) const KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Every key policy of the corpus, named: the valid key policies, the key policies of the
/// request scenarios, and both sides of each diff fixture.
pub(crate) fn key_policies() -> Vec<(String, Value)> {
    let root = fixtures();
    let mut out = Vec::new();
    let mut paths = Vec::new();
    files(&root.join("policies/valid/key"), &mut paths);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        out.push((shown(&path), serde_json::from_str(&text).unwrap()));
    }
    let mut paths = Vec::new();
    files(&root.join("requests"), &mut paths);
    // The scenarios under `errors/` carry policies that are wrong on purpose.
    for path in paths
        .into_iter()
        .filter(|p| !p.starts_with(root.join("requests/errors")))
    {
        let scenario: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        match scenario.pointer("/shared/key_policy") {
            // The request format also takes the policy as its JSON text.
            Some(Value::String(text)) => {
                out.push((shown(&path), serde_json::from_str(text).unwrap()));
            }
            Some(policy) => out.push((shown(&path), policy.clone())),
            None => {}
        }
    }
    let mut paths = Vec::new();
    files(&root.join("diff"), &mut paths);
    for path in paths.into_iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n == "old.json" || n == "new.json")
    }) {
        let text = std::fs::read_to_string(&path).unwrap();
        out.push((shown(&path), serde_json::from_str(&text).unwrap()));
    }
    out
}

fn shown(path: &Path) -> String {
    path.strip_prefix(fixtures())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A side with the identity policies assumed.
pub(crate) fn assumed(policy: &Value) -> PolicySet {
    PolicySet {
        key_policy: serde_json::to_string_pretty(policy).unwrap(),
        identity_policies: None,
        grants: Vec::new(),
    }
}

/// The diff of the key every test analyses.
pub(crate) fn compare(old: &PolicySet, new: &PolicySet) -> Result<DiffReport, AnalysisError> {
    diff(old, new, &KeyFacts::symmetric(KEY))
}

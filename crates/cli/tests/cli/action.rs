//! The CI integrations as their hosts run them: the GitHub Action's script (action.yml runs
//! `.github/keyward-lint-action.sh` with its inputs as environment variables) and the
//! pre-commit hook (`.pre-commit-hooks.yaml`: its entry, given the staged files it selects).

use crate::common::{fixtures, scratch};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The action's script with `inputs` (name, value) and a fresh `GITHUB_OUTPUT`; its output,
/// the outputs it wrote and the SARIF log.
fn action(name: &str, inputs: &[(&str, &str)]) -> (Output, String, Option<Value>) {
    let dir = scratch(name);
    let (sarif, outputs) = (dir.join("keyward.sarif"), dir.join("github-output"));
    let mut command = Command::new("bash");
    command
        .arg(repository().join(".github/keyward-lint-action.sh"))
        .env("KEYWARD", env!("CARGO_BIN_EXE_keyward"))
        .env("SARIF_FILE", &sarif)
        .env("GITHUB_OUTPUT", &outputs)
        .current_dir(fixtures("lint"));
    for (key, value) in inputs {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    let log = std::fs::read_to_string(&sarif)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    (output, written, log)
}

#[test]
fn the_action_writes_sarif_with_fingerprints_reports_in_the_log_and_fails_on_findings() {
    let (output, written, log) = action(
        "action-findings",
        &[(
            "PATHS",
            "no-separation-of-duties-via-create-grant.json unknown-action-typo.json",
        )],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "no-separation-of-duties-via-create-grant.json:17:16: security[no-separation-of-duties]"
        ),
        "{text}"
    );
    assert!(text.contains("error[unknown-action]"));
    assert_eq!(written, "findings=2\nexit-code=1\n");
    let log = log.unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let print = result["partialFingerprints"]["keyward/v1"]
            .as_str()
            .unwrap();
        assert!(
            print.starts_with(result["ruleId"].as_str().unwrap()),
            "{print}"
        );
    }
    assert_eq!(
        results[0]["partialFingerprints"]["keyward/v1"],
        "no-separation-of-duties:sid=AdminGrants:/Principal/AWS"
    );
}

#[test]
fn the_action_passes_its_inputs_through_and_a_clean_policy_passes() {
    // Without the trusted account, the auditor's account is cross-account access; with a
    // minimum severity of error, nothing is reported.
    let (output, written, _) = action(
        "action-min-severity",
        &[
            ("PATHS", "no-separation-of-duties-via-create-grant.json"),
            ("MIN_SEVERITY", "error"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(written, "findings=0\nexit-code=0\n");
    let (output, _, _) = action(
        "action-account",
        &[
            ("PATHS", "cross-account-access-principal.json"),
            ("ACCOUNT", "111122223333"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("security[cross-account-access]")
    );
    // An input with shell syntax in it is a value, never code.
    let (output, written, _) = action(
        "action-injection",
        &[
            ("PATHS", "realistic-2kb.json"),
            ("ACCOUNT", "$(touch pwned)"),
        ],
    );
    assert!(!fixtures("lint").join("pwned").exists());
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(written.ends_with("exit-code=1\n"));
}

#[test]
fn the_action_reports_an_error_as_exit_code_2() {
    let (output, written, _) = action("action-error", &[("PATHS", "no-such-policy.json")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("cannot read no-such-policy.json")
    );
    assert_eq!(written, "findings=0\nexit-code=2\n");
}

/// The hook's `files` pattern selects key policies and leaves other JSON alone; its entry
/// exits non-zero on a policy with findings and zero on a clean one, as pre-commit reads it.
#[test]
fn the_pre_commit_hook_selects_key_policies_and_fails_on_findings() {
    let manifest = std::fs::read_to_string(repository().join(".pre-commit-hooks.yaml")).unwrap();
    let field = |name: &str| -> String {
        manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name}"))
            .trim()
            .to_owned()
    };
    assert_eq!(field("- id"), "keyward-lint");
    assert_eq!(field("language"), "system");
    let files = regex::Regex::new(&field("files")).unwrap();
    for selected in [
        "kms/payments.json",
        "policies/key-policy.json",
        "infra/keys/audit.json",
        "key_policies/app.json",
        "kms-key-policy.json",
    ] {
        assert!(files.is_match(selected), "{selected}");
    }
    for ignored in [
        "package.json",
        "tsconfig.json",
        "kms/README.md",
        "monkeys.json",
    ] {
        assert!(!files.is_match(ignored), "{ignored}");
    }
    let entry = field("entry");
    let mut words = entry.split_whitespace();
    assert_eq!(words.next(), Some("keyward"));
    let run = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(words.clone())
            .arg(file)
            .current_dir(fixtures("lint"))
            .output()
            .unwrap()
    };
    assert_eq!(run("unknown-action-typo.json").status.code(), Some(1));
    assert_eq!(run("dead-statement-clean.json").status.code(), Some(0));
}

//! `keyward lint` as a user runs it: formats, severities, exit statuses, directories,
//! standard input and suppressions.

use crate::common::{fixtures, run_in, scratch, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn corpus() -> PathBuf {
    fixtures("lint")
}

/// `keyward lint --no-config ARGS` in the corpus directory.
fn lint(args: &[&str]) -> Output {
    let mut all = vec!["lint", "--no-config"];
    all.extend_from_slice(args);
    run_in(&corpus(), &all, "")
}

#[test]
fn lint_text_is_compiler_style_with_source_line_and_caret() {
    let o = lint(&["unknown-action-typo.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "unknown-action-typo.json:20:9: error[unknown-action]: `kms:Decrpyt` is not a KMS action: did you mean `kms:Decrypt`?\n          \"kms:Decrpyt\",\n          ^^^^^^^^^^^^^\n"
    );
}

#[test]
fn lint_clean_policy_exits_0_silently() {
    let o = lint(&["unknown-action-clean.json", "public-access-clean-org.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn lint_min_severity_decides_what_is_shown_and_the_exit_status() {
    // missing-root-delegation is a suggestion: hidden by the default (warning).
    let o = lint(&["missing-root-delegation.json"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
    let o = lint(&[
        "--min-severity",
        "suggestion",
        "missing-root-delegation.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("suggestion[missing-root-delegation]"));
    // public-access is a security finding: shown at security, hidden at error.
    let o = lint(&[
        "--min-severity",
        "security",
        "public-access-no-condition.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("security[public-access]"));
    let o = lint(&["--min-severity", "error", "public-access-no-condition.json"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
}

#[test]
fn lint_usage_and_io_errors_exit_2() {
    let o = lint(&["no-such-file.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read no-such-file.json"),
        "{}",
        stderr(&o)
    );
    let o = lint(&["--format", "xml", "unknown-action-typo.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = lint(&["--min-severity", "fatal", "unknown-action-typo.json"]);
    assert_eq!(o.status.code(), Some(2));
    // An unreadable file among good ones: the others are still linted, the status is 2.
    let o = lint(&["no-such-file.json", "unknown-action-typo.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("error[unknown-action]"));
}

#[test]
fn lint_key_arn_must_be_a_key_arn_and_decides_which_key_a_resource_names() {
    let o = lint(&["--key-arn", "alias/payments", "realistic-2kb.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--key-arn alias/payments is not a key ARN"),
        "{}",
        stderr(&o)
    );
    // The statement names this key: nothing to report. Named as another key: reported.
    let own = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let o = lint(&[
        "--key-arn",
        own,
        "alias-or-key-arn-in-resource-key-arn.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let other = "arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-0000-4000-8000-000000000001";
    let o = lint(&[
        "--key-arn",
        other,
        "alias-or-key-arn-in-resource-key-arn.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("warning[alias-or-key-arn-in-resource]"));
}

#[test]
fn lint_walks_directories_for_json_in_sorted_order() {
    let dir = scratch("lint-walk");
    std::fs::create_dir_all(dir.join("keys/nested")).unwrap();
    let typo = std::fs::read_to_string(corpus().join("unknown-action-typo.json")).unwrap();
    std::fs::write(dir.join("keys/b.json"), &typo).unwrap();
    std::fs::write(dir.join("keys/nested/a.json"), &typo).unwrap();
    std::fs::write(dir.join("keys/a.json"), &typo).unwrap();
    std::fs::write(dir.join("keys/notes.txt"), "not a policy").unwrap();
    let o = run_in(&dir, &["lint", "--format", "json", "keys"], "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let files: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["keys/a.json", "keys/b.json", "keys/nested/a.json"]);
}

#[test]
fn lint_reads_standard_input_for_dash() {
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
    let o = run_in(&corpus(), &["lint", "--no-config", "-"], policy);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("<stdin>:1:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("security[public-access]"));
}

#[test]
fn lint_json_has_every_field_of_a_finding() {
    let o = lint(&["--format", "json", "unknown-action-typo.json"]);
    assert_eq!(o.status.code(), Some(1));
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        findings,
        serde_json::json!([{
            "file": "unknown-action-typo.json",
            "rule": "unknown-action",
            "severity": "error",
            "message": "`kms:Decrpyt` is not a KMS action: did you mean `kms:Decrypt`?",
            "line": 20,
            "column": 9,
            "end_line": 20,
            "end_column": 22,
            "pointer": "/Statement/1/Action/0",
            "sid": "KeyUsers",
        }])
    );
}

#[test]
fn lint_sarif_lists_results_and_rules() {
    let o = lint(&["--format", "sarif", "public-access-no-condition.json"]);
    assert_eq!(o.status.code(), Some(1));
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "public-access"));
    assert!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len()
            > 40
    );
}

const PUBLIC: &str = "public-access-no-condition.json";

fn suppression_dir(name: &str, config: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::copy(corpus().join(PUBLIC), dir.join("keys/open.json")).unwrap();
    std::fs::write(dir.join("keyward-lint.toml"), config).unwrap();
    dir
}

fn sid_of_public_finding() -> String {
    let o = lint(&["--format", "json", PUBLIC]);
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "public-access")
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn suppression_in_keyward_lint_toml_silences_a_rule_for_a_statement() {
    let unsuppressed = run_in(
        &suppression_dir("lint-none", ""),
        &["lint", "keys/open.json"],
        "",
    );
    assert_eq!(unsuppressed.status.code(), Some(1));
    let sid = sid_of_public_finding();
    let config = format!(
        "[[suppress]]\nrule = \"public-access\"\nfile = \"keys/*.json\"\nsid = \"{sid}\"\nreason = \"Demo key holding no data (SEC-1).\"\n"
    );
    let dir = suppression_dir("lint-suppressed", &config);
    let o = run_in(&dir, &["lint", "keys/open.json"], "");
    let shown = stdout(&o);
    assert!(!shown.contains("public-access"), "{shown}");
    assert_eq!(o.status.code(), Some(0), "{shown}");
    assert_eq!(shown, "");
    // Found from a subdirectory too (the nearest keyward-lint.toml above); paths are matched
    // as given, so `open.json` is not `keys/*.json` and the entry is reported unused.
    let o = run_in(&dir.join("keys"), &["lint", "open.json"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "keyward-lint.toml:1:1: warning: this suppression of public-access matched no finding"
        ),
        "{}",
        stderr(&o)
    );
    // SARIF keeps it, marked.
    let o = run_in(&dir, &["lint", "--format", "sarif", "keys/open.json"], "");
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "public-access")
        .unwrap()
        .clone();
    assert_eq!(
        result["suppressions"][0]["justification"],
        "Demo key holding no data (SEC-1)."
    );
    // --no-config brings it back.
    let o = run_in(&dir, &["lint", "--no-config", "keys/open.json"], "");
    assert!(stdout(&o).contains("security[public-access]"));
}

#[test]
fn suppression_of_another_statement_or_file_does_not_apply_and_is_reported_unused() {
    let config = "[[suppress]]\nrule = \"public-access\"\nsid = \"SomeOtherStatement\"\nreason = \"r\"\n\n[[suppress]]\nrule = \"public-access\"\nfile = \"other/*.json\"\nreason = \"r\"\n";
    let dir = suppression_dir("lint-unused", config);
    let o = run_in(&dir, &["lint", "keys/open.json"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("security[public-access]"));
    let err = stderr(&o);
    assert!(
        err.contains("keyward-lint.toml:1:1: warning: this suppression of public-access matched no finding; remove it"),
        "{err}"
    );
    assert!(err.contains("keyward-lint.toml:6:1: warning"), "{err}");
}

#[test]
fn suppression_without_reason_is_a_usage_error_naming_the_line() {
    let dir = suppression_dir("lint-no-reason", "[[suppress]]\nrule = \"public-access\"\n");
    let o = run_in(&dir, &["lint", "keys/open.json"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("keyward-lint.toml:1:1: the suppression of public-access has no reason"),
        "{}",
        stderr(&o)
    );
    // An explicit --config that does not exist is an error too.
    let o = run_in(
        &dir,
        &["lint", "--config", "missing.toml", "keys/open.json"],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read missing.toml"));
}

/// Review: a `x.json` link to `/proc/self/environ` printed the whole environment, two links to
/// `.` hung the walk, and a link to `/dev/zero` was read without limit. Links out of the tree
/// are not followed, loops are skipped, only regular files are read, and a file that is not
/// JSON is never echoed.
#[cfg(unix)]
#[test]
fn lint_dir_follows_no_link_out_of_the_tree_and_echoes_nothing_that_is_not_json() {
    let dir = scratch("lint-links");
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::copy(
        corpus().join("unknown-action-typo.json"),
        tree.join("a.json"),
    )
    .unwrap();
    std::fs::write(dir.join("outside.json"), "{}").unwrap();
    for (target, name) in [
        (Path::new("/proc/self/environ"), "x.json"),
        (Path::new("/dev/zero"), "zero.json"),
        (&*dir.join("outside.json"), "outside.json"),
        (Path::new("."), "loop1"),
        (Path::new("."), "loop2"),
    ] {
        std::os::unix::fs::symlink(target, tree.join(name)).unwrap();
    }
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["lint", "--no-config", "tree"])
        .current_dir(&dir)
        .env("KEYWARD_CANARY", "s3cr3t-canary-value")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the walk hung"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(out.contains("tree/a.json"), "{out}");
    assert!(
        !out.contains("x.json") && !out.contains("zero.json"),
        "{out}"
    );
    assert!(!out.contains("canary") && !err.contains("canary"));
    assert!(
        err.contains("x.json: a symbolic link out of tree; not followed"),
        "{err}"
    );
    assert!(err.contains("loop"), "{err}");
    // Named explicitly, a device is refused and an environment file is read but not echoed.
    let o = run_in(&dir, &["lint", "--no-config", "/dev/zero"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a regular file"));
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["lint", "--no-config", "/proc/self/environ"])
        .env("KEYWARD_CANARY", "s3cr3t-canary-value")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("error[invalid-json]"), "{out}");
    assert!(!out.contains("canary"), "{out}");
}

#[test]
fn a_policy_over_one_mebibyte_is_not_read() {
    let dir = scratch("lint-large");
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 2 * 1024 * 1024]).unwrap();
    let o = run_in(&dir, &["lint", "--no-config", "big.json"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("error[input-too-large]"),
        "{}",
        stdout(&o)
    );
    // Standard input is bounded the same way.
    let o = run_in(
        &dir,
        &["lint", "--no-config", "-"],
        &" ".repeat(2 * 1024 * 1024),
    );
    assert!(
        stdout(&o).contains("error[input-too-large]"),
        "{}",
        stdout(&o)
    );
}

/// Review: a closed stdout made `keyward lint` panic. It ends quietly with its exit status.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_lint_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["lint", "--no-config", "."])
        .current_dir(corpus())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn lint_reads_cloudformation_templates_at_their_own_lines() {
    let o = lint(&["--format", "json", "public-access-cloudformation.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let public = &findings[0];
    assert_eq!(public["rule"], "public-access");
    assert_eq!(
        (public["line"].as_u64(), public["column"].as_u64()),
        (Some(18), Some(13))
    );
    assert_eq!(public["resource"], "SharedKey");
    assert_eq!(public["sid"], "Everyone");
    assert_eq!(
        public["pointer"],
        "/Resources/SharedKey/Properties/KeyPolicy/Statement/1/Principal"
    );
    // CDK's construct path, and the stand-in for this account written as the symbol.
    let o = lint(&[
        "--format",
        "json",
        "cross-account-access-cloudformation.json",
    ]);
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        findings[0]["construct"],
        "PaymentsStack/PartnerKey/Resource"
    );
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("outside ${AWS::AccountId}"), "{message}");
    // Forced to read it as a policy, the template is not one.
    let o = lint(&["--input", "policy", "public-access-cloudformation.yaml"]);
    assert!(stdout(&o).contains("error[invalid-json]"), "{}", stdout(&o));
}

#[test]
fn lint_walks_yaml_templates_but_not_other_yaml() {
    let dir = scratch("lint-walk-templates");
    std::fs::create_dir_all(dir.join("stacks")).unwrap();
    let template =
        std::fs::read_to_string(corpus().join("public-access-cloudformation.yaml")).unwrap();
    std::fs::write(dir.join("stacks/shared.yaml"), &template).unwrap();
    std::fs::write(dir.join("stacks/ci.yml"), "on: push\njobs: {}\n").unwrap();
    let o = run_in(&dir, &["lint", "--no-config", "stacks"], "");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("stacks/shared.yaml:18:13: security[public-access]"),
        "{out}"
    );
    assert!(!out.contains("ci.yml"), "{out}");
}

#[test]
fn lint_names_what_a_template_uses_that_is_not_evaluated() {
    let o = lint(&["invalid-template.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("invalid-template.yaml:15:58: error[invalid-template]: not evaluated: the intrinsic function GetAZs in a key policy"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn lint_reads_terraform_plans_and_rebuilds_policies_known_after_apply() {
    let o = lint(&["--format", "json", "public-access-terraform-plan.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let found: Vec<(&str, &str)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["resource"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("public-access", "module.shared.aws_kms_key.this"),
            ("no-separation-of-duties", "aws_kms_key.app"),
        ]
    );
    let o = lint(&["--input", "terraform-plan", "realistic-2kb.json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a policy read as a plan has no keys: {}",
        stdout(&o)
    );
}

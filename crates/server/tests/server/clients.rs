//! The aws CLI and boto3, unchanged, against `keyward serve`: this test starts a server and runs
//! the Python suites in `tests/clients/` with the interpreter of the virtual environment that
//! `.ci/run` creates (`KEYWARD_CLIENTS_VENV`).
//!
//! Without that variable the suites cannot run (the clients are not installed); the tests say
//! so on stderr and pass, unless `KEYWARD_REQUIRE_CLIENTS=1` (set by `.ci/run`), when they fail.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("KEYWARD_CLIENTS_VENV").map(PathBuf::from);
    let found = venv
        .map(|v| v.join("bin").join("python"))
        .filter(|p| p.exists());
    if found.is_none() {
        let required = std::env::var("KEYWARD_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "KEYWARD_REQUIRE_CLIENTS=1 but no python in KEYWARD_CLIENTS_VENV (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED: set KEYWARD_CLIENTS_VENV to a venv with awscli and boto3 (see .ci/run)"
        );
    }
    found
}

fn run_suite(suite: &str) {
    run_suite_with(suite, "");
}

/// Runs `suite` against a server whose config has `settings` too; the suite finds the audit
/// log in `KEYWARD_TEST_AUDIT_LOG`.
pub(crate) fn run_suite_with(suite: &str, settings: &str) {
    run_suite_in(suite, settings, &[]);
}

/// As [`run_suite_with`], with `files` (name, content) written to a folder first; `{inputs}`
/// in `settings` is that folder.
fn run_suite_in(suite: &str, settings: &str, files: &[(&str, &[u8])]) {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inputs = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(inputs.path().join(name), content).unwrap();
    }
    let settings = settings.replace("{inputs}", &inputs.path().display().to_string());
    let server = TestServer::start_configured(dir.path(), &settings);
    let principals = serde_json::json!({
        "admin": {"arn": ADMIN.arn, "key": ADMIN.key, "secret": ADMIN.secret},
        "alice": {"arn": ALICE.arn, "key": ALICE.key, "secret": ALICE.secret},
        "bob": {"arn": BOB.arn, "key": BOB.key, "secret": BOB.secret},
        "carol": {"arn": CAROL.arn, "key": CAROL.key, "secret": CAROL.secret},
        "dave": {"arn": DAVE.arn, "key": DAVE.key, "secret": DAVE.secret},
    });
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients");
    let output = Command::new(python)
        .args(["-m", "unittest", "-v", suite])
        .current_dir(&folder)
        .env("KEYWARD_TEST_ENDPOINT", server.endpoint())
        .env("KEYWARD_TEST_REGION", REGION)
        .env("KEYWARD_TEST_ACCOUNT", ACCOUNT)
        .env("KEYWARD_TEST_PRINCIPALS", principals.to_string())
        .env("KEYWARD_TEST_AUDIT_LOG", dir.path().join("audit.jsonl"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    eprintln!("{report}");
    assert!(output.status.success(), "{suite} failed:\n{report}");
    // A suite that ran nothing is no pass.
    assert!(
        report.contains("\nOK") && !report.contains("Ran 0 tests"),
        "{report}"
    );
}

#[test]
fn boto3_suite() {
    run_suite("test_boto3");
}

#[test]
fn boto3_trust_suite() {
    run_suite("test_trust");
}

#[test]
fn aws_cli_suite() {
    run_suite("test_awscli");
}

#[test]
fn report_mode_suite() {
    run_suite_with("test_report", "enforcement = \"report\"");
}

#[test]
fn quotas_suite() {
    run_suite_with(
        "test_quotas",
        "[quotas]\ncryptographic_per_second = 5\n[quotas.operations]\nGetKeyRotationStatus = 0.1\n",
    );
}

#[test]
fn faults_suite() {
    run_suite_with(
        "test_faults",
        "[quotas]\nfault_rate = 0.3\nfaults = [\"throttling\", \"internal\", \"delay\"]\nfault_delay_ms = 50\nfault_seed = 20261202\n",
    );
}

/// The seed of the seeding suite: a key with a given ID, alias, tags, policy and material.
pub(crate) const SEED: &str = r#"
[[keys]]
id = "5eed0000-0000-4000-8000-000000000001"
description = "seeded"
aliases = ["alias/seeded"]
tags = { origin = "seed" }
material = "seeded.bin"
policy = '{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}'
"#;

#[test]
fn seed_suite() {
    run_suite_in(
        "test_seed",
        "seed = \"{inputs}/seed.toml\"",
        &[("seed.toml", SEED.as_bytes()), ("seeded.bin", &[0x5e; 32])],
    );
}

#[test]
fn regions_suite() {
    run_suite_with("test_regions", "regions = [\"us-east-1\", \"eu-west-1\"]");
}

#[test]
fn multi_region_suite() {
    run_suite_with(
        "test_multi_region",
        "regions = [\"us-east-1\", \"eu-west-1\"]",
    );
}

#[test]
fn managed_keys_suite() {
    run_suite("test_managed");
}

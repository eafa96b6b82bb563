//! `keyward diff` as a user runs it: exit statuses, the JSON contract, SARIF, the saved
//! `aws kms ...` inputs and errors that name the file, line and column.

use crate::common::{fixtures, run_in, scratch, stderr, stdout};
use serde_json::Value;
use std::process::Output;

/// `keyward diff ARGS` in the fixture directory `fixtures/diff/CASE`.
fn diff(case: &str, args: &[&str]) -> Output {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    run_in(&fixtures("diff").join(case), &all, "")
}

/// `keyward diff old.json new.json` of a case with grants on each side, as JSON: the exit
/// status and the report.
fn grants_json(case: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "old.json",
        "new.json",
        "--grants",
        "grants.json",
        "--new-grants",
        "new-grants.json",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = diff(case, &args);
    let report = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code(), report)
}

#[test]
fn no_new_access_is_pass_and_exit_0() {
    let o = diff("identical-policies-pass", &["old.json", "new.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("PASS: new.json allows nothing that old.json does not"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn new_access_is_fail_and_exit_1_with_the_statement_the_witness_and_both_explanations() {
    let o = diff("cross-account-via-service", &["old.json", "new.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        "FAIL: new access: new.json allows 1 kind of request that old.json does not",
        "every principal of account 444455556666",
        "actions:    kms:Decrypt, kms:DescribeKey",
        "condition:  kms:ViaService = s3.us-east-1.amazonaws.com",
        "allowed by: new.json:13:5: statement 1 (\"ShareWithAnalytics\")",
        "witness:    {",
        "new.json: Allowed:",
        "old.json: Denied:",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
}

#[test]
fn json_is_the_contract_and_each_witness_is_a_request_without_the_policies() {
    let (code, report) = grants_json("a-grant-added", &[]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["result"], "FAIL");
    let finding = &report["findings"][0];
    for member in ["principal", "actions", "condition", "statements", "witness"] {
        assert!(finding.get(member).is_some(), "{member} in {finding}");
    }
    assert_eq!(
        finding["principal"],
        "arn:aws:iam::444455556666:role/importer"
    );
    assert_eq!(finding["actions"], serde_json::json!(["kms:Decrypt"]));
    let witness = &finding["witness"];
    assert!(witness.get("key_policy").is_none() && witness.get("grants").is_none());
    assert_eq!(witness["encryption_context"]["tenant"], "acme");
    // The grant alone allows: no identity policy was relied on, none is carried.
    assert!(witness.get("identity_policies").is_none(), "{witness}");
    assert!(report.get("removed").is_none());
}

#[test]
fn both_ways_lists_the_access_removed_without_failing_for_it() {
    let (code, report) = grants_json("a-grant-narrowed-passes", &["--both-ways"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["result"], "PASS");
    let removed = report["removed"].as_array().unwrap();
    assert!(!removed.is_empty());
    assert!(
        removed.iter().all(|f| f["condition"]
            .as_str()
            .unwrap()
            .contains("kms:EncryptionContext")),
        "{removed:?}"
    );
}

#[test]
fn sarif_points_at_the_statements_of_new() {
    let o = diff(
        "cross-account-via-service",
        &["old.json", "new.json", "--format", "sarif"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let sarif: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "new-access");
    let region = &result["locations"][0]["physicalLocation"];
    assert_eq!(region["artifactLocation"]["uri"], "new.json");
    assert_eq!(region["region"]["startLine"], 13);
    assert!(result["properties"]["witness"].is_object());
}

#[test]
fn an_invalid_policy_is_an_error_with_its_place_and_exit_2() {
    let dir = scratch("diff-invalid");
    std::fs::copy(
        fixtures("diff").join("identical-policies-pass/old.json"),
        dir.join("old.json"),
    )
    .unwrap();
    std::fs::write(
        dir.join("new.json"),
        "{\"Version\":\"2012-10-17\",\n \"Statement\":[{\"Effect\":\"Allw\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}",
    )
    .unwrap();
    let o = run_in(&dir, &["diff", "old.json", "new.json"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("new.json:2:"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_saved_output_that_does_not_read_is_an_error_with_its_place() {
    let dir = scratch("diff-bad-grants");
    let case = fixtures("diff").join("a-grant-added");
    for file in ["old.json", "new.json"] {
        std::fs::copy(case.join(file), dir.join(file)).unwrap();
    }
    std::fs::write(
        dir.join("grants.json"),
        "{\"Grants\": [\n  {\"GrantId\": 7}]}",
    )
    .unwrap();
    let o = run_in(
        &dir,
        &["diff", "old.json", "new.json", "--grants", "grants.json"],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("grants.json:2:"), "{}", stderr(&o));
}

#[test]
fn without_a_key_or_a_delegating_policy_the_key_must_be_named() {
    let dir = scratch("diff-no-key");
    let only_role = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:*","Resource":"*"}]}"#;
    std::fs::write(dir.join("old.json"), only_role).unwrap();
    std::fs::write(dir.join("new.json"), only_role).unwrap();
    let o = run_in(&dir, &["diff", "old.json", "new.json"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resource"), "{}", stderr(&o));
    let named = run_in(
        &dir,
        &[
            "diff",
            "old.json",
            "new.json",
            "--resource",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ],
        "",
    );
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    let wrong = run_in(
        &dir,
        &[
            "diff",
            "old.json",
            "new.json",
            "--resource",
            "arn:aws:s3:::bucket",
        ],
        "",
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("not a key ARN"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn a_change_to_the_alias_operations_alone_is_found_with_its_witness() {
    // Bob may now create, update and delete aliases of the key (his identity policies, not
    // given, are assumed to allow it): a FAIL that names the statement, never a PASS.
    let dir = scratch("diff-alias-operations-alone");
    let admin = r#"{"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"}, "Action": "kms:*", "Resource": "*"}"#;
    let bob = r#"{"Sid": "BobAliases", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Bob"}, "Action": ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"], "Resource": "*"}"#;
    let policy =
        |statements: &str| format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#);
    std::fs::write(dir.join("old.json"), policy(admin)).unwrap();
    std::fs::write(dir.join("new.json"), policy(&format!("{admin}, {bob}"))).unwrap();
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let o = run_in(
        &dir,
        &[
            "diff",
            "--resource",
            key,
            "--format",
            "json",
            "old.json",
            "new.json",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    let f = &findings[0];
    assert_eq!(f["principal"], "arn:aws:iam::111122223333:user/Bob");
    assert_eq!(
        f["actions"],
        serde_json::json!(["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"])
    );
    assert_eq!(f["statements"][0]["sid"], "BobAliases", "{f:#}");
    assert_eq!(f["witness"]["target_key"], key);
    assert_eq!(
        f["witness"]["resource"],
        "arn:aws:kms:us-east-1:111122223333:alias/example"
    );
}

#[test]
fn alias_operations_a_delegation_adds_are_findings_of_their_own_in_text_and_json() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "old.json",
            "new.json",
            "--identity-policy",
            "identity-0.json",
        ];
        args.extend_from_slice(extra);
        diff("delegation-to-the-account-added", &args)
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("kms:CreateAlias, kms:DeleteAlias, kms:UpdateAlias"),
        "{}",
        stdout(&o)
    );
    let o = run(&["--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["result"], "FAIL");
    assert!(report.get("not_decided").is_none(), "{report:#}");
    let alias = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["actions"][0] == "kms:CreateAlias")
        .expect("a finding of the alias operations");
    assert_eq!(alias["condition"], "any alias");
    let witness = &alias["witness"];
    assert!(
        witness["resource"]
            .as_str()
            .is_some_and(|r| r.contains(":alias/")),
        "{witness:#}"
    );
    assert!(
        witness["target_key"]
            .as_str()
            .is_some_and(|k| k.contains(":key/"))
    );
}

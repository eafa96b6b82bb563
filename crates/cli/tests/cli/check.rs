//! `keyward check` as a CI job calls it in place of `aws accessanalyzer check-...`: the same
//! parameters, Access Analyzer's JSON answer, a witness with every FAIL that `keyward
//! authorize` confirms, exit 0 PASS, 1 FAIL, 2 error.

use crate::common::{fixtures, run_in, scratch, stderr, stdout};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

fn check(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    run_in(dir, &all, "")
}

fn answer(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// The witness, completed with `policy`, decided by `keyward authorize`.
fn authorize(witness: &Value, policy: &Path) -> String {
    let mut request = witness.clone();
    request["key_policy"] =
        serde_json::from_str(&std::fs::read_to_string(policy).unwrap()).unwrap();
    let o = run_in(
        Path::new("."),
        &["authorize", "--format", "json"],
        &request.to_string(),
    );
    let decision: Value = serde_json::from_str(&stdout(&o)).unwrap();
    decision["decision"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn no_new_access_takes_access_analyzers_parameters_and_answers_in_its_shape() {
    let dir = fixtures("diff").join("cross-account-via-service");
    let o = check(
        &dir,
        &[
            "no-new-access",
            "--existing-policy-document",
            "file://old.json",
            "--new-policy-document",
            "file://new.json",
            "--policy-type",
            "RESOURCE_POLICY",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let a = answer(&o);
    assert_eq!(a["result"], "FAIL");
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("allows 1 kind of request")
    );
    let reason = &a["reasons"][0];
    assert_eq!(reason["statementIndex"], 1);
    assert_eq!(reason["statementId"], "ShareWithAnalytics");
    assert!(
        reason["description"]
            .as_str()
            .unwrap()
            .contains("444455556666")
    );
    // The witness: allowed under the new policy, denied under the existing one.
    assert_eq!(authorize(&a["witness"], &dir.join("new.json")), "Allow");
    assert_ne!(authorize(&a["witness"], &dir.join("old.json")), "Allow");

    let same = check(
        &dir,
        &[
            "no-new-access",
            "--existing-policy-document",
            "new.json",
            "--new-policy-document",
            "new.json",
        ],
    );
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let a = answer(&same);
    assert_eq!(
        (a["result"].as_str(), a["reasons"].as_array().map(Vec::len)),
        (Some("PASS"), Some(0))
    );
    assert!(a.get("witness").is_none());
}

#[test]
fn access_not_granted_looks_only_at_the_actions_asked_about() {
    let dir = fixtures("diff").join("realistic-2kb-review");
    let ask = |access: &str| {
        check(
            &dir,
            &[
                "access-not-granted",
                "--policy-document",
                "new.json",
                "--access",
                access,
            ],
        )
    };
    // Nobody may schedule the key's deletion but the account and its administrators.
    let o = ask(r#"[{"actions": ["kms:ScheduleKeyDeletion"]}]"#);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let a = answer(&o);
    for reason in a["reasons"].as_array().unwrap() {
        assert!(
            reason["description"]
                .as_str()
                .unwrap()
                .contains("kms:ScheduleKeyDeletion")
        );
        assert!(
            !reason["description"]
                .as_str()
                .unwrap()
                .contains("kms:Decrypt")
        );
    }
    assert_eq!(authorize(&a["witness"], &dir.join("new.json")), "Allow");
    assert_eq!(a["witness"]["action"], "kms:ScheduleKeyDeletion");
    // Another key's ARN: the policy grants nothing on it.
    let o = ask(
        r#"{"actions": ["kms:Decrypt"], "resources": ["arn:aws:kms:us-east-1:111122223333:key/another"]}"#,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(answer(&o)["result"], "PASS");
    // An action that is no KMS key action is an error, not a PASS.
    let o = ask(r#"[{"actions": ["kms:Decrypto"]}]"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("kms:Decrypto names no KMS action"),
        "{}",
        stderr(&o)
    );
    let o = ask("actions=kms:Decrypt");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--access: give it as JSON"),
        "{}",
        stderr(&o)
    );
    let o = ask(r#"[{"action": ["kms:Decrypt"]}]"#);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown field \"action\""),
        "{}",
        stderr(&o)
    );
}

/// What is public, as the reference table of lint anchors has it: access conditioned on the
/// caller's organization or on the key's own account is not; a condition on TLS or the
/// calling service, `IfExists` on the organization, or a wildcard account is.
#[test]
fn no_public_access_treats_organization_conditions_as_private_and_others_as_public() {
    let dir = scratch("check-public");
    let cases = [
        (json!({}), "FAIL"),
        (json!({"Bool": {"aws:SecureTransport": "true"}}), "FAIL"),
        (
            json!({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            "FAIL",
        ),
        (json!({"StringLike": {"kms:CallerAccount": "*"}}), "FAIL"),
        (
            json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
            "FAIL",
        ),
        (
            json!({"StringEquals": {"kms:CallerAccount": "111122223333"}}),
            "PASS",
        ),
        (
            json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            "PASS",
        ),
        (
            json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
            "PASS",
        ),
    ];
    for (condition, expected) in cases {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": condition}
        ]});
        let path = dir.join("policy.json");
        std::fs::write(&path, policy.to_string()).unwrap();
        let o = check(
            &dir,
            &[
                "no-public-access",
                "--policy-document",
                "file://policy.json",
            ],
        );
        let a = answer(&o);
        assert_eq!(a["result"], expected, "{condition}: {a:#}");
        assert_eq!(
            o.status.code(),
            Some(if expected == "PASS" { 0 } else { 1 })
        );
        if expected == "FAIL" {
            assert_eq!(a["reasons"][0]["statementId"], "Everyone", "{a:#}");
            assert_eq!(authorize(&a["witness"], &path), "Allow", "{condition}");
        }
    }
}

#[test]
fn a_policy_type_or_resource_type_other_than_a_key_policy_is_an_error() {
    let dir = fixtures("diff").join("identical-policies-pass");
    let o = check(
        &dir,
        &[
            "no-new-access",
            "--existing-policy-document",
            "old.json",
            "--new-policy-document",
            "new.json",
            "--policy-type",
            "IDENTITY_POLICY",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("keyward checks key policies (RESOURCE_POLICY)"),
        "{}",
        stderr(&o)
    );
    let o = check(
        &dir,
        &[
            "no-public-access",
            "--policy-document",
            "old.json",
            "--resource-type",
            "AWS::S3::Bucket",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("(AWS::KMS::Key)"), "{}", stderr(&o));
}

#[test]
fn an_inline_document_is_read_and_an_invalid_one_is_named_with_its_place() {
    let dir = fixtures("diff").join("identical-policies-pass");
    let o = check(
        &dir,
        &[
            "no-public-access",
            "--policy-document",
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#,
            "--resource",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = check(
        &dir,
        &[
            "no-public-access",
            "--policy-document",
            "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Alow\"}]}",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("<inline>:2:"), "{}", stderr(&o));
}

//! Key policies where they live: a Terraform plan's grants are decided by the engine with
//! their key's policy, and a grant KMS would refuse is named.

use keyward_lint::{LintOptions, lint_file};
use keyward_templates::Format;

/// A plan with one key (`policy`) and one grant of `operations` to `grantee`.
fn plan(policy: &str, grantee: &str, operations: &str) -> String {
    let policy = serde_json::Value::String(policy.to_owned());
    format!(
        r#"{{"format_version": "1.2",
 "planned_values": {{"root_module": {{"resources": [
   {{"address": "aws_kms_key.app", "mode": "managed", "type": "aws_kms_key", "name": "app", "values": {{"policy": {policy}}}}},
   {{"address": "aws_kms_grant.g", "mode": "managed", "type": "aws_kms_grant", "name": "g",
     "values": {{"grantee_principal": "{grantee}", "operations": {operations}, "constraints": []}}}}]}}}},
 "configuration": {{"root_module": {{"resources": [
   {{"address": "aws_kms_grant.g", "mode": "managed", "type": "aws_kms_grant", "name": "g",
     "expressions": {{"key_id": {{"references": ["aws_kms_key.app.key_id", "aws_kms_key.app"]}}}}}}]}}}}}}"#
    )
}

const ROOT: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#;

fn rules(text: &str) -> Vec<(&'static str, Option<String>)> {
    lint_file(text, &LintOptions::default(), Format::Auto)
        .into_iter()
        .map(|f| (f.rule, f.resource))
        .collect()
}

#[test]
fn a_grant_to_another_account_is_cross_account_access_unless_the_policy_denies_it() {
    let partner = "arn:aws:iam::999988887777:role/reader";
    let open = plan(&format!("{ROOT}]}}"), partner, r#"["Decrypt"]"#);
    assert_eq!(
        rules(&open),
        [("cross-account-access", Some("aws_kms_grant.g".to_owned()))]
    );
    // An explicit Deny in the key policy overrides the grant: nothing reaches the partner.
    let denied = plan(
        &format!(
            r#"{ROOT}, {{"Effect": "Deny", "Principal": {{"AWS": "arn:aws:iam::999988887777:root"}}, "Action": "kms:*", "Resource": "*"}}]}}"#
        ),
        partner,
        r#"["Decrypt"]"#,
    );
    assert_eq!(rules(&denied), []);
    // Trusted: nothing to report.
    let options = LintOptions {
        trusted_accounts: vec!["999988887777".into()],
        ..LintOptions::default()
    };
    assert!(lint_file(&open, &options, Format::Auto).is_empty());
}

#[test]
fn a_grant_kms_would_refuse_is_named() {
    let refused = plan(
        &format!("{ROOT}]}}"),
        "arn:aws:iam::111122223333:role/app",
        r#"["PutKeyPolicy"]"#,
    );
    let findings = lint_file(&refused, &LintOptions::default(), Format::Auto);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "invalid-template");
    assert!(
        findings[0]
            .message
            .starts_with("aws_kms_grant.g: \"PutKeyPolicy\" is not a grant operation"),
        "{}",
        findings[0].message
    );
}

/// The key policies AWS writes itself have no finding at security or warning level: the
/// console's (administrators and users chosen), CloudTrail's (its creator beside the root),
/// CDK's default `Key` (from a real `cdk synth`) and an AWS managed key's.
#[test]
fn aws_default_key_policies_have_no_security_or_warning_finding() {
    use keyward_lint::Severity;
    let read = |name: &str| std::fs::read_to_string(crate::common::fixture(name)).unwrap();
    let serious = |findings: Vec<keyward_lint::Finding>| -> Vec<String> {
        findings
            .into_iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| format!("{} {:?} {}", f.rule, f.resource, f.message))
            .collect()
    };
    for fixture in [
        "no-separation-of-duties-clean-console-default.json",
        "principal-beside-root-delegation.json",
        "aws-managed-key-policy.json",
    ] {
        let findings = lint_file(&read(fixture), &LintOptions::default(), Format::Auto);
        assert_eq!(serious(findings), Vec::<String>::new(), "{fixture}");
    }
    let cdk = lint_file(
        &read("cross-account-access-cdk-synth.json"),
        &LintOptions::default(),
        Format::Auto,
    );
    let default_key: Vec<_> = cdk
        .into_iter()
        .filter(|f| f.construct.as_deref() != Some("KeywardFixtureStack/SharedKey/Resource"))
        .collect();
    assert_eq!(serious(default_key), Vec::<String>::new());
}

#[test]
fn a_grant_that_gives_an_administrator_use_is_no_separation_of_duties() {
    let admin = "arn:aws:iam::111122223333:role/KeyAdmin";
    let policy = format!(
        r#"{ROOT}, {{"Effect": "Allow", "Principal": {{"AWS": "{admin}"}}, "Action": ["kms:DisableKey", "kms:ScheduleKeyDeletion"], "Resource": "*"}}]}}"#
    );
    let findings = lint_file(
        &plan(&policy, admin, r#"["Decrypt", "DescribeKey"]"#),
        &LintOptions::default(),
        Format::Auto,
    );
    let sod: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "no-separation-of-duties")
        .collect();
    assert_eq!(sod.len(), 1, "{findings:?}");
    assert_eq!(sod[0].resource.as_deref(), Some("aws_kms_grant.g"));
    assert!(
        sod[0].message.contains("use of it: kms:Decrypt"),
        "{}",
        sod[0].message
    );
    // A grant of DescribeKey alone gives no use.
    let read_only = lint_file(
        &plan(&policy, admin, r#"["DescribeKey"]"#),
        &LintOptions::default(),
        Format::Auto,
    );
    assert!(
        read_only
            .iter()
            .all(|f| f.rule != "no-separation-of-duties")
    );
}

/// A grant on a key whose policy is an `aws_kms_key_policy` resource is read with that policy.
#[test]
fn a_grant_on_a_key_with_a_separate_key_policy_resource_is_read_with_it() {
    let policy = serde_json::Value::String(format!("{ROOT}]}}"));
    let text = format!(
        r#"{{"format_version": "1.2",
 "planned_values": {{"root_module": {{"resources": [
   {{"address": "aws_kms_key.app", "mode": "managed", "type": "aws_kms_key", "name": "app", "values": {{}}}},
   {{"address": "aws_kms_key_policy.app", "mode": "managed", "type": "aws_kms_key_policy", "name": "app", "values": {{"policy": {policy}}}}},
   {{"address": "aws_kms_grant.g", "mode": "managed", "type": "aws_kms_grant", "name": "g",
     "values": {{"grantee_principal": "arn:aws:iam::999988887777:role/reader", "operations": ["Decrypt"], "constraints": []}}}}]}}}},
 "configuration": {{"root_module": {{"resources": [
   {{"address": "aws_kms_key.app", "mode": "managed", "type": "aws_kms_key", "name": "app", "expressions": {{}}}},
   {{"address": "aws_kms_key_policy.app", "mode": "managed", "type": "aws_kms_key_policy", "name": "app",
     "expressions": {{"key_id": {{"references": ["aws_kms_key.app.id", "aws_kms_key.app"]}}}}}},
   {{"address": "aws_kms_grant.g", "mode": "managed", "type": "aws_kms_grant", "name": "g",
     "expressions": {{"key_id": {{"references": ["aws_kms_key.app.key_id", "aws_kms_key.app"]}}}}}}]}}}}}}"#
    );
    let found = rules(&text);
    assert!(
        found.contains(&("cross-account-access", Some("aws_kms_grant.g".to_owned()))),
        "{found:?}"
    );
}

//! `keyward can PRINCIPAL ACTION` on the bundled account `fixtures/account/`: the saved
//! `aws iam get-account-authorization-details` and `aws kms get-key-policy` outputs read as
//! they are, the principal's policies gathered through groups and managed policies' default
//! versions, and a witness for every allowed path that `keyward authorize` allows.

use crate::common::{fixtures, run_in, stderr, stdout};
use serde_json::Value;
use std::process::Output;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn can(principal: &str, action: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "can",
        principal,
        action,
        "--key-policy",
        "key-policy.json",
        "--authorization-details",
        "authorization-details.json",
        "--resource",
        KEY,
    ];
    args.extend_from_slice(extra);
    run_in(&fixtures("account"), &args, "")
}

fn json(principal: &str, action: &str) -> (Option<i32>, Value) {
    let o = can(principal, action, &["--format", "json"]);
    let value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code(), value)
}

/// The witness completed with the key's policy (the `Policy` of the saved output), decided by
/// `keyward authorize`.
fn authorize(witness: &Value) -> String {
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures("account").join("key-policy.json")).unwrap(),
    )
    .unwrap();
    let mut request = witness.clone();
    request["key_policy"] = saved["Policy"].clone();
    let o = run_in(
        &fixtures("account"),
        &["authorize", "--format", "json"],
        &request.to_string(),
    );
    let decision: Value = serde_json::from_str(&stdout(&o)).unwrap();
    decision["decision"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_user_is_allowed_through_its_groups_managed_policy_default_version_only() {
    let alice = "arn:aws:iam::111122223333:user/alice";
    let (code, answer) = json(alice, "kms:Encrypt");
    assert_eq!(code, Some(0), "{answer:#}");
    assert_eq!(answer["answer"], "ALLOWED");
    let path = &answer["paths"][0];
    assert_eq!(path["condition"], "always");
    assert_eq!(
        path["via"],
        serde_json::json!(["identity_policy:0 (arn:aws:iam::111122223333:policy/KmsUse)"])
    );
    // The witness carries the policy in force: the default version (v2), not v1's kms:*.
    assert_eq!(
        path["witness"]["identity_policies"][0]["Statement"][0]["Resource"],
        "arn:aws:kms:us-east-1:111122223333:key/*"
    );
    assert_eq!(authorize(&path["witness"]), "Allow");
    // v1 would allow ScheduleKeyDeletion; the default version does not.
    let (code, answer) = json(alice, "kms:ScheduleKeyDeletion");
    assert_eq!((code, answer["answer"].as_str()), (Some(1), Some("DENIED")));
}

#[test]
fn an_inline_deny_wins_over_the_groups_allow() {
    let (code, answer) = json("arn:aws:iam::111122223333:user/bob", "kms:Decrypt");
    assert_eq!((code, answer["answer"].as_str()), (Some(1), Some("DENIED")));
    assert_eq!(answer["paths"], serde_json::json!([]));
    // Why: the explicit deny of bob's inline policy.
    assert!(
        answer["denial"].as_str().unwrap().contains("denies"),
        "{answer:#}"
    );
    let (code, _) = json("arn:aws:iam::111122223333:user/bob", "kms:Encrypt");
    assert_eq!(code, Some(0));
}

#[test]
fn a_key_policy_statement_naming_the_user_gives_its_condition() {
    let (code, answer) = json("arn:aws:iam::111122223333:user/carol", "kms:Decrypt");
    assert_eq!(code, Some(0), "{answer:#}");
    assert_eq!(answer["answer"], "ALLOWED WHEN");
    let path = &answer["paths"][0];
    assert_eq!(path["condition"], "kms:EncryptionContext:tenant = acme");
    assert_eq!(path["statements"][0]["sid"], "AllowCarolWithTenantContext");
    assert_eq!(path["witness"]["encryption_context"]["tenant"], "acme");
    assert_eq!(authorize(&path["witness"]), "Allow");
    let o = can("arn:aws:iam::111122223333:user/carol", "kms:Decrypt", &[]);
    assert!(
        stdout(&o)
            .starts_with("ALLOWED WHEN: arn:aws:iam::111122223333:user/carol may call kms:Decrypt"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("1. when kms:EncryptionContext:tenant = acme"));
}

#[test]
fn a_session_of_a_role_gets_the_roles_inline_policy_and_its_condition() {
    let session = "arn:aws:sts::111122223333:assumed-role/app/i-0abc";
    let (code, answer) = json(session, "kms:Decrypt");
    assert_eq!(code, Some(0), "{answer:#}");
    let path = &answer["paths"][0];
    assert_eq!(
        path["condition"],
        "kms:ViaService = s3.us-east-1.amazonaws.com"
    );
    assert_eq!(path["witness"]["principal"], session);
    assert_eq!(authorize(&path["witness"]), "Allow");
}

/// A session's ARN leaves its role's path out; `aws:PrincipalArn` has it. The role's ARN with
/// its path comes from the authorization details, so a statement that names it applies.
#[test]
fn a_sessions_role_arn_keeps_its_path_from_the_authorization_details() {
    let session = "arn:aws:sts::111122223333:assumed-role/app/i-0abc";
    let (code, answer) = json(session, "kms:Encrypt");
    assert_eq!(code, Some(0), "{answer:#}");
    assert_eq!(answer["answer"], "ALLOWED");
    let path = &answer["paths"][0];
    assert_eq!(path["statements"][0]["sid"], "AppEncryptsByItsRoleArn");
    assert_eq!(
        path["witness"]["principal_role_arn"],
        "arn:aws:iam::111122223333:role/service-role/app"
    );
    assert_eq!(authorize(&path["witness"]), "Allow");
}

/// The boundary allows Encrypt and DescribeKey: KmsUse's Decrypt is beyond it, its Encrypt is
/// not.
#[test]
fn a_permissions_boundary_limits_what_identity_policies_allow() {
    let bounded = "arn:aws:iam::111122223333:role/bounded";
    let o = can(bounded, "kms:Decrypt", &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("Refused by the caller's permissions boundary: not allowed by the permissions boundary arn:aws:iam::111122223333:policy/Boundary"),
        "{}",
        stdout(&o)
    );
    let (code, answer) = json(bounded, "kms:Encrypt");
    assert_eq!(
        (code, answer["answer"].as_str()),
        (Some(0), Some("ALLOWED"))
    );
}

#[test]
fn what_the_analysis_cannot_answer_is_an_error_that_says_why() {
    let o = can("arn:aws:iam::111122223333:user/mallory", "kms:Decrypt", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not in the authorization details"),
        "{}",
        stderr(&o)
    );
    let o = can("arn:aws:iam::111122223333:user/alice", "kms:Decrypto", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a KMS action on a key"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_alias_operation_is_answered_per_alias_with_a_witness_authorize_allows() {
    // The who-can account: role app-012 has KmsSignVerify2, which allows the alias operations
    // on `alias/signing-*` and on the account's keys; the SCP ProtectKeys denies them on
    // `alias/prod-*`.
    let ask = |role: &str| {
        let principal = format!("arn:aws:iam::111122223333:role/{role}");
        let o = run_in(
            &fixtures("who-can"),
            &[
                "can",
                &principal,
                "kms:CreateAlias",
                "--key-policy",
                "key-policy.json",
                "--authorization-details",
                "authorization-details.json",
                "--describe-key",
                "describe-key.json",
                "--scp",
                "scp-root.json",
                "--scp",
                "scp-account.json",
                "--format",
                "json",
            ],
            "",
        );
        let answer: Value = serde_json::from_str(&stdout(&o))
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
        (o.status.code(), answer)
    };
    let (code, answer) = ask("app-012");
    assert_eq!(code, Some(0), "{answer:#}");
    assert_eq!(answer["answer"], "ALLOWED WHEN");
    let path = &answer["paths"][0];
    assert_eq!(
        path["condition"],
        "the alias is arn:aws:kms:us-east-1:111122223333:alias/signing-* but not arn:aws:kms:*:*:alias/prod-*"
    );
    let witness = &path["witness"];
    assert_eq!(
        witness["resource"],
        "arn:aws:kms:us-east-1:111122223333:alias/signing-example"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures("who-can").join("key-policy.json")).unwrap(),
    )
    .unwrap();
    let mut request = witness.clone();
    request["key_policy"] = saved["Policy"].clone();
    let o = run_in(
        &fixtures("who-can"),
        &["authorize", "--format", "json"],
        &request.to_string(),
    );
    let decision: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(decision["decision"], "Allow", "{decision:#}");
    // Without such a policy: denied, and the denial names the alias it needs.
    let (code, answer) = ask("app-001");
    assert_eq!(code, Some(1), "{answer:#}");
    assert_eq!(answer["answer"], "DENIED");
    assert!(
        answer["denial"]
            .as_str()
            .is_some_and(|d| d.contains("on the alias arn:aws:kms:us-east-1:111122223333:alias/")),
        "{answer:#}"
    );
}

//! The alias operations (`kms:CreateAlias`, `kms:UpdateAlias`, `kms:DeleteAlias`) act on an
//! alias and its key, and the analysis does not decide them. `diff` must then refuse, naming
//! them, whenever the two sides might decide them differently: a PASS that silently left them
//! out would be a false "no new access".

use crate::common::KEY;
use keyward_analysis::{
    AnalysisError, KeyFacts, PolicySet, check_no_new_access, check_no_public_access, diff,
};

fn key_policy(statements: &str) -> PolicySet {
    PolicySet {
        key_policy: format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#),
        identity_policies: None,
        grants: Vec::new(),
    }
}

const ADMIN: &str = r#"{"Sid": "Admin", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
    "Action": "kms:*", "Resource": "*"}"#;

const BOB_ALIASES: &str = r#"{"Sid": "BobAliases", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:user/Bob"},
    "Action": ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"], "Resource": "*"}"#;

const BOB_DECRYPTS: &str = r#"{"Sid": "BobDecrypts", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:user/Bob"},
    "Action": "kms:Decrypt", "Resource": "*"}"#;

fn key() -> KeyFacts {
    KeyFacts::symmetric(KEY)
}

#[test]
fn alias_operations_newly_allowed_are_refused_not_passed() {
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{ADMIN}, {BOB_ALIASES}"));
    match diff(&old, &new, &key()) {
        Err(AnalysisError::Unsupported(why)) => {
            assert!(why.contains("kms:CreateAlias"), "{why}");
            assert!(why.contains("BobAliases"), "names the statement: {why}");
        }
        other => panic!("a diff that may grant alias operations: {other:?}"),
    }
    assert!(matches!(
        check_no_new_access(&old, &new, &key()),
        Err(AnalysisError::Unsupported(_))
    ));
}

#[test]
fn a_removed_deny_of_alias_operations_is_refused_too() {
    let deny = r#"{"Sid": "NoAliases", "Effect": "Deny", "Principal": "*",
        "Action": "kms:*Alias", "Resource": "*"}"#;
    let old = key_policy(&format!("{ADMIN}, {deny}"));
    let new = key_policy(ADMIN);
    assert!(matches!(
        diff(&old, &new, &key()),
        Err(AnalysisError::Unsupported(_))
    ));
}

#[test]
fn a_change_that_leaves_alias_operations_alone_is_decided() {
    // The statement that matches the alias operations is the same on both sides, written
    // differently (layout, member order): the change is decided as before.
    let admin_reordered = r#"{"Resource": "*", "Action": "kms:*", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"}, "Sid": "Admin"}"#;
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{BOB_DECRYPTS}, {admin_reordered}"));
    let report = diff(&old, &new, &key()).unwrap();
    assert_eq!(report.result, "FAIL");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.actions == ["kms:Decrypt".to_owned()])
    );
}

#[test]
fn different_identity_policies_on_the_two_sides_are_refused() {
    let old = PolicySet {
        identity_policies: Some(Vec::new()),
        ..key_policy(ADMIN)
    };
    let new = PolicySet {
        identity_policies: Some(vec![
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:CreateAlias", "Resource": "*"}]}"#.to_owned(),
        ]),
        ..key_policy(ADMIN)
    };
    match diff(&old, &new, &key()) {
        Err(AnalysisError::Unsupported(why)) => assert!(why.contains("identity"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn public_access_is_not_refused_for_alias_statements() {
    // Alias operations never cross accounts: public access is the actions on the key alone.
    let policy = key_policy(&format!("{ADMIN}, {BOB_ALIASES}"));
    let report = check_no_public_access(&policy, &key()).unwrap();
    assert_eq!(report.result, "PASS");
}

#[test]
fn a_fail_stands_and_says_what_it_did_not_decide() {
    // Delegating to the account grants the actions on the key (a FAIL) and, with IAM, the
    // alias operations, which the analysis does not decide: the FAIL says so.
    let root = r#"{"Sid": "EnableIAMUserPermissions", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*", "Resource": "*"}"#;
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{ADMIN}, {root}"));
    let report = diff(&old, &new, &key()).unwrap();
    assert_eq!(report.result, "FAIL");
    assert_eq!(report.not_decided.len(), 1, "{:?}", report.not_decided);
    assert!(report.not_decided[0].contains("EnableIAMUserPermissions"));
    let sarif = report.to_sarif("new.json");
    assert_eq!(
        sarif["runs"][0]["properties"]["not_decided"][0],
        report.not_decided[0].as_str()
    );
    // Where nothing about them changes, nothing is said.
    let unchanged = diff(
        &old,
        &key_policy(&format!("{ADMIN}, {BOB_DECRYPTS}")),
        &key(),
    )
    .unwrap();
    assert!(unchanged.not_decided.is_empty());
}

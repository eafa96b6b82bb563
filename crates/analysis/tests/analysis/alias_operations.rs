//! The alias operations (`kms:CreateAlias`, `kms:UpdateAlias`, `kms:DeleteAlias`) act on an
//! alias and on its key: the key policy must allow them on the key, the caller's identity
//! policies on the alias. The analysis decides them with the alias as one more part of the
//! request, cut by the `Resource` patterns that can apply to them, and each finding's witness
//! names an alias and its target key.

use crate::common::KEY;
use keyward_analysis::{
    KeyFacts, PolicySet, PrincipalKind, check_no_public_access, complete_witness, diff,
};
use keyward_authz::{Authorizer, Request, Verdict};

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

const ROOT: &str = r#"{"Sid": "EnableIAMUserPermissions", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Action": "kms:*", "Resource": "*"}"#;

fn key() -> KeyFacts {
    KeyFacts::symmetric(KEY)
}

fn identity(statements: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}

/// `authz`'s verdict on a witness completed with `set`.
fn verdict(witness: &serde_json::Value, set: &PolicySet) -> Verdict {
    let request = Request::parse(&complete_witness(witness, set).to_string()).unwrap();
    Authorizer::for_request(&request)
        .unwrap()
        .decide(&request)
        .verdict
}

#[test]
fn alias_operations_newly_allowed_are_a_finding_with_an_alias_witness() {
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{ADMIN}, {BOB_ALIASES}"));
    let report = diff(&old, &new, &key()).unwrap();
    assert_eq!(report.result, "FAIL");
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.principal, "arn:aws:iam::111122223333:user/Bob");
    assert_eq!(
        f.actions,
        ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    );
    assert_eq!(f.condition, "any alias");
    assert_eq!(f.statements[0].sid.as_deref(), Some("BobAliases"));
    assert_eq!(f.witness["target_key"], KEY);
    assert_eq!(
        f.witness["resource"],
        "arn:aws:kms:us-east-1:111122223333:alias/example"
    );
    assert_eq!(verdict(&f.witness, &new), Verdict::Allow);
    assert_ne!(verdict(&f.witness, &old), Verdict::Allow);
}

#[test]
fn the_witness_names_one_of_the_keys_own_aliases_where_it_can() {
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{ADMIN}, {BOB_ALIASES}"));
    let mut key = key();
    key.aliases = vec!["alias/payroll".into()];
    let report = diff(&old, &new, &key).unwrap();
    assert_eq!(
        report.findings[0].witness["resource"],
        "arn:aws:kms:us-east-1:111122223333:alias/payroll"
    );
}

#[test]
fn a_removed_deny_of_alias_operations_is_found() {
    let deny = r#"{"Sid": "NoAliases", "Effect": "Deny", "Principal": "*",
        "Action": "kms:*Alias", "Resource": "*"}"#;
    let old = key_policy(&format!("{ADMIN}, {deny}"));
    let new = key_policy(ADMIN);
    let report = diff(&old, &new, &key()).unwrap();
    assert_eq!(report.result, "FAIL");
    assert!(report.findings.iter().all(|f| {
        f.principal.contains("role/Admin")
            && f.actions == ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    }));
}

#[test]
fn a_change_that_leaves_alias_operations_alone_finds_only_the_rest() {
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
fn identity_policies_cut_the_aliases_and_each_cell_is_decided() {
    // The key delegates to the account; the identity policies let callers manage the app-*
    // aliases, except the app-prod* ones.
    let policies = identity(
        r#"{"Effect": "Allow", "Action": "kms:*Alias", "Resource": "arn:aws:kms:*:111122223333:alias/app-*"},
           {"Effect": "Deny", "Action": "kms:*Alias", "Resource": "arn:aws:kms:*:111122223333:alias/app-prod*"},
           {"Effect": "Allow", "Action": "kms:*Alias", "Resource": "arn:aws:kms:*:111122223333:key/*"}"#,
    );
    let old = PolicySet {
        identity_policies: Some(vec![policies.clone()]),
        ..key_policy(ADMIN)
    };
    let new = PolicySet {
        identity_policies: Some(vec![policies]),
        ..key_policy(&format!("{ADMIN}, {ROOT}"))
    };
    let report = diff(&old, &new, &key()).unwrap();
    let alias: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.actions.iter().any(|a| a == "kms:CreateAlias"))
        .collect();
    assert!(!alias.is_empty(), "{:#?}", report.findings);
    for f in &alias {
        assert_eq!(verdict(&f.witness, &new), Verdict::Allow);
        assert_ne!(verdict(&f.witness, &old), Verdict::Allow);
    }
    // The account's root user needs no identity policy to allow the alias (IAM policies do not
    // restrict it), but their Deny holds: it may use any alias outside app-prod*.
    let root = alias
        .iter()
        .find(|f| f.kind == PrincipalKind::Root)
        .expect("the root user's own finding");
    assert_eq!(
        root.condition,
        "the alias is not arn:aws:kms:*:111122223333:alias/app-* or arn:aws:kms:*:111122223333:alias/app-prod*"
    );
    let others: Vec<_> = alias
        .iter()
        .filter(|f| f.kind != PrincipalKind::Root)
        .collect();
    assert!(!others.is_empty());
    for f in &others {
        assert_eq!(
            f.condition,
            "the alias is arn:aws:kms:*:111122223333:alias/app-* but not arn:aws:kms:*:111122223333:alias/app-prod*"
        );
        let resource = f.witness["resource"].as_str().unwrap();
        assert!(
            resource.contains(":alias/app-") && !resource.contains("app-prod"),
            "{resource}"
        );
    }
    // An alias outside app-*, and one under app-prod*, are refused on the new side.
    let mut outside = others[0].witness.clone();
    for name in ["other", "app-prod-1"] {
        outside["resource"] = format!("arn:aws:kms:us-east-1:111122223333:alias/{name}").into();
        assert_ne!(verdict(&outside, &new), Verdict::Allow, "{name}");
    }
}

#[test]
fn public_access_is_not_found_in_alias_statements() {
    // Alias operations never cross accounts.
    let foreign = r#"{"Sid": "ForeignAliases", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "kms:CreateAlias", "Resource": "*"}"#;
    let policy = key_policy(&format!("{ADMIN}, {BOB_ALIASES}, {foreign}"));
    let report = check_no_public_access(&policy, &key()).unwrap();
    assert_eq!(report.result, "PASS");
}

#[test]
fn delegation_to_the_account_adds_the_alias_operations_as_a_finding_of_their_own() {
    let old = key_policy(ADMIN);
    let new = key_policy(&format!("{ADMIN}, {ROOT}"));
    let report = diff(&old, &new, &key()).unwrap();
    let alias = report
        .findings
        .iter()
        .find(|f| f.actions.iter().any(|a| a == "kms:CreateAlias"))
        .expect("the alias operations");
    assert!(alias.actions.iter().all(|a| a.ends_with("Alias")));
    assert_eq!(alias.condition, "any alias");
    // And a diff of the new policy with itself finds nothing.
    assert_eq!(diff(&new, &new, &key()).unwrap().result, "PASS");
}

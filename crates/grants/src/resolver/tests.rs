use super::*;
use crate::{GrantConstraint, parse_operations};
use keyward_policy::catalog::kms_action;

fn grant(id: &str, grantee: &str, ops: &[&str], constraint: Option<GrantConstraint>) -> Grant {
    Grant {
        id: id.into(),
        name: None,
        grantee: grantee.into(),
        retiring_principal: None,
        issuing_account: None,
        key: None,
        created_at: None,
        operations: parse_operations(ops.iter().copied()).unwrap(),
        constraint,
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const APP: &str = "arn:aws:iam::111122223333:role/App";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/App/s1";

fn set() -> GrantSet {
    GrantSet::new(vec![
        grant(
            "g-other",
            "arn:aws:iam::111122223333:role/Other",
            &["Decrypt"],
            None,
        ),
        grant("g-encrypt", APP, &["Encrypt"], None),
        grant(
            "g-finance",
            APP,
            &["Decrypt"],
            Some(GrantConstraint::EncryptionContextSubset(pairs(&[(
                "dept", "finance",
            )]))),
        ),
        grant("g-account", "111122223333", &["Decrypt"], None),
        grant("g-session", SESSION, &["Decrypt", "DescribeKey"], None),
    ])
}

fn ids(set: &GrantSet, applying: &[Applying]) -> Vec<String> {
    applying
        .iter()
        .map(|a| set.grants()[a.index].id.clone())
        .collect()
}

#[test]
fn the_caller_its_role_and_its_account_are_found() {
    let s = set();
    let decrypt = kms_action("kms:Decrypt").unwrap();
    let session = Caller::of(SESSION, Some(APP), "111122223333");
    let found = s.applying(session, decrypt, &pairs(&[("dept", "finance")]));
    assert_eq!(ids(&s, &found), ["g-session", "g-finance", "g-account"]);
    assert_eq!(found.last().map(|a| a.grantee), Some(GranteeMatch::Account));
    let no_context = s.applying(session, decrypt, &[]);
    assert_eq!(
        ids(&s, &no_context),
        ["g-session", "g-account"],
        "the constraint fails without the pair"
    );
}

#[test]
fn the_root_user_is_its_account() {
    let s = set();
    let root = Caller::of("arn:aws:iam::111122223333:root", None, "111122223333");
    let found = s.applying(root, kms_action("kms:Decrypt").unwrap(), &[]);
    assert_eq!(
        found,
        [Applying {
            index: 3,
            grantee: GranteeMatch::Caller
        }]
    );
}

#[test]
fn other_callers_and_operations_find_nothing() {
    let s = set();
    let app = Caller::of(APP, None, "111122223333");
    assert!(
        s.applying(app, kms_action("kms:Sign").unwrap(), &[])
            .is_empty()
    );
    let other_account = Caller::of("arn:aws:iam::444455556666:role/App", None, "444455556666");
    assert!(
        s.applying(other_account, kms_action("kms:Decrypt").unwrap(), &[])
            .is_empty()
    );
}

#[test]
fn every_grant_that_does_not_apply_says_why() {
    let s = set();
    let app = Caller::of(APP, None, "111122223333");
    let why: Vec<Option<String>> = s
        .explain(
            app,
            kms_action("kms:Decrypt").unwrap(),
            &pairs(&[("dept", "hr")]),
        )
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert!(
        why[0]
            .as_deref()
            .unwrap()
            .contains("grantee is arn:aws:iam::111122223333:role/Other")
    );
    assert!(
        why[1]
            .as_deref()
            .unwrap()
            .contains("not among the grant's operations (Encrypt)")
    );
    assert!(
        why[2]
            .as_deref()
            .unwrap()
            .contains("encryption context \"dept\" is \"hr\", the grant requires \"finance\"")
    );
    assert_eq!(
        why[3], None,
        "the account grant applies (IAM must also allow)"
    );
    assert!(why[4].as_deref().unwrap().contains("grantee"));
}

#[test]
fn resolution_agrees_with_checking_every_grant() {
    let s = set();
    for caller in [
        Caller::of(APP, None, "111122223333"),
        Caller::of(SESSION, Some(APP), "111122223333"),
        Caller::of("arn:aws:iam::111122223333:user/bob", None, "111122223333"),
    ] {
        for op in ["Decrypt", "Encrypt", "DescribeKey"] {
            for ctx in [vec![], pairs(&[("dept", "finance")])] {
                let action = kms_action(&format!("kms:{op}")).unwrap();
                let mut indexed: Vec<usize> = s
                    .applying(caller, action, &ctx)
                    .iter()
                    .map(|a| a.index)
                    .collect();
                indexed.sort_unstable();
                let scanned: Vec<usize> = s
                    .explain(caller, action, &ctx)
                    .into_iter()
                    .filter(|(_, w)| w.is_none())
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(indexed, scanned, "{caller:?} {op} {ctx:?}");
                for g in s.grants() {
                    assert_eq!(
                        g.allows(action, &ctx),
                        g.refusal(action, &ctx).is_none(),
                        "allows and refusal agree"
                    );
                }
            }
        }
    }
}

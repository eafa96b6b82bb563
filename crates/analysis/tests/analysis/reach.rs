//! `reach` against the diff: what a policy lets reach the key, asked both ways over the whole
//! corpus, must agree account by account and action by action, and every witness must be
//! allowed by `authz`.

use crate::common::{KEY, assumed, compare, key_policies};
use keyward_analysis::{
    AnalysisError, KeyFacts, PolicySet, PrincipalKind, ReachQuestion, check_no_public_access, reach,
};
use keyward_policy::catalog::kms_action;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const NOTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;

/// Where a caller stands: `public`, a service by name, or its account.
fn place(principal: &str, kind: PrincipalKind, public: bool) -> String {
    if public {
        "public".to_owned()
    } else if kind == PrincipalKind::Service {
        format!("service {principal}")
    } else {
        principal.split(':').nth(4).unwrap_or("?").to_owned()
    }
}

type Places = BTreeMap<String, BTreeSet<String>>;

/// By the diff against a policy that allows nothing.
fn by_diff(set: &PolicySet) -> Result<Places, AnalysisError> {
    let nothing = PolicySet {
        key_policy: NOTHING.to_owned(),
        identity_policies: set.identity_policies.clone(),
        grants: Vec::new(),
    };
    let mut out = Places::new();
    // `reach` answers about the actions on a key unless asked about others.
    for f in compare(&nothing, set)?.findings {
        let on_a_key = f
            .actions
            .into_iter()
            .filter(|a| keyward_policy::catalog::kms_action(a).is_some_and(|a| a.is_on_a_key()));
        let actions: Vec<String> = on_a_key.collect();
        if !actions.is_empty() {
            out.entry(place(&f.principal, f.kind, f.public))
                .or_default()
                .extend(actions);
        }
    }
    Ok(out)
}

/// By `reach`, confirming a witness of the first and last action of every caller.
fn by_reach(set: &PolicySet, question: &ReachQuestion) -> Result<Places, AnalysisError> {
    let found = reach(set, &KeyFacts::symmetric(KEY), question)?;
    let mut out = Places::new();
    for r in &found.reached {
        for action in [r.actions.first(), r.actions.last()].into_iter().flatten() {
            let witness = found.witness(r, *action)?;
            assert_eq!(
                witness.request["action"],
                json!(action.qualified_name()),
                "{}",
                r.principal
            );
        }
        out.entry(place(&r.principal, r.kind, r.public))
            .or_default()
            .extend(r.actions.iter().map(|a| a.qualified_name().to_owned()));
    }
    Ok(out)
}

#[test]
fn reach_agrees_with_the_diff_against_nothing_on_every_corpus_policy() {
    let mut compared = 0;
    for (name, policy) in key_policies() {
        let set = assumed(&policy);
        let Ok(expected) = by_diff(&set) else {
            continue;
        };
        let got =
            by_reach(&set, &ReachQuestion::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, expected, "{name}");
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} policies compared");
}

/// The lint corpus's public-access cases (JSON policies only).
fn lint_policies() -> Vec<(String, serde_json::Value)> {
    let dir = crate::common::fixtures().join("lint");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("public-access")
            && name.ends_with(".json")
            && !name.contains("terraform")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((format!("lint/{name}"), serde_json::from_str(&text).unwrap()));
        }
    }
    out
}

#[test]
fn reach_outside_organizations_agrees_with_no_public_access() {
    let mut failing = 0;
    for (name, policy) in key_policies().into_iter().chain(lint_policies()) {
        let set = assumed(&policy);
        let Ok(check) = check_no_public_access(&set, &KeyFacts::symmetric(KEY)) else {
            continue;
        };
        let expected: BTreeSet<String> = check
            .findings
            .iter()
            .filter(|f| f.public)
            .flat_map(|f| f.actions.iter().cloned())
            .collect();
        let question = ReachQuestion {
            strangers_outside_organizations: true,
            ..ReachQuestion::default()
        };
        let got: BTreeSet<String> = by_reach(&set, &question)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .remove("public")
            .unwrap_or_default();
        assert_eq!(got, expected, "{name}");
        failing += usize::from(!expected.is_empty());
    }
    assert!(failing >= 3, "only {failing} policies allow public access");
}

#[test]
fn direct_actions_leave_out_what_a_service_must_make() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
         "Action": ["kms:Decrypt", "kms:CreateGrant"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
         "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    ]});
    let set = PolicySet {
        identity_policies: Some(Vec::new()),
        ..assumed(&policy)
    };
    // The role's actions (the account may retire grants through IAM alone, whatever the
    // key policy says).
    let actions = |question: &ReachQuestion| -> BTreeSet<String> {
        let found = reach(&set, &KeyFacts::symmetric(KEY), question).unwrap();
        found
            .reached
            .iter()
            .filter(|r| r.principal == "arn:aws:iam::111122223333:role/App")
            .flat_map(|r| {
                for a in &r.actions {
                    found.witness(r, *a).unwrap();
                }
                r.actions.iter().map(|a| a.qualified_name().to_owned())
            })
            .collect()
    };
    assert_eq!(
        actions(&ReachQuestion::default()),
        BTreeSet::from(["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"].map(String::from))
    );
    let all: Vec<_> = ["kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"]
        .iter()
        .map(|a| kms_action(a).unwrap())
        .collect();
    let direct = ReachQuestion {
        direct_actions: all,
        ..ReachQuestion::default()
    };
    assert_eq!(
        actions(&direct),
        BTreeSet::from(["kms:DescribeKey".to_owned()])
    );
}

#[test]
fn the_actions_asked_about_are_the_only_ones_answered() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"}]});
    let put = kms_action("kms:PutKeyPolicy").unwrap();
    let question = ReachQuestion {
        actions: vec![put],
        ..ReachQuestion::default()
    };
    let found = reach(&assumed(&policy), &KeyFacts::symmetric(KEY), &question).unwrap();
    assert!(!found.reached.is_empty());
    assert!(found.reached.iter().all(|r| r.actions == [put]));
    // An action the caller is not allowed has no witness.
    let decrypt = kms_action("kms:Decrypt").unwrap();
    assert!(matches!(
        found.witness(&found.reached[0], decrypt),
        Err(AnalysisError::Input(_))
    ));
}

/// An account a policy names only in a test of the caller's account is named: its principals
/// are not anyone's. Only a pattern leaves the account open to anyone it matches.
#[test]
fn an_account_named_only_in_a_caller_account_condition_is_not_public() {
    let policy = |operator: &str, account: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {operator: {"kms:CallerAccount": account}}}]})
    };
    let key = KeyFacts::symmetric(KEY);
    let question = ReachQuestion {
        strangers_outside_organizations: true,
        ..ReachQuestion::default()
    };
    let named = assumed(&policy("StringEquals", "444455556666"));
    assert_eq!(check_no_public_access(&named, &key).unwrap().result, "PASS");
    let found = reach(&named, &key, &question).unwrap();
    assert!(found.reached.iter().all(|r| !r.public));
    assert!(
        found
            .reached
            .iter()
            .any(|r| r.account.as_deref() == Some("444455556666"))
    );
    let pattern = assumed(&policy("StringLike", "4444*"));
    assert_eq!(
        check_no_public_access(&pattern, &key).unwrap().result,
        "FAIL"
    );
    assert!(
        reach(&pattern, &key, &question)
            .unwrap()
            .reached
            .iter()
            .any(|r| r.public)
    );
}

/// A key policy whose administrators have the tag `team` in `admins` (a JSON value) and
/// whose users have it equal to `users`.
fn tagged_duties(admins: &str, users: &str) -> PolicySet {
    PolicySet {
        key_policy: format!(
            r#"{{"Version": "2012-10-17", "Statement": [
            {{"Sid": "Administrators", "Effect": "Allow", "Principal": {{"AWS": "*"}},
              "Action": "kms:PutKeyPolicy", "Resource": "*",
              "Condition": {{"StringEquals": {{"aws:PrincipalAccount": "111122223333",
                                              "aws:PrincipalTag/team": {admins}}}}}}},
            {{"Sid": "Users", "Effect": "Allow", "Principal": {{"AWS": "*"}},
              "Action": "kms:Decrypt", "Resource": "*",
              "Condition": {{"StringEquals": {{"aws:PrincipalAccount": "111122223333",
                                              "aws:PrincipalTag/team": "{users}"}}}}}}]}}"#
        ),
        identity_policies: Some(Vec::new()),
        grants: Vec::new(),
    }
}

#[test]
fn witnesses_together_find_one_principal_for_both_wherever_its_facts_allow_both() {
    let put = kms_action("kms:PutKeyPolicy").unwrap();
    let decrypt = kms_action("kms:Decrypt").unwrap();
    let question = ReachQuestion {
        actions: vec![put, decrypt],
        ..ReachQuestion::default()
    };
    for admins in [
        r#"["ops", "admins"]"#,
        r#"["admins", "ops"]"#,
        r#""admins""#,
    ] {
        let set = tagged_duties(admins, "admins");
        let found = reach(&set, &KeyFacts::symmetric(KEY), &question).unwrap();
        let users = found
            .reached
            .iter()
            .find(|r| r.principal == "arn:aws:iam::111122223333:user/*")
            .unwrap();
        let (admin, user) = found
            .witnesses_together(users, &[put], &[decrypt])
            .unwrap()
            .expect("a principal tagged admins does both");
        for (w, action) in [(&admin, "kms:PutKeyPolicy"), (&user, "kms:Decrypt")] {
            assert_eq!(w.request["action"], action);
            assert_eq!(
                w.request["context"]["aws:PrincipalTag/team"], "admins",
                "{admins}: {}",
                w.request
            );
        }
    }
    // Told apart by the tag: administrators are ops, users are admins. No principal does both,
    // though each is reached.
    let set = tagged_duties(r#""ops""#, "admins");
    let found = reach(&set, &KeyFacts::symmetric(KEY), &question).unwrap();
    let users = found
        .reached
        .iter()
        .find(|r| r.principal == "arn:aws:iam::111122223333:user/*")
        .unwrap();
    assert_eq!(users.actions, [decrypt, put]);
    assert!(
        found
            .witnesses_together(users, &[put], &[decrypt])
            .unwrap()
            .is_none()
    );
}

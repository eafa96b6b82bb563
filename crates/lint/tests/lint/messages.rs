//! The security findings say which request the engine allowed and why a condition did not stop
//! it, so a reviewer can act without re-deriving the evaluation.

use keyward_lint::{LintOptions, lint};

fn message(fixture: &str, rule: &str) -> String {
    let text = std::fs::read_to_string(crate::common::fixture(&format!("{fixture}.json"))).unwrap();
    lint(&text, &LintOptions::default())
        .into_iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("{fixture}: no {rule}"))
        .message
}

#[test]
fn public_access_names_the_request_and_the_weak_condition() {
    assert_eq!(
        message("public-access-stringlike-star", "public-access"),
        "any principal in any account can kms:Decrypt (a role in account 999999999999 was allowed): `kms:CallerAccount` is only tested with StringLike \"*\""
    );
    assert_eq!(
        message("public-access-ifexists", "public-access"),
        "any principal in any account can kms:Decrypt (a role in account 999999999999 was allowed): `aws:PrincipalOrgID` is only tested with StringEqualsIfExists \"o-a1b2c3d4e5\", which holds for a caller that has no value for it"
    );
    assert_eq!(
        message("public-access-no-condition", "public-access"),
        "any principal in any account can kms:Decrypt (a role in account 999999999999 was allowed): no condition restricts the caller's account or organization"
    );
}

#[test]
fn cross_account_access_names_the_identity_and_the_flag_that_accepts_it() {
    assert_eq!(
        message(
            "cross-account-access-named-role-in-organization",
            "cross-account-access"
        ),
        "`arn:aws:iam::444455556666:role/auditor` of account 444455556666, outside 111122223333 and the trusted accounts, can kms:Decrypt, kms:DescribeKey; if that account is meant to use the key, pass --trusted-account 444455556666"
    );
}

#[test]
fn lockout_names_who_was_tried() {
    assert_eq!(
        message("lockout-risk-deny-putkeypolicy", "lockout-risk"),
        "this Deny leaves nobody able to call kms:PutKeyPolicy (tried the account root, an administrator role of account 111122223333 and 2 principals the policy names): the key could not be managed again without AWS Support"
    );
}

#[test]
fn separation_of_duties_names_both_sides() {
    assert_eq!(
        message("no-separation-of-duties-direct", "no-separation-of-duties"),
        "`arn:aws:iam::111122223333:role/Ops` administers the key (kms:PutKeyPolicy, kms:ScheduleKeyDeletion) and can also use it: kms:Decrypt; give administration and use to different principals"
    );
}

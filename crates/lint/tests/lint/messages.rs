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
        "any principal in any account, in no organization, can kms:Decrypt: `kms:CallerAccount` is only tested with StringLike \"*\"; for example `arn:aws:iam::999999999999:root` calling kms:Decrypt is allowed"
    );
    assert_eq!(
        message("public-access-ifexists", "public-access"),
        "any principal in any account, in no organization, can kms:Decrypt: `aws:PrincipalOrgID` is only tested with StringEqualsIfExists \"o-a1b2c3d4e5\", which holds for a caller that has no value for it; for example `arn:aws:iam::999999999999:root` calling kms:Decrypt is allowed"
    );
    assert_eq!(
        message("public-access-no-condition", "public-access"),
        "any principal in any account, in no organization, can kms:Decrypt: no condition restricts the caller's account or organization; for example `arn:aws:iam::999999999999:root` calling kms:Decrypt is allowed"
    );
}

#[test]
fn cross_account_access_names_the_identity_and_the_flag_that_accepts_it() {
    assert_eq!(
        message(
            "cross-account-access-named-role-in-organization",
            "cross-account-access"
        ),
        "`arn:aws:iam::444455556666:role/auditor` of account 444455556666, outside 111122223333 and the trusted accounts, can kms:Decrypt, kms:DescribeKey; for example `arn:aws:iam::444455556666:role/auditor` calling kms:Decrypt with aws:PrincipalOrgID=o-a1b2c3d4e5 is allowed; if that account is meant to use the key, pass --trusted-account 444455556666"
    );
}

#[test]
fn lockout_says_every_kind_of_caller_was_decided() {
    assert_eq!(
        message("lockout-risk-deny-putkeypolicy", "lockout-risk"),
        "this Deny leaves nobody able to call kms:PutKeyPolicy, proved over every kind of caller (13 in all: the root user and principals of account 111122223333, those the policy names, other accounts, anyone, AWS services) with identity policies that allow everything: the key could not be managed again without AWS Support"
    );
}

#[test]
fn separation_of_duties_names_both_sides() {
    assert_eq!(
        message("no-separation-of-duties-direct", "no-separation-of-duties"),
        "`arn:aws:iam::111122223333:role/Ops` administers the key (kms:PutKeyPolicy, kms:ScheduleKeyDeletion) and can also use it: kms:Decrypt; for example `arn:aws:iam::111122223333:role/Ops` calling kms:Decrypt is allowed; give administration and use to different principals"
    );
}

#[test]
fn a_wildcard_under_an_exact_negated_operator_says_what_the_deny_does() {
    let one = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/team-*"}}}]}"#;
    let found = lint(one, &LintOptions::default());
    let finding = found
        .iter()
        .find(|f| f.rule == "wildcard-in-exact-operator")
        .unwrap();
    assert!(
        finding
            .message
            .contains("the Deny refuses every request it covers"),
        "{}",
        finding.message
    );
    assert!(finding.message.contains("Use StringNotLike"));
    assert_eq!(
        message(
            "wildcard-in-exact-operator-deny-negated",
            "wildcard-in-exact-operator"
        ),
        "`arn:aws:iam::111122223333:role/team-?` under StringNotEquals is compared as written: `*` and `?` are plain characters here, not wildcards. In this Deny, no request carries that literal text, so it exempts nobody from the Deny. Use StringNotLike if a pattern is meant."
    );
}

#[test]
fn a_source_condition_that_holds_without_a_source_does_not_count() {
    assert!(
        message(
            "service-principal-without-source-condition-if-exists",
            "service-principal-without-source-condition"
        )
        .starts_with("sns.amazonaws.com, sqs.amazonaws.com may use the key for a resource of any account: no aws:SourceArn or aws:SourceAccount condition (a negated or ...IfExists test does not count)")
    );
}

#[test]
fn a_dead_statement_says_why_it_never_applies() {
    assert_eq!(
        message("dead-statement-create-key", "dead-statement"),
        "kms:CreateKey, kms:ListAliases have no key as their resource, so a key policy never decides them: IAM policies do; this statement never applies"
    );
    assert!(
        message(
            "dead-statement-via-service-service-principal",
            "dead-statement"
        )
        .contains("a service principal calling for itself carries no kms:ViaService")
    );
}

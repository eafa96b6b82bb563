//! The evaluation rules, each pinned by a test named after it (IAM User Guide: "IAM JSON policy
//! elements: Condition operators", "Single-valued vs. multivalued context keys", "IAM policy
//! elements: Variables and tags", "IAM JSON policy elements: Supported data types"; where the
//! guide is silent, the choice Keyward made, named by its test).

use crate::common::{compile, ctx};
use keyward_conditions::{Actual, CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;

fn holds(json: &str, context: &RequestContext) -> bool {
    compile(json, true).evaluate(context)
}

fn with_set(key: &str, values: &[&str]) -> RequestContext {
    let mut c = RequestContext::new();
    c.insert_multi(key, values.iter().copied());
    c
}

#[test]
fn several_values_for_one_key_are_ored() {
    let c = r#"{"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"]}}"#;
    assert!(holds(
        c,
        &ctx(&[("kms:ViaService", "rds.us-east-1.amazonaws.com")])
    ));
    assert!(!holds(
        c,
        &ctx(&[("kms:ViaService", "ec2.us-east-1.amazonaws.com")])
    ));
}

#[test]
fn several_keys_and_several_operators_are_anded() {
    let keys = r#"{"StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}}"#;
    let both = ctx(&[
        ("kms:CallerAccount", "111122223333"),
        ("kms:ViaService", "s3.us-east-1.amazonaws.com"),
    ]);
    assert!(holds(keys, &both));
    assert!(!holds(keys, &ctx(&[("kms:CallerAccount", "111122223333")])));
    let ops = r#"{"StringEquals": {"kms:CallerAccount": "111122223333"}, "Bool": {"aws:SecureTransport": "true"}}"#;
    assert!(!holds(ops, &both));
    let mut secure = both.clone();
    secure.insert_single("aws:SecureTransport", "true");
    assert!(holds(ops, &secure));
}

#[test]
fn negated_operators_with_several_values_are_nor() {
    let c = r#"{"StringNotEquals": {"aws:PrincipalOrgID": ["o-aaa", "o-bbb"]}}"#;
    assert!(
        !holds(c, &ctx(&[("aws:PrincipalOrgID", "o-aaa")])),
        "matching one value is enough to fail"
    );
    assert!(!holds(c, &ctx(&[("aws:PrincipalOrgID", "o-bbb")])));
    assert!(holds(c, &ctx(&[("aws:PrincipalOrgID", "o-ccc")])));
    let ip = r#"{"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}"#;
    assert!(!holds(ip, &ctx(&[("aws:SourceIp", "203.0.113.9")])));
    assert!(holds(ip, &ctx(&[("aws:SourceIp", "198.51.100.1")])));
}

#[test]
fn ordering_operators_are_not_negated() {
    let c = r#"{"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": ["10", "20"]}}"#;
    assert!(
        holds(
            c,
            &ctx(&[("kms:ScheduleKeyDeletionPendingWindowInDays", "15")])
        ),
        "OR over values"
    );
    assert!(
        !holds(c, &RequestContext::new()),
        "a missing key makes an ordering operator false"
    );
}

#[test]
fn a_missing_key_makes_positive_operators_false_and_negated_operators_true() {
    let empty = RequestContext::new();
    for positive in [
        r#"{"StringEquals": {"kms:ViaService": "x"}}"#,
        r#"{"StringLike": {"kms:ViaService": "*"}}"#,
        r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}"#,
        r#"{"Bool": {"aws:SecureTransport": "false"}}"#,
        r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
        r#"{"ArnLike": {"aws:PrincipalArn": "arn:*:*:*:*:*"}}"#,
        r#"{"BinaryEquals": {"aws:UserAgent": "QmluYXJ5"}}"#,
    ] {
        assert!(!holds(positive, &empty), "{positive}");
    }
    for negated in [
        r#"{"StringNotEquals": {"kms:ViaService": "x"}}"#,
        r#"{"StringNotLike": {"kms:ViaService": "*"}}"#,
        r#"{"StringNotEqualsIgnoreCase": {"kms:ViaService": "x"}}"#,
        r#"{"NumericNotEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"DateNotEquals": {"aws:CurrentTime": "2020-01-01"}}"#,
        r#"{"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
        r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:*:*:*:*:*"}}"#,
        r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/x"}}"#,
    ] {
        assert!(holds(negated, &empty), "{negated}");
    }
}

#[test]
fn if_exists_on_a_missing_key_is_true_and_on_a_present_key_is_the_operator() {
    let c = r#"{"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}"#;
    assert!(holds(c, &RequestContext::new()));
    assert!(holds(
        c,
        &ctx(&[("kms:ViaService", "s3.us-east-1.amazonaws.com")])
    ));
    assert!(!holds(
        c,
        &ctx(&[("kms:ViaService", "ec2.us-east-1.amazonaws.com")])
    ));
    let deny_style = r#"{"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}"#;
    assert!(
        holds(deny_style, &RequestContext::new()),
        "a Deny with a negated IfExists still applies when missing"
    );
}

#[test]
fn for_all_values_on_a_missing_key_or_empty_set_is_true_and_for_any_value_false() {
    let all = r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}}"#;
    let any = r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}}"#;
    for context in [
        RequestContext::new(),
        with_set("kms:EncryptionContextKeys", &[]),
    ] {
        assert!(holds(all, &context));
        assert!(!holds(any, &context));
    }
    let negated_any = r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": "x"}}"#;
    assert!(
        !holds(negated_any, &RequestContext::new()),
        "missing: ForAnyValue is false whatever the negation"
    );
}

#[test]
fn for_all_values_needs_every_request_value_to_match_and_for_any_value_one() {
    let all = r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["Env", "Owner"]}}"#;
    assert!(holds(all, &with_set("aws:TagKeys", &["Env"])));
    assert!(holds(all, &with_set("aws:TagKeys", &["Owner", "Env"])));
    assert!(!holds(all, &with_set("aws:TagKeys", &["Env", "Cost"])));
    let any = r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["A", "B"]}}"#;
    assert!(!holds(any, &with_set("aws:TagKeys", &["A", "B"])));
    assert!(holds(any, &with_set("aws:TagKeys", &["C", "A"])));
}

#[test]
fn for_any_value_if_exists_on_a_missing_key_is_true() {
    // Undocumented by AWS; Keyward's choice: true whenever IfExists is present.
    let c = r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "Env"}}"#;
    assert!(holds(c, &RequestContext::new()));
    assert!(!holds(c, &with_set("aws:TagKeys", &["Owner"])));
}

#[test]
fn a_single_valued_operator_on_a_multivalued_key_is_false() {
    let set = with_set("kms:ResourceAliases", &["alias/app"]);
    assert!(!holds(
        r#"{"StringEquals": {"kms:ResourceAliases": "alias/app"}}"#,
        &set
    ));
    assert!(!holds(
        r#"{"StringNotEquals": {"kms:ResourceAliases": "alias/other"}}"#,
        &set
    ));
    assert!(holds(
        r#"{"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/app"}}"#,
        &set
    ));
}

#[test]
fn a_set_operator_on_a_single_valued_key_treats_it_as_a_set_of_one() {
    let c = r#"{"ForAnyValue:StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}"#;
    assert!(holds(
        c,
        &ctx(&[("kms:ViaService", "s3.us-east-1.amazonaws.com")])
    ));
}

#[test]
fn null_true_means_missing_and_false_means_present() {
    let missing = r#"{"Null": {"kms:EncryptionContextKeys": "true"}}"#;
    let present = r#"{"Null": {"kms:EncryptionContextKeys": false}}"#;
    let mut with_context = RequestContext::new();
    with_context.insert_encryption_context([("app", "x")]);
    assert!(holds(missing, &RequestContext::new()) && !holds(missing, &with_context));
    assert!(!holds(present, &RequestContext::new()) && holds(present, &with_context));
    assert!(
        holds(
            r#"{"Null": {"aws:SourceVpce": ["true", "false"]}}"#,
            &RequestContext::new()
        ),
        "values are ORed"
    );
}

#[test]
fn condition_key_names_are_case_insensitive_and_values_follow_the_operator() {
    let c = r#"{"StringEquals": {"KMS:ENCRYPTIONCONTEXT:DEPARTMENT": "Finance"}}"#;
    let mut request = RequestContext::new();
    request.insert_encryption_context([("department", "Finance")]);
    assert!(
        holds(c, &request),
        "the whole key name, context key included, ignores case"
    );
    let mut lower = RequestContext::new();
    lower.insert_encryption_context([("Department", "finance")]);
    assert!(!holds(c, &lower), "StringEquals compares values with case");
    assert!(holds(
        r#"{"StringEqualsIgnoreCase": {"kms:EncryptionContext:Department": "FINANCE"}}"#,
        &lower
    ));
}

#[test]
fn string_like_star_matches_any_run_and_question_mark_one_character() {
    let c = r#"{"StringLike": {"kms:RequestAlias": "alias/app-?-*"}}"#;
    assert!(holds(c, &ctx(&[("kms:RequestAlias", "alias/app-1-")])));
    assert!(holds(
        c,
        &ctx(&[("kms:RequestAlias", "alias/app-1-prod/x:y")])
    ));
    assert!(!holds(c, &ctx(&[("kms:RequestAlias", "alias/app--prod")])));
    assert!(!holds(
        c,
        &ctx(&[("kms:RequestAlias", "alias/app-12-prod")])
    ));
    assert!(
        !holds(
            r#"{"StringEquals": {"kms:RequestAlias": "alias/*"}}"#,
            &ctx(&[("kms:RequestAlias", "alias/x")])
        ),
        "StringEquals has no wildcards"
    );
    assert!(
        !holds(
            r#"{"StringLike": {"kms:RequestAlias": "ALIAS/*"}}"#,
            &ctx(&[("kms:RequestAlias", "alias/x")])
        ),
        "StringLike is case-sensitive"
    );
}

#[test]
fn arn_operators_match_segment_by_segment() {
    let value =
        "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    let request = ctx(&[("aws:SourceArn", value)]);
    assert!(holds(
        r#"{"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}}"#,
        &request
    ));
    assert!(!holds(
        r#"{"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}}"#,
        &request
    ));
    assert!(
        holds(
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:someservice:*:999999999999:store/*"}}"#,
            &request
        ),
        "ArnEquals takes wildcards like ArnLike"
    );
    assert!(!holds(
        r#"{"ArnLike": {"aws:SourceArn": "arn:aws:*:*:*:*"}}"#,
        &ctx(&[("aws:SourceArn", "not-an-arn")])
    ));
    assert!(
        holds(
            r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:*:*:*:*"}}"#,
            &ctx(&[("aws:SourceArn", "not-an-arn")])
        ),
        "a value that is no ARN matches nothing"
    );
}

#[test]
fn dates_compare_as_instants_in_every_w3c_form_and_epoch_seconds() {
    let now = ctx(&[("aws:CurrentTime", "2026-11-23T10:00:00Z")]);
    for earlier in [
        "2026",
        "2026-11",
        "2026-11-23",
        "2026-11-23T09:59Z",
        "2026-11-23T10:59:59+01:00",
        "1795000000",
    ] {
        let c = format!(r#"{{"DateGreaterThan": {{"aws:CurrentTime": "{earlier}"}}}}"#);
        assert!(holds(&c, &now), "{earlier}");
    }
    assert!(
        holds(
            r#"{"DateEquals": {"aws:CurrentTime": "2026-11-23T11:00:00+01:00"}}"#,
            &now
        ),
        "same instant, other offset"
    );
    assert!(holds(
        r#"{"DateLessThanEquals": {"aws:EpochTime": "2026-11-23T10:00:00Z"}}"#,
        &ctx(&[("aws:EpochTime", "1795428000")])
    ));
    assert!(
        holds(
            r#"{"NumericLessThan": {"aws:EpochTime": 1795428001}}"#,
            &ctx(&[("aws:EpochTime", "1795428000")])
        ),
        "aws:EpochTime also works with numbers"
    );
}

#[test]
fn numbers_are_integers_or_decimals_compared_by_value() {
    let c = r#"{"NumericEquals": {"kms:RotationPeriodInDays": 2.5}}"#;
    assert!(holds(c, &ctx(&[("kms:RotationPeriodInDays", "2.50")])));
    assert!(
        holds(
            r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "10"}}"#,
            &ctx(&[("aws:MultiFactorAuthAge", "9")])
        ),
        "9 < 10 numerically, not as text"
    );
    assert!(
        !holds(
            r#"{"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &ctx(&[("aws:MultiFactorAuthAge", "ten")])
        ),
        "a request value that is no number fails a positive operator"
    );
}

#[test]
fn ip_addresses_match_ipv4_and_ipv6_cidrs_and_never_across_families() {
    let c = r#"{"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64", "198.51.100.7"]}}"#;
    assert!(holds(c, &ctx(&[("aws:SourceIp", "203.0.113.200")])));
    assert!(holds(
        c,
        &ctx(&[("aws:SourceIp", "2001:db8:1234:5678:abcd::1")])
    ));
    assert!(
        holds(c, &ctx(&[("aws:SourceIp", "198.51.100.7")])),
        "a bare address is /32"
    );
    assert!(!holds(c, &ctx(&[("aws:SourceIp", "198.51.100.8")])));
    assert!(
        !holds(
            r#"{"IpAddress": {"aws:SourceIp": "::/0"}}"#,
            &ctx(&[("aws:SourceIp", "203.0.113.1")])
        ),
        "v6 never contains v4"
    );
}

#[test]
fn bool_accepts_text_and_json_forms_in_any_case() {
    for policy in [
        r#"{"Bool": {"aws:SecureTransport": true}}"#,
        r#"{"Bool": {"aws:SecureTransport": "TRUE"}}"#,
    ] {
        assert!(holds(policy, &ctx(&[("aws:SecureTransport", "true")])));
        assert!(holds(policy, &ctx(&[("aws:SecureTransport", "True")])));
        assert!(!holds(policy, &ctx(&[("aws:SecureTransport", "false")])));
        assert!(!holds(policy, &ctx(&[("aws:SecureTransport", "yes")])));
    }
}

#[test]
fn binary_values_are_base64_compared_byte_for_byte() {
    let c = r#"{"BinaryEquals": {"aws:UserAgent": "QmluYXJ5"}}"#;
    assert!(holds(c, &ctx(&[("aws:UserAgent", "QmluYXJ5")])));
    assert!(!holds(c, &ctx(&[("aws:UserAgent", "QmluYXJ6")])));
}

#[test]
fn policy_variables_are_substituted_only_under_2012_10_17() {
    let c = r#"{"StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"}}"#;
    let mut request = ctx(&[("aws:username", "alice")]);
    request.insert_encryption_context([("owner", "alice")]);
    assert!(compile(c, true).evaluate(&request));
    assert!(
        !compile(c, false).evaluate(&request),
        "2008-10-17 or no Version: the text is literal"
    );
    let mut literal = ctx(&[("aws:username", "alice")]);
    literal.insert_encryption_context([("owner", "${aws:username}")]);
    assert!(compile(c, false).evaluate(&literal));
}

#[test]
fn a_variable_with_no_value_fails_positive_operators_and_satisfies_negated_ones() {
    let mut request = RequestContext::new();
    request.insert_single("aws:ResourceTag/team", "");
    assert!(
        !holds(
            r#"{"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}"#,
            &request
        ),
        "not even the empty string"
    );
    assert!(holds(
        r#"{"StringNotEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}"#,
        &request
    ));
    assert!(!holds(
        r#"{"StringLike": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}*"}}"#,
        &request
    ));
}

#[test]
fn policy_variable_defaults_and_escapes() {
    let c = r#"{"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team, 'shared'}"}}"#;
    assert!(holds(c, &ctx(&[("aws:ResourceTag/team", "shared")])));
    assert!(holds(
        c,
        &ctx(&[
            ("aws:ResourceTag/team", "blue"),
            ("aws:PrincipalTag/team", "blue")
        ])
    ));
    let star = r#"{"StringLike": {"kms:RequestAlias": "alias/${*}-${aws:username}-*"}}"#;
    assert!(holds(
        star,
        &ctx(&[
            ("kms:RequestAlias", "alias/*-bob-1"),
            ("aws:username", "bob")
        ])
    ));
    assert!(
        !holds(
            star,
            &ctx(&[
                ("kms:RequestAlias", "alias/x-bob-1"),
                ("aws:username", "bob")
            ])
        ),
        "the escape is a literal star"
    );
    let substituted = r#"{"StringLike": {"kms:RequestAlias": "alias/${aws:username}"}}"#;
    assert!(
        !holds(
            substituted,
            &ctx(&[
                ("kms:RequestAlias", "alias/anything"),
                ("aws:username", "*")
            ])
        ),
        "substituted text is never a wildcard"
    );
    let arn = r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}"#;
    assert!(holds(
        arn,
        &ctx(&[
            ("aws:PrincipalArn", "arn:aws:iam::111122223333:role/App"),
            ("aws:PrincipalAccount", "111122223333")
        ])
    ));
    assert!(!holds(
        arn,
        &ctx(&[
            ("aws:PrincipalArn", "arn:aws:iam::444455556666:role/App"),
            ("aws:PrincipalAccount", "111122223333")
        ])
    ));
}

#[test]
fn variables_are_not_substituted_in_numeric_date_ip_or_binary_values() {
    let block =
        parse_condition_block(r#"{"DateLessThan": {"aws:CurrentTime": "${aws:TokenIssueTime}"}}"#)
            .unwrap();
    let errors = CompiledCondition::new(&block, true).unwrap_err();
    assert_eq!(errors.errors()[0].code(), "invalid-condition-value");
}

#[test]
fn unreadable_policy_values_are_errors_at_their_position() {
    let text = r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.300"]}}"#;
    let errors = CompiledCondition::new(&parse_condition_block(text).unwrap(), true).unwrap_err();
    let e = &errors.errors()[0];
    assert_eq!(e.code(), "invalid-condition-value");
    assert_eq!(&text[e.span.start..e.span.end], "\"10.0.0.300\"");
    assert_eq!(errors.len(), 1);
}

#[test]
fn explanations_say_what_was_expected_and_what_the_request_had() {
    let c = compile(
        r#"{"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:EncryptionContext:owner": "${aws:username}"}, "Bool": {"aws:SecureTransport": "true"}}"#,
        true,
    );
    let request = ctx(&[("kms:ViaService", "ec2.us-east-1.amazonaws.com")]);
    let outcomes = c.explain(&request);
    assert_eq!(outcomes.len(), 3);
    assert_eq!(
        outcomes[0].actual,
        Actual::Single("ec2.us-east-1.amazonaws.com".into())
    );
    assert!(!outcomes[0].holds);
    assert_eq!(
        outcomes[1].expected,
        ["${aws:username} (aws:username has no value)"]
    );
    assert_eq!(outcomes[1].actual, Actual::Missing);
    assert_eq!(
        outcomes[2].to_string(),
        "Bool aws:SecureTransport: expected `true`, request has missing (fails)"
    );
    assert_eq!(
        c.first_failure(&request).map(|o| o.key),
        Some("kms:ViaService".to_owned())
    );
    let set = with_set("aws:TagKeys", &["a", "b"]);
    let any = compile(
        r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["c", "d"]}}"#,
        true,
    );
    assert_eq!(
        any.explain(&set)[0].to_string(),
        "ForAnyValue:StringEquals aws:TagKeys: expected one of `c`, `d`, request has [`a`, `b`] (fails)"
    );
}

//! A whole decision on the fast path (`Authorizer::verdict`) allocates nothing: the caller
//! and resource parsed once, every statement's principal, resource and conditions, the
//! grants, the identity policies and the alias's own checks.
//!
//! The counting allocator sees every allocation of the process, so this runs as a plain
//! program (`harness = false`): no other thread is running while it counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_authz::{Authorizer, Request, Verdict};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn main() {
    let cases = cases();
    for (name, text, expected) in &cases {
        assert_eq!(decision_allocates_nothing(name, text), *expected, "{name}");
    }
    println!("no_allocation: {} passed, 0 failed", cases.len());
}

fn decision_allocates_nothing(name: &str, text: &str) -> Verdict {
    let request = Request::parse(text).unwrap();
    let authorizer = Authorizer::for_request(&request).unwrap();
    let expected = authorizer.verdict(&request);
    let region = Region::new(GLOBAL);
    for _ in 0..1_000 {
        assert_eq!(
            black_box(&authorizer).verdict(black_box(&request)),
            expected
        );
    }
    let change = region.change();
    assert_eq!(
        (change.allocations, change.reallocations),
        (0, 0),
        "{name}: deciding allocated: {change:?}"
    );
    // The counter works: explaining allocates.
    let region = Region::new(GLOBAL);
    black_box(authorizer.decide(&request));
    assert!(region.change().allocations > 0, "{name}: nothing counted");
    expected
}

fn root_statement() -> serde_json::Value {
    json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
           "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"})
}

fn cases() -> Vec<(&'static str, String, Verdict)> {
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:CreateAlias"],
         "Resource": ["arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:*:111122223333:alias/app-*"]},
        {"Sid": "OwnKeys", "Effect": "Allow", "Action": "kms:ReEncrypt*",
         "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/key}"}]});
    let console = json!({"Version": "2012-10-17", "Statement": [
        root_statement(),
        {"Sid": "Use", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/PaymentsApp"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:service": "payments",
                                        "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"},
                       "ForAllValues:StringLike": {"kms:EncryptionContextKeys": ["service", "tenant"]}}},
        {"Sid": "Deny outside the organization", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
         "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "NoRetire", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:RetireGrant", "Resource": "*"}
    ]});
    let grants: Vec<serde_json::Value> = (0..50)
        .map(|i| json!({"grant_id": format!("g-{i}"),
                        "grantee_principal": format!("arn:aws:iam::111122223333:role/worker-{i}"),
                        "operations": ["Decrypt", "GenerateDataKey"],
                        "constraints": {"encryption_context_subset": {"job": format!("job-{i}")}}}))
        .chain(std::iter::once(json!({"grant_id": "g-account",
                        "grantee_principal": "arn:aws:iam::111122223333:root", "operations": ["Encrypt"]})))
        .collect();
    let session = "arn:aws:sts::111122223333:assumed-role/PaymentsApp/i-0abc";
    vec![
        ("delegation to an identity policy", json!({
            "principal": "arn:aws:iam::111122223333:user/bob", "action": "kms:Decrypt", "resource": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "identity_policies": [identity]}).to_string(), Verdict::Allow),
        ("a policy variable in an identity policy's resource", json!({
            "principal": "arn:aws:iam::111122223333:user/bob", "action": "kms:ReEncryptFrom", "resource": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "identity_policies": [identity],
            "context": {"aws:PrincipalTag/key": "1234abcd-12ab-34cd-56ef-1234567890ab"}}).to_string(), Verdict::Allow),
        ("a session under conditions", json!({
            "principal": session, "action": "kms:Decrypt", "resource": KEY, "key_policy": console,
            "encryption_context": {"service": "payments", "tenant": "t-42"},
            "context": {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com",
                        "aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:SourceIp": "203.0.113.7"}}).to_string(), Verdict::Allow),
        ("an explicit deny", json!({
            "principal": session, "action": "kms:Decrypt", "resource": KEY, "key_policy": console,
            "encryption_context": {"service": "payments"},
            "context": {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com",
                        "aws:PrincipalOrgID": "o-other"}}).to_string(), Verdict::ExplicitDeny),
        ("a NotPrincipal deny", json!({
            "principal": session, "action": "kms:RetireGrant", "resource": KEY, "key_policy": console,
            "context": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}).to_string(), Verdict::ExplicitDeny),
        ("a grant with an encryption context constraint", json!({
            "principal": "arn:aws:sts::111122223333:assumed-role/worker-7/job", "action": "kms:Decrypt",
            "resource": KEY, "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "grants": grants, "encryption_context": {"job": "job-7"}}).to_string(), Verdict::Allow),
        ("a grant to the account", json!({
            "principal": "arn:aws:iam::111122223333:user/bob", "action": "kms:Encrypt",
            "resource": KEY, "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "grants": grants, "identity_policies": [identity]}).to_string(), Verdict::Allow),
        ("nothing applies", json!({
            "principal": "arn:aws:iam::444455556666:role/Other", "action": "kms:Decrypt",
            "resource": KEY, "key_policy": console, "grants": grants,
            "context": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}).to_string(), Verdict::ImplicitDeny),
        ("an alias operation", json!({
            "principal": "arn:aws:iam::111122223333:user/bob", "action": "kms:CreateAlias",
            "resource": "arn:aws:kms:us-east-1:111122223333:alias/app-payments", "target_key": KEY,
            "key_policy": {"Version": "2012-10-17", "Statement": [root_statement()]},
            "identity_policies": [identity]}).to_string(), Verdict::Allow),
    ]
}

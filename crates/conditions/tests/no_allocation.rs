//! Evaluating a compiled condition allocates nothing (the hot path of every decision).
//!
//! The counting allocator sees every allocation of the process, so this runs as a plain
//! program (`harness = false`): no other thread is running while it counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    evaluation_allocates_nothing();
    println!("no_allocation: 1 passed, 0 failed");
}

fn evaluation_allocates_nothing() {
    let blocks = [
        // The benchmark's 3-operator block.
        r#"{"StringEquals": {"kms:CallerAccount": ["111122223333", "444455556666"]},
            "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
            "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}"#,
        // Every other family, negations, IfExists, set operators, Null, and a StringEquals
        // with a policy variable (compared piecewise).
        r#"{"StringNotEqualsIgnoreCase": {"kms:ViaService": "ÉC2.US-EAST-1.AMAZONAWS.COM"},
            "StringLike": {"kms:RequestAlias": "alias/app-*"},
            "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"},
            "BoolIfExists": {"aws:SecureTransport": "true"},
            "BinaryEquals": {"aws:UserAgent": "QmluYXJ5"},
            "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/App"},
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["app", "dept"]},
            "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/app-*"},
            "Null": {"aws:SourceVpce": "true"},
            "StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"},
            "NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
    ];
    let mut ctx = RequestContext::new();
    ctx.insert_single("kms:CallerAccount", "444455556666");
    ctx.insert_single("aws:SourceIp", "203.0.113.7");
    ctx.insert_single("aws:CurrentTime", "2026-11-23T10:00:00Z");
    ctx.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
    ctx.insert_single("kms:RequestAlias", "alias/app-prod");
    ctx.insert_single("aws:MultiFactorAuthAge", "600");
    ctx.insert_single("aws:UserAgent", "QmluYXJ5");
    ctx.insert_single("aws:PrincipalArn", "arn:aws:iam::444455556666:role/App");
    ctx.insert_single("aws:username", "alice");
    ctx.insert_multi("kms:ResourceAliases", ["alias/app-prod", "alias/legacy"]);
    ctx.insert_encryption_context([("app", "payroll"), ("owner", "alice")]);
    for text in blocks {
        let condition =
            CompiledCondition::new(&parse_condition_block(text).unwrap(), true).unwrap();
        let expected = condition.evaluate(&ctx);
        let region = Region::new(GLOBAL);
        for _ in 0..1_000 {
            assert_eq!(black_box(&condition).evaluate(black_box(&ctx)), expected);
        }
        let change = region.change();
        assert_eq!(
            (change.allocations, change.reallocations),
            (0, 0),
            "evaluating {text} allocated: {change:?}"
        );
    }
    // The counter works: explaining allocates.
    let condition =
        CompiledCondition::new(&parse_condition_block(blocks[0]).unwrap(), true).unwrap();
    let region = Region::new(GLOBAL);
    black_box(condition.explain(&ctx));
    assert!(region.change().allocations > 0);
}

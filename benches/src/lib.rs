//! Shared inputs for the benchmarks in `benches/` and the instruction-count examples.

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;

/// The 3-operator condition block of the `conditions` benchmark: a string, an IP and a date
/// test, as a hardened key policy might combine them.
pub const THREE_OPERATOR_BLOCK: &str = r#"{
  "StringEquals": {"kms:CallerAccount": ["111122223333", "444455556666"]},
  "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
  "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}
}"#;

/// [`THREE_OPERATOR_BLOCK`] compiled (policy version 2012-10-17).
pub fn three_operator_condition() -> Option<CompiledCondition> {
    let block = parse_condition_block(THREE_OPERATOR_BLOCK).ok()?;
    CompiledCondition::new(&block, true).ok()
}

/// A request in which every test of [`THREE_OPERATOR_BLOCK`] holds (so all are evaluated).
pub fn matching_request() -> RequestContext {
    let mut ctx = RequestContext::new();
    ctx.insert_single("kms:CallerAccount", "444455556666");
    ctx.insert_single("aws:SourceIp", "203.0.113.7");
    ctx.insert_single("aws:CurrentTime", "2026-11-23T10:00:00Z");
    ctx.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
    ctx.insert_single("aws:PrincipalArn", "arn:aws:iam::444455556666:role/App");
    ctx
}

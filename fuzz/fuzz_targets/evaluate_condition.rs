//! Parse arbitrary input as a `Condition` block, compile it with and without policy variables,
//! and evaluate and explain it against a context with keys of every type: nothing may panic,
//! and the explanation must agree with the evaluation.
#![no_main]

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn context() -> &'static RequestContext {
    static CONTEXT: OnceLock<RequestContext> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let mut ctx = RequestContext::new();
        ctx.insert_single("aws:SourceIp", "203.0.113.7");
        ctx.insert_single("aws:CurrentTime", "2026-11-23T10:00:00Z");
        ctx.insert_single("aws:EpochTime", "1795428000");
        ctx.insert_single("aws:SecureTransport", "true");
        ctx.insert_single("aws:username", "alice");
        ctx.insert_single("aws:PrincipalArn", "arn:aws:iam::111122223333:role/App");
        ctx.insert_single("aws:UserAgent", "QmluYXJ5");
        ctx.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
        ctx.insert_multi("aws:TagKeys", ["a", "b*"]);
        ctx.insert_encryption_context([("dept", "finance"), ("Owner", "alice")]);
        ctx
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(block) = parse_condition_block(text) else {
        return;
    };
    for variables in [true, false] {
        if let Ok(condition) = CompiledCondition::new(&block, variables) {
            let holds = condition.evaluate(context());
            let outcomes = condition.explain(context());
            assert_eq!(holds, outcomes.iter().all(|o| o.holds));
            for o in &outcomes {
                let _ = o.to_string();
            }
        }
    }
});

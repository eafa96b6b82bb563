//! Properties every answer has: a policy compared with itself grants nothing new; adding a
//! Deny never adds access; the analysis decides every policy of the corpus that it does not
//! refuse with a reason.

use crate::common::{assumed, compare, key_policies};
use keyward_analysis::AnalysisError;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The corpus's policies the analysis decides (the others it refuses, each with a reason
/// that names what it does not follow, or are invalid on purpose).
fn analysed() -> &'static [(String, Value)] {
    static ANALYSED: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    ANALYSED.get_or_init(|| {
        key_policies()
            .into_iter()
            .filter(|(_, p)| compare(&assumed(p), &assumed(p)).is_ok())
            .collect()
    })
}

#[test]
fn a_policy_compared_with_itself_grants_nothing_new() {
    let mut refused = Vec::new();
    let mut passed = 0;
    for (name, policy) in key_policies() {
        match compare(&assumed(&policy), &assumed(&policy)) {
            Ok(report) => {
                assert_eq!(report.result, "PASS", "{name}: {:#?}", report.findings);
                passed += 1;
            }
            Err(AnalysisError::Unsupported(why)) => refused.push(format!("{name}: {why}")),
            Err(other) => panic!("{name}: {other}"),
        }
    }
    // The corpus's few policies outside the fragment say why; the rest are decided.
    assert!(passed >= 100, "{passed} decided; refused: {refused:#?}");
    assert!(refused.len() <= 6, "refused: {refused:#?}");
}

/// A Deny statement: of one principal (or everyone) and some actions, maybe under a
/// condition.
fn deny() -> impl Strategy<Value = Value> {
    let principal = prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "arn:aws:iam::111122223333:root"})),
        Just(json!({"AWS": "arn:aws:iam::444455556666:root"})),
        Just(json!({"AWS": "arn:aws:iam::111122223333:role/app"})),
        Just(json!({"Service": "logs.us-east-1.amazonaws.com"})),
    ];
    let actions = prop_oneof![
        Just(json!("kms:*")),
        Just(json!(["kms:Decrypt", "kms:Encrypt"])),
        Just(json!("kms:PutKeyPolicy")),
        Just(json!("kms:Create*")),
    ];
    let condition = prop_oneof![
        Just(None),
        Just(Some(
            json!({"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})
        )),
        Just(Some(json!({"Bool": {"aws:SecureTransport": "false"}}))),
        Just(Some(
            json!({"StringLike": {"kms:EncryptionContext:tenant": "a*"}})
        )),
    ];
    (principal, actions, condition).prop_map(|(principal, actions, condition)| {
        let mut statement = json!({
            "Sid": "AddedDeny", "Effect": "Deny", "Principal": principal,
            "Action": actions, "Resource": "*",
        });
        if let Some(condition) = condition {
            statement["Condition"] = condition;
        }
        statement
    })
}

fn with_statement(policy: &Value, statement: Value) -> Value {
    let mut out = policy.clone();
    let statements = match out.get_mut("Statement") {
        Some(Value::Array(items)) => items,
        Some(one) => {
            *one = Value::Array(vec![one.take()]);
            one.as_array_mut().unwrap()
        }
        None => panic!("no Statement"),
    };
    statements.push(statement);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the policy and the Deny, the policy with the Deny allows nothing the policy
    /// alone does not.
    #[test]
    fn adding_a_deny_never_adds_access(index in 0usize..1000, statement in deny()) {
        let corpus = analysed();
        let (name, policy) = &corpus[index % corpus.len()];
        let denied = with_statement(policy, statement);
        let report = compare(&assumed(policy), &assumed(&denied))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        prop_assert_eq!(report.result, "PASS", "{}: {:#?}", name, report.findings);
    }
}

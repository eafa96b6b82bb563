//! Properties of condition evaluation over generated conditions and contexts.

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::catalog;
use keyward_policy::parse_condition_block;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

/// Positive operators with a negated twin, a key, and generators of policy and request values
/// that sometimes match.
fn twin_case() -> impl Strategy<
    Value = (
        &'static str,
        &'static str,
        &'static str,
        Vec<String>,
        String,
    ),
> {
    let string = (vec("[ab]{1,3}", 1..4), "[abAB]{1,3}");
    let like = (vec("[ab*?]{1,4}", 1..4), "[ab]{0,4}");
    let number = (
        vec("-?[0-9]{1,2}(\\.[05])?", 1..4),
        "-?[0-9]{1,2}(\\.[05])?",
    );
    let date = (
        vec("2026-0[1-3]-0[1-3](T0[0-2]:00:00Z)?", 1..3),
        "2026-0[1-3]-0[1-3]T0[0-2]:00:00Z",
    );
    let ip = (
        vec("10\\.0\\.[0-3]\\.0/(24|30|32)", 1..3),
        "10\\.0\\.[0-3]\\.[0-3]",
    );
    let arn = (
        vec("arn:aws:iam::11112222333[3-4]:role/[ab*]{1,2}", 1..3),
        "arn:aws:iam::11112222333[3-4]:role/[ab]{1,2}",
    );
    prop_oneof![
        string.clone().prop_map(|(p, r)| (
            "StringEquals",
            "StringNotEquals",
            "aws:ResourceTag/team",
            p,
            r
        )),
        string.prop_map(|(p, r)| (
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "aws:ResourceTag/team",
            p,
            r
        )),
        like.prop_map(|(p, r)| ("StringLike", "StringNotLike", "kms:RequestAlias", p, r)),
        number.prop_map(|(p, r)| (
            "NumericEquals",
            "NumericNotEquals",
            "aws:MultiFactorAuthAge",
            p,
            r
        )),
        date.prop_map(|(p, r)| ("DateEquals", "DateNotEquals", "aws:CurrentTime", p, r)),
        ip.prop_map(|(p, r)| ("IpAddress", "NotIpAddress", "aws:SourceIp", p, r)),
        arn.clone()
            .prop_map(|(p, r)| ("ArnLike", "ArnNotLike", "aws:PrincipalArn", p, r)),
        arn.prop_map(|(p, r)| ("ArnEquals", "ArnNotEquals", "aws:PrincipalArn", p, r)),
    ]
}

const EVERY_OPERATOR: [(&str, &str, &str); 14] = [
    ("StringEquals", "kms:ViaService", "x"),
    ("StringNotEquals", "kms:ViaService", "x"),
    ("StringEqualsIgnoreCase", "kms:ViaService", "x"),
    ("StringNotEqualsIgnoreCase", "kms:ViaService", "x"),
    ("StringLike", "kms:ViaService", "*"),
    ("StringNotLike", "kms:ViaService", "*"),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "10"),
    ("NumericNotEquals", "aws:MultiFactorAuthAge", "10"),
    ("DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01"),
    ("Bool", "aws:SecureTransport", "true"),
    ("BinaryEquals", "aws:UserAgent", "QmluYXJ5"),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"),
    ("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/x"),
    (
        "ArnEquals",
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/x",
    ),
];

fn compile(condition: &serde_json::Value) -> CompiledCondition {
    crate::common::compile(&condition.to_string(), true)
}

fn single(key: &str, value: &str) -> RequestContext {
    crate::common::ctx(&[(key, value)])
}

/// A context of generated keys, each with one value or a set.
fn context_of(context: &[(String, Vec<String>, bool)]) -> RequestContext {
    let mut ctx = RequestContext::new();
    for (key, texts, multi) in context {
        if *multi {
            ctx.insert_multi(key, texts.iter().map(String::as_str));
        } else {
            ctx.insert_single(key, texts.first().map_or("", String::as_str));
        }
    }
    ctx
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn for_a_present_single_valued_key_each_negated_operator_is_the_negation_of_its_twin(
        (positive, negated, key, values, request) in twin_case()
    ) {
        let ctx = single(key, &request);
        let p = compile(&json!({ positive: { key: values } })).evaluate(&ctx);
        let n = compile(&json!({ negated: { key: values } })).evaluate(&ctx);
        prop_assert_ne!(p, n, "{} / {} {:?} on {}", positive, negated, values, request);
    }

    #[test]
    fn if_exists_on_a_missing_key_is_true_for_every_operator(i in 0usize..EVERY_OPERATOR.len(), qualifier in 0usize..3) {
        let (op, key, value) = EVERY_OPERATOR[i];
        let name = format!("{}{op}IfExists", ["", "ForAllValues:", "ForAnyValue:"][qualifier]);
        prop_assert!(compile(&json!({ name.as_str(): { key: value } })).evaluate(&RequestContext::new()), "{}", name);
    }

    #[test]
    fn for_all_values_of_the_empty_set_is_true_and_for_any_value_false(i in 0usize..EVERY_OPERATOR.len(), missing in any::<bool>()) {
        let (op, key, value) = EVERY_OPERATOR[i];
        let mut ctx = RequestContext::new();
        if !missing {
            ctx.insert_multi(key, []);
        }
        let all = compile(&json!({ format!("ForAllValues:{op}"): { key: value } }));
        let any = compile(&json!({ format!("ForAnyValue:{op}"): { key: value } }));
        prop_assert!(all.evaluate(&ctx), "ForAllValues:{} on an empty set", op);
        prop_assert!(!any.evaluate(&ctx), "ForAnyValue:{} on an empty set", op);
    }

    #[test]
    fn string_equals_ignore_case_is_invariant_under_case_changes_of_either_side(
        text in "[a-zA-Zéèß0-9-]{0,12}",
        upper_policy in any::<bool>(),
        upper_request in any::<bool>(),
    ) {
        let change = |s: &str, upper: bool| if upper { s.to_uppercase() } else { s.to_lowercase() };
        // `ß` upper-cases to `SS`, which is not a case change of one character; skip it.
        prop_assume!(!text.contains('ß'));
        let policy = change(&text, upper_policy);
        let ctx = single("aws:ResourceTag/owner", &change(&text, upper_request));
        let equal = compile(&json!({"StringEqualsIgnoreCase": {"aws:ResourceTag/owner": policy}}));
        let not_equal = compile(&json!({"StringNotEqualsIgnoreCase": {"aws:ResourceTag/owner": policy}}));
        prop_assert!(equal.evaluate(&ctx), "equal ignoring case");
        prop_assert!(!not_equal.evaluate(&ctx), "the negation fails");
    }

    #[test]
    fn evaluation_never_panics_on_any_generated_condition_and_context(
        operators in vec(("(ForAllValues:|ForAnyValue:)?", 0usize..27, any::<bool>()), 1..4),
        keys in vec("(aws|kms):[A-Za-z/:]{1,12}", 1..3),
        values in vec("\\PC{0,12}|\\$\\{[a-z:/]{0,10}(, '[a-z]*')?\\}|[0-9./:a-f*?]{1,16}", 1..4),
        context in vec(("(aws|kms):[A-Za-z/:]{1,12}", vec("\\PC{0,12}", 0..3), any::<bool>()), 0..6),
    ) {
        let mut block = serde_json::Map::new();
        for (qualifier, kind, if_exists) in operators {
            let base = keyward_policy::operator::OperatorKind::ALL[kind].as_str();
            let suffix = if if_exists && base != "Null" { "IfExists" } else { "" };
            let mut tests = serde_json::Map::new();
            for key in &keys {
                tests.insert(key.clone(), json!(values));
            }
            block.insert(format!("{qualifier}{base}{suffix}"), serde_json::Value::Object(tests));
        }
        let ctx = context_of(&context);
        let text = serde_json::Value::Object(block).to_string();
        let parsed = parse_condition_block(&text).unwrap();
        for variables in [true, false] {
            if let Ok(condition) = CompiledCondition::new(&parsed, variables) {
                let holds = condition.evaluate(&ctx);
                let outcomes = condition.explain(&ctx);
                prop_assert_eq!(holds, outcomes.iter().all(|o| o.holds), "explain agrees with evaluate");
            }
        }
    }

    /// An outcome written over another (`explain_into`, and `explain_failed_into` for a test
    /// that fails; both reuse its strings) is the outcome explained afresh, whatever the two tests and contexts: a missing, single, set or
    /// several-variant value over any other, more or fewer expected values, templates.
    #[test]
    fn an_outcome_explained_over_another_is_the_fresh_one(
        operators in vec(("(ForAllValues:|ForAnyValue:)?", 0usize..27), 1..3),
        keys in vec("(aws|kms):[A-Za-z/:]{1,12}|kms:EncryptionContext:[a-zA-Z]{1,3}", 1..4),
        values in vec(vec("\\PC{0,12}|\\$\\{aws:[a-z]{0,10}(, '[a-z]*')?\\}", 1..4), 1..4),
        context in vec(("(aws|kms):[A-Za-z/:]{1,12}|kms:EncryptionContext:[a-zA-Z]{1,3}", vec("\\PC{0,12}", 0..3), any::<bool>()), 0..6),
    ) {
        let mut block = serde_json::Map::new();
        for (i, (qualifier, kind)) in operators.iter().enumerate() {
            let base = keyward_policy::operator::OperatorKind::ALL[*kind].as_str();
            let mut tests = serde_json::Map::new();
            for (j, key) in keys.iter().enumerate() {
                tests.insert(key.clone(), json!(values[(i + j) % values.len()]));
            }
            block.insert(format!("{qualifier}{base}"), serde_json::Value::Object(tests));
        }
        let ctx = context_of(&context);
        let contexts = [RequestContext::new(), ctx];
        let text = serde_json::Value::Object(block).to_string();
        let parsed = parse_condition_block(&text).unwrap();
        let Ok(condition) = CompiledCondition::new(&parsed, true) else {
            return Ok(());
        };
        for before in condition.tests() {
            for after in condition.tests() {
                for first in &contexts {
                    for second in &contexts {
                        let mut outcome = before.explain(first);
                        after.explain_into(second, &mut outcome);
                        prop_assert_eq!(&outcome, &after.explain(second));
                        if !after.holds(second) {
                            let mut outcome = before.explain(first);
                            after.explain_failed_into(second, &mut outcome);
                            prop_assert_eq!(outcome, after.explain(second));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_multivalued_catalog_key_is_a_set_even_when_given_one_value() {
    for info in catalog::kms_condition_keys()
        .iter()
        .chain(catalog::global_condition_keys())
    {
        if info.template_prefix().is_some() {
            continue;
        }
        let ctx = single(info.name, "x");
        let value = ctx.get(info.name).unwrap();
        assert_eq!(value.is_multi(), info.is_multivalued(), "{}", info.name);
    }
}

//! Properties of the parser and printer over generated input.

use keyward_policy::model::{
    ActionClause, ConditionBlock, ConditionKeyEntry, ConditionOperatorEntry, ConditionValue,
    Effect, PolicyDocument, PrincipalClause, PrincipalEntry, PrincipalType, PrincipalValue,
    ResourceClause, ScalarKind, Spanned, Statement, Version,
};
use keyward_policy::operator::{ConditionOperator, OperatorKind, SetQualifier};
use keyward_policy::{
    LineIndex, PolicyKind, StatementMatchers, parse_and_validate, parse_policy, print_policy,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use serde_json::Value;

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Default::default())
}

fn strings(max: usize) -> impl Strategy<Value = Vec<Spanned<String>>> {
    vec(any::<String>().prop_map(spanned), 1..=max)
}

fn principal() -> impl Strategy<Value = PrincipalClause> {
    let map = btree_set(0usize..4, 1..=4).prop_flat_map(|types| {
        let types: Vec<_> = types.into_iter().map(|i| PrincipalType::ALL[i]).collect();
        let n = types.len();
        vec(strings(3), n).prop_map(move |values| {
            PrincipalValue::Map(
                types
                    .iter()
                    .zip(values)
                    .map(|(t, values)| PrincipalEntry {
                        principal_type: spanned(*t),
                        values,
                    })
                    .collect(),
            )
        })
    });
    (
        any::<bool>(),
        prop_oneof![Just(PrincipalValue::Everyone), map],
    )
        .prop_map(|(negated, value)| PrincipalClause { negated, value })
}

fn condition_value() -> impl Strategy<Value = Spanned<ConditionValue>> {
    prop_oneof![
        any::<String>().prop_map(|text| ConditionValue {
            text,
            kind: ScalarKind::String
        }),
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?".prop_map(|text| {
            ConditionValue {
                text,
                kind: ScalarKind::Number,
            }
        }),
        any::<bool>().prop_map(|b| ConditionValue {
            text: b.to_string(),
            kind: ScalarKind::Bool
        }),
    ]
    .prop_map(spanned)
}

fn operator() -> impl Strategy<Value = ConditionOperator> {
    (0usize..OperatorKind::ALL.len(), 0usize..3, any::<bool>()).prop_map(|(k, q, if_exists)| {
        let kind = OperatorKind::ALL[k];
        ConditionOperator {
            qualifier: [
                None,
                Some(SetQualifier::ForAllValues),
                Some(SetQualifier::ForAnyValue),
            ][q],
            kind,
            if_exists: if_exists && kind != OperatorKind::Null,
        }
    })
}

fn condition() -> impl Strategy<Value = ConditionBlock> {
    let keys = btree_map(
        "[a-z]{1,6}:[A-Za-z/]{1,10}",
        vec(condition_value(), 1..=3),
        1..=3,
    );
    btree_map(operator().prop_map(|op| op.to_string()), keys, 1..=3).prop_map(|ops| {
        ConditionBlock {
            operators: ops
                .into_iter()
                .map(|(op, keys)| ConditionOperatorEntry {
                    operator: spanned(ConditionOperator::parse(&op).unwrap()),
                    keys: keys
                        .into_iter()
                        .map(|(key, values)| ConditionKeyEntry {
                            key: spanned(key),
                            values,
                        })
                        .collect(),
                })
                .collect(),
        }
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        proptest::option::of(any::<String>()),
        any::<bool>(),
        proptest::option::of(principal()),
        (any::<bool>(), strings(3)),
        (any::<bool>(), strings(3)),
        proptest::option::of(condition()),
    )
        .prop_map(
            |(
                sid,
                allow,
                principal,
                (not_action, actions),
                (not_resource, resources),
                condition,
            )| Statement {
                sid: sid.map(spanned),
                effect: spanned(if allow { Effect::Allow } else { Effect::Deny }),
                principal: principal.map(spanned),
                action: spanned(ActionClause {
                    negated: not_action,
                    patterns: actions,
                }),
                resource: Some(spanned(ResourceClause {
                    negated: not_resource,
                    patterns: resources,
                })),
                condition: condition.map(spanned),
            },
        )
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    (
        proptest::option::of(prop_oneof![
            Just(Version::V2008_10_17),
            Just(Version::V2012_10_17)
        ]),
        proptest::option::of(any::<String>()),
        vec(statement().prop_map(spanned), 1..=4),
    )
        .prop_map(|(version, id, statements)| PolicyDocument {
            version: version.map(spanned),
            id: id.map(spanned),
            statements,
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop_oneof![
            any::<String>(),
            "(Version|Statement|Effect|Allow|Deny|Principal|AWS|Action|Resource|Condition|StringEquals|\\*|kms:\\*)".prop_map(String::from),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(8, 128, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(
                prop_oneof![
                    any::<String>(),
                    "(Version|Id|Statement|Sid|Effect|Principal|NotPrincipal|Action|NotAction|Resource|NotResource|Condition|AWS|Service)".prop_map(String::from),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn every_error_is_located(text: &str) {
    for kind in [PolicyKind::KeyPolicy, PolicyKind::IdentityPolicy] {
        match parse_and_validate(text, kind) {
            Err(diags) => {
                assert!(!diags.is_empty());
                let index = LineIndex::new(text);
                for e in diags.errors() {
                    assert!(
                        e.span.start <= e.span.end && e.span.end <= text.len(),
                        "{e:?}"
                    );
                    let _ = e.render("input", &index);
                }
            }
            Ok(document) => {
                let _ = StatementMatchers::new(&document, kind);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
        every_error_is_located(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn the_parser_never_panics_on_arbitrary_text(text in "\\PC{0,256}") {
        every_error_is_located(&text);
    }

    #[test]
    fn the_parser_never_panics_on_arbitrary_json(value in json_value()) {
        every_error_is_located(&value.to_string());
        every_error_is_located(&serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn valid_json_is_never_reported_as_invalid_json(value in json_value()) {
        let text = value.to_string();
        if let Err(diags) = parse_policy(&text) {
            prop_assert!(diags.errors().iter().all(|e| e.code() != "invalid-json"), "{text}: {diags}");
        }
    }

    #[test]
    fn invalid_json_is_always_reported(text in "[\\[\\]{}\",:a-z0-9 ]{0,64}") {
        if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
            let diags = parse_policy(&text).unwrap_err();
            prop_assert_eq!(diags.errors()[0].code(), "invalid-json");
        }
    }

    #[test]
    fn printing_then_parsing_gives_back_the_document(doc in document()) {
        let printed = print_policy(&doc);
        let reparsed = parse_policy(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&doc), "{}", printed);
        prop_assert_eq!(print_policy(&reparsed.unwrap()), printed);
    }

    #[test]
    fn spans_point_at_the_values_they_carry(doc in document()) {
        let printed = print_policy(&doc);
        let parsed = parse_policy(&printed).unwrap();
        for statement in &parsed.statements {
            for action in &statement.action.patterns {
                let slice = &printed[action.span.start..action.span.end];
                prop_assert_eq!(serde_json::from_str::<String>(slice).unwrap(), action.value.clone());
            }
            if let Some(sid) = &statement.sid {
                let slice = &printed[sid.span.start..sid.span.end];
                prop_assert_eq!(serde_json::from_str::<String>(slice).unwrap(), sid.value.clone());
            }
            prop_assert!(printed[statement.span.start..].starts_with('{'), "statement span starts at its brace");
        }
    }
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    for depth in [33, 1_000, 100_000] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let diags = parse_policy(&text).unwrap_err();
        assert_eq!(
            diags.errors()[0].code(),
            "nesting-too-deep",
            "depth {depth}"
        );
    }
    let text = format!(
        "{{\"Statement\": {}1{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    assert_eq!(
        parse_policy(&text).unwrap_err().errors()[0].code(),
        "nesting-too-deep"
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let text = format!(
        "{{\"Id\": \"{}\"}}",
        "x".repeat(keyward_policy::parser::MAX_INPUT_BYTES)
    );
    let diags = parse_policy(&text).unwrap_err();
    assert_eq!(diags.errors()[0].code(), "input-too-large");
}

#[test]
fn many_duplicate_keys_in_a_large_object_are_found_quickly() {
    let members: Vec<String> = (0..20_000)
        .map(|i| format!("\"k{}\": 1", i % 10_000))
        .collect();
    let text = format!(
        "{{\"Statement\": {{\"Effect\": \"Allow\", \"Condition\": {{\"StringEquals\": {{{}}}}}}}}}",
        members.join(",")
    );
    let start = std::time::Instant::now();
    let diags = parse_policy(&text).unwrap_err();
    let max = keyward_policy::error::MAX_ERRORS;
    assert_eq!(
        diags
            .errors()
            .iter()
            .filter(|e| e.code() == "duplicate-key")
            .count(),
        max
    );
    assert!(
        start.elapsed().as_secs() < 10,
        "duplicate detection must not be quadratic"
    );
}

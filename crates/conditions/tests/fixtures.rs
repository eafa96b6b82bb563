//! The condition corpus in `fixtures/conditions/`: every case's block, evaluated against its
//! context, gives its expected result. A failure names the file and case and shows the
//! explanation of every test in the block.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_conditions::{CompiledCondition, RequestContext};
use keyward_policy::parse_condition_block;
use serde_json::Value;
use std::path::Path;

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn context(value: &Value) -> RequestContext {
    let mut ctx = RequestContext::new();
    for (key, v) in value.as_object().expect("context is an object") {
        match v {
            Value::Array(items) => {
                let texts: Vec<String> = items.iter().map(text_of).collect();
                ctx.insert_multi(key, texts.iter().map(String::as_str));
            }
            other => ctx.insert_single(key, &text_of(other)),
        }
    }
    ctx
}

#[test]
fn every_condition_case_gives_its_expected_result() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conditions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for case in doc["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no cases"))
        {
            total += 1;
            let name = case["name"].as_str().unwrap_or("(unnamed)");
            let variables = match case.get("version").and_then(Value::as_str) {
                None | Some("2012-10-17") => true,
                Some("2008-10-17" | "none") => false,
                Some(other) => panic!("{file}: {name}: unknown version {other}"),
            };
            let json = serde_json::to_string(&case["condition"]).unwrap();
            let block = match parse_condition_block(&json) {
                Ok(block) => block,
                Err(e) => {
                    failures.push(format!("{file}: {name}: the condition does not parse: {e}"));
                    continue;
                }
            };
            let condition = match CompiledCondition::new(&block, variables) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(format!(
                        "{file}: {name}: the condition does not compile: {e}"
                    ));
                    continue;
                }
            };
            let ctx = context(&case["context"]);
            let expected = case["expected"]
                .as_bool()
                .unwrap_or_else(|| panic!("{file}: {name}: expected is a boolean"));
            let actual = condition.evaluate(&ctx);
            if actual != expected {
                let why: Vec<String> = condition
                    .explain(&ctx)
                    .iter()
                    .map(|o| format!("    {o}"))
                    .collect();
                failures.push(format!(
                    "{file}: {name}: expected {expected}, got {actual}\n{}",
                    why.join("\n")
                ));
            }
        }
    }
    assert!(total >= 150, "only {total} condition cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

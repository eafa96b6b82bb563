//! The grant corpus in `fixtures/grants/`: CreateGrant cases (created, retry, or the KMS error)
//! and resolution cases (which grants apply, and why the others do not).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_grants::key_grants::{CreateGrant, Created, KeyGrants, KeyKind, TokenKey};
use keyward_grants::resolver::{Caller, GrantSet};
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use keyward_policy::catalog::kms_action;
use serde_json::Value;
use std::path::Path;

fn load(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/grants")
        .join(name);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn pairs(v: &Value) -> Option<Vec<(String, String)>> {
    v.as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect()
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn create_request(v: &Value) -> CreateGrant {
    CreateGrant {
        grantee_principal: v["grantee_principal"].as_str().unwrap().to_owned(),
        retiring_principal: v["retiring_principal"].as_str().map(str::to_owned),
        operations: strings(&v["operations"]),
        encryption_context_equals: pairs(&v["encryption_context_equals"]),
        encryption_context_subset: pairs(&v["encryption_context_subset"]),
        name: v["name"].as_str().map(str::to_owned),
    }
}

fn grant(v: &Value, id: &str, grantee: &str) -> Grant {
    Grant {
        id: id.to_owned(),
        name: None,
        grantee: grantee.to_owned(),
        retiring_principal: None,
        issuing_account: None,
        key: None,
        created_at: None,
        operations: parse_operations(strings(&v["operations"]).iter().map(String::as_str)).unwrap(),
        constraint: pairs(&v["encryption_context_equals"])
            .map(GrantConstraint::EncryptionContextEquals)
            .or_else(|| {
                pairs(&v["encryption_context_subset"]).map(GrantConstraint::EncryptionContextSubset)
            }),
    }
}

#[test]
fn every_create_grant_case_gives_its_expected_outcome() {
    let cases = load("creation.json");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let kind = KeyKind::of(
            case["key"]["spec"].as_str().unwrap(),
            case["key"]["usage"].as_str().unwrap(),
        )
        .unwrap();
        let mut key_grants = KeyGrants::new(kind, "111122223333", TokenKey::new([3; 32]));
        for existing in case["existing"].as_array().into_iter().flatten() {
            key_grants.create(&create_request(existing)).unwrap();
        }
        let request = create_request(&case["request"]);
        let outcome = match case.get("parent") {
            Some(parent) => key_grants.create_under(
                &grant(parent, "parent", "arn:aws:iam::111122223333:role/App"),
                &request,
            ),
            None => key_grants.create(&request),
        };
        let actual = match outcome.map(|c| c.created) {
            Ok(Created::New(_)) => "created".to_owned(),
            Ok(Created::Retry(_)) => "retry".to_owned(),
            Err(e) => e.code().to_owned(),
        };
        if actual != case["expected"].as_str().unwrap() {
            failures.push(format!(
                "{name}: expected {}, got {actual}",
                case["expected"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} creation cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_resolution_case_finds_its_grants_and_says_why_not() {
    let cases = load("resolution.json");
    let mut failures = Vec::new();
    let mut total = 0;
    for case in &cases {
        total += 1;
        let name = case["name"].as_str().unwrap();
        let grants: Vec<Grant> = case["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                grant(
                    g,
                    g["grant_id"].as_str().unwrap(),
                    g["grantee_principal"].as_str().unwrap(),
                )
            })
            .collect();
        let set = GrantSet::new(grants);
        let caller = Caller {
            arn: case["caller"]["arn"].as_str().unwrap(),
            role: case["caller"]["role"].as_str(),
            account: case["caller"]["account"].as_str().unwrap(),
        };
        let action = kms_action(&format!("kms:{}", case["operation"].as_str().unwrap())).unwrap();
        let context = pairs(&case["encryption_context"]).unwrap_or_default();
        let applying: Vec<String> = set
            .applying(caller, action, &context)
            .iter()
            .map(|a| set.grants()[a.index].id.clone())
            .collect();
        if applying != strings(&case["expected"]) {
            failures.push(format!(
                "{name}: expected {:?}, got {applying:?}",
                case["expected"]
            ));
        }
        let explained = set.explain(caller, action, &context);
        for (id, wanted) in case["why"].as_object().into_iter().flatten() {
            let index = set.grants().iter().position(|g| &g.id == id).unwrap();
            let why = explained[index].1.clone().unwrap_or_default();
            if !why.contains(wanted.as_str().unwrap()) {
                failures.push(format!("{name}: {id} should say {wanted}, says {why:?}"));
            }
        }
    }
    assert!(
        total + load("creation.json").len() >= 40,
        "only {total} resolution cases"
    );
    assert!(
        failures.is_empty(),
        "{} resolution checks differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

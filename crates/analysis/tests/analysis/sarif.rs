//! A comparison's SARIF validates against the OASIS SARIF 2.1.0 schema (shipped in
//! `fixtures/sarif/`) for every change of the diff corpus.

use crate::common::{KEY, fixtures};
use keyward_analysis::{KeyFacts, PolicySet, diff, read_grants};
use serde_json::Value;

fn side(dir: &std::path::Path, policy: &str, grants: &str) -> PolicySet {
    let identity: Vec<String> = (0..)
        .map(|i| dir.join(format!("identity-{i}.json")))
        .take_while(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let grants_path = dir.join(grants);
    let grants_path = if grants_path.is_file() {
        grants_path
    } else {
        dir.join("grants.json")
    };
    PolicySet {
        key_policy: std::fs::read_to_string(dir.join(policy)).unwrap(),
        identity_policies: (!identity.is_empty()).then_some(identity),
        grants: if grants_path.is_file() {
            read_grants(&std::fs::read_to_string(grants_path).unwrap()).unwrap()
        } else {
            Vec::new()
        },
    }
}

#[test]
fn the_sarif_of_every_diff_fixture_validates_against_the_2_1_0_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("sarif/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let mut cases: Vec<_> = std::fs::read_dir(fixtures().join("diff"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut results = 0;
    for dir in cases {
        let old = side(&dir, "old.json", "grants.json");
        let new = side(&dir, "new.json", "new-grants.json");
        let report = diff(&old, &new, &KeyFacts::symmetric(KEY)).unwrap();
        let sarif = report.to_sarif("new.json");
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());
        results += sarif["runs"][0]["results"].as_array().unwrap().len();
    }
    assert!(results >= 15, "{results} results");
}

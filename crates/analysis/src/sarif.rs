//! Findings as SARIF 2.1.0, for code scanning: one result per finding, at the statements of
//! the policy that allow the access.

use crate::diff::DiffReport;
use serde_json::{Value, json};

/// The rule a comparison's findings are reported under.
const NEW_ACCESS: &str = "new-access";

impl DiffReport {
    /// The report as a SARIF 2.1.0 log; `uri` names the allowing side's key-policy file.
    /// Each finding is a result at the statements that allow it (at the file's start when
    /// only grants or identity policies do), with its witness in the result's properties.
    pub fn to_sarif(&self, uri: &str) -> Value {
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut locations: Vec<Value> = f
                    .statements
                    .iter()
                    .map(|s| {
                        json!({
                            "physicalLocation": {
                                "artifactLocation": {"uri": uri},
                                "region": {"startLine": s.line, "startColumn": s.column},
                            },
                            "logicalLocations": [{
                                "fullyQualifiedName": format!("/Statement/{}", s.index),
                                "kind": "element",
                            }],
                        })
                    })
                    .collect();
                if locations.is_empty() {
                    locations.push(json!({
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": {"startLine": 1, "startColumn": 1},
                        }
                    }));
                }
                json!({
                    "ruleId": NEW_ACCESS,
                    "ruleIndex": 0,
                    "level": "error",
                    "message": {"text": format!(
                        "{} gains {} when {}",
                        f.description,
                        f.actions.join(", "),
                        f.condition
                    )},
                    "locations": locations,
                    "partialFingerprints": {
                        "keyward/v1": format!("{NEW_ACCESS}:{}:{}:{}", f.principal, f.actions.join(","), f.condition),
                    },
                    "properties": {
                        "principal": f.principal,
                        "actions": f.actions,
                        "condition": f.condition,
                        "via": f.via,
                        "witness": f.witness,
                    },
                })
            })
            .collect();
        let rules = json!([{
            "id": NEW_ACCESS,
            "name": NEW_ACCESS,
            "shortDescription": {"text": "The change lets a principal make requests it could not make before"},
            "fullDescription": {"text": "The new key policy (with the identity policies and grants given) allows a kind of request that the old one does not. The result's witness is such a request; keyward authorize decides it."},
            "help": {"text": "Check that the access is intended; if it is not, narrow the statement's principals, actions or conditions."},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": ["security", "kms"], "precision": "very-high", "security-severity": "7.5"},
        }]);
        sarif_log(rules, results)
    }
}

/// A SARIF 2.1.0 log of one Keyward run: the tool (its name, version and home page) with its
/// `rules`, and the `results`. The one envelope that `keyward lint` and `keyward diff` write.
pub fn sarif_log(rules: Value, results: Vec<Value>) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "keyward",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/keyward/keyward",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

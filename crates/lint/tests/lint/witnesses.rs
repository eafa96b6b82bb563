//! The access checks' findings carry the analysis's witness: completed with the policy that
//! was linted (identity policies that allow everything, as the checks assume), `authz` allows
//! it, and the finding's message shows the same request.

use keyward_analysis::{PolicySet, complete_witness};
use keyward_authz::{Authorizer, Request, Verdict};
use keyward_lint::{LintOptions, lint};

#[test]
fn every_access_finding_of_the_corpus_carries_a_witness_authz_allows() {
    let dir = crate::common::fixture("");
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for finding in lint(&text, &LintOptions::default()) {
            let access = matches!(
                finding.rule,
                "public-access" | "cross-account-access" | "no-separation-of-duties"
            );
            let Some(witness) = &finding.witness else {
                assert!(
                    !access,
                    "{}: {} without a witness",
                    path.display(),
                    finding.rule
                );
                continue;
            };
            let set = PolicySet {
                key_policy: text.clone(),
                identity_policies: None,
                grants: Vec::new(),
            };
            let request = Request::parse(&complete_witness(witness, &set).to_string())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let decision = Authorizer::for_request(&request).unwrap().decide(&request);
            assert_eq!(
                decision.verdict,
                Verdict::Allow,
                "{}: {} {witness}: {}",
                path.display(),
                finding.rule,
                decision.explanation
            );
            let principal = witness["principal"].as_str().unwrap();
            assert!(
                finding.message.contains(principal),
                "{}: the message does not show the witness's caller",
                path.display()
            );
            *checked.entry(finding.rule).or_default() += 1;
        }
    }
    for rule in [
        "public-access",
        "cross-account-access",
        "no-separation-of-duties",
    ] {
        assert!(
            checked.get(rule).copied().unwrap_or_default() >= 3,
            "{rule}: {checked:?}"
        );
    }
}

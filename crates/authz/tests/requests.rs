//! The request corpus in `fixtures/requests/`: each request in the contract's format gives its
//! expected decision and reasons (or, for `decision: error`, an error that says what it
//! expects). A failure prints the case's name and the difference.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use keyward_authz::{Authorizer, Reason, Request, Source};
use std::path::Path;

fn reason_text(r: &Reason) -> String {
    match (&r.source, r.statement) {
        (Source::Grant(id), _) => format!("grant:{id}"),
        (source, Some(n)) => format!("{source} {n}"),
        (source, None) => source.to_string(),
    }
}

#[test]
fn every_request_gives_its_expected_decision_and_reasons() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/requests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{name}.expected: {e}"));
        let mut decision = None;
        let mut reasons = Vec::new();
        let mut error = None;
        for line in expected.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once(": ") {
                Some(("decision", d)) => decision = Some(d.to_owned()),
                Some(("reason", r)) => reasons.push(r.to_owned()),
                Some(("error", e)) => error = Some(e.to_owned()),
                _ if line.trim().is_empty() => {}
                _ => panic!("{name}.expected: cannot read {line:?}"),
            }
        }
        let decision = decision.unwrap_or_else(|| panic!("{name}.expected: no decision"));
        let outcome = Request::parse(&text).and_then(|r| {
            Authorizer::for_request(&r).map(|a| (a.decide(&r), (a.verdict(&r), a.judge(&r))))
        });
        match (decision.as_str(), outcome) {
            ("error", Err(e)) => {
                let rendered = e.render(&name, &text, 1).join("\n");
                let wanted = error.unwrap_or_default();
                if !rendered.contains(&wanted) {
                    failures.push(format!(
                        "{name}: expected an error containing {wanted:?}, got:\n{rendered}"
                    ));
                }
            }
            ("error", Ok((d, _))) => failures.push(format!(
                "{name}: expected an error, got {}",
                d.verdict.as_str()
            )),
            (_, Err(e)) => failures.push(format!(
                "{name}: could not be evaluated:\n{}",
                e.render(&name, &text, 1).join("\n")
            )),
            (expected_decision, Ok((d, (fast, judged)))) => {
                let actual: Vec<String> = d.reasons.iter().map(reason_text).collect();
                if d.verdict.as_str() != expected_decision || actual != reasons {
                    failures.push(format!(
                        "{name}:\n  expected {expected_decision} {reasons:?}\n  actual   {} {actual:?}\n  {}",
                        d.verdict.as_str(),
                        d.explanation
                    ));
                }
                if judged.verdict != d.verdict || judged.reasons != d.reasons {
                    failures.push(format!(
                        "{name}: judge says {} {:?} but the full decision {} {:?}",
                        judged.verdict.as_str(),
                        judged.reasons,
                        d.verdict.as_str(),
                        d.reasons
                    ));
                }
                if fast != d.verdict {
                    failures.push(format!(
                        "{name}: the fast path says {} but the full decision {}",
                        fast.as_str(),
                        d.verdict.as_str()
                    ));
                }
            }
        }
    }
    assert!(files.len() >= 60, "only {} request cases", files.len());
    assert!(
        failures.is_empty(),
        "{} of {} requests differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

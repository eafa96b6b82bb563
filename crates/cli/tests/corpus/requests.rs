//! `fixtures/requests/TOPIC/FILE.json`: scenario files. Each case's request, built as
//! `keyward authorize` reads it, gives its expected decision and reasons (through the full
//! decision, which the fast verdict and the judgement must agree with), or an error containing
//! the expected text. Trials: `requests/TOPIC/FILE/CASE`.

use crate::scenario::{ExpectedDecision, ExpectedError, RequestExpectation, Scenario};
use crate::support::{Collected, corpus_dir, duplicate_names, list, settle_json, shown, stem};
use keyward_authz::{Authorizer, Reason, Request, RequestError, Source};
use libtest_mimic::Failed;
use std::path::PathBuf;

const DECISIONS: [&str; 3] = ["Allow", "ExplicitDeny", "ImplicitDeny"];

pub(crate) fn collect(out: &mut Collected) {
    let dir = corpus_dir("requests");
    let files = match list(&dir, &["json"]) {
        Ok(files) => files,
        Err(problems) => return problems.into_iter().for_each(|p| out.problem(p)),
    };
    let mut count = 0;
    for path in files {
        let topic_file = stem(&dir, &path);
        if topic_file.matches('/').count() != 1 {
            out.problem(format!(
                "{}: a scenario file belongs in a topic folder: fixtures/requests/TOPIC/NAME.json",
                shown(&path)
            ));
            continue;
        }
        let scenario = match Scenario::<RequestExpectation>::load(&path) {
            Ok(scenario) => scenario,
            Err(e) => {
                out.problem(e);
                continue;
            }
        };
        for problem in duplicate_names(&path, scenario.cases.iter().map(|c| c.name.as_str())) {
            out.problem(problem);
        }
        for case in &scenario.cases {
            count += 1;
            if let RequestExpectation::Decision(d) = &case.expect
                && !DECISIONS.contains(&d.decision.as_str())
            {
                out.problem(format!(
                    "{}: case {:?}: decision {:?} is none of {DECISIONS:?}",
                    shown(&path),
                    case.name,
                    d.decision
                ));
            }
            let text = match scenario.request_text(case) {
                Ok(text) => text,
                Err(e) => {
                    out.problem(format!("{}: {e}", shown(&path)));
                    continue;
                }
            };
            let trial = Case {
                file: path.clone(),
                scenario: scenario.about.clone(),
                name: case.name.clone(),
                about: case.about.clone(),
                text,
                expect: case.expect.clone(),
            };
            out.trial(format!("requests/{topic_file}/{}", case.name), move || {
                trial.run()
            });
        }
    }
    out.at_least("fixtures/requests", count, 60);
}

struct Case {
    file: PathBuf,
    /// What the scenario is about, when its file says.
    scenario: Option<String>,
    name: String,
    about: String,
    text: String,
    expect: RequestExpectation,
}

fn reason_text(r: &Reason) -> String {
    match (&r.source, r.statement) {
        (Source::Grant(id), _) => format!("grant:{id}"),
        (source, Some(n)) => format!("{source} {n}"),
        (source, None) => source.to_string(),
    }
}

/// The blessed form of an error: its first rendered line without the file and position, which
/// the rendering under any name contains.
fn error_text(e: &RequestError, text: &str) -> String {
    let first = e.render("", text, 1).into_iter().next().unwrap_or_default();
    first
        .split_once(": ")
        .map_or(first.clone(), |(_, rest)| rest.to_owned())
}

impl Case {
    fn run(&self) -> Result<(), Failed> {
        let outcome = Request::parse(&self.text).and_then(|r| {
            Authorizer::for_request(&r).map(|a| (a.decide(&r), a.verdict(&r), a.judge(&r)))
        });
        let request = || {
            format!(
                "the request, as `keyward authorize` reads it:\n{}",
                self.text
            )
        };
        let (actual, accepted, note) = match outcome {
            Err(e) => {
                let rendered = e.render(&self.name, &self.text, 1).join("\n");
                match &self.expect {
                    RequestExpectation::Error(wanted) if rendered.contains(&wanted.error) => {
                        return Ok(());
                    }
                    _ => (
                        RequestExpectation::Error(ExpectedError {
                            error: error_text(&e, &self.text),
                        }),
                        false,
                        format!("the error:\n{rendered}\n{}", request()),
                    ),
                }
            }
            Ok((decision, fast, judged)) => {
                let mut broken = Vec::new();
                if judged.verdict != decision.verdict || judged.reasons != decision.reasons {
                    broken.push(format!(
                        "the judgement says {} {:?} but the full decision {} {:?}",
                        judged.verdict.as_str(),
                        judged.reasons,
                        decision.verdict.as_str(),
                        decision.reasons
                    ));
                }
                if fast != decision.verdict {
                    broken.push(format!(
                        "the fast path says {} but the full decision {}",
                        fast.as_str(),
                        decision.verdict.as_str()
                    ));
                }
                // The batch writes each decision straight to its output: the same bytes as the
                // contract's JSON object with the line number among its keys.
                let mut written = Vec::new();
                let mut object = decision.to_json();
                if let Some(o) = object.as_object_mut() {
                    o.insert("line".into(), 7.into());
                }
                if decision.write_json(&mut written, Some(7)).is_err()
                    || written != object.to_string().into_bytes()
                {
                    broken.push(format!(
                        "the batch writes {} where the contract's JSON is {object}",
                        String::from_utf8_lossy(&written)
                    ));
                }
                let mut unnumbered = Vec::new();
                if decision.write_json(&mut unnumbered, None).is_err()
                    || unnumbered != decision.to_json().to_string().into_bytes()
                {
                    broken.push("written without a line, the JSON differs".to_owned());
                }
                if !broken.is_empty() {
                    return Err(Failed::from(format!(
                        "{}: case {:?}: {}\n{}",
                        shown(&self.file),
                        self.name,
                        broken.join("\n"),
                        request()
                    )));
                }
                let actual = RequestExpectation::Decision(ExpectedDecision {
                    decision: decision.verdict.as_str().to_owned(),
                    reasons: decision.reasons.iter().map(reason_text).collect(),
                });
                let accepted = actual == self.expect;
                let note = format!("explanation: {}\n{}", decision.explanation, request());
                (actual, accepted, note)
            }
        };
        settle_json(
            &self.file,
            &self.name,
            &self.expect,
            &actual,
            accepted,
            || {
                let scenario = self
                    .scenario
                    .as_ref()
                    .map(|s| format!("about the scenario: {s}\n"))
                    .unwrap_or_default();
                format!("{scenario}about the case: {}\n{note}", self.about)
            },
        )
    }
}

//! `keyward authorize`: decide requests in the contract's format.

use super::Outcome;
use crate::input;
use keyward_authz::{Authorizer, Request, RequestError, Verdict};
use std::io::Write;

/// Decide the request in `path` (or each line of it, with `batch`).
pub fn run(path: &str, json: bool, batch: bool) -> Outcome {
    let input = match input::read(path) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("{message}");
            return Outcome::Error;
        }
    };
    if batch {
        return run_batch(&input.name, &input.text);
    }
    let decided =
        Request::parse(&input.text).and_then(|r| Authorizer::for_request(&r).map(|a| a.decide(&r)));
    match decided {
        Err(error) => {
            report(&error, &input.name, &input.text);
            Outcome::Error
        }
        Ok(decision) => {
            if json {
                println!("{}", decision.to_json());
            } else {
                print!("{}", decision.to_text());
            }
            if decision.verdict == Verdict::Allow {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        }
    }
}

fn report(error: &RequestError, name: &str, text: &str) {
    for line in error.render(name, text, 1) {
        eprintln!("{line}");
    }
}

/// One request per line; blank lines are skipped. Each result carries its 1-based line number.
fn run_batch(name: &str, text: &str) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut outcome = Outcome::Success;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i + 1;
        let result =
            Request::parse(line).and_then(|r| Authorizer::for_request(&r).map(|a| a.decide(&r)));
        let value = match result {
            Ok(decision) => {
                let mut value = decision.to_json();
                if let Some(object) = value.as_object_mut() {
                    object.insert("line".into(), number.into());
                }
                value
            }
            Err(error) => {
                outcome = Outcome::Error;
                let messages = error.render(name, line, number);
                serde_json::json!({ "line": number, "error": messages.join("\n") })
            }
        };
        if writeln!(out, "{value}").is_err() {
            return Outcome::Error;
        }
    }
    if out.flush().is_err() {
        return Outcome::Error;
    }
    outcome
}

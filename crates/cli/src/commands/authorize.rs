//! `keyward authorize`: decide requests in the contract's format.

use super::Outcome;
use crate::input;
use keyward_authz::{Authorizer, Request, RequestError, Verdict};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

/// Decide the request in `path` (or each line of it, with `batch`).
pub(crate) fn run(path: &str, json: bool, batch: bool) -> Outcome {
    // Requests (and batches of millions of them) are not policies: no size limit.
    let input = match input::read_limited(path, None) {
        Ok(input) => input,
        Err(message) => {
            crate::out::eprintln(&message);
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
                crate::out::println(&decision.to_json().to_string());
            } else {
                crate::out::print(&decision.to_text());
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
        crate::out::eprintln(&line);
    }
}

/// Prepared authorizers of a batch, by the policies and grants they were built from: requests
/// that share a key's policies (the usual batch) compile them once.
struct AuthorizerCache {
    entries: HashMap<String, Arc<Authorizer>>,
}

impl AuthorizerCache {
    const CAPACITY: usize = 1024;

    fn get(&mut self, request: &Request) -> Result<Arc<Authorizer>, RequestError> {
        let mut key = String::new();
        if let Some(p) = &request.key_policy {
            key.push_str(&p.text);
        }
        for p in &request.identity_policies {
            key.push('\u{0}');
            key.push_str(&p.text);
        }
        key.push('\u{0}');
        key.push_str(&format!("{:?}", request.grants));
        if let Some(found) = self.entries.get(&key) {
            return Ok(Arc::clone(found));
        }
        let authorizer = Arc::new(Authorizer::for_request(request)?);
        if self.entries.len() >= Self::CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(key, Arc::clone(&authorizer));
        Ok(authorizer)
    }
}

/// One request per line; blank lines are skipped. Each result carries its 1-based line number.
fn run_batch(name: &str, text: &str) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut outcome = Outcome::Success;
    let mut cache = AuthorizerCache {
        entries: HashMap::new(),
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i + 1;
        let result = Request::parse(line).and_then(|r| cache.get(&r).map(|a| a.decide(&r)));
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

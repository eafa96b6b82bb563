//! `keyward fmt`: print a policy in canonical form, or check that it already is.

use super::Outcome;
use crate::input;
use keyward_policy::{LineIndex, parse_policy, print_policy};

/// Format `path`; with `check`, only report whether it is canonical.
pub(crate) fn run(path: &str, check: bool) -> Outcome {
    let input = match input::read(path) {
        Ok(input) => input,
        Err(message) => {
            crate::out::eprintln(&message);
            return Outcome::Error;
        }
    };
    if let Some(error) = input.too_large_error() {
        let index = LineIndex::new("");
        crate::out::eprintln(&error.render(&input.name, &index));
        return Outcome::Failure;
    }
    let document = match parse_policy(&input.text) {
        Ok(document) => document,
        Err(diags) => {
            let index = LineIndex::new(&input.text);
            for error in diags.errors() {
                crate::out::eprintln(&error.render(&input.name, &index));
            }
            return Outcome::Failure;
        }
    };
    let canonical = print_policy(&document);
    if check {
        if canonical == input.text {
            Outcome::Success
        } else {
            crate::out::println(&format!(
                "{}: not in canonical form (run `keyward fmt {path}`)",
                input.name
            ));
            Outcome::Failure
        }
    } else {
        crate::out::print(&canonical);
        Outcome::Success
    }
}

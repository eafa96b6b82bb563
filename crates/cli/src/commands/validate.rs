//! `keyward validate`: parse and validate policies, report every problem with its position.

use super::Outcome;
use crate::input;
use keyward_conditions::CompiledPolicy;
use keyward_policy::{LineIndex, PolicyKind, parse_and_validate};

/// Validate each file as a policy of `kind`.
pub(crate) fn run(kind: PolicyKind, files: &[String]) -> Outcome {
    let mut outcome = Outcome::Success;
    for path in files {
        let input = match input::read(path) {
            Ok(input) => input,
            Err(message) => {
                crate::out::eprintln(&message);
                outcome = Outcome::Error;
                continue;
            }
        };
        if let Some(error) = input.too_large_error() {
            crate::out::println(&error.render(&input.name, &LineIndex::new("")));
            outcome = Outcome::Failure;
            continue;
        }
        // Every check there is: the document valid as a policy of `kind`, then compiled as
        // decisions use it (each condition value read as its operator requires).
        let checked = parse_and_validate(&input.text, kind).and_then(|document| {
            CompiledPolicy::from_document(&document, kind)?;
            Ok(document)
        });
        match checked {
            Ok(document) => {
                let index = LineIndex::new(&input.text);
                for warning in keyward_policy::validate::warnings(&document, kind).errors() {
                    crate::out::println(&warning.render(&input.name, &index));
                }
                crate::out::println(&format!("{}: OK", input.name));
            }
            Err(diags) => {
                let index = LineIndex::new(&input.text);
                for error in diags.errors() {
                    crate::out::println(&error.render(&input.name, &index));
                }
                if outcome == Outcome::Success {
                    outcome = Outcome::Failure;
                }
            }
        }
    }
    outcome
}

//! `keyward validate`: parse and validate policies, report every problem with its position.

use super::Outcome;
use crate::input::{self, Input};
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
        match check(&input, kind) {
            Ok(warnings) => {
                for warning in warnings {
                    crate::out::println(&warning);
                }
                crate::out::println(&format!("{}: OK", input.name));
            }
            Err(errors) => {
                for error in errors {
                    crate::out::println(&error);
                }
                if outcome == Outcome::Success {
                    outcome = Outcome::Failure;
                }
            }
        }
    }
    outcome
}

/// Every check there is on a policy file: the document valid as a policy of `kind`, then
/// compiled as decisions use it (each condition value read as its operator requires). Its
/// warnings when it passes, its errors when it does not, each as
/// `FILE:LINE:COL: severity[CODE]: message`.
pub(crate) fn check(input: &Input, kind: PolicyKind) -> Result<Vec<String>, Vec<String>> {
    if let Some(error) = input.too_large_error() {
        return Err(vec![error.render(&input.name, &LineIndex::new(""))]);
    }
    let index = LineIndex::new(&input.text);
    let checked = parse_and_validate(&input.text, kind).and_then(|document| {
        CompiledPolicy::from_document(&document, kind)?;
        Ok(document)
    });
    match checked {
        Ok(document) => Ok(keyward_policy::validate::warnings(&document, kind)
            .errors()
            .iter()
            .map(|w| w.render(&input.name, &index))
            .collect()),
        Err(diags) => Err(diags
            .errors()
            .iter()
            .map(|e| e.render(&input.name, &index))
            .collect()),
    }
}

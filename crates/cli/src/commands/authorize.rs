//! `keyward authorize`: decide requests in the contract's format.

mod batch;
mod line_blocks;

use super::Outcome;
use crate::input;
use keyward_authz::{Authorizer, PolicyLibrary, Request, RequestError, Verdict};

/// Decide the request in `path` (or each line of it, with `batch`), its policies referring
/// to the documents of the `policies` file by name where they say `{"ref": NAME}`.
pub(crate) fn run(path: &str, json: bool, batch: bool, policies: Option<&str>) -> Outcome {
    let library = match policies.map(read_library).transpose() {
        Ok(library) => library,
        Err(()) => return Outcome::Error,
    };
    if batch {
        // Read as it goes: a batch of millions of lines is never held whole.
        return match input::open_stream(path) {
            Ok((reader, name)) => {
                batch::run(&name, reader, library.as_ref(), std::io::stdout().lock())
            }
            Err(message) => {
                crate::out::eprintln(&message);
                Outcome::Error
            }
        };
    }
    // Requests are not policies: no size limit.
    let input = match input::read_limited(path, None) {
        Ok(input) => input,
        Err(message) => {
            crate::out::eprintln(&message);
            return Outcome::Error;
        }
    };
    let decided = Request::parse_with(&input.text, library.as_ref())
        .and_then(|r| Authorizer::for_request(&r).map(|a| a.decide(&r)));
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

/// The named policies of `--policies FILE`, or the error shown (file:line:column).
fn read_library(path: &str) -> Result<PolicyLibrary, ()> {
    let input =
        input::read_limited(path, None).map_err(|message| crate::out::eprintln(&message))?;
    PolicyLibrary::parse(&input.text).map_err(|error| report(&error, &input.name, &input.text))
}

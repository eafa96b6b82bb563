//! The corpus harness: every case of every corpus under `fixtures/` is its own named trial
//! (see `fixtures/README.md` for the formats and the commands).
//!
//! - `cargo test -p keyward-cli --test corpus` runs them all;
//! - `cargo test -p keyward-cli --test corpus -- NAME` runs the trials whose name contains
//!   NAME (`--exact` for one), named `CORPUS/PATH/CASE`: `requests/grants/default-key-policy/grant-allows`,
//!   `lint/unknown-action-typo`, `conditions/string/StringEquals: exact match`;
//! - with `KEYWARD_BLESS=1`, a case whose expectation differs from what the code now produces
//!   has its expectation rewritten (only the cases that run), and passes.
//!
//! A corpus file that cannot be read or parsed, a directory without cases, a stray file or a
//! corpus smaller than it must be stops the run before any trial, naming the file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failure panics with the value shown"
)]

mod conditions;
mod crypto;
mod diff;
mod grants;
mod lint;
mod policies;
mod requests;
mod scenario;
mod support;

use std::collections::BTreeSet;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let mut corpus = support::Collected::default();
    requests::collect(&mut corpus);
    policies::collect(&mut corpus);
    lint::collect(&mut corpus);
    conditions::collect(&mut corpus);
    grants::collect(&mut corpus);
    crypto::collect(&mut corpus);
    diff::collect(&mut corpus);
    let mut names = BTreeSet::new();
    for trial in &corpus.trials {
        if !names.insert(trial.name().to_owned()) {
            corpus
                .problems
                .push(format!("two cases are named {:?}", trial.name()));
        }
    }
    if !corpus.problems.is_empty() {
        eprintln!(
            "the corpus cannot be run ({} problems):\n  {}",
            corpus.problems.len(),
            corpus.problems.join("\n  ")
        );
        return ExitCode::FAILURE;
    }
    libtest_mimic::run(&args, corpus.trials).exit_code()
}

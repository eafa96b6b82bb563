//! Lint the lint group's 2.5 KB policy (`fixtures/lint/realistic-2kb.json`) N times (default
//! 200) with every rule: a steady workload for `valgrind --tool=callgrind` (runs of N and 1,
//! the difference over N - 1 is one lint's instructions), with the options of the criterion
//! bench `lint/all_rules_2_5kb` (the account 444455556666 trusted).
#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_benches as _;
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(200, |a| a.parse().unwrap());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/lint/realistic-2kb.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let options = keyward_lint::LintOptions {
        trusted_accounts: vec!["444455556666".into()],
        ..Default::default()
    };
    for _ in 0..n {
        black_box(keyward_lint::lint(black_box(&text), &options));
    }
}

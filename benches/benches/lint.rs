//! Group `lint`: linting a realistic 2.5 KB key policy with every rule (target under 1 ms),
//! against a baseline in the same run: parsing and validating it, which every lint does first.
//! The security rules put dozens of questions to the authorization engine; the gap between
//! the two is their cost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_benches as _;
use keyward_lint::{LintOptions, lint};
use keyward_policy::{PolicyKind, parse_and_validate};
use std::hint::black_box;

const POLICY: &str = include_str!("../../fixtures/lint/realistic-2kb.json");

fn lint_policy(c: &mut Criterion) {
    let options = LintOptions {
        trusted_accounts: vec!["444455556666".into()],
        ..LintOptions::default()
    };
    assert!(lint(POLICY, &options).is_empty());
    let mut group = c.benchmark_group("lint");
    group.bench_function("all_rules_2_5kb", |b| {
        b.iter(|| lint(black_box(POLICY), &options));
    });
    group.bench_function("baseline_parse_and_validate_2_5kb", |b| {
        b.iter(|| parse_and_validate(black_box(POLICY), PolicyKind::KeyPolicy).unwrap());
    });
    group.finish();
}

criterion_group!(benches, lint_policy);
criterion_main!(benches);

//! Group `analysis`: `keyward diff` of two realistic 2.5 KB key policies (target: median
//! under 1 ms), every witness confirmed by `authz` and explained under both sides, against a
//! baseline in the same run: parsing and validating the two policies, which every diff does
//! first. The pair is the corpus's `fixtures/diff/realistic-2kb-review`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_analysis::{KeyFacts, PolicySet, diff};
use keyward_policy::{PolicyKind, parse_and_validate};
use std::hint::black_box;

const OLD: &str = include_str!("../../fixtures/diff/realistic-2kb-review/old.json");
const NEW: &str = include_str!("../../fixtures/diff/realistic-2kb-review/new.json");
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn side(policy: &str) -> PolicySet {
    PolicySet {
        key_policy: policy.to_owned(),
        identity_policies: None,
        grants: Vec::new(),
    }
}

fn diff_policies(c: &mut Criterion) {
    let (old, new) = (side(OLD), side(NEW));
    let key = KeyFacts::symmetric(KEY);
    let report = diff(&old, &new, &key).unwrap();
    assert_eq!(report.result, "FAIL");
    let mut group = c.benchmark_group("analysis");
    group.bench_function("diff_2_5kb_key_policies", |b| {
        b.iter(|| diff(black_box(&old), black_box(&new), &key).unwrap());
    });
    group.bench_function("diff_2_5kb_with_itself", |b| {
        b.iter(|| diff(black_box(&old), black_box(&old), &key).unwrap());
    });
    group.bench_function("baseline_parse_and_validate_both", |b| {
        b.iter(|| {
            parse_and_validate(black_box(OLD), PolicyKind::KeyPolicy).unwrap();
            parse_and_validate(black_box(NEW), PolicyKind::KeyPolicy).unwrap();
        });
    });
    group.finish();
}

criterion_group!(benches, diff_policies);
criterion_main!(benches);

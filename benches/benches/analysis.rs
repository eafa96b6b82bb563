//! Group `analysis`: `keyward diff` of two realistic 2.5 KB key policies (target: median
//! under 1 ms), every witness confirmed by `authz` and explained under both sides, against a
//! baseline in the same run: parsing and validating the two policies, which every diff does
//! first. The pair is the corpus's `fixtures/diff/realistic-2kb-review`. And `keyward
//! who-can` over 1,000 principals (target: under 1 s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_analysis::diff;
use keyward_benches::diff::{NEW, OLD, key, side};
use keyward_policy::{PolicyKind, parse_and_validate};
use std::hint::black_box;

fn diff_policies(c: &mut Criterion) {
    let (old, new) = (side(OLD), side(NEW));
    let key = key();
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

/// `who-can` over 1,000 principals of the fixture account × every action on a key (target:
/// under 1 s), against a baseline in the same run: reading the account's IAM data and
/// gathering every principal's identity policies, which every who-can does first.
fn who_can_1000(c: &mut Criterion) {
    let inputs = keyward_benches::who_can::inputs(1_000);
    let report = keyward_analysis::who_can(&inputs).unwrap();
    assert_eq!(report.principals, 1_001);
    let mut group = c.benchmark_group("analysis");
    group.sample_size(10);
    group.bench_function("who_can_1000_principals", |b| {
        b.iter(|| keyward_analysis::who_can(black_box(&inputs)).unwrap());
    });
    let details = inputs.details.clone().unwrap();
    group.bench_function("baseline_gather_1000_principals_policies", |b| {
        b.iter(|| {
            for arn in details.principals() {
                black_box(details.policies_of(arn).unwrap());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, diff_policies, who_can_1000);
criterion_main!(benches);

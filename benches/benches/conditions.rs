//! Group `conditions`: evaluating a compiled 3-operator condition block (target under 100 ns,
//! no allocation; the allocation check is `crates/conditions/tests/no_allocation.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_benches::{matching_request, three_operator_condition};
use keyward_conditions::{ContextKey, RequestContext};
use std::hint::black_box;

fn conditions(c: &mut Criterion) {
    let condition = three_operator_condition().unwrap();
    let request = matching_request();
    assert!(condition.evaluate(&request));
    let mut group = c.benchmark_group("conditions");
    group.bench_function("evaluate/3-operators-all-hold", |b| {
        b.iter(|| black_box(&condition).evaluate(black_box(&request)))
    });
    let mut failing = request.clone();
    failing.insert_single("kms:CallerAccount", "999999999999");
    group.bench_function("evaluate/3-operators-first-fails", |b| {
        b.iter(|| black_box(&condition).evaluate(black_box(&failing)))
    });
    // Baseline in the same run: looking the three keys up, without comparing anything.
    let keys = ["kms:CallerAccount", "aws:SourceIp", "aws:CurrentTime"].map(ContextKey::new);
    group.bench_function("baseline/3-context-lookups", |b| {
        b.iter(|| {
            let r: &RequestContext = black_box(&request);
            keys.iter().filter(|k| r.lookup(k).is_some()).count()
        })
    });
    group.bench_function("explain/3-operators", |b| {
        b.iter(|| black_box(&condition).explain(black_box(&request)))
    });
    group.finish();
}

criterion_group!(benches, conditions);
criterion_main!(benches);

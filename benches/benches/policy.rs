//! Group `policy`: parse, validate and compile every fixture policy, and each stage separately
//! for the 2 KB reference key policy. Throughput is reported in bytes of policy text. "Compile"
//! is this crate's part of the compiled policy, the statement matchers (the conditions are in
//! group `conditions`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyward_benches as _;
use keyward_policy::{
    Diagnostics, PolicyKind, StatementMatchers, parse_and_validate, parse_policy, validate,
};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// Parse, validate and build the statement matchers of `text`.
fn matchers_of(text: &str, kind: PolicyKind) -> Result<StatementMatchers, Diagnostics> {
    StatementMatchers::new(&parse_and_validate(text, kind)?, kind)
}

fn fixtures(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/policies")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn reference_2kb(c: &mut Criterion) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/policies/valid/key/console-default-hardened-2kb.json"),
    )
    .unwrap();
    let kind = PolicyKind::KeyPolicy;
    let document = parse_policy(&text).unwrap();
    let mut group = c.benchmark_group("policy/2kb");
    group.throughput(Throughput::Bytes(text.len() as u64));
    // Baselines in the same run: what the JSON layers alone cost.
    group.bench_function("baseline/serde_json-ignored", |b| {
        b.iter(|| serde_json::from_str::<serde::de::IgnoredAny>(black_box(&text)).unwrap())
    });
    group.bench_function("baseline/serde_json-value", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&text)).unwrap())
    });
    let strict = keyward_policy::parser::strict_json();
    group.bench_function("baseline/jsonc-ast", |b| {
        b.iter(|| {
            jsonc_parser::parse_to_ast(black_box(&text), &Default::default(), &strict).unwrap()
        })
    });
    group.bench_function("parse", |b| b.iter(|| parse_policy(black_box(&text))));
    group.bench_function("validate", |b| {
        b.iter(|| validate(black_box(&document), &text, kind))
    });
    group.bench_function("compile", |b| {
        b.iter(|| StatementMatchers::new(black_box(&document), kind))
    });
    group.bench_function("parse+validate+compile", |b| {
        b.iter(|| matchers_of(black_box(&text), kind).unwrap())
    });
    group.finish();
}

fn every_fixture(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy/fixtures");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (dir, kind) in [
        ("valid/key", PolicyKind::KeyPolicy),
        ("valid/identity", PolicyKind::IdentityPolicy),
    ] {
        for (name, text) in fixtures(dir) {
            assert!(parse_and_validate(&text, kind).is_ok(), "{name} is valid");
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(
                BenchmarkId::new("parse+validate+compile", &name),
                &text,
                |b, text| b.iter(|| matchers_of(black_box(text), kind).unwrap()),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, reference_2kb, every_fixture);
criterion_main!(benches);

//! Group `decision`: authorization decisions on a prepared `Authorizer`, fast path (`verdict`)
//! and explained (`decide`), beside the bare parse of the caller's ARN in the same run. Targets
//! (issue 4): (a) and (b) under 500 ns, (c) under 5 us; (issue 23) (a) at most 80 ns, (b) at most
//! 100 ns, (c) at most 400 ns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_authz::{Authorizer, Request, Verdict};
use keyward_benches::decision;
use keyward_policy::principal::Principal;
use std::hint::black_box;

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("decision");
    for (name, text) in [
        ("a-default-policy", decision::default_policy()),
        ("b-console-4-statements", decision::console_policy()),
        (
            "c-30-statements-3-identity-1000-grants",
            decision::large_policy(),
        ),
    ] {
        let request = Request::parse(&text).unwrap();
        let authorizer = Authorizer::for_request(&request).unwrap();
        assert_eq!(authorizer.verdict(&request), Verdict::Allow, "{name}");
        assert_eq!(
            authorizer.decide(&request).verdict,
            Verdict::Allow,
            "{name}"
        );
        group.bench_function(format!("verdict/{name}"), |b| {
            b.iter(|| black_box(&authorizer).verdict(black_box(&request)))
        });
        group.bench_function(format!("decide/{name}"), |b| {
            b.iter(|| black_box(&authorizer).decide(black_box(&request)))
        });
        // The same-run floor: parsing the caller's ARN once, which the decision used to do
        // several times over.
        group.bench_function(format!("baseline-parse-caller-arn/{name}"), |b| {
            b.iter(|| Principal::parse_caller(black_box(&request.principal)).is_ok())
        });
        group.bench_function(format!("parse-request/{name}"), |b| {
            b.iter(|| Request::parse(black_box(&text)).unwrap())
        });
    }
    // Item 2 of issue 23: building case (b)'s request context, beside the decision on it.
    group.bench_function("request-context/b-console-4-statements", |b| {
        b.iter(decision::context_b)
    });
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);

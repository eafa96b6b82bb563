//! Group `grants`: resolving the grants that apply to a request among 50,000 grants on a key
//! (target under 1 us). 5,000 grantees hold 10 grants each, with different operations and
//! encryption-context constraints; a baseline checks every grant, as an unindexed store would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_benches as _;
use keyward_grants::resolver::{Caller, GrantSet};
use keyward_grants::{Grant, GrantConstraint, parse_operations};
use keyward_policy::catalog::kms_action;
use std::hint::black_box;

fn grants() -> Vec<Grant> {
    (0..50_000)
        .map(|i| {
            let ops: &[&str] = if i % 2 == 0 {
                &["Decrypt", "GenerateDataKey"]
            } else {
                &["Encrypt", "Decrypt"]
            };
            Grant {
                id: format!("{i:064x}"),
                name: None,
                grantee: format!("arn:aws:iam::111122223333:role/worker-{}", i % 5_000),
                retiring_principal: None,
                issuing_account: Some("111122223333".into()),
                key: None,
                created_at: None,
                operations: parse_operations(ops.iter().copied()).unwrap(),
                constraint: Some(GrantConstraint::EncryptionContextSubset(vec![(
                    "job".into(),
                    format!("job-{i}"),
                )])),
            }
        })
        .collect()
}

fn resolution(c: &mut Criterion) {
    let set = GrantSet::new(grants());
    let decrypt = kms_action("kms:Decrypt").unwrap();
    let caller = Caller::of(
        "arn:aws:sts::111122223333:assumed-role/worker-7/job",
        Some("arn:aws:iam::111122223333:role/worker-7"),
        "111122223333",
    );
    let context = vec![("job".to_owned(), "job-45007".to_owned())];
    assert_eq!(set.applying(caller, decrypt, &context).len(), 1);
    let mut group = c.benchmark_group("grants");
    group.bench_function("resolve/50000-grants", |b| {
        b.iter(|| {
            let mut n = 0;
            black_box(&set).for_each_applying(
                black_box(caller),
                decrypt,
                black_box(&context),
                |_| n += 1,
            );
            n
        })
    });
    group.bench_function("baseline/check-every-grant", |b| {
        b.iter(|| {
            black_box(&set)
                .grants()
                .iter()
                .filter(|g| {
                    g.grantee_match(caller.arn, caller.role, caller.account)
                        != keyward_grants::GranteeMatch::Other
                })
                .filter(|g| g.refusal(decrypt, &context).is_none())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, resolution);
criterion_main!(benches);

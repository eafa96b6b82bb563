//! Parse + validate + compile of every fixture policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
fn policy(_c: &mut Criterion) {}
criterion_group!(benches, policy);
criterion_main!(benches);

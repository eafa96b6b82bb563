//! Decide one case of the criterion group `decision` N times (default 100000) on its prepared
//! authorizer with the fast path (`verdict`): a steady workload for `valgrind
//! --tool=callgrind` (runs of N and 1; the difference over N - 1 is one decision's
//! instructions). The case is `a`, `b` (default) or `c`, as in the group.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_authz::{Authorizer, Request, Verdict};
use keyward_benches::decision;
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().unwrap());
    let text = match std::env::args().nth(2).as_deref() {
        Some("a") => decision::default_policy(),
        Some("c") => decision::large_policy(),
        _ => decision::console_policy(),
    };
    let request = Request::parse(&text).unwrap();
    let authorizer = Authorizer::for_request(&request).unwrap();
    for _ in 0..n {
        assert_eq!(
            black_box(&authorizer).verdict(black_box(&request)),
            Verdict::Allow
        );
    }
}

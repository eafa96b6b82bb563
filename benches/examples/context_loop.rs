//! Build case (b)'s request context N times (default 100000; `keyward_benches::decision::
//! context_b`): a steady workload for `valgrind --tool=callgrind` (runs of N and 1; the
//! difference over N - 1 is one build's instructions).
#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_benches::decision;
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().unwrap());
    for _ in 0..n {
        black_box(decision::context_b());
    }
}

//! `keyward diff` of the corpus's realistic 2.5 KB pair (`fixtures/diff/realistic-2kb-review`)
//! N times (default 2000), each timed: prints the median, the 99th percentile and the worst,
//! which criterion's mean-centred report does not give. Also a steady workload for
//! `valgrind --tool=callgrind` (pass a small N).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_analysis::diff;
use keyward_benches::diff::{NEW, OLD, key, side};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let n: usize = std::env::args().nth(1).map_or(2000, |a| a.parse().unwrap());
    let (old, new) = (side(OLD), side(NEW));
    let key = key();
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    let mut regions = 0;
    for _ in 0..n {
        let start = Instant::now();
        let report = diff(black_box(&old), black_box(&new), &key).unwrap();
        times.push(start.elapsed());
        assert_eq!(report.result, "FAIL");
        regions = report.regions;
    }
    if times.is_empty() {
        return;
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{n} diffs ({regions} requests decided each): median {:?}, p99 {:?}, worst {:?}",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}

//! The floor of `keyward authorize --batch FILE`: the same file read and every line parsed
//! into a request (`Request::parse_with`, with `--policies`' documents when given), on every
//! core in chunks as the batch cuts them, and nothing decided or written. Prints the time and
//! requests per second; run beside the batch in the same session to compare.
//!
//! `batch_parse_only FILE [POLICIES]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_authz::{PolicyLibrary, Request};
use keyward_benches as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn main() {
    let start = Instant::now();
    let file = std::env::args().nth(1).expect("a JSON Lines file");
    let library = std::env::args()
        .nth(2)
        .map(|p| PolicyLibrary::parse(&std::fs::read_to_string(p).unwrap()).unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let chunks: Vec<&[&str]> = lines.chunks(2048).collect();
    let next = AtomicUsize::new(0);
    let parsed = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for line in chunk.iter().filter(|l| !l.trim().is_empty()) {
                        if black_box(Request::parse_with(line, library.as_ref())).is_ok() {
                            parsed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let n = parsed.load(Ordering::Relaxed);
    println!(
        "parsed {n} requests of {file} in {elapsed:.3?} on {workers} threads: {:.0} requests/s",
        n as f64 / elapsed.as_secs_f64()
    );
}

//! The floor of `keyward authorize --batch FILE`: the same file read as the batch reads it (its
//! own `line_blocks` module: blocks of whole lines, their buffers used again) and every line
//! parsed into a request (`Request::parse_with`, with `--policies`' documents when given), on
//! every core, block by block, and nothing decided or written. Prints the time and requests
//! per second; run beside the batch in the same session to compare.
//!
//! `batch_parse_only FILE [POLICIES]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

#[path = "../../crates/cli/src/commands/authorize/line_blocks.rs"]
#[allow(
    dead_code,
    reason = "the batch's reader, of which the floor needs the reading"
)]
mod line_blocks;

use keyward_authz::{PolicyLibrary, Request};
use keyward_benches as _;
use line_blocks::{BLOCK_BYTES, LineBlocks};
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn main() {
    let start = Instant::now();
    let file = std::env::args().nth(1).expect("a JSON Lines file");
    let library = std::env::args()
        .nth(2)
        .map(|p| PolicyLibrary::parse(&std::fs::read_to_string(p).unwrap()).unwrap());
    let blocks = Mutex::new(LineBlocks::new(std::fs::File::open(&file).unwrap()));
    let buffers: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let parsed = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let buffer = buffers.lock().unwrap().pop();
                    let buffer = buffer.unwrap_or_else(|| Vec::with_capacity(BLOCK_BYTES));
                    let Some(block) = blocks.lock().unwrap().next_block(buffer).unwrap() else {
                        return;
                    };
                    for (_, line) in block.lines() {
                        let line = line.unwrap();
                        if !line.trim().is_empty()
                            && black_box(Request::parse_with(line, library.as_ref())).is_ok()
                        {
                            parsed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    buffers.lock().unwrap().push(block.into_buffer());
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

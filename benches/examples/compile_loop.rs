//! Compile the 2 KB reference key policy N times (default 2000): a steady workload for
//! `valgrind --tool=callgrind`, whose instruction counts are repeatable on a noisy machine.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests: a failure panics with the value shown"
)]

use keyward_benches as _;
use keyward_policy::{PolicyKind, StatementMatchers, parse_policy, validate};
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(2000, |a| a.parse().unwrap());
    let stage = std::env::args().nth(2).unwrap_or_else(|| "all".to_owned());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/policies/valid/key/console-default-hardened-2kb.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let document = parse_policy(&text).unwrap();
    for _ in 0..n {
        match stage.as_str() {
            "parse" => drop(black_box(parse_policy(black_box(&text)))),
            "compile" => drop(black_box(StatementMatchers::new(
                black_box(&document),
                PolicyKind::KeyPolicy,
            ))),
            _ => {
                let document = parse_policy(black_box(&text)).unwrap();
                assert!(validate(&document, &text, PolicyKind::KeyPolicy).is_empty());
                drop(black_box(
                    StatementMatchers::new(&document, PolicyKind::KeyPolicy).unwrap(),
                ));
            }
        }
    }
}

//! Cut arbitrary input into the batch's blocks of lines (`keyward authorize --batch`'s own
//! reader), read in pieces of sizes the input chooses, with a limit for a line that it chooses
//! too: nothing may panic, the lines must be numbered from 1 without a gap, each must be the
//! input's line (cut at `\n` or `\r\n`) read as UTF-8 or found not to be, or its length when
//! over the limit, and for UTF-8 input within the limit they must be those of `str::lines`.
#![no_main]

#[path = "../../crates/cli/src/commands/authorize/line_blocks.rs"]
#[allow(dead_code, reason = "the batch's reader, of which the target needs the reading")]
mod line_blocks;

use libfuzzer_sys::fuzz_target;
use line_blocks::{LineBlocks, LineError};
use std::io::Read;

/// Gives at most the next step's bytes a read, the steps taken from the input's first bytes.
struct Pieces<'a> {
    bytes: &'a [u8],
    steps: &'a [u8],
    at: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let step = self.steps.get(self.at % self.steps.len().max(1)).copied().unwrap_or(255);
        self.at += 1;
        let n = usize::from(step).max(1).min(out.len()).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A line as read: its text, not UTF-8, or its length over the limit.
#[derive(Debug, PartialEq)]
enum LineRead {
    Text(String),
    NotUtf8,
    TooLong(u64),
}

fuzz_target!(|data: &[u8]| {
    let (limit, data) = data.split_first().map_or((255, data), |(l, rest)| (*l, rest));
    let limit = usize::from(limit);
    let (steps, bytes) = data.split_at(data.len().min(8));
    let mut blocks = LineBlocks::with_line_limit(Pieces { bytes, steps, at: 0 }, limit);
    let mut numbers = Vec::new();
    let mut lines = Vec::new();
    let mut buffer = Vec::new();
    while let Some(block) = blocks.next_block(buffer).unwrap() {
        for (number, line) in block.lines() {
            numbers.push(number);
            lines.push(match line {
                Ok(line) => LineRead::Text(line.to_owned()),
                Err(LineError::NotUtf8(_)) => LineRead::NotUtf8,
                Err(LineError::TooLong { bytes, limit: l }) => {
                    assert_eq!(l, limit);
                    LineRead::TooLong(bytes)
                }
            });
        }
        buffer = block.into_buffer();
    }
    assert_eq!(numbers, (1..=lines.len()).collect::<Vec<_>>());
    // The input's lines as `str::lines` cuts a text, on bytes: each over the limit, read as
    // UTF-8 or not.
    let expected: Vec<LineRead> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(|line| match line.strip_suffix(b"\n") {
            Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
            None => line,
        })
        .map(|line| {
            if line.len() > limit {
                LineRead::TooLong(line.len() as u64)
            } else {
                std::str::from_utf8(line).map_or(LineRead::NotUtf8, |l| LineRead::Text(l.to_owned()))
            }
        })
        .collect();
    assert_eq!(lines, expected);
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.lines().all(|l| l.len() <= limit)
    {
        let as_str: Vec<LineRead> = text.lines().map(|l| LineRead::Text(l.to_owned())).collect();
        assert_eq!(lines, as_str);
    }
});

//! Cut arbitrary input into the batch's blocks of lines (`keyward authorize --batch`'s own
//! reader), read in pieces of sizes the input chooses: nothing may panic, the lines must be
//! numbered from 1 without a gap, each must be the input's line (cut at `\n` or `\r\n`) read
//! as UTF-8 or found not to be, and for UTF-8 input they must be those of `str::lines`.
#![no_main]

#[path = "../../crates/cli/src/commands/authorize/line_blocks.rs"]
#[allow(dead_code, reason = "the batch's reader, of which the target needs the reading")]
mod line_blocks;

use libfuzzer_sys::fuzz_target;
use line_blocks::LineBlocks;
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

fuzz_target!(|data: &[u8]| {
    let (steps, bytes) = data.split_at(data.len().min(8));
    let mut blocks = LineBlocks::new(Pieces { bytes, steps, at: 0 });
    let mut numbers = Vec::new();
    let mut lines: Vec<Option<String>> = Vec::new();
    let mut buffer = Vec::new();
    while let Some(block) = blocks.next_block(buffer).unwrap() {
        for (number, line) in block.lines() {
            numbers.push(number);
            lines.push(line.ok().map(str::to_owned));
        }
        buffer = block.into_buffer();
    }
    assert_eq!(numbers, (1..=lines.len()).collect::<Vec<_>>());
    // The input's lines as `str::lines` cuts a text, on bytes: each read as UTF-8 or not.
    let expected: Vec<Option<String>> = bytes
        .split_inclusive(|&b| b == b'\n')
        .map(|line| match line.strip_suffix(b"\n") {
            Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
            None => line,
        })
        .map(|line| std::str::from_utf8(line).ok().map(str::to_owned))
        .collect();
    assert_eq!(lines, expected);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let as_str: Vec<Option<String>> = text.lines().map(|l| Some(l.to_owned())).collect();
        assert_eq!(lines, as_str);
    }
});

//! The batch's input read as it goes, in blocks of whole lines: a batch of millions of lines
//! holds a few blocks in memory rather than its whole input, its first results are written
//! while the rest is still being read (from a pipe too), and the blocks' buffers are used
//! again, so a long batch does not keep asking the system for fresh memory. Lines are cut as
//! `str::lines` cuts them. It needs only `std` and `memchr`: the parse-only floor of
//! `benches/` reads its file through this same module.

use std::io::Read;

/// What a block is read up to, in bytes: the whole lines among them make the block, and the
/// rest starts the next one. A line longer than this makes a block of its own.
pub(crate) const BLOCK_BYTES: usize = 1 << 21;

/// Whole lines of the input.
#[derive(Debug)]
pub(crate) struct Block {
    /// The block's place in the input, from 0: results are written in this order.
    pub index: usize,
    /// The 1-based number of its first line in the input.
    pub first_line: usize,
    /// The buffer the block was read into; its first `len` bytes are the lines.
    buffer: Vec<u8>,
    len: usize,
}

impl Block {
    /// Each line with its number, without its `\n` (or `\r\n`), as `str::lines` gives it; a line
    /// that is not UTF-8 as the error of its reading.
    pub(crate) fn lines(&self) -> Lines<'_> {
        Lines {
            rest: self.buffer.get(..self.len).unwrap_or_default(),
            number: self.first_line,
        }
    }

    /// The block's buffer, to read another block into.
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        self.buffer
    }
}

/// The lines of a [`Block`].
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, Result<&'a str, std::str::Utf8Error>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) =
            match memchr::memchr(b'\n', self.rest).and_then(|at| self.rest.split_at_checked(at)) {
                Some((line, rest)) => (
                    line.strip_suffix(b"\r").unwrap_or(line),
                    rest.get(1..).unwrap_or_default(),
                ),
                None => (self.rest, &[][..]),
            };
        self.rest = rest;
        let number = self.number;
        self.number += 1;
        Some((number, std::str::from_utf8(line)))
    }
}

/// The input, cut into [`Block`]s.
#[derive(Debug)]
pub(crate) struct LineBlocks<R> {
    reader: R,
    /// What was read after the last block's last newline: the start of the next block.
    carry: Vec<u8>,
    next_index: usize,
    next_line: usize,
    ended: bool,
    /// A read failed: what it would have given is lost, so nothing after it is read.
    failed: bool,
}

impl<R: Read> LineBlocks<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            next_index: 0,
            next_line: 1,
            ended: false,
            failed: false,
        }
    }

    /// The next block, read into `buffer` (a block's buffer given back, or a new one), or
    /// `None` at the end of the input. A block ends at the last newline read once
    /// [`BLOCK_BYTES`] are read, or once a read brings less than it was asked for (a pipe with
    /// nothing more for now) and some line is whole; at the end of the input the last line
    /// needs no newline.
    ///
    /// After a failed read every call fails: the lines after it are never given as though
    /// nothing were missing.
    pub(crate) fn next_block(&mut self, mut buffer: Vec<u8>) -> std::io::Result<Option<Block>> {
        if self.failed {
            return Err(std::io::Error::other("an earlier read of the input failed"));
        }
        // The buffer stays initialized from one block to the next: only what grows is zeroed.
        if buffer.len() < BLOCK_BYTES {
            buffer.resize(BLOCK_BYTES, 0);
        }
        let mut len = self.carry.len();
        if buffer.len() < len {
            buffer.resize(len, 0);
        }
        if let Some(start) = buffer.get_mut(..len) {
            start.copy_from_slice(&self.carry);
        }
        self.carry.clear();
        // Where the bytes not yet searched for a newline start, and the end of the last line
        // found whole.
        let mut searched = 0;
        let mut whole = None;
        let cut = loop {
            if self.ended {
                break len;
            }
            if len == buffer.len() {
                // A line longer than the buffer: room for more of it.
                buffer.resize(len.saturating_mul(2), 0);
            }
            let room = buffer.get_mut(len..).unwrap_or_default();
            let asked = room.len();
            let read = match self.reader.read(room) {
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            };
            len += read;
            if read == 0 {
                self.ended = true;
                continue;
            }
            if let Some(at) = buffer
                .get(searched..len)
                .and_then(|new| memchr::memrchr(b'\n', new))
            {
                whole = Some(searched + at + 1);
            }
            searched = len;
            if let Some(whole) = whole
                && (len >= BLOCK_BYTES || read < asked)
            {
                break whole;
            }
        };
        if cut == 0 {
            return Ok(None);
        }
        self.carry
            .extend_from_slice(buffer.get(cut..len).unwrap_or_default());
        let newlines = buffer
            .get(..cut)
            .map_or(0, |b| memchr::memchr_iter(b'\n', b).count());
        let ends_whole = buffer.get(cut.wrapping_sub(1)) == Some(&b'\n');
        let block = Block {
            index: self.next_index,
            first_line: self.next_line,
            buffer,
            len: cut,
        };
        self.next_index += 1;
        // The last line of the input counts without its newline.
        self.next_line += newlines + usize::from(!ends_whole);
        Ok(Some(block))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use proptest::prelude::*;

    /// A reader that gives at most `step` bytes a read, as a pipe does.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Every line of every block, numbered, and how many blocks there were.
    fn read_all(reader: impl Read) -> (Vec<(usize, String)>, usize) {
        let mut blocks = LineBlocks::new(reader);
        let mut lines = Vec::new();
        let mut buffer = Vec::new();
        let mut count = 0;
        while let Some(block) = blocks.next_block(buffer).unwrap() {
            assert_eq!(block.index, count);
            count += 1;
            for (number, line) in block.lines() {
                lines.push((number, line.unwrap().to_owned()));
            }
            buffer = block.into_buffer();
        }
        (lines, count)
    }

    fn as_str_lines(text: &str) -> Vec<(usize, String)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_owned()))
            .collect()
    }

    proptest! {
        /// Whatever the text and however the reads cut it, the lines and their numbers are
        /// those of `str::lines` (a final newline or none, `\r\n`, a lone `\r`, blank lines).
        #[test]
        fn the_lines_are_str_lines_however_the_reads_cut_them(
            text in "([ab\r]{0,6}\n?){0,40}",
            step in 1usize..9,
        ) {
            let (lines, _) = read_all(Trickle { bytes: text.as_bytes(), step });
            prop_assert_eq!(lines, as_str_lines(&text));
        }
    }

    /// A file read whole at each call fills blocks of [`BLOCK_BYTES`], each ending at a line's
    /// end, and numbers the lines across them; a line longer than a block is one of its own.
    #[test]
    fn blocks_are_whole_lines_up_to_the_block_size_and_a_long_line_is_one_block() {
        let line = format!("{}\n", "x".repeat(999));
        let text = line.repeat(3 * BLOCK_BYTES / 1000) + &"y".repeat(2 * BLOCK_BYTES) + "\nlast";
        let (lines, blocks) = read_all(std::io::Cursor::new(text.as_bytes()));
        assert_eq!(lines, as_str_lines(&text));
        assert!((4..=6).contains(&blocks), "{blocks} blocks");
        let mut reader = LineBlocks::new(std::io::Cursor::new(text.as_bytes()));
        let first = reader.next_block(Vec::new()).unwrap().unwrap();
        assert!(first.len <= BLOCK_BYTES && first.len > BLOCK_BYTES - 1000);
        assert_eq!(first.len % 1000, 0, "not cut at a line's end");
    }

    /// A pipe that has nothing more for now gives a block of the whole lines it brought: the
    /// first results need not wait for a full block.
    #[test]
    fn a_short_read_with_a_whole_line_ends_a_block() {
        let text = "{\"a\":1}\n{\"b\":2}\n{\"c\"";
        let mut reader = LineBlocks::new(Trickle {
            bytes: text.as_bytes(),
            step: 12,
        });
        let first = reader.next_block(Vec::new()).unwrap().unwrap();
        let lines: Vec<_> = first.lines().map(|(n, l)| (n, l.unwrap())).collect();
        assert_eq!(lines, [(1, "{\"a\":1}")]);
    }

    /// A line that is not UTF-8 is that line's error; the lines around it are read.
    #[test]
    fn a_line_not_utf8_is_its_own_error() {
        let text = b"ok\ncaf\xe9\nok again";
        let mut reader = LineBlocks::new(&text[..]);
        let mut lines = Vec::new();
        let mut buffer = Vec::new();
        while let Some(block) = reader.next_block(buffer).unwrap() {
            for (number, line) in block.lines() {
                lines.push((number, line.map(str::to_owned).map_err(|e| e.valid_up_to())));
            }
            buffer = block.into_buffer();
        }
        assert_eq!(
            lines,
            [
                (1, Ok("ok".into())),
                (2, Err(3)),
                (3, Ok("ok again".into()))
            ]
        );
    }

    /// A failed read is the caller's error, not an end, and so is every read after it.
    #[test]
    fn a_read_error_is_returned() {
        // The failure comes once, in the middle of a line; the input goes on after it.
        struct FailingOnce(bool);
        impl Read for FailingOnce {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return (&b" line\nnext\n"[..]).read(out);
                }
                Err(std::io::Error::other("disk gone"))
            }
        }
        let mut blocks = LineBlocks::new(Read::chain(&b"partial"[..], FailingOnce(false)));
        let error = blocks.next_block(Vec::new()).unwrap_err();
        assert_eq!(error.to_string(), "disk gone");
        // The rest of the input is never given as though nothing were missing.
        assert!(blocks.next_block(Vec::new()).is_err());
        assert!(blocks.next_block(Vec::new()).is_err());
    }
}

//! The batch's input read as it goes, in blocks of whole lines: a batch of millions of lines
//! holds a few blocks in memory rather than its whole input, its first results are written
//! while the rest is still being read (from a pipe too), and the blocks' buffers are used
//! again, so a long batch does not keep asking the system for fresh memory. Lines are cut as
//! `str::lines` cuts them, and a line is at most [`MAX_LINE_BYTES`] long: a longer one is
//! read past, never held, and given as its error. It needs only `std` and `memchr`: the
//! parse-only floor of `benches/` and a fuzz target read through this same module.

use std::io::Read;

/// What a block is read up to, in bytes: the whole lines among them make the block, and the
/// rest starts the next one. A line longer than this makes a block of its own.
pub(crate) const BLOCK_BYTES: usize = 1 << 21;

/// The longest line read, in bytes (without its `\n` or `\r\n`): 8 MiB, room for a request
/// that embeds eight policies as large as the policy parser reads (1 MiB each). A longer line
/// is read past without being kept, and is its own [`LineError::TooLong`]; the lines around it
/// are read as usual.
pub(crate) const MAX_LINE_BYTES: usize = 8 << 20;

/// Why a line is not given as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineError {
    /// The line is not UTF-8.
    NotUtf8(std::str::Utf8Error),
    /// The line has `bytes` bytes, over the reader's limit for a line (`limit`): it was read
    /// past, not kept.
    TooLong { bytes: u64, limit: usize },
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotUtf8(error) => write!(
                f,
                "not UTF-8 text (invalid byte at offset {} of the line)",
                error.valid_up_to()
            ),
            Self::TooLong { bytes, limit } => write!(
                f,
                "a line of {bytes} bytes, over the {limit} bytes a line may have (not read)"
            ),
        }
    }
}

impl std::error::Error for LineError {}

/// Whole lines of the input, or one line too long to keep.
#[derive(Debug)]
pub(crate) struct Block {
    /// The block's place in the input, from 0: results are written in this order.
    pub index: usize,
    /// The 1-based number of its first line in the input.
    pub first_line: usize,
    /// The buffer the block was read into; its first `len` bytes are the lines.
    buffer: Vec<u8>,
    len: usize,
    /// The longest line given as text.
    line_limit: usize,
    /// The block is one line of this many bytes, over `line_limit`, read past (`len` is 0).
    too_long: Option<u64>,
}

impl Block {
    /// Each line with its number, without its `\n` (or `\r\n`), as `str::lines` gives it; a line
    /// that is not UTF-8, or longer than the limit, as the error of its reading.
    pub(crate) fn lines(&self) -> Lines<'_> {
        Lines {
            rest: self.buffer.get(..self.len).unwrap_or_default(),
            number: self.first_line,
            limit: self.line_limit,
            too_long: self.too_long,
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
    limit: usize,
    too_long: Option<u64>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, Result<&'a str, LineError>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(bytes) = self.too_long.take() {
            let limit = self.limit;
            return Some((self.number, Err(LineError::TooLong { bytes, limit })));
        }
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
        // A line read whole within a block may still be over the limit (a limit below the
        // block's size): the limit is the same however the reads cut the input.
        if line.len() > self.limit {
            let (bytes, limit) = (line.len() as u64, self.limit);
            return Some((number, Err(LineError::TooLong { bytes, limit })));
        }
        Some((
            number,
            std::str::from_utf8(line).map_err(LineError::NotUtf8),
        ))
    }
}

/// The input, cut into [`Block`]s.
#[derive(Debug)]
pub(crate) struct LineBlocks<R> {
    reader: R,
    /// The longest line kept ([`MAX_LINE_BYTES`] unless a caller chose).
    line_limit: usize,
    /// What was read after the last block's last newline: the start of the next block.
    carry: Vec<u8>,
    next_index: usize,
    next_line: usize,
    ended: bool,
    /// A read failed: what it would have given is lost, so nothing after it is read.
    failed: bool,
}

impl<R: Read> LineBlocks<R> {
    /// Blocks of `reader`'s lines, each at most [`MAX_LINE_BYTES`] long.
    pub(crate) fn new(reader: R) -> Self {
        Self::with_line_limit(reader, MAX_LINE_BYTES)
    }

    /// Blocks of `reader`'s lines, each at most `line_limit` bytes long (without the newline).
    pub(crate) fn with_line_limit(reader: R, line_limit: usize) -> Self {
        Self {
            reader,
            line_limit,
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
    /// needs no newline. A line found longer than the limit before its end is read ends the
    /// block before it, and is then a block of its own, read past to its newline.
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
        // found whole (the carry holds whole lines when it follows a line read past).
        let mut searched = len;
        let mut whole = buffer
            .get(..len)
            .and_then(|carry| memchr::memrchr(b'\n', carry))
            .map(|at| at + 1);
        // An open line of this many bytes is over the limit whether or not a `\r` ends it.
        let over = self.line_limit.saturating_add(1);
        let cut = loop {
            if len.saturating_sub(whole.unwrap_or(0)) > over {
                match whole {
                    // The lines before it make this block; the long line starts the next.
                    Some(whole) => break whole,
                    None => return self.read_past_long_line(buffer, len).map(Some),
                }
            }
            if self.ended {
                break len;
            }
            if len == buffer.len() {
                // A line longer than the buffer: room for more of it, up to where it is known
                // to be over the limit.
                let room = len
                    .saturating_mul(2)
                    .min(over.saturating_add(1))
                    .max(len + 1);
                buffer.resize(room, 0);
            }
            let room = buffer.get_mut(len..).unwrap_or_default();
            let asked = room.len();
            let read = self.read(room)?;
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
        let block = self.block(buffer, cut, None);
        // The last line of the input counts without its newline.
        self.next_line += newlines + usize::from(!ends_whole);
        Ok(Some(block))
    }

    /// Reads past the line whose first `len` bytes (no newline among them) are in `buffer`,
    /// to its newline or the input's end, keeping only what follows it; the block that stands
    /// for it gives its length.
    fn read_past_long_line(&mut self, mut buffer: Vec<u8>, len: usize) -> std::io::Result<Block> {
        let mut bytes = len as u64;
        // Whether the bytes counted so far end with a `\r` (not the line's if a `\n` follows).
        let mut ends_with_cr = buffer.get(len.wrapping_sub(1)) == Some(&b'\r');
        loop {
            let read = self.read(&mut buffer)?;
            let Some(piece) = buffer.get(..read).filter(|piece| !piece.is_empty()) else {
                self.ended = true;
                break;
            };
            if let Some(at) = memchr::memchr(b'\n', piece) {
                let before_newline = piece.get(..at).unwrap_or_default();
                bytes += at as u64;
                if before_newline.last().map_or(ends_with_cr, |&b| b == b'\r') {
                    bytes -= 1;
                }
                self.carry
                    .extend_from_slice(piece.get(at + 1..).unwrap_or_default());
                break;
            }
            bytes += read as u64;
            ends_with_cr = piece.last() == Some(&b'\r');
        }
        let block = self.block(buffer, 0, Some(bytes));
        self.next_line += 1;
        Ok(block)
    }

    /// The next block: `buffer`'s first `len` bytes, or the line `too_long` stands for.
    fn block(&mut self, buffer: Vec<u8>, len: usize, too_long: Option<u64>) -> Block {
        let block = Block {
            index: self.next_index,
            first_line: self.next_line,
            buffer,
            len,
            line_limit: self.line_limit,
            too_long,
        };
        self.next_index += 1;
        block
    }

    /// One read of the input into `into`, again when interrupted; a failure is kept, so that
    /// every later call fails too.
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.reader.read(into) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
                Ok(read) => return Ok(read),
            }
        }
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

    /// Numbered lines, each its text or its length over the limit.
    type LimitedLines = Vec<(usize, Result<String, u64>)>;

    /// What a text's lines are with a limit: `str::lines`, each longer than `limit` bytes
    /// given as its length.
    fn limited_lines(text: &str, limit: usize) -> LimitedLines {
        as_str_lines(text)
            .into_iter()
            .map(|(n, l)| {
                (
                    n,
                    if l.len() > limit {
                        Err(l.len() as u64)
                    } else {
                        Ok(l)
                    },
                )
            })
            .collect()
    }

    /// Every line of every block, a line over the limit as its length; and the largest buffer
    /// a block came in.
    fn read_limited(reader: impl Read, limit: usize) -> (LimitedLines, usize) {
        let mut blocks = LineBlocks::with_line_limit(reader, limit);
        let (mut lines, mut buffer, mut largest) = (Vec::new(), Vec::new(), 0);
        while let Some(block) = blocks.next_block(buffer).unwrap() {
            for (number, line) in block.lines() {
                let line = match line {
                    Ok(line) => Ok(line.to_owned()),
                    Err(LineError::TooLong { bytes, limit: l }) => {
                        assert_eq!(l, limit);
                        Err(bytes)
                    }
                    Err(e) => panic!("{e}"),
                };
                lines.push((number, line));
            }
            buffer = block.into_buffer();
            largest = largest.max(buffer.len());
        }
        (lines, largest)
    }

    proptest! {
        /// With any limit, however the reads cut the text, a line over the limit is its
        /// length and every other line is `str::lines`' own, numbered as it numbers them.
        #[test]
        fn a_line_over_the_limit_is_its_length_however_the_reads_cut_it(
            text in "([ab\r]{0,9}\n?){0,30}",
            step in 1usize..9,
            limit in 0usize..8,
        ) {
            let (lines, _) = read_limited(Trickle { bytes: text.as_bytes(), step }, limit);
            prop_assert_eq!(lines, limited_lines(&text, limit));
        }
    }

    /// A line longer than a block and than the limit is read past without being held: the
    /// buffer never grows beyond the limit (and two bytes); a line longer than a block but
    /// within the limit is read whole; the lines around both are read.
    #[test]
    fn a_line_over_the_limit_is_never_held() {
        let limit = BLOCK_BYTES + BLOCK_BYTES / 2;
        let within = "w".repeat(limit);
        let over = "o".repeat(3 * limit);
        for tail in ["\r\nlast\n", "\nlast", "\r"] {
            let text = format!("first\n{within}\r\n{over}{tail}");
            for step in [4096, 1 << 16, usize::MAX] {
                let (lines, largest) = read_limited(
                    Trickle {
                        bytes: text.as_bytes(),
                        step,
                    },
                    limit,
                );
                assert_eq!(lines, limited_lines(&text, limit), "{tail:?} {step}");
                assert!(largest <= limit + 2, "a buffer of {largest} bytes");
            }
        }
        // An input that is one endless line: read to its end, in a buffer of the same bound.
        let endless = std::io::repeat(b'x').take(6 * limit as u64);
        let (lines, largest) = read_limited(endless, limit);
        assert_eq!(lines, [(1, Err(6 * limit as u64))]);
        assert!(largest <= limit + 2, "a buffer of {largest} bytes");
    }

    /// The limit's error names the line's length and the limit.
    #[test]
    fn the_limit_error_names_the_length_and_the_limit() {
        let error = LineError::TooLong { bytes: 9, limit: 4 };
        assert_eq!(
            error.to_string(),
            "a line of 9 bytes, over the 4 bytes a line may have (not read)"
        );
        assert_eq!(MAX_LINE_BYTES, 8 * 1024 * 1024);
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
                let line = line.map(str::to_owned).map_err(|e| match e {
                    LineError::NotUtf8(e) => e.valid_up_to(),
                    LineError::TooLong { .. } => panic!("{e}"),
                });
                lines.push((number, line));
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

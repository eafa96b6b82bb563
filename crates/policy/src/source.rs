//! Source positions: byte spans in the model, line and column on demand.
//!
//! Every element and value of a parsed policy carries a [`Span`] (a byte range into the text it
//! was parsed from). Lines and columns are derived from a span with a [`LineIndex`] built once
//! per text, so the parser does not pay for them on the hot path and diagnostics stay exact.

use std::fmt;

/// A half-open byte range `start..end` into the policy text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The length in bytes.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no bytes.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A human position: 1-based line and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in Unicode scalar values from the start of the line.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps byte offsets of one text to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts; always starts with 0.
    line_starts: Vec<usize>,
    /// Whether each line is ASCII, so its columns are byte offsets (O(1)).
    ascii_lines: Vec<bool>,
}

impl<'a> LineIndex<'a> {
    /// Index the line starts of `text` (`\n` ends a line; `\r\n` counts once).
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        let mut ascii_lines = Vec::new();
        let mut ascii = true;
        for (i, b) in text.bytes().enumerate() {
            ascii &= b.is_ascii();
            if b == b'\n' {
                line_starts.push(i + 1);
                ascii_lines.push(ascii);
                ascii = true;
            }
        }
        ascii_lines.push(ascii);
        Self {
            text,
            line_starts,
            ascii_lines,
        }
    }

    /// The position of byte `offset`. Offsets past the end map to the end of the text; an
    /// offset inside a multi-byte character maps to that character.
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let line_start = line
            .checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
            .unwrap_or(0);
        let ascii = line
            .checked_sub(1)
            .and_then(|i| self.ascii_lines.get(i))
            .copied()
            .unwrap_or(false);
        let column = if ascii {
            offset.saturating_sub(line_start) + 1
        } else {
            self.text
                .get(line_start..)
                .unwrap_or("")
                .char_indices()
                .take_while(|&(i, _)| line_start + i < offset)
                .count()
                + 1
        };
        Position {
            line: line.max(1),
            column,
        }
    }

    /// The start position of `span`.
    pub fn start(&self, span: Span) -> Position {
        self.position(span.start)
    }

    /// The end position of `span` (the position just past its last byte).
    pub fn end(&self, span: Span) -> Position {
        self.position(span.end)
    }

    /// The text of line `line` (1-based), without its line terminator.
    pub fn line_text(&self, line: usize) -> &'a str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "{\n  \"é\": 1,\r\n  \"x\": 2\n}";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(2), Position { line: 2, column: 1 });
        assert_eq!(index.position(4), Position { line: 2, column: 3 });
        // "é" is two bytes: the colon after the closing quote is the 6th character of line 2.
        let colon = text.find(':').unwrap_or_default();
        assert_eq!(index.position(colon), Position { line: 2, column: 6 });
        let x = text.find("\"x\"").unwrap_or_default();
        assert_eq!(index.position(x), Position { line: 3, column: 3 });
        assert_eq!(index.line_text(2), "  \"é\": 1,");
        assert_eq!(index.position(10_000), index.position(text.len()));
    }

    #[test]
    fn empty_text_has_one_line() {
        let index = LineIndex::new("");
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.line_text(1), "");
        assert_eq!(index.line_text(0), "");
    }
}

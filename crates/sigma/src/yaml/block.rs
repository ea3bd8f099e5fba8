//! A line-by-line reader for the block YAML rules are written in, feeding the same [`Builder`]
//! as the event parser.
//!
//! `granit-parser`, the fastest of the four Rust YAML parsers measured (BENCHMARKS.md, "`validate`
//! speed, third round"), spends about 130 instructions per byte scanning characters one at a
//! time into a token queue; it was 45 % of `ruleproof validate`'s instructions on SigmaHQ. Rules
//! use a small part of YAML: block mappings of plain keys, block sequences, one-line plain and
//! quoted scalars, literal `|` descriptions and comments. This reader takes exactly that part,
//! a line at a time, and gives up ([`read`] returns `None`) on anything else — flow
//! collections, multi-line plain or quoted scalars, other block-scalar headers, anchors, tags,
//! quoted keys, tabs, carriage returns, directives, empty documents, and every input it cannot
//! prove well-formed — so the event parser, and behind it serde-saphyr, read those files and
//! decide their values, spans and error messages. What it takes it reads as the event parser
//! does, value for value and span for span (`block_reader_agrees_*` in `yaml.rs`: every corpus
//! file, and thousands of mutations of them).

use std::borrow::Cow;

use granit_parser::ScalarStyle;

use super::direct::Builder;
use crate::source::Span;

/// Reads `text` into `builder`, or `None` when the text is not of the plain block form this
/// reader takes (the builder is then left half-built and must be dropped).
pub(super) fn read(text: &str, builder: &mut Builder<'_>) -> Option<()> {
    let bytes = text.as_bytes();
    if !plain_characters(bytes) {
        return None;
    }
    let mut reader = Reader {
        text,
        bytes,
        builder,
    };
    let mut next = reader.next_content(0);
    let mut documents = 0;
    while let Some(line) = next {
        let line = if reader.is_marker(&line) {
            // An explicit document start; a document without content is left to the parser.
            let first = reader.next_content(line.next)?;
            if reader.is_marker(&first) {
                return None;
            }
            first
        } else {
            // Only the first document may start without a marker: after each document the loop
            // goes on only at one.
            line
        };
        if line.indent != 0 || reader.starts_item(&line) || reader.starts_other_marker(&line) {
            return None;
        }
        next = reader.mapping(line, line.content, 0)?;
        documents += 1;
        if let Some(after) = &next
            && !reader.is_marker(after)
        {
            return None;
        }
    }
    (documents > 0).then_some(())
}

/// Whether every byte is one this reader can take without a second look: no tabs, carriage
/// returns or other control characters, and none of the characters YAML treats specially beyond
/// ASCII (C1 controls with NEL, the line and paragraph separators, noncharacters, byte-order
/// marks).
fn plain_characters(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 {
            if b != b'\n' {
                return false;
            }
        } else if b == 0x7f {
            return false;
        } else if b >= 0xc2 {
            let next = bytes.get(i + 1).copied().unwrap_or(0);
            let third = bytes.get(i + 2).copied().unwrap_or(0);
            match b {
                0xc2 if next < 0xa0 => return false,
                0xe2 if next == 0x80 && matches!(third, 0xa8 | 0xa9) => return false,
                0xef if next == 0xbb && third == 0xbf => return false,
                0xef if next == 0xbf && matches!(third, 0xbe | 0xbf) => return false,
                _ => {}
            }
        }
        i += 1;
    }
    true
}

/// One line of the text: where it starts, its indentation, where its content starts and ends
/// (before the line feed) and where the next line starts.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    indent: usize,
    content: usize,
    end: usize,
    next: usize,
}

/// The most bytes of a plain key: YAML limits an implicit key to 1,024 characters.
const MAX_KEY_BYTES: usize = 1000;

struct Reader<'t, 'b, 'l> {
    text: &'t str,
    bytes: &'t [u8],
    builder: &'b mut Builder<'l>,
}

impl Reader<'_, '_, '_> {
    fn line(&self, start: usize) -> Line {
        let end =
            memchr::memchr(b'\n', &self.bytes[start..]).map_or(self.bytes.len(), |i| start + i);
        let indent = self.bytes[start..end]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
        Line {
            start,
            indent,
            content: start + indent,
            end,
            next: (end + 1).min(self.bytes.len()),
        }
    }

    /// The first line from `start` on with content other than a comment, if any.
    fn next_content(&self, mut start: usize) -> Option<Line> {
        while start < self.bytes.len() {
            let line = self.line(start);
            if line.content < line.end && self.bytes[line.content] != b'#' {
                return Some(line);
            }
            if line.end == self.bytes.len() {
                return None;
            }
            start = line.next;
        }
        None
    }

    /// `---` alone on a line: a document start.
    fn is_marker(&self, line: &Line) -> bool {
        line.indent == 0 && &self.bytes[line.content..line.end] == b"---"
    }

    /// A line at column 0 that starts with `---` or `...` (a marker with more on its line, a
    /// document end) or `%` (a directive).
    fn starts_other_marker(&self, line: &Line) -> bool {
        let content = &self.bytes[line.content..line.end];
        line.indent == 0
            && (content.starts_with(b"---") || content.starts_with(b"...") || content[0] == b'%')
    }

    /// Whether the line's content is a block sequence entry (`-` then a space or the end).
    fn starts_item(&self, line: &Line) -> bool {
        self.bytes[line.content] == b'-'
            && (line.content + 1 == line.end || self.bytes[line.content + 1] == b' ')
    }

    /// A block mapping whose first key starts at `key_at` on `line` and whose keys sit at column
    /// `indent`. Returns the first content line after it.
    fn mapping(
        &mut self,
        mut line: Line,
        mut key_at: usize,
        indent: usize,
    ) -> Option<Option<Line>> {
        self.builder.open_mapping(Span::new(key_at, key_at))?;
        loop {
            let after = self.entry(line, key_at, indent)?;
            match after {
                Some(next) if next.indent == indent => {
                    if indent == 0 && self.starts_other_marker(&next) {
                        self.builder.close()?;
                        return Some(Some(next));
                    }
                    if self.starts_item(&next) {
                        return None;
                    }
                    line = next;
                    key_at = next.content;
                }
                Some(next) if next.indent > indent => return None,
                _ => {
                    self.builder.close()?;
                    return Some(after);
                }
            }
        }
    }

    /// One `key: value` entry of a mapping at column `indent`; returns the next content line.
    fn entry(&mut self, line: Line, key_at: usize, indent: usize) -> Option<Option<Line>> {
        let colon = self.key_end(line, key_at)?;
        self.builder.scalar(
            Cow::Borrowed(&self.text[key_at..colon]),
            ScalarStyle::Plain,
            Span::new(key_at, colon),
        )?;
        let value_at = self.skip_spaces(colon + 1, line.end);
        if value_at < line.end {
            return match self.bytes[value_at] {
                b'|' if value_at + 1 == line.end => self.literal(line, indent),
                _ => {
                    self.inline_scalar(line, value_at)?;
                    self.after_inline(line, indent)
                }
            };
        }
        // The value is on the lines below: a nested block, or nothing (null).
        let next = self.next_content(line.next);
        match next {
            Some(below) if below.indent > indent => {
                if self.starts_item(&below) {
                    self.sequence(below, below.indent, false)
                } else {
                    self.mapping(below, below.content, below.indent)
                }
            }
            Some(below) if below.indent == indent && self.starts_item(&below) => {
                self.sequence(below, indent, true)
            }
            _ => {
                self.builder.scalar(
                    Cow::Borrowed("~"),
                    ScalarStyle::Plain,
                    Span::new(colon, colon),
                )?;
                Some(next)
            }
        }
    }

    /// Where the plain key starting at `key_at` ends: at the `:` followed by a space or the end
    /// of the line. `None` for anything that is not such a key.
    fn key_end(&self, line: Line, key_at: usize) -> Option<usize> {
        if is_indicator(self.bytes[key_at]) {
            return None;
        }
        let colon = self.mapping_colon(key_at, line.end)?;
        if colon - key_at > MAX_KEY_BYTES || self.bytes[colon - 1] == b' ' {
            return None;
        }
        Some(colon)
    }

    /// The first `:` in `from..end` that is followed by a space or the end of the line, if it
    /// comes before any comment.
    fn mapping_colon(&self, from: usize, end: usize) -> Option<usize> {
        let mut i = from;
        while i < end {
            match self.bytes[i] {
                b':' if i + 1 == end || self.bytes[i + 1] == b' ' => return Some(i),
                b'#' if i > from && self.bytes[i - 1] == b' ' => return None,
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn skip_spaces(&self, mut at: usize, end: usize) -> usize {
        while at < end && self.bytes[at] == b' ' {
            at += 1;
        }
        at
    }

    /// After a one-line scalar: the next content line, which must not be indented further (it
    /// would continue the scalar, or be an error).
    fn after_inline(&self, line: Line, indent: usize) -> Option<Option<Line>> {
        let next = self.next_content(line.next);
        if let Some(below) = &next
            && below.indent > indent
        {
            return None;
        }
        Some(next)
    }

    /// A scalar that starts at `at` and ends on its line: quoted, or plain.
    fn inline_scalar(&mut self, line: Line, at: usize) -> Option<()> {
        match self.bytes[at] {
            b'\'' => self.single_quoted(line, at),
            b'"' => self.double_quoted(line, at),
            b'-' if at + 1 < line.end && !matches!(self.bytes[at + 1], b' ' | b'-') => {
                self.plain(line, at)
            }
            b if is_indicator(b) => None,
            _ => self.plain(line, at),
        }
    }

    /// A plain scalar from `at` to the end of the line or a comment, trailing spaces left out.
    fn plain(&mut self, line: Line, at: usize) -> Option<()> {
        let mut end = line.end;
        let mut i = at;
        while i < line.end {
            match self.bytes[i] {
                b'#' if self.bytes[i - 1] == b' ' => {
                    end = i;
                    break;
                }
                // `: ` inside a value would start a mapping where none may be.
                b':' if i + 1 == line.end || self.bytes[i + 1] == b' ' => return None,
                _ => {}
            }
            i += 1;
        }
        while end > at && self.bytes[end - 1] == b' ' {
            end -= 1;
        }
        self.builder.scalar(
            Cow::Borrowed(&self.text[at..end]),
            ScalarStyle::Plain,
            Span::new(at, end),
        )
    }

    /// A single-quoted scalar closed on its line (`''` is a quote).
    fn single_quoted(&mut self, line: Line, at: usize) -> Option<()> {
        let mut value: Option<String> = None;
        let mut run = at + 1;
        let mut i = at + 1;
        let close = loop {
            let quote = i + memchr::memchr(b'\'', &self.bytes[i..line.end])?;
            if self.bytes.get(quote + 1) == Some(&b'\'') && quote + 1 < line.end {
                let owned = value.get_or_insert_with(String::new);
                owned.push_str(&self.text[run..=quote]);
                run = quote + 2;
                i = quote + 2;
            } else {
                break quote;
            }
        };
        let value = match value {
            Some(mut owned) => {
                owned.push_str(&self.text[run..close]);
                Cow::Owned(owned)
            }
            None => Cow::Borrowed(&self.text[at + 1..close]),
        };
        self.quoted_end(line, close + 1)?;
        self.builder
            .scalar(value, ScalarStyle::SingleQuoted, Span::new(at, close + 1))
    }

    /// A double-quoted scalar closed on its line, with the common escapes; any other escape is
    /// left to the parser.
    fn double_quoted(&mut self, line: Line, at: usize) -> Option<()> {
        let mut value = String::new();
        let mut run = at + 1;
        let mut i = at + 1;
        let close = loop {
            let special = i + memchr::memchr2(b'"', b'\\', &self.bytes[i..line.end])?;
            if self.bytes[special] == b'"' {
                break special;
            }
            let escaped = match self
                .bytes
                .get(special + 1)
                .filter(|_| special + 1 < line.end)?
            {
                b'\\' => '\\',
                b'"' => '"',
                b'/' => '/',
                b't' => '\t',
                b'n' => '\n',
                b'r' => '\r',
                b'0' => '\0',
                _ => return None,
            };
            value.push_str(&self.text[run..special]);
            value.push(escaped);
            run = special + 2;
            i = special + 2;
        };
        value.push_str(&self.text[run..close]);
        self.quoted_end(line, close + 1)?;
        self.builder.scalar(
            Cow::Owned(value),
            ScalarStyle::DoubleQuoted,
            Span::new(at, close + 1),
        )
    }

    /// What may follow a closing quote on its line: spaces, then nothing or a comment.
    fn quoted_end(&self, line: Line, after: usize) -> Option<()> {
        let rest = self.skip_spaces(after, line.end);
        (rest == line.end || (rest > after && self.bytes[rest] == b'#')).then_some(())
    }

    /// A literal block scalar (`|`, clipped) whose header ends `line`, the value of an entry of a
    /// mapping at column `indent`. Returns the first content line after it.
    fn literal(&mut self, line: Line, indent: usize) -> Option<Option<Line>> {
        if line.next >= self.bytes.len() {
            return None;
        }
        let first = self.line(line.next);
        // Leading blank lines, and an empty scalar, are left to the parser.
        if first.content == first.end || first.indent <= indent {
            return None;
        }
        let block_indent = first.indent;
        let mut value = String::new();
        let mut blank_lines = 0;
        let mut at = first.start;
        // Where the scalar's span ends (the parser's: after the indentation of the line that
        // ends it), and where reading goes on.
        let (end, resume) = loop {
            if at >= self.bytes.len() {
                break (self.bytes.len(), self.bytes.len());
            }
            let current = self.line(at);
            if current.content == current.end {
                if current.indent > block_indent {
                    return None;
                }
                blank_lines += 1;
            } else if current.indent >= block_indent {
                if current.end == self.bytes.len() {
                    // The last line without a line feed: its value ends differently.
                    return None;
                }
                if !value.is_empty() {
                    value.push('\n');
                }
                for _ in 0..blank_lines {
                    value.push('\n');
                }
                blank_lines = 0;
                value.push_str(&self.text[current.start + block_indent..current.end]);
            } else {
                break (current.content, current.start);
            }
            if current.end == self.bytes.len() {
                break (self.bytes.len(), self.bytes.len());
            }
            at = current.next;
        };
        value.push('\n');
        self.builder.scalar(
            Cow::Owned(value),
            ScalarStyle::Literal,
            Span::new(first.start + block_indent, end),
        )?;
        let next = self.next_content(resume);
        if let Some(below) = &next
            && below.indent > indent
        {
            return None;
        }
        Some(next)
    }

    /// A block sequence whose entries sit at column `indent`; `beside_key` when it is the value
    /// of a mapping key at the same column (so a line there that is not an entry ends it).
    fn sequence(
        &mut self,
        mut line: Line,
        indent: usize,
        beside_key: bool,
    ) -> Option<Option<Line>> {
        // The parser places a sequence beside its key where its first entry's value starts,
        // an indented one at its first `-`.
        let start = if beside_key {
            self.skip_spaces(line.content + 1, line.end)
        } else {
            line.content
        };
        self.builder.open_sequence(Span::new(start, start))?;
        loop {
            let value_at = self.skip_spaces(line.content + 1, line.end);
            if value_at == line.end {
                return None;
            }
            let after = match self.bytes[value_at] {
                b'\'' | b'"' => {
                    self.inline_scalar(line, value_at)?;
                    self.after_inline(line, indent)?
                }
                b if is_indicator(b) && b != b'-' => return None,
                _ => {
                    if self.mapping_colon(value_at, line.end).is_some() {
                        self.mapping(line, value_at, value_at - line.start)?
                    } else {
                        self.inline_scalar(line, value_at)?;
                        self.after_inline(line, indent)?
                    }
                }
            };
            match after {
                Some(next) if next.indent == indent && self.starts_item(&next) => line = next,
                Some(next) if next.indent > indent || (next.indent == indent && !beside_key) => {
                    return None;
                }
                _ => {
                    self.builder.close()?;
                    return Some(after);
                }
            }
        }
    }
}

/// Characters that start something other than a plain scalar (YAML 1.2, "Indicator
/// Characters"), or that the parser reads in a way of its own at the start of a value.
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

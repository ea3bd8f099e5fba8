//! Source text and positions: byte spans that become `line:col` only when printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A half-open byte range into one source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The first byte, counted from the start of the text.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `start..end` in bytes; offsets past 4 GiB saturate (files are capped far below).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// A span of `len` bytes starting `offset` bytes after this span's start.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = self.start as usize + offset;
        Span::new(start, start + len)
    }
}

/// A 1-based line and column (columns count characters, like editors do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// The line, from 1.
    pub line: u32,
    /// The column in characters, from 1.
    pub col: u32,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A loaded file: its path and its text, shared cheaply between everything that points into it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: Arc<str>,
    line_starts: Arc<[u32]>,
}

impl SourceFile {
    /// A source text and the path it is reported under; line starts are indexed once here.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> SourceFile {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0u32];
        line_starts.extend(
            memchr::memchr_iter(b'\n', text.as_bytes())
                .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            path: path.into(),
            text,
            line_starts: line_starts.into(),
        }
    }

    /// The path the text was read from, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole text that spans index into.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column of a byte offset; offsets past the end clamp to the end.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = offset.min(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_index] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text[line_start..end].chars().count() + 1;
        LineCol {
            line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    /// The text of the 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &str {
        let index = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(index) else {
            return "";
        };
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |&e| e as usize);
        self.text[start as usize..end].trim_end_matches(['\n', '\r'])
    }

    /// `path:line:col` for a span's start.
    pub fn location(&self, span: Span) -> String {
        format!("{}:{}", self.path.display(), self.line_col(span.start))
    }
}

/// Reads a file as UTF-8 text within a size limit, dropping a leading byte-order mark.
pub fn read_source(path: &Path, max_bytes: u64) -> Result<SourceFile, crate::error::ReadError> {
    use crate::error::ReadError;
    use std::io::Read;

    let io_error = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    // `take` hides the file's size from `read_to_end`, which then grows its buffer from 32
    // bytes with a `read` call per doubling (seven per rule file); room for the whole file
    // and the byte past it reads a file in one call and meets its end in a second.
    let expected = file.metadata().map_or(0, |m| m.len()).min(max_bytes) + 1;
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    // Reading one byte past the limit tells a file at the limit from a larger one without
    // ever holding more than the limit in memory.
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            limit: max_bytes,
        });
    }
    source_from_bytes(path, bytes)
}

/// Turns bytes into a source file, reporting where invalid UTF-8 starts.
pub fn source_from_bytes(
    path: &Path,
    bytes: Vec<u8>,
) -> Result<SourceFile, crate::error::ReadError> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = memchr::memchr_iter(b'\n', valid).count() + 1;
            let line_start = memchr::memrchr(b'\n', valid).map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            return Err(crate::error::ReadError::InvalidUtf8 {
                path: path.to_owned(),
                line,
                col,
            });
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    };
    Ok(SourceFile::new(path, text))
}

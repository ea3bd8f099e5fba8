//! Errors of loading and compiling Sigma documents, each with the span it is about.

use std::fmt;
use std::path::PathBuf;

use crate::source::{SourceFile, Span};

/// What went wrong, as a stable category that validators map to lint codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The YAML itself does not parse, or breaks a resource limit.
    Yaml,
    /// A key is missing, has the wrong type, or the document is of no known kind.
    Structure,
    /// A modifier that Sigma does not define.
    UnknownModifier,
    /// Modifiers that cannot be combined, or that do not fit the value.
    InvalidModifier,
    /// A value that cannot be used as written (a bad CIDR, a number that is not one…).
    InvalidValue,
    /// A regular expression that does not compile.
    InvalidRegex,
    /// The condition does not parse.
    ConditionSyntax,
    /// The condition names an identifier the detection does not define.
    UndefinedIdentifier,
    /// A placeholder with no values supplied.
    Placeholder,
    /// A construct that the specification removed or that this engine does not evaluate.
    Unsupported,
    /// A document's `id` is already another document's among those loaded together.
    DuplicateId,
    /// A document's `name` is already another document's among those loaded together.
    DuplicateName,
    /// A meta-filter or correlation names a rule that no document loaded with it has (or, for
    /// a correlation, one that does not load).
    UnknownReference,
    /// A correlation reaches itself through the correlations it names.
    ReferenceCycle,
}

/// One error in a Sigma document, positioned by a byte span in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigmaError {
    /// The class of error, for tests and tools that branch on it.
    pub kind: ErrorKind,
    /// The human-readable message, without a position.
    pub message: String,
    /// The bytes the error points at.
    pub span: Span,
}

impl SigmaError {
    /// An error of `kind` at `span`.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> SigmaError {
        SigmaError {
            kind,
            message: message.into(),
            span,
        }
    }

    /// `path:line:col: message`, for printing.
    pub fn render(&self, source: &SourceFile) -> String {
        format!("{}: {}", source.location(self.span), self.message)
    }
}

impl fmt::Display for SigmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A file that could not be read as text at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: cannot read: {source}", path.display())]
    /// The file could not be opened or read.
    Io {
        /// The file that failed.
        path: PathBuf,
        #[source]
        /// The operating-system error.
        source: std::io::Error,
    },
    #[error("{}: the file is larger than the limit of {limit} bytes", path.display())]
    /// The file is larger than the size limit; it is not read past the limit.
    TooLarge {
        /// The file that failed.
        path: PathBuf,
        /// The limit in bytes that it exceeded.
        limit: u64,
    },
    #[error("{}:{line}:{col}: the file is not valid UTF-8", path.display())]
    /// The bytes are not UTF-8; the position is where the first invalid sequence starts.
    InvalidUtf8 {
        /// The file that failed.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in characters) of the first invalid byte.
        col: usize,
    },
}

impl ReadError {
    /// Where the error is and what it says without the path, for a diagnostic that renders the
    /// location itself (printing the error as is after a location names the file twice). Invalid
    /// UTF-8 is placed on the lossily decoded text, so a caret lands on the bad byte rather than
    /// on line 1; the other variants are about the file as a whole (an empty text, the start).
    pub fn site(&self) -> (crate::SourceFile, crate::Span, String) {
        use crate::{SourceFile, Span};
        match self {
            ReadError::InvalidUtf8 { path, line, col } => {
                let bytes = std::fs::read(path).unwrap_or_default();
                let file = SourceFile::new(path, String::from_utf8_lossy(&bytes).into_owned());
                let offset = offset_of(file.text(), *line, *col);
                let len = file.text()[offset..]
                    .chars()
                    .next()
                    .map_or(0, char::len_utf8);
                (
                    file,
                    Span::new(offset, offset + len),
                    "the file is not valid UTF-8".to_owned(),
                )
            }
            ReadError::TooLarge { path, limit } => (
                SourceFile::new(path, ""),
                Span::default(),
                format!("the file is larger than the limit of {limit} bytes"),
            ),
            ReadError::Io { path, source } => (
                SourceFile::new(path, ""),
                Span::default(),
                format!("cannot read the file: {source}"),
            ),
        }
    }

    /// The file the error is about, whatever the variant.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::InvalidUtf8 { path, .. } => path,
        }
    }
}

/// The byte offset of a 1-based line and character column, clamped to the text.
fn offset_of(text: &str, line: usize, col: usize) -> usize {
    let line_start = text
        .match_indices('\n')
        .nth(line.saturating_sub(2))
        .filter(|_| line > 1)
        .map_or(0, |(i, _)| i + 1);
    text[line_start..]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i)
}

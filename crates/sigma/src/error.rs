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
    /// The file the error is about, whatever the variant.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::InvalidUtf8 { path, .. } => path,
        }
    }
}

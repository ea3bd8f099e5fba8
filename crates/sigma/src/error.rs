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
    pub kind: ErrorKind,
    pub message: String,
    pub span: Span,
}

impl SigmaError {
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
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the file is larger than the limit of {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{}:{line}:{col}: the file is not valid UTF-8", path.display())]
    InvalidUtf8 {
        path: PathBuf,
        line: usize,
        col: usize,
    },
}

impl ReadError {
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::InvalidUtf8 { path, .. } => path,
        }
    }
}

//! Problems found while loading test cases, each pointing at a span of a file.

use std::fmt;

use ruleproof_sigma::{LineCol, SourceFile, Span};

/// A problem at a place in a file: a bad reference, a malformed event, an unknown key.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The file the problem is in, kept whole so the location can be rendered later.
    pub file: SourceFile,
    /// Byte range of the offending text within `file`.
    pub span: Span,
    /// One sentence saying what is wrong, without the location.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `span` of `file` (the file is cloned, which is cheap: it is shared).
    pub fn new(file: &SourceFile, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.clone(),
            span,
            message: message.into(),
        }
    }

    /// 1-based line and column of the start of the span.
    pub fn line_col(&self) -> LineCol {
        self.file.line_col(self.span.start)
    }

    /// `path:line:col`.
    pub fn location(&self) -> String {
        self.file.location(self.span)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

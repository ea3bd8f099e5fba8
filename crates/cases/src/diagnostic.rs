//! Problems found while loading test cases, each pointing at a span of a file.

use std::fmt;

use ruleproof_sigma::{LineCol, SourceFile, Span};

/// A problem at a place in a file: a bad reference, a malformed event, an unknown key.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub file: SourceFile,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &SourceFile, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.clone(),
            span,
            message: message.into(),
        }
    }

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

//! Parse errors with byte spans, and the conversion of byte offsets into `line:col`.

use std::ops::Range;

/// A query that could not be parsed, or that uses KQL outside the locally evaluable subset.
///
/// `span` is a half-open byte range into the query text; it is empty when the error sits at a
/// single point, such as the end of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KqlError {
    /// The offending bytes of the query text.
    pub span: Range<usize>,
    /// What is wrong, naming the construct.
    pub message: String,
}

impl KqlError {
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> KqlError {
        KqlError {
            span,
            message: message.into(),
        }
    }

    /// The error for a construct that is valid KQL but that this crate cannot evaluate.
    pub(crate) fn unsupported(span: Range<usize>, thing: &str) -> KqlError {
        KqlError::new(
            span,
            format!("not supported for local evaluation: '{thing}'"),
        )
    }
}

/// The 1-based line and column of a byte offset into `text`.
///
/// Columns count characters, as editors do. An offset past the end clamps to the end, and an
/// offset inside a multi-byte character counts as the start of that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = text.floor_char_boundary(offset.min(text.len()));
    let before = &text[..offset];
    let line_start = memchr::memrchr(b'\n', before.as_bytes()).map_or(0, |i| i + 1);
    let line = memchr::memchr_iter(b'\n', before.as_bytes()).count() + 1;
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

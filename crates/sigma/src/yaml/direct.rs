//! The [`Node`] tree built straight from the event parser under serde-saphyr (`granit-parser`),
//! for the YAML that rules are written in.
//!
//! Going through serde (`Spanned<RawValue>` visitors, each span itself deserialized as a map)
//! cost about 45 % of `ruleproof validate`'s instructions on the SigmaHQ corpus; reading the same
//! events directly builds the same tree several times faster. It is the same parser, so the
//! events, values and spans are those serde-saphyr sees.
//!
//! The fast path covers plain rule YAML only. Whatever serde-saphyr treats in a way of its own
//! (anchors and aliases, tags, `<<` merge keys, duplicate keys, directives, byte-order marks,
//! non-text keys, numbers other than plain decimal integers, anything near a resource limit)
//! and every syntax error make [`parse`] return `None`, and the caller parses the file with
//! serde-saphyr, so values, spans and error messages are always serde-saphyr's
//! (`direct_and_serde_paths_agree_*` in `yaml.rs` check it on every corpus file).
//!
//! Most rule files never reach the parser: `block.rs` reads the block YAML rules are written
//! in a line at a time into the same [`Builder`], and the parser's events are read only for the
//! files it leaves.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle};

use super::{Limits, Node, Value};
use crate::source::{SourceFile, Span};

/// Every document of `source` as serde-saphyr plus PyYAML's retyping would read it, or `None`
/// when the file needs serde-saphyr (see the module documentation).
pub(super) fn parse(source: &SourceFile, limits: &Limits) -> Option<Vec<Node>> {
    let text = source.text();
    if text.contains('\u{feff}') {
        return None;
    }
    let mut builder = Builder::new(limits);
    if super::block::read(text, &mut builder).is_none() {
        builder = Builder::new(limits);
        read_events(text, &mut builder)?;
    }
    builder.finish()
}

/// Feeds the parser's events for `text` into `builder`; `None` for whatever the module
/// documentation leaves to serde-saphyr.
pub(super) fn read_events(text: &str, builder: &mut Builder<'_>) -> Option<()> {
    let options = granit_parser::options! { emit_comments: false };
    for item in Parser::new_from_str_with_options(text, options) {
        let (event, span) = item.ok()?;
        let span = Span::new(span.start.byte_offset()?, span.end.byte_offset()?);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_, version) => {
                if version.is_some() {
                    return None;
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                builder.scalar(value, style, span)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                builder.open_sequence(span)?;
            }
            Event::MappingStart(_, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                builder.open_mapping(span)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
            // Aliases, anchor metadata, unresolved aliases and comments.
            _ => return None,
        }
    }
    Some(())
}

/// A collection being read: its items so far, and for a mapping the key waiting for its value.
enum Frame {
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, Option<Node>),
}

pub(super) struct Builder<'a> {
    limits: &'a Limits,
    /// Open collections with the span of their start event (the span serde-saphyr reports).
    stack: Vec<(Frame, Span)>,
    /// Nodes read so far, to stay well inside serde-saphyr's budget.
    nodes: usize,
    documents: Vec<Node>,
}

/// Most entries of one mapping read here; the duplicate-key check is quadratic, so larger
/// mappings (never seen in rules) go to serde-saphyr.
const MAX_MAP_ENTRIES: usize = 512;

/// Most documents in one file read here (serde-saphyr's budget allows 1,024).
const MAX_DOCUMENTS: usize = 512;

impl<'a> Builder<'a> {
    pub(super) fn new(limits: &'a Limits) -> Self {
        Builder {
            limits,
            stack: Vec::new(),
            nodes: 0,
            documents: Vec::new(),
        }
    }

    /// The documents read, empty ones dropped; `None` when a collection is still open.
    pub(super) fn finish(self) -> Option<Vec<Node>> {
        if !self.stack.is_empty() {
            return None;
        }
        Some(
            self.documents
                .into_iter()
                .filter(|n| n.value != Value::Null)
                .collect(),
        )
    }

    /// A scalar event: its value typed as serde-saphyr and PyYAML would.
    pub(super) fn scalar(
        &mut self,
        value: Cow<'_, str>,
        style: ScalarStyle,
        span: Span,
    ) -> Option<()> {
        let value = scalar(value, style)?;
        self.push(Node { value, span })
    }

    pub(super) fn open_sequence(&mut self, span: Span) -> Option<()> {
        self.open(Frame::Seq(Vec::new()), span)
    }

    pub(super) fn open_mapping(&mut self, span: Span) -> Option<()> {
        self.open(Frame::Map(Vec::new(), None), span)
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        // Half of serde-saphyr's node budget, and one level short of its depth budget: a file
        // anywhere near a limit is left to serde-saphyr, which reports the breach.
        (self.nodes < self.limits.max_nodes / 2 && self.stack.len() + 2 < self.limits.max_depth)
            .then_some(())
    }

    fn open(&mut self, frame: Frame, span: Span) -> Option<()> {
        self.count()?;
        self.stack.push((frame, span));
        Some(())
    }

    pub(super) fn close(&mut self) -> Option<()> {
        let (frame, span) = self.stack.pop()?;
        let value = match frame {
            Frame::Seq(items) => Value::Seq(items),
            Frame::Map(entries, None) => Value::Map(entries),
            Frame::Map(_, Some(_)) => return None,
        };
        self.add(Node { value, span })
    }

    fn push(&mut self, node: Node) -> Option<()> {
        self.count()?;
        self.add(node)
    }

    /// Puts a finished node where it belongs: a document, a list item, a key or a value.
    fn add(&mut self, node: Node) -> Option<()> {
        match self.stack.last_mut() {
            None => {
                if self.documents.len() >= MAX_DOCUMENTS {
                    return None;
                }
                self.documents.push(node);
            }
            Some((Frame::Seq(items), _)) => items.push(node),
            Some((Frame::Map(entries, pending), _)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    // Only text keys, each once: serde-saphyr rejects duplicates and types other
                    // keys in ways of its own.
                    let Value::String(key) = &node.value else {
                        return None;
                    };
                    if entries.len() >= MAX_MAP_ENTRIES
                        || entries.iter().any(|(k, _)| k.as_str() == Some(key))
                    {
                        return None;
                    }
                    *pending = Some(node);
                }
            },
        }
        Some(())
    }
}

/// A scalar's value as serde-saphyr types it and PyYAML's resolver then retypes it
/// (`yaml11::resolve`), for the scalars where both are certain; `None` for the rest.
fn scalar(value: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::String(value.into_owned()));
    }
    let text = value.as_ref();
    Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        // `<<` is serde-saphyr's merge key.
        "<<" => return None,
        _ if might_be_number(text) => Value::Int(decimal_int(text)?),
        // serde-saphyr's other YAML 1.1 booleans (`y`, `n`, `oN`, …) become text again in
        // PyYAML's reading, like every other plain scalar.
        _ => Value::String(value.into_owned()),
    })
}

/// Whether serde-saphyr or PyYAML could read a plain scalar as a number: a superset of both
/// (radix prefixes, `.inf` and `.nan`, and digits with `_`, one `.` and an exponent).
fn might_be_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let bytes = unsigned.as_bytes();
    if matches!(bytes, [b'0', b'x' | b'X' | b'o' | b'O' | b'b' | b'B', ..]) {
        return true;
    }
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return true;
    }
    let mut digits = false;
    let mut dot = false;
    let mut exponent = false;
    let mut previous = 0u8;
    for &b in bytes {
        match b {
            b'0'..=b'9' => digits = true,
            b'_' => {}
            b'.' if !dot && !exponent => dot = true,
            b'e' | b'E' if !exponent => exponent = true,
            b'+' | b'-' if matches!(previous, b'e' | b'E') => {}
            _ => return false,
        }
        previous = b;
    }
    digits
}

/// A decimal integer written plainly (`4688`, `-1`, `0`), which both readers type alike; `None`
/// for every other number.
fn decimal_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = digits == "0"
        || (!digits.is_empty()
            && digits.len() <= 18
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()));
    if plain { text.parse().ok() } else { None }
}

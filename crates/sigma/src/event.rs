//! Events as the engine sees them: JSON objects, looked up by exact key first and then by dotted path.

use serde_json::{Map, Value};

use crate::joined::JoinedColumns;

/// A field name compiled for lookup: the exact key, and its dotted segments for nested objects.
#[derive(Clone, Debug)]
pub struct FieldPath {
    name: Box<str>,
    segments: Box<[Box<str>]>,
    /// The field's number in the [`crate::ruleset::RuleSetIndex`] that owns the rule, which
    /// resolves every field the index's rules name once per event; plain events ignore it.
    slot: Option<u32>,
    /// For a field two columns hold together, the columns: the field is not looked up by its
    /// name but read as their join ([`crate::joined`]).
    joined: Option<Box<JoinedPath>>,
}

/// The two columns of a joined field, each compiled for lookup like any field.
#[derive(Clone, Debug)]
pub(crate) struct JoinedPath {
    pub columns: JoinedColumns,
    pub key: FieldPath,
    pub value: FieldPath,
}

/// Two paths are the same field when they have the same name, whichever index numbered them.
impl PartialEq for FieldPath {
    fn eq(&self, other: &FieldPath) -> bool {
        self.name == other.name
    }
}

impl Eq for FieldPath {}

impl FieldPath {
    /// A field name as written in a rule; a dotted name (`a.b`) is also split into segments so
    /// it can reach into nested objects when no flat field has the whole name.
    pub fn new(name: &str) -> FieldPath {
        let segments = if name.contains('.') {
            name.split('.').map(Box::from).collect::<Box<[Box<str>]>>()
        } else {
            Box::default()
        };
        FieldPath {
            name: name.into(),
            segments,
            slot: None,
            joined: None,
        }
    }

    /// The field a `ruleproof_joined_columns` processing item named [`JoinedColumns::name`]:
    /// read as its two columns joined, never looked up by that name.
    pub(crate) fn joined(columns: &JoinedColumns) -> FieldPath {
        FieldPath {
            name: columns.name().into(),
            segments: Box::default(),
            slot: None,
            joined: Some(Box::new(JoinedPath {
                key: FieldPath::new(&columns.key),
                value: FieldPath::new(&columns.value),
                columns: columns.clone(),
            })),
        }
    }

    /// The columns, when the field is two columns joined.
    pub(crate) fn join(&self) -> Option<&JoinedPath> {
        self.joined.as_deref()
    }

    /// The field name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first segment of a dotted name: the top-level field a nested lookup starts from.
    pub(crate) fn root(&self) -> Option<&str> {
        self.segments.first().map(|s| &**s)
    }

    pub(crate) fn slot(&self) -> Option<u32> {
        self.slot
    }

    pub(crate) fn set_slot(&mut self, slot: u32) {
        self.slot = Some(slot);
    }
}

/// What the engine needs from an event. Implemented for JSON objects; other stores can implement it.
pub trait Event {
    /// The value of a field, or `None` when the event does not have it.
    fn field(&self, path: &FieldPath) -> Option<&Value>;

    /// Calls `visit` on every scalar value of the event, nested ones included, until it returns true.
    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool;
}

impl Event for Map<String, Value> {
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        if let Some(value) = self.get(path.name()) {
            return Some(value);
        }
        let (first, rest) = path.segments.split_first()?;
        let mut value = self.get(&**first)?;
        for segment in rest {
            value = value.as_object()?.get(&**segment)?;
        }
        Some(value)
    }

    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool {
        self.values().any(|v| any_scalar_in(v, visit, 0))
    }
}

impl Event for Value {
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        self.as_object()?.field(path)
    }

    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool {
        // An object's values sit at the depth of a map's, so both forms of one event agree on
        // how deep keywords search (the rule-set index lists the map's entries).
        match self.as_object() {
            Some(map) => map.any_scalar(visit),
            None => any_scalar_in(self, visit, 0),
        }
    }
}

/// Nesting beyond this is not searched by keywords; events that deep are not real log records.
const MAX_KEYWORD_DEPTH: usize = 64;

fn any_scalar_in(value: &Value, visit: &mut dyn FnMut(&Value) -> bool, depth: usize) -> bool {
    if depth > MAX_KEYWORD_DEPTH {
        return false;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| any_scalar_in(v, visit, depth + 1)),
        Value::Object(map) => map.values().any(|v| any_scalar_in(v, visit, depth + 1)),
        scalar => visit(scalar),
    }
}

/// Runs `f` on a scalar's text (numbers and booleans as JSON writes them) without allocating.
pub fn with_scalar_text<R>(value: &Value, f: impl FnOnce(&str) -> R) -> Option<R> {
    match value {
        Value::String(s) => Some(f(s)),
        Value::Bool(true) => Some(f("true")),
        Value::Bool(false) => Some(f("false")),
        Value::Number(n) => {
            let mut buffer = StackText::default();
            if std::fmt::Write::write_fmt(&mut buffer, format_args!("{n}")).is_ok() {
                Some(f(buffer.as_str()))
            } else {
                Some(f(&n.to_string()))
            }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A small fixed buffer for formatting numbers; writing past its end fails and the caller falls back.
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A scalar as a number: JSON numbers, and strings that hold one.
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A short, printable rendering of an event value for explanations.
pub fn preview(value: &Value) -> String {
    const MAX: usize = 120;
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}

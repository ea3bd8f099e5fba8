//! An event's values folded into one text, as the scanners read it, once per event.

use serde_json::Value;

use crate::event::with_scalar_text;
use crate::fold::push_folded_bytes;

/// Appends the scalar values a field matcher tests (the value, or an array's scalar elements)
/// as elements with bounds; with `keywords`, also the nested values only keyword searches see.
pub(super) fn append_field(
    value: &Value,
    text: &mut Vec<u8>,
    bounds: &mut Vec<(usize, usize)>,
    keywords: bool,
) {
    let mut element = |v: &Value, text: &mut Vec<u8>| {
        let start = text.len();
        append_folded(v, text);
        bounds.push((start, text.len()));
        text.push(0);
    };
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Array(_) | Value::Object(_) => {
                        if keywords {
                            append_scalars(item, text, 1);
                        }
                    }
                    Value::Null => {}
                    scalar => element(scalar, text),
                }
            }
        }
        Value::Object(_) => {
            if keywords {
                append_scalars(value, text, 0);
            }
        }
        Value::Null => {}
        scalar => element(scalar, text),
    }
}

/// Nesting beyond this is not searched by keywords, as in [`Event::any_scalar`].
pub(super) const MAX_KEYWORD_DEPTH: usize = 64;

/// Appends every scalar under a value, as keyword searches visit them.
pub(super) fn append_scalars(value: &Value, text: &mut Vec<u8>, depth: usize) {
    if depth > MAX_KEYWORD_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => items
            .iter()
            .for_each(|v| append_scalars(v, text, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|v| append_scalars(v, text, depth + 1)),
        scalar => {
            append_folded(scalar, text);
            text.push(0);
        }
    }
}

/// Appends a scalar's text folded the way the matchers fold it ([`crate::fold`]).
pub(super) fn append_folded(value: &Value, out: &mut Vec<u8>) {
    with_scalar_text(value, |text| push_folded_bytes(text, out));
}

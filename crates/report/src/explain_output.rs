//! `ruleproof explain` output: the explanation tree of one verdict, as text or versioned JSON.

use ruleproof_sigma::Explanation;
use serde_json::Value;

/// The version of the explanation JSON shape; it changes when a field changes meaning.
pub const JSON_FORMAT: &str = "ruleproof.explanation/1";

/// The explanation as JSON: the tree `Explanation` serializes to, with a `format` field.
pub fn json(explanation: &Explanation) -> Value {
    // `format` first: JSON objects keep the order they are written in.
    let mut value = serde_json::Map::new();
    value.insert("format".to_owned(), Value::from(JSON_FORMAT));
    match serde_json::to_value(explanation) {
        Ok(Value::Object(map)) => value.extend(map),
        _ => return Value::Null,
    }
    Value::Object(value)
}

/// The explanation as an indented tree for people.
pub fn human(explanation: &Explanation) -> String {
    explanation.to_string()
}

//! `ruleproof explain` output: the explanation tree of one verdict, as text or versioned JSON,
//! and what the processing pipelines did to the rule before it was evaluated.

use ruleproof_sigma::{Explanation, ProcessingNote, SourceFile};
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

/// The explanation as JSON with what the processing pipelines did to the rule: a
/// `processing` list of `{line, col, change}` (the detection item's position in the rule file,
/// or `null`s for the rule as a whole). Without notes, the same as [`json`].
pub fn json_with_processing(
    explanation: &Explanation,
    notes: &[ProcessingNote],
    source: &SourceFile,
) -> Value {
    let mut value = json(explanation);
    if !notes.is_empty()
        && let Some(map) = value.as_object_mut()
    {
        let notes = notes
            .iter()
            .map(|note| {
                let at = note.span.map(|span| source.line_col(span.start));
                serde_json::json!({
                    "line": at.map(|a| a.line),
                    "col": at.map(|a| a.col),
                    "change": note.text,
                })
            })
            .collect();
        map.insert("processing".to_owned(), Value::Array(notes));
    }
    value
}

/// What the processing pipelines did to the rule, for people: a `processed:` header, then one
/// line per change, with the detection item's `line:col` in the rule file. Empty without notes.
pub fn processing_human(notes: &[ProcessingNote], source: &SourceFile) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = String::from("processed:\n");
    for note in notes {
        match note.span {
            Some(span) => {
                let at = source.line_col(span.start);
                out.push_str(&format!("  {}:{}: {}\n", at.line, at.col, note.text));
            }
            None => out.push_str(&format!("  rule: {}\n", note.text)),
        }
    }
    out
}

/// The explanation as an indented tree for people.
pub fn human(explanation: &Explanation) -> String {
    explanation.to_string()
}

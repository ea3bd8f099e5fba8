//! The text of test-case files: skeletons for new rules and appended cases. The command line
//! writes them with `ruleproof_files::write_atomically`, never over an existing file unless asked.

use std::fmt::Write as _;

use ruleproof_sigma::detection::SearchBody;
use ruleproof_sigma::yaml::{Limits, Node, parse_documents};
use ruleproof_sigma::{CompileOptions, CompiledRule, Rule, SearchRole, SourceFile};

use crate::coverage::is_generic_falsepositive;
use crate::format::{Verdict, parse_test_case_file};

/// Why a case cannot be appended. (Files are written by `ruleproof_files::write_atomically`.)
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("{0}")]
    /// The rule or the test-case file cannot take the case; the message names the file.
    Invalid(String),
}

/// A scenario id from free text: lowercase words joined by `-`.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

/// The skeleton of a test-case file for a rule. Its two placeholder cases have empty events,
/// which the runner rejects, so the file fails until someone fills them in.
pub fn skeleton(rule: &Rule, rule_reference: &str, schema_path: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# yaml-language-server: $schema={schema_path}");
    let _ = writeln!(out, "ruleproof: 1");
    let _ = writeln!(out, "rule: {}", yaml_string(rule_reference));
    let scenarios: Vec<&str> = rule
        .meta
        .falsepositives
        .iter()
        .map(|(f, _)| f.as_str())
        .filter(|f| !is_generic_falsepositive(f))
        .collect();
    if !scenarios.is_empty() {
        let _ = writeln!(out, "\nscenarios:");
        for entry in scenarios {
            let _ = writeln!(out, "  - id: {}", slug(entry));
            let _ = writeln!(out, "    title: {}", yaml_string(entry));
            let _ = writeln!(
                out,
                "    description: \"\"  # when does this benign activity happen?"
            );
            let _ = writeln!(
                out,
                "    exclusion: \"\"    # how should a deployment exclude it?"
            );
            let _ = writeln!(out, "    falsepositive: {}", yaml_string(entry));
        }
    }
    let fields = detection_fields(rule);
    let _ = writeln!(out, "\ncases:");
    if !fields.is_empty() {
        let _ = writeln!(out, "  # The rule looks at: {}", fields.join(", "));
    }
    // The first search the condition uses as a selection (its role, not its name, says so).
    let selection = CompiledRule::compile(rule, &CompileOptions::default())
        .ok()
        .and_then(|compiled| {
            compiled
                .outline()
                .into_iter()
                .find(|s| s.role == SearchRole::Selection && !s.name.starts_with('_'))
        })
        .map(|s| s.name);
    let _ = writeln!(out, "  - name: a realistic event the rule must detect");
    let _ = writeln!(out, "    expect: match");
    if let Some(selection) = selection {
        let _ = writeln!(out, "    reason: [{selection}]");
    }
    let _ = writeln!(out, "    event: {{}}  # fill in a real event");
    let _ = writeln!(out, "  - name: a benign event the rule must not detect");
    let _ = writeln!(out, "    expect: no-match");
    let _ = writeln!(out, "    event: {{}}  # fill in a real event");
    out
}

fn detection_fields(rule: &Rule) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for search in &rule.detection.searches {
        let items: Vec<_> = match &search.body {
            SearchBody::Maps(maps) => maps.iter().flat_map(|m| m.items.iter()).collect(),
            SearchBody::Keywords(item) => vec![item],
        };
        for item in items {
            if let Some(field) = &item.field
                && !fields.contains(field)
            {
                fields.push(field.clone());
            }
        }
    }
    fields
}

/// A string as a YAML scalar: JSON quoting is valid YAML and always unambiguous.
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A mapping key as YAML: plain when it is an ordinary field name, JSON-quoted otherwise.
fn yaml_key(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if plain {
        key.to_owned()
    } else {
        yaml_string(key)
    }
}

/// A case to append.
#[derive(Clone, Debug)]
pub struct NewCase {
    /// The case's `name`, unique within its file.
    pub name: String,
    /// The expected verdict.
    pub expect: Verdict,
    /// The event as a JSON object, rendered as block YAML.
    pub event: serde_json::Value,
    /// The scenario id the case belongs to, if any.
    pub scenario: Option<String>,
}

/// Renders a case as block YAML at the given indentation of its `- ` marker.
pub fn render_case(case: &NewCase, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let _ = writeln!(out, "{pad}- name: {}", yaml_string(&case.name));
    let _ = writeln!(out, "{pad}  expect: {}", case.expect.as_str());
    if let Some(scenario) = &case.scenario {
        let _ = writeln!(out, "{pad}  scenario: {}", yaml_string(scenario));
    }
    let _ = writeln!(out, "{pad}  event:");
    render_mapping(&mut out, &case.event, indent + 4);
    out
}

fn render_mapping(out: &mut String, value: &serde_json::Value, indent: usize) {
    let pad = " ".repeat(indent);
    let Some(map) = value.as_object() else {
        return;
    };
    for (key, value) in map {
        match value {
            serde_json::Value::Object(inner) if !inner.is_empty() => {
                let _ = writeln!(out, "{pad}{}:", yaml_key(key));
                render_mapping(out, value, indent + 2);
            }
            // JSON is valid YAML flow syntax, so scalars and lists keep their exact types.
            other => {
                let _ = writeln!(out, "{pad}{}: {other}", yaml_key(key));
            }
        }
    }
}

/// The file's text with a case appended to its `cases:` list, keeping every other byte as it was.
pub fn append_case(source: &SourceFile, case: &NewCase) -> Result<String, ScaffoldError> {
    let invalid = |m: String| ScaffoldError::Invalid(format!("{}: {m}", source.path().display()));
    let docs = parse_documents(source, &Limits::default())
        .map_err(|e| invalid(format!("{}: {}", source.line_col(e.span.start), e.message)))?;
    let root: &Node = docs
        .first()
        .ok_or_else(|| invalid("the file is empty".into()))?;
    let entries = root
        .as_map()
        .ok_or_else(|| invalid("not a test-case file".into()))?;
    let position = entries
        .iter()
        .position(|(k, _)| k.as_str() == Some("cases"))
        .ok_or_else(|| invalid("the file has no `cases:` list".into()))?;
    let (_, cases) = &entries[position];
    let items = cases
        .as_seq()
        .ok_or_else(|| invalid("`cases` is not a list".into()))?;
    let text = source.text();
    let first_item_column = items
        .first()
        .map(|item| source.line_col(item.span.start).col as usize);
    // A block list item's mapping starts two columns after its `- ` marker.
    let indent = first_item_column.map_or(2, |c| c.saturating_sub(3));
    // Insert before the next top-level key, or at the end of the file.
    let insert_at = entries
        .get(position + 1)
        .map(|(next_key, _)| {
            let start = next_key.span.start as usize;
            text[..start].rfind('\n').map_or(0, |i| i + 1)
        })
        .unwrap_or(text.len());
    let flow_empty = items.is_empty();
    let mut out = String::with_capacity(text.len() + 256);
    if flow_empty {
        // `cases: []` becomes a block list holding the new case.
        let value_start = cases.span.start as usize;
        let value_end = text[value_start..]
            .find(']')
            .map_or(value_start, |i| value_start + i + 1);
        out.push_str(&text[..value_start]);
        out.push('\n');
        out.push_str(&render_case(case, indent));
        out.push_str(
            text[value_end..]
                .trim_start_matches([' ', '\t'])
                .trim_start_matches(['\r', '\n']),
        );
    } else {
        let before = &text[..insert_at];
        out.push_str(before);
        if !before.is_empty() && !before.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&render_case(case, indent));
        out.push_str(&text[insert_at..]);
    }
    // Never write a file the runner could not read back.
    let check = SourceFile::new(source.path(), out.as_str());
    let (parsed, problems) = parse_test_case_file(&check, &Limits::default());
    if parsed.is_none() || !problems.is_empty() {
        let detail: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(invalid(format!(
            "appending would leave the file unreadable, so nothing was written: {}",
            detail.join("; ")
        )));
    }
    Ok(out)
}

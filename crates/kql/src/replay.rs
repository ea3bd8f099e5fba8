//! Replay scripts: a converted query bound to a rule's fixtures, as one self-contained KQL
//! script that any Azure Data Explorer cluster or Sentinel's log search can run, so that
//! Microsoft's engine can confirm (or refute) the local evaluator's verdicts.
//!
//! The script shadows the query's table with a `let` bound to a typed `datatable` of the
//! fixtures (each row a fixture, mapped into the table's schema by the same pipeline the local
//! parity check uses), runs the query unchanged, and compares the fixtures that come back with
//! the ones expected:
//!
//! ```text
//! let expected = dynamic(["matches a pool"]);
//! let imNetworkSession = datatable(ruleproof_case: string, DstHostname: string, …) [ … ];
//! imNetworkSession
//! | where …
//! | summarize matched = make_set(ruleproof_case)
//! | extend not_returned = set_difference(expected, matched), wrongly_returned = set_difference(matched, expected)
//! | extend agrees = array_length(not_returned) == 0 and array_length(wrongly_returned) == 0
//! ```
//!
//! Sources: `datatable` (<https://learn.microsoft.com/kusto/query/datatable-operator>), scalar
//! literals and typed nulls (<https://learn.microsoft.com/kusto/query/scalar-data-types/>),
//! `make_set` and `set_difference`.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::convert::string_literal;
use crate::schema::{ColumnType, TableSchema};

/// The column that names each fixture in a replay script's `datatable`.
pub const CASE_COLUMN: &str = "ruleproof_case";

/// One fixture of a replay script: its name, its row in the table's schema, and whether the
/// rule must match it.
#[derive(Clone, Debug)]
pub struct ReplayCase {
    /// The case's name, unique within the script.
    pub name: String,
    /// The row: column name to value, already typed ([`TableSchema::typed_row`]).
    pub record: Map<String, Value>,
    /// Whether the rule (and so the query) must return this row.
    pub expect_match: bool,
}

/// The replay script of `query` (a converted query over `schema`'s table) on `cases`.
/// `heading` becomes the script's first comment lines (the rule's title and path).
///
/// The `datatable` holds the case column, then every column of the schema that some case
/// fills or that the query's text names, in the schema's order.
pub fn replay_script(
    heading: &str,
    schema: &TableSchema,
    query: &str,
    cases: &[ReplayCase],
) -> String {
    let columns: Vec<(&str, ColumnType)> = schema
        .columns()
        .iter()
        .filter(|(name, ty)| {
            names_word(query, name)
                || cases
                    .iter()
                    .any(|case| case.record.get(name).is_some_and(|v| *v != ty.coerce(None)))
        })
        .map(|(name, ty)| (name.as_str(), *ty))
        .collect();
    let mut out = String::new();
    for line in heading.lines() {
        let _ = writeln!(out, "// {line}");
    }
    let expected: Vec<String> = cases
        .iter()
        .filter(|c| c.expect_match)
        .map(|c| string_literal(&c.name))
        .collect();
    let _ = writeln!(
        out,
        "// Runs the query on the rule's fixtures; `agrees` is true when exactly the expected\n\
         // fixtures come back."
    );
    let _ = writeln!(out, "let expected = dynamic([{}]);", expected.join(", "));
    let header: Vec<String> = std::iter::once(format!("{CASE_COLUMN}: string"))
        .chain(
            columns
                .iter()
                .map(|(name, ty)| format!("{}: {ty}", column_name(name))),
        )
        .collect();
    let _ = writeln!(
        out,
        "let {} = datatable({})",
        column_name(schema.name()),
        header.join(", ")
    );
    out.push_str("[\n");
    for case in cases {
        let mut cells = vec![string_literal(&case.name)];
        for (name, ty) in &columns {
            cells.push(literal(*ty, case.record.get(*name)));
        }
        let _ = writeln!(out, "    {},", cells.join(", "));
    }
    out.push_str("];\n");
    out.push_str(query.trim_end());
    out.push('\n');
    let _ = writeln!(out, "| summarize matched = make_set({CASE_COLUMN})");
    let _ = writeln!(
        out,
        "| extend not_returned = set_difference(expected, matched), wrongly_returned = set_difference(matched, expected)"
    );
    let _ = writeln!(
        out,
        "| extend agrees = array_length(not_returned) == 0 and array_length(wrongly_returned) == 0"
    );
    out
}

/// Whether `name` occurs in `text` as a whole identifier (so a column the query reads is
/// kept even when no fixture fills it; a false positive only adds an empty column).
fn names_word(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// A column or table name as KQL writes it: bare, or `['…']`.
fn column_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("[{}]", string_literal(name))
    }
}

/// A typed row value as a KQL literal of the column's type; a null is the type's null literal
/// (`int(null)`), and a value that is not a literal of the type (a datetime Kusto could not
/// read) is null too.
fn literal(ty: ColumnType, value: Option<&Value>) -> String {
    let value = ty.coerce(value);
    let null = || format!("{}(null)", ty.name());
    match (ty, &value) {
        (_, Value::Null) => null(),
        (ColumnType::String, Value::String(s)) => string_literal(s),
        (ColumnType::Int | ColumnType::Long, Value::Number(n)) => n.to_string(),
        (ColumnType::Real, Value::Number(n)) => {
            n.as_f64().map_or_else(null, |f| format!("real({f:?})"))
        }
        (ColumnType::Bool, Value::Bool(b)) => b.to_string(),
        (ColumnType::Datetime, Value::String(s)) if is_datetime_text(s) => {
            format!("datetime({})", s.trim())
        }
        (ColumnType::Guid, Value::String(s))
            if s.trim().chars().all(|c| c.is_ascii_hexdigit() || c == '-') =>
        {
            format!("guid({})", s.trim())
        }
        (ColumnType::Dynamic, v) => format!("dynamic({v})"),
        _ => null(),
    }
}

/// Whether text can go inside `datetime(…)`: an ISO 8601 date and time (`2024-05-01`,
/// `2024-05-01T10:00:00.123Z`, `2024-05-01 10:00:00`), nothing else.
fn is_datetime_text(text: &str) -> bool {
    let text = text.trim();
    let bytes = text.as_bytes();
    bytes.len() >= 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..7].iter().all(u8::is_ascii_digit)
        && bytes[7] == b'-'
        && bytes[8..10].iter().all(u8::is_ascii_digit)
        && text[10..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'T' | 'Z' | ':' | '.' | ' ' | '+' | '-'))
}

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
    let rows: Vec<(&str, &Map<String, Value>)> =
        cases.iter().map(|c| (c.name.as_str(), &c.record)).collect();
    datatable(&mut out, &column_name(schema.name()), schema, query, &rows);
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

/// Writes `let <name> = datatable(ruleproof_case: string, …) [ … ];` of `rows` (a case name and
/// its typed row each): the case column, then every column of the schema that some row fills
/// or that `query` names, in the schema's order.
fn datatable(
    out: &mut String,
    name: &str,
    schema: &TableSchema,
    query: &str,
    rows: &[(&str, &Map<String, Value>)],
) {
    let columns: Vec<(&str, ColumnType)> = schema
        .columns()
        .iter()
        .filter(|(name, ty)| {
            names_word(query, name)
                || rows
                    .iter()
                    .any(|(_, record)| record.get(name).is_some_and(|v| *v != ty.coerce(None)))
        })
        .map(|(name, ty)| (name.as_str(), *ty))
        .collect();
    let header: Vec<String> = std::iter::once(format!("{CASE_COLUMN}: string"))
        .chain(
            columns
                .iter()
                .map(|(name, ty)| format!("{}: {ty}", column_name(name))),
        )
        .collect();
    let _ = writeln!(out, "let {name} = datatable({})", header.join(", "));
    out.push_str("[\n");
    for (case, record) in rows {
        let mut cells = vec![string_literal(case)];
        for (column, ty) in &columns {
            cells.push(literal(*ty, record.get(*column)));
        }
        let _ = writeln!(out, "    {},", cells.join(", "));
    }
    out.push_str("];\n");
}

/// One sequence case of a correlation's replay script.
#[derive(Clone, Debug)]
pub struct ReplaySequence {
    /// The case's name, unique within the script.
    pub name: String,
    /// Its events as rows: the table each goes to and the typed row, its time in the table's
    /// time column ([`crate::tabular::Table::of_sequence`] maps the same way).
    pub rows: Vec<(String, Map<String, Value>)>,
    /// The engine's alerts on the sequence.
    pub expected: Vec<ReplayAlert>,
}

/// One alert the engine raised on a sequence.
#[derive(Clone, Debug)]
pub struct ReplayAlert {
    /// The raising observation's time, in milliseconds since the epoch.
    pub time_ms: i64,
    /// The group values, in `group-by` order.
    pub group: Vec<String>,
    /// The count or aggregate.
    pub value: f64,
}

/// The replay script of a converted correlation `query` on its sequence cases: the events of
/// every case as a typed `datatable` per table the query reads (`schemas`), the query run once
/// per case inside a function that shadows each table with that case's rows (each sequence is
/// its own stream, as for the engine), and a final check that the alerts raised are exactly
/// the engine's (keyed by case, time in epoch milliseconds, case-folded group values and
/// value). Sources: user-defined functions
/// (<https://learn.microsoft.com/kusto/query/functions/user-defined-functions>), `union`,
/// `datetime_diff` (<https://learn.microsoft.com/kusto/query/datetime-diff-function>),
/// `make_set`, `set_difference`.
pub fn correlation_replay_script(
    heading: &str,
    schemas: &[&TableSchema],
    query: &str,
    group_by: &[String],
    sequences: &[ReplaySequence],
) -> String {
    let mut out = String::new();
    for line in heading.lines() {
        let _ = writeln!(out, "// {line}");
    }
    let _ = writeln!(
        out,
        "// Runs the correlation's query on each sequence case alone; `agrees` is true when it\n\
         // raises exactly the alerts the engine raises (case | time in epoch ms | group | value)."
    );
    let expected: Vec<String> = sequences
        .iter()
        .flat_map(|s| {
            s.expected.iter().map(|a| {
                let group: Vec<String> = a
                    .group
                    .iter()
                    .map(|g| g.chars().flat_map(char::to_lowercase).collect())
                    .collect();
                string_literal(&format!(
                    "{} | {} | {} | {}",
                    s.name,
                    a.time_ms,
                    group.join(","),
                    // Kusto's `tostring()` of a long or a real: integers without a fraction.
                    ruleproof_sigma::correlation::number_text(a.value)
                ))
            })
        })
        .collect();
    let _ = writeln!(out, "let expected = dynamic([{}]);", expected.join(", "));
    for schema in schemas {
        let rows: Vec<(&str, &Map<String, Value>)> = sequences
            .iter()
            .flat_map(|s| {
                s.rows
                    .iter()
                    .filter(|(table, _)| table == schema.name())
                    .map(|(_, record)| (s.name.as_str(), record))
            })
            .collect();
        datatable(
            &mut out,
            &format!("ruleproof_rows_{}", schema.name()),
            schema,
            query,
            &rows,
        );
    }
    let _ = writeln!(
        out,
        "let ruleproof_replay = (ruleproof_case_name: string) {{"
    );
    for schema in schemas {
        let _ = writeln!(
            out,
            "let {} = ruleproof_rows_{} | where {CASE_COLUMN} == ruleproof_case_name;",
            column_name(schema.name()),
            schema.name()
        );
    }
    out.push_str(query.trim_end());
    let _ = writeln!(out, "\n| extend {CASE_COLUMN} = ruleproof_case_name\n}};");
    let runs: Vec<String> = sequences
        .iter()
        .map(|s| format!("(ruleproof_replay({}))", string_literal(&s.name)))
        .collect();
    let group = if group_by.is_empty() {
        "\"\"".to_owned()
    } else {
        let parts: Vec<String> = group_by
            .iter()
            .map(|g| format!("tolower(tostring({}))", crate::convert::column(g)))
            .collect();
        format!("strcat({})", parts.join(", \",\", "))
    };
    let _ = writeln!(out, "union {}", runs.join(", "));
    let _ = writeln!(
        out,
        "| extend ruleproof_alert = strcat({CASE_COLUMN}, \" | \", tostring(datetime_diff(\"millisecond\", {time}, datetime(1970-01-01))), \" | \", {group}, \" | \", tostring({value}))",
        time = crate::correlation::TIME_COLUMN,
        value = crate::correlation::VALUE_COLUMN,
    );
    let _ = writeln!(out, "| summarize raised = make_set(ruleproof_alert)");
    let _ = writeln!(
        out,
        "| extend not_raised = set_difference(expected, raised), wrongly_raised = set_difference(raised, expected)"
    );
    let _ = writeln!(
        out,
        "| extend agrees = array_length(not_raised) == 0 and array_length(wrongly_raised) == 0"
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

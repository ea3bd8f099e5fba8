//! The KQL pipelines shipped with the crate, `asim` and `defender_xdr`: pySigma processing
//! pipelines (`crates/kql/pipelines/*.yml`, read and applied by `ruleproof-pipeline`) that choose
//! each rule's table with the state `query_table`, as pySigma's Kusto backends do, and map its
//! field names and values to the table's. Conversion, KQL parity and Sigma evaluation
//! (`--pipeline crates/kql/pipelines/asim.yml`) all read these same files.
//!
//! The typed schema of each table (`crates/kql/tables/*.yml`) is looked up by the table's name;
//! a fixture event becomes a row of it through the same processing items
//! ([`fixture_row`]).

use std::sync::OnceLock;

use ruleproof_pipeline::{EventError, Pipeline, Pipelines, Processed};
use ruleproof_sigma::SourceFile;
use serde_json::{Map, Value};

use crate::schema::TableSchema;

/// The pipeline state that names a rule's table, as pySigma's Kusto backends call it
/// (`pySigma-backend-kusto`: `set_state` with `key: query_table`).
pub const TABLE_STATE: &str = "query_table";

/// The pipelines shipped with the crate: name and YAML text.
const BUILTIN: &[(&str, &str)] = &[
    ("asim", include_str!("../pipelines/asim.yml")),
    (
        "defender_xdr",
        include_str!("../pipelines/defender_xdr.yml"),
    ),
];

/// The names of the shipped pipelines.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// A shipped pipeline by name (`asim`), read as any pipeline file is; its positions name
/// `crates/kql/pipelines/<name>.yml`.
pub fn builtin_pipeline(name: &str) -> Option<Pipeline> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    let source = SourceFile::new(format!("crates/kql/pipelines/{name}.yml"), *text);
    // The shipped files are tested to load (`tests/pipelines.rs`).
    Some(Pipeline::from_source(source).expect("a shipped pipeline loads"))
}

/// The typed schema of a table, when the crate ships one (every table the shipped pipelines
/// name has one).
pub fn table_schema(table: &str) -> Option<&'static TableSchema> {
    static SCHEMAS: OnceLock<Vec<TableSchema>> = OnceLock::new();
    SCHEMAS
        .get_or_init(TableSchema::builtin)
        .iter()
        .find(|schema| schema.name() == table)
}

/// The table `processed` selected (the state [`TABLE_STATE`]), if any.
pub fn table_of(processed: &Processed) -> Option<String> {
    processed.state(TABLE_STATE).map(|table| table.text())
}

/// A fixture event, written in the rule's schema, as a row of `table`: through the processing
/// items that applied to the rule ([`Pipelines::map_event`]), then, when the table has a typed
/// schema, as a row of it ([`TableSchema::typed_row`]: every column present with a value of its
/// type, keys that are no column dropped), as Sentinel would hold the event.
///
/// # Errors
/// A processing item refuses a value of the event.
pub fn fixture_row(
    pipelines: &Pipelines,
    processed: &Processed,
    table: &str,
    event: &Map<String, Value>,
) -> Result<Map<String, Value>, EventError> {
    let mapped = pipelines.map_event(processed, event)?;
    Ok(match table_schema(table) {
        Some(schema) => schema.typed_row(&mapped),
        None => mapped,
    })
}

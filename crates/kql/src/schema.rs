//! Typed table schemas: the columns of a KQL table (or ASIM parser) and their Kusto types.
//!
//! Each shipped table is a data file under `tables/` (`tables/imNetworkSession.yml`), kept apart
//! from the pipelines so that the pipelines can change format without touching the schemas. A
//! file names the `table`, the Microsoft page its columns come from (`source`) and the
//! `columns` in the order the page lists them, each with its Kusto type.
//!
//! Types matter because Kusto's operators depend on them (source:
//! <https://learn.microsoft.com/kusto/query/scalar-data-types/>): a `string` column is never
//! null (a missing value is `""`), while `int`, `long`, `real`, `bool`, `datetime`, `guid` and
//! `dynamic` columns can be null (<https://learn.microsoft.com/kusto/query/scalar-data-types/null-values>).

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

/// The schema files shipped with the crate, one per table the shipped pipelines name.
const BUILTIN_TABLES: &[&str] = &[
    include_str!("../tables/imNetworkSession.yml"),
    include_str!("../tables/imProcessCreate.yml"),
    include_str!("../tables/imFileEvent.yml"),
    include_str!("../tables/imRegistry.yml"),
    include_str!("../tables/imDns.yml"),
    include_str!("../tables/DeviceProcessEvents.yml"),
    include_str!("../tables/DeviceNetworkEvents.yml"),
    include_str!("../tables/DeviceFileEvents.yml"),
    include_str!("../tables/DeviceRegistryEvents.yml"),
    include_str!("../tables/DeviceImageLoadEvents.yml"),
];

/// A Kusto scalar type, as a table schema names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// `string`: never null; a missing value is `""`.
    String,
    /// `int`: a 32-bit integer, or null.
    Int,
    /// `long`: a 64-bit integer, or null.
    Long,
    /// `real`: a 64-bit float, or null.
    Real,
    /// `bool`: `true`, `false` or null.
    Bool,
    /// `datetime`: an instant, or null.
    Datetime,
    /// `guid`: a GUID, or null.
    Guid,
    /// `dynamic`: any JSON-like value, or null.
    Dynamic,
}

impl ColumnType {
    /// The type's name in KQL (`datatable(X: long)`).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Long => "long",
            ColumnType::Real => "real",
            ColumnType::Bool => "bool",
            ColumnType::Datetime => "datetime",
            ColumnType::Guid => "guid",
            ColumnType::Dynamic => "dynamic",
        }
    }

    /// Whether the type holds numbers (`int`, `long`, `real`).
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Long | ColumnType::Real)
    }

    /// A JSON value as this type holds it: what the value would be after ingestion into a
    /// column of the type. A string column gets the text form (`tostring()`; a missing value
    /// is `""`); numeric columns take numbers and numeric strings, hexadecimal `0x…` included
    /// (Sysmon writes logon ids that way, Defender stores the number); booleans take `true`
    /// and `false` in any case. Anything that is not a value of the type becomes null, as
    /// Kusto's `toint()`, `tolong()`, `toreal()` and `tobool()` give null for input they
    /// cannot convert (<https://learn.microsoft.com/kusto/query/toint-function>).
    pub fn coerce(self, value: Option<&Value>) -> Value {
        let value = value.filter(|v| !v.is_null());
        match self {
            ColumnType::String => Value::String(match value {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            }),
            ColumnType::Int | ColumnType::Long => match value.and_then(integer_of) {
                Some(i) if self == ColumnType::Long || i32::try_from(i).is_ok() => Value::from(i),
                _ => Value::Null,
            },
            ColumnType::Real => match value {
                Some(Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
                Some(Value::String(s)) => {
                    let s = s.trim();
                    integer_text(s)
                        .map(|i| i as f64)
                        .or_else(|| s.parse::<f64>().ok())
                        .filter(|f| f.is_finite())
                        .map_or(Value::Null, Value::from)
                }
                _ => Value::Null,
            },
            ColumnType::Bool => match value {
                Some(Value::Bool(b)) => Value::Bool(*b),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
                _ => Value::Null,
            },
            ColumnType::Datetime | ColumnType::Guid => match value {
                Some(Value::String(s)) if !s.trim().is_empty() => Value::String(s.clone()),
                _ => Value::Null,
            },
            ColumnType::Dynamic => value.cloned().unwrap_or(Value::Null),
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An integer written in decimal or as `0x…` hexadecimal, as Sigma rules and Sysmon events
/// write ids and flags.
pub(crate) fn integer_text(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(hex) = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .filter(|h| !h.is_empty())
    {
        return i64::from_str_radix(hex, 16)
            .ok()
            .or_else(|| u64::from_str_radix(hex, 16).ok().map(|u| u as i64));
    }
    text.parse::<i64>().ok()
}

fn integer_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.is_finite())
                .map(|f| f as i64)
        }),
        Value::String(s) => integer_text(s),
        _ => None,
    }
}

/// A table's columns and their types, in the documented order.
#[derive(Clone, Debug)]
pub struct TableSchema {
    name: String,
    source: String,
    columns: Vec<(String, ColumnType)>,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaFile {
    table: String,
    source: String,
    columns: Columns,
}

/// The `columns` mapping, in the order it is written (a `HashMap` would lose it, and the
/// order is the table's, which a `datatable` of fixtures shows).
struct Columns(Vec<(String, ColumnType)>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Columns, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Columns;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of column names to Kusto types")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Columns, A::Error> {
                let mut columns = Vec::new();
                while let Some(entry) = map.next_entry::<String, ColumnType>()? {
                    columns.push(entry);
                }
                Ok(Columns(columns))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A schema file that failed to load.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file is not valid YAML of the schema format.
    #[error("invalid table schema: {0}")]
    Yaml(#[from] serde_saphyr::Error),
    /// A column is listed twice.
    #[error("table '{table}' lists the column '{column}' twice")]
    Duplicate {
        /// The table.
        table: String,
        /// The column listed twice.
        column: String,
    },
}

impl TableSchema {
    /// Loads a schema from its YAML text (the format of `tables/*.yml`).
    ///
    /// # Errors
    ///
    /// The YAML does not parse, or a column is listed twice.
    pub fn from_yaml(text: &str) -> Result<TableSchema, SchemaError> {
        let file: SchemaFile = serde_saphyr::from_str(text)?;
        let mut index = HashMap::with_capacity(file.columns.0.len());
        let mut columns = Vec::with_capacity(file.columns.0.len());
        for (name, ty) in file.columns.0 {
            if index.insert(name.clone(), columns.len()).is_some() {
                return Err(SchemaError::Duplicate {
                    table: file.table,
                    column: name,
                });
            }
            columns.push((name, ty));
        }
        Ok(TableSchema {
            name: file.table,
            source: file.source,
            columns,
            index,
        })
    }

    /// The schemas shipped with the crate.
    pub(crate) fn builtin() -> Vec<TableSchema> {
        BUILTIN_TABLES
            .iter()
            .map(|text| TableSchema::from_yaml(text).expect("a shipped table schema loads"))
            .collect()
    }

    /// The table's name (`imNetworkSession`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Microsoft page that documents the columns.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The columns and their types, in the documented order.
    pub fn columns(&self) -> &[(String, ColumnType)] {
        &self.columns
    }

    /// The type of a column, or `None` when the table has no such column.
    pub fn column_type(&self, column: &str) -> Option<ColumnType> {
        self.index.get(column).map(|&i| self.columns[i].1)
    }

    /// A record as a row of this table: every column present with its type's value (a missing
    /// string is `""`, any other missing value null), and keys that are not columns dropped.
    pub fn typed_row(&self, record: &Map<String, Value>) -> Map<String, Value> {
        self.columns
            .iter()
            .map(|(name, ty)| (name.clone(), ty.coerce(record.get(name))))
            .collect()
    }
}

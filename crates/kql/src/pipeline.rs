//! Pipelines: data files that map a Sigma log source to a KQL table (or ASIM parser) and Sigma
//! field names to the names that table uses.
//!
//! A pipeline file has a `name`, a `description`, a global `fields` map and a list of
//! `logsources`. Each log source entry names any of `product`, `category` and `service` to
//! match, the `table` to read, and `fields` that override the global map for that table. All
//! entries that share a table share their overrides, so two entries may not map one Sigma field
//! of a table to different names; YAML anchors let such entries reuse one map. A Sigma field
//! with no mapping keeps its name.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::schema::TableSchema;

/// The names of the pipelines shipped with the crate, as [`Pipeline::builtin`] knows them.
const BUILTIN_NAMES: &[&str] = &["asim", "defender_xdr"];

/// A pipeline file that failed to load.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("invalid pipeline file: {0}")]
    /// The file is not valid YAML of the pipeline format.
    Yaml(#[from] serde_saphyr::Error),
    #[error("logsource entry {index}: {message}")]
    /// A log source entry is unusable: its 0-based `index` and what is wrong.
    Entry {
        /// The entry's position in `logsources`, from 0.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    #[error(
        "table '{table}' maps the Sigma field '{field}' to both '{first}' and '{second}'; \
         entries sharing a table must agree"
    )]
    /// Two entries map one field of a table to different columns.
    Conflict {
        /// The table both entries select.
        table: String,
        /// The Sigma field.
        field: String,
        /// The column the first entry maps it to.
        first: String,
        /// The column the second entry maps it to.
        second: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: String,
    description: String,
    #[serde(default)]
    fields: HashMap<String, String>,
    logsources: Vec<LogsourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourceFile {
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    service: Option<String>,
    table: String,
    #[serde(default)]
    fields: HashMap<String, String>,
    /// Further columns that hold a Sigma field's value for some of the table's sources; a
    /// converted query tests them too, so one query catches every shape of row.
    #[serde(default)]
    also: HashMap<String, Vec<String>>,
    /// Values a Sigma field takes in the rule's log source, and what the table holds instead
    /// (Sysmon's `Initiated: 'true'` is ASIM's `NetworkDirection: Outbound`). A field with a
    /// value map takes no other value.
    #[serde(default)]
    values: HashMap<String, HashMap<String, String>>,
    /// Prefixes of a Sigma field's values that the table writes differently (Sysmon's `HKLM\`
    /// is `HKEY_LOCAL_MACHINE\` in ASIM and Defender).
    #[serde(default)]
    prefixes: HashMap<String, HashMap<String, String>>,
    /// A Sigma field holding `ALGORITHM=value` pairs (Sysmon's `Hashes`), and the column of
    /// each algorithm: the field is tested, and fixture events are filled, one algorithm at a
    /// time, as pySigma's ASIM and Defender pipelines do.
    #[serde(default)]
    hashes: HashMap<String, HashMap<String, String>>,
}

/// One log source entry: the keys it requires and the table it selects.
#[derive(Clone, Debug)]
struct Logsource {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    table: String,
}

impl Logsource {
    /// How many keys the entry names, or `None` when one of them differs from the rule's.
    fn specificity(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<usize> {
        let mut count = 0;
        for (wanted, given) in [
            (&self.product, product),
            (&self.category, category),
            (&self.service, service),
        ] {
            if let Some(wanted) = wanted {
                if !given.is_some_and(|g| g.eq_ignore_ascii_case(wanted)) {
                    return None;
                }
                count += 1;
            }
        }
        Some(count)
    }
}

/// A loaded pipeline.
#[derive(Clone, Debug)]
pub struct Pipeline {
    name: String,
    description: String,
    logsources: Vec<Logsource>,
    global: HashMap<String, String>,
    /// Per-table overrides, merged from every entry that selects the table.
    tables: HashMap<String, HashMap<String, String>>,
    /// Per-table extra columns of a Sigma field (see `LogsourceFile::also`).
    also: HashMap<String, HashMap<String, Vec<String>>>,
    /// The typed schema of each table that has one (every table of a shipped pipeline).
    schemas: HashMap<String, TableSchema>,
    /// Per-table value maps of a Sigma field (see `LogsourceFile::values`).
    values: HashMap<String, HashMap<String, ValueMap>>,
    /// Per-table prefix rewrites of a Sigma field (see `LogsourceFile::prefixes`).
    prefixes: HashMap<String, HashMap<String, ValueMap>>,
    /// Per-table hash columns of a Sigma field (see `LogsourceFile::hashes`).
    hashes: HashMap<String, HashMap<String, ValueMap>>,
}

/// Pairs of a Sigma value (or prefix) and the table's, sorted by the Sigma side; the Sigma side
/// compares ignoring ASCII case, as Sigma's equality does.
pub type ValueMap = Vec<(String, String)>;

/// Merges one entry's maps into a table's, refusing a field mapped two ways.
fn merge_maps(
    table: &str,
    into: &mut HashMap<String, ValueMap>,
    from: HashMap<String, HashMap<String, String>>,
) -> Result<(), PipelineError> {
    for (field, map) in from {
        let mut pairs: ValueMap = map.into_iter().collect();
        pairs.sort();
        if let Some(first) = into.get(&field)
            && *first != pairs
        {
            return Err(PipelineError::Conflict {
                table: table.to_owned(),
                field,
                first: format!("{first:?}"),
                second: format!("{pairs:?}"),
            });
        }
        into.insert(field, pairs);
    }
    Ok(())
}

impl Pipeline {
    /// A pipeline shipped with the crate: `asim` or `defender_xdr`.
    pub fn builtin(name: &str) -> Option<Pipeline> {
        let text = match name {
            "asim" => include_str!("../pipelines/asim.yml"),
            "defender_xdr" => include_str!("../pipelines/defender_xdr.yml"),
            _ => return None,
        };
        let mut pipeline = Pipeline::from_yaml(text).ok()?;
        pipeline.schemas = TableSchema::builtin()
            .into_iter()
            .filter(|schema| pipeline.tables.contains_key(schema.name()))
            .map(|schema| (schema.name().to_owned(), schema))
            .collect();
        Some(pipeline)
    }

    /// The names of the pipelines shipped with the crate.
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Loads a pipeline from its YAML text (the format of `pipelines/*.yml`). Its tables have
    /// no typed schema: columns are not checked and fixture values are not typed.
    ///
    /// # Errors
    ///
    /// The YAML does not parse, an entry has an empty table name, or two entries map one field of
    /// a table to different columns.
    pub fn from_yaml(text: &str) -> Result<Pipeline, PipelineError> {
        let file: PipelineFile = serde_saphyr::from_str(text)?;
        let mut tables: HashMap<String, HashMap<String, String>> = HashMap::new();
        let mut also: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
        let mut values: HashMap<String, HashMap<String, ValueMap>> = HashMap::new();
        let mut prefixes: HashMap<String, HashMap<String, ValueMap>> = HashMap::new();
        let mut hashes: HashMap<String, HashMap<String, ValueMap>> = HashMap::new();
        let mut logsources = Vec::with_capacity(file.logsources.len());
        for (index, entry) in file.logsources.into_iter().enumerate() {
            if entry.table.trim().is_empty() {
                return Err(PipelineError::Entry {
                    index,
                    message: "the table name is empty".to_owned(),
                });
            }
            merge_maps(
                &entry.table,
                values.entry(entry.table.clone()).or_default(),
                entry.values,
            )?;
            merge_maps(
                &entry.table,
                prefixes.entry(entry.table.clone()).or_default(),
                entry.prefixes,
            )?;
            merge_maps(
                &entry.table,
                hashes.entry(entry.table.clone()).or_default(),
                entry.hashes,
            )?;
            let extra = also.entry(entry.table.clone()).or_default();
            for (field, columns) in entry.also {
                let known = extra.entry(field).or_default();
                for column in columns {
                    if !known.contains(&column) {
                        known.push(column);
                    }
                }
            }
            let overrides = tables.entry(entry.table.clone()).or_default();
            for (field, target) in entry.fields {
                if let Some(first) = overrides.get(&field)
                    && *first != target
                {
                    return Err(PipelineError::Conflict {
                        table: entry.table,
                        field,
                        first: first.clone(),
                        second: target,
                    });
                }
                overrides.insert(field, target);
            }
            logsources.push(Logsource {
                product: entry.product,
                category: entry.category,
                service: entry.service,
                table: entry.table,
            });
        }
        Ok(Pipeline {
            name: file.name,
            description: file.description,
            logsources,
            global: file.fields,
            tables,
            also,
            schemas: HashMap::new(),
            values,
            prefixes,
            hashes,
        })
    }

    /// The values a Sigma field can take in `table` and what the table holds for each, when the
    /// pipeline maps the field's values.
    pub fn value_map(&self, table: &str, sigma_field: &str) -> Option<&ValueMap> {
        self.values.get(table).and_then(|m| m.get(sigma_field))
    }

    /// The column of each hash algorithm (upper case, `SHA256`) when `sigma_field` holds
    /// `ALGORITHM=value` pairs in `table`'s log sources.
    pub fn hash_columns(&self, table: &str, sigma_field: &str) -> Option<&ValueMap> {
        self.hashes.get(table).and_then(|m| m.get(sigma_field))
    }

    /// A Sigma value as `table` holds it: through the field's value map, then its prefix
    /// rewrites. `None` when the field has a value map that does not know the value.
    pub fn map_value<'a>(
        &self,
        table: &str,
        sigma_field: &str,
        value: &'a str,
    ) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        if let Some(map) = self.value_map(table, sigma_field) {
            return map
                .iter()
                .find(|(sigma, _)| sigma.eq_ignore_ascii_case(value))
                .map(|(_, target)| Cow::Owned(target.clone()));
        }
        let rewrites = self.prefixes.get(table).and_then(|m| m.get(sigma_field));
        for (sigma, target) in rewrites.into_iter().flatten() {
            if value.len() >= sigma.len()
                && value.is_char_boundary(sigma.len())
                && value[..sigma.len()].eq_ignore_ascii_case(sigma)
            {
                return Some(Cow::Owned(format!("{target}{}", &value[sigma.len()..])));
            }
        }
        Some(Cow::Borrowed(value))
    }

    /// The typed schema of a table, when the pipeline has one (the shipped pipelines have one
    /// for every table they name).
    pub fn schema(&self, table: &str) -> Option<&TableSchema> {
        self.schemas.get(table)
    }

    /// Every table the pipeline names, sorted.
    pub fn tables(&self) -> Vec<&str> {
        let mut tables: Vec<&str> = self.tables.keys().map(String::as_str).collect();
        tables.sort_unstable();
        tables
    }

    /// The pipeline's name (`asim`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the pipeline maps, in one sentence.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The table for a Sigma log source. Among the entries whose keys all match, the one naming
    /// the most keys wins, and the earliest in the file breaks ties. Keys compare ignoring
    /// ASCII case.
    pub fn table_for(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&str> {
        let mut best: Option<(usize, &Logsource)> = None;
        for entry in &self.logsources {
            if let Some(score) = entry.specificity(product, category, service)
                && best.is_none_or(|(top, _)| score > top)
            {
                best = Some((score, entry));
            }
        }
        best.map(|(_, entry)| entry.table.as_str())
    }

    /// The name a Sigma field has in `table`: the table's override, else the global mapping,
    /// else the field's own name.
    pub fn map_field<'a>(&'a self, table: &str, sigma_field: &'a str) -> &'a str {
        self.tables
            .get(table)
            .and_then(|fields| fields.get(sigma_field))
            .or_else(|| self.global.get(sigma_field))
            .map_or(sigma_field, String::as_str)
    }

    /// Every column a Sigma field is tested against in `table`: its mapped name first, then the
    /// extra columns some sources fill instead (ASIM rows from Defender, for example, put the
    /// full remote name in `DstFQDN` and only its first label in `DstHostname`).
    pub fn map_fields<'a>(&'a self, table: &str, sigma_field: &'a str) -> Vec<&'a str> {
        let mut columns = vec![self.map_field(table, sigma_field)];
        if let Some(extra) = self.also.get(table).and_then(|a| a.get(sigma_field)) {
            for column in extra {
                if !columns.contains(&column.as_str()) {
                    columns.push(column);
                }
            }
        }
        columns
    }

    /// Renames an event's keys for `table`, keeping unmapped keys. When several keys end up with
    /// one name, a renamed key wins over a key that already had that name, and among equals the
    /// first in the event's order wins. When the table has a typed schema, the result is a row of
    /// it ([`TableSchema::typed_row`]): every column present with a value of its type, keys that
    /// are no column dropped, as Sentinel would hold the event.
    pub fn map_event(&self, table: &str, event: &Map<String, Value>) -> Map<String, Value> {
        let renamed = self.rename_event(table, event);
        match self.schema(table) {
            Some(schema) => schema.typed_row(&renamed),
            None => renamed,
        }
    }

    fn rename_event(&self, table: &str, event: &Map<String, Value>) -> Map<String, Value> {
        let mut mapped = Map::new();
        // `Hashes: SHA1=…,MD5=…` fills one column per algorithm the table has.
        for (key, value) in event {
            if let (Some(columns), Some(text)) = (self.hash_columns(table, key), value.as_str()) {
                for pair in text.split(',') {
                    let Some((algorithm, hash)) = pair.split_once('=') else {
                        continue;
                    };
                    if let Some((_, column)) = columns
                        .iter()
                        .find(|(a, _)| a.eq_ignore_ascii_case(algorithm.trim()))
                        && !mapped.contains_key(column)
                    {
                        mapped.insert(column.clone(), Value::String(hash.trim().to_owned()));
                    }
                }
            }
        }
        for (key, value) in event {
            if self.hash_columns(table, key).is_some() {
                continue;
            }
            let target = self.map_field(table, key);
            if target != key && !mapped.contains_key(target) {
                mapped.insert(target.to_owned(), self.event_value(table, key, value));
            }
        }
        for (key, value) in event {
            if self.map_field(table, key) == key && !mapped.contains_key(key) {
                mapped.insert(key.clone(), self.event_value(table, key, value));
            }
        }
        mapped
    }

    /// An event's value as the table holds it ([`Pipeline::map_value`]); a value the field's
    /// value map does not know is kept as it is.
    fn event_value(&self, table: &str, sigma_field: &str, value: &Value) -> Value {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            _ => return value.clone(),
        };
        match self.map_value(table, sigma_field, &text) {
            Some(mapped) if mapped != text => Value::String(mapped.into_owned()),
            _ => value.clone(),
        }
    }
}

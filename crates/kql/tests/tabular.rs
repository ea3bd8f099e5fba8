//! The local evaluator's tabular operators, one row of `tests/data/tabular.yml` per documented
//! behaviour (each citing Microsoft's page): a script, its input tables and the rows it must
//! return in order, or its error.

use std::collections::HashMap;

use ruleproof_kql::tabular::{Script, Table};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    name: String,
    query: String,
    tables: HashMap<String, Vec<Map<String, Value>>>,
    #[serde(default)]
    expect: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    error: Option<String>,
    source: String,
}

fn check(row: &Row) -> Result<(), String> {
    let tables: HashMap<String, Table> = row
        .tables
        .iter()
        .map(|(name, records)| (name.clone(), Table::from_records(None, records)))
        .collect();
    let result = Script::parse(&row.query).and_then(|script| script.run(&tables));
    match (&row.expect, &row.error, result) {
        (Some(expect), None, Ok(table)) => {
            let got = table.records();
            if &got == expect {
                Ok(())
            } else {
                Err(format!(
                    "returned {}, expected {}",
                    Value::from(got.into_iter().map(Value::Object).collect::<Vec<_>>()),
                    Value::from(
                        expect
                            .iter()
                            .cloned()
                            .map(Value::Object)
                            .collect::<Vec<_>>()
                    )
                ))
            }
        }
        (None, Some(error), Err(e)) if e.message.contains(error.as_str()) => Ok(()),
        (None, Some(error), Err(e)) => Err(format!(
            "error `{}`, expected one containing `{error}`",
            e.message
        )),
        (None, Some(_), Ok(table)) => Err(format!(
            "returned {} rows, expected an error",
            table.records().len()
        )),
        (Some(_), None, Err(e)) => Err(format!("failed: {}", e.message)),
        _ => Err("a row needs exactly one of `expect` and `error`".to_owned()),
    }
}

#[test]
fn tabular_operators_follow_microsofts_documentation() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tabular.yml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<Row> = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(rows.len() > 10);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            assert!(
                row.source.starts_with("https://learn.microsoft.com/"),
                "{}: cite Microsoft's page",
                row.name
            );
            check(row).err().map(|e| format!("{}: {e}", row.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

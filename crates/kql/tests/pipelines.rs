//! The shipped pipelines (pySigma processing pipelines) load, choose a table per log source with
//! the state `query_table`, and turn fixture events into rows of that table.

use ruleproof_kql::{Query, builtin_names, builtin_pipeline, fixture_row, table_of, table_schema};
use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::{DocumentBody, Limits, SourceFile, load_source};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn shipped(name: &str) -> Pipelines {
    Pipelines::resolve(vec![
        builtin_pipeline(name).unwrap_or_else(|| panic!("pipeline {name}")),
    ])
}

/// A rule of the log source (`product/category`), processed by the pipeline.
fn processed(pipelines: &Pipelines, product: &str, category: &str) -> Processed {
    let text = format!(
        "title: t\nlogsource:\n    product: {product}\n    category: {category}\n\
         detection:\n    selection:\n        Anything: x\n    condition: selection\n"
    );
    let loaded = load_source(SourceFile::new("t.yml", text), &Limits::default());
    let document = &loaded.documents[0];
    let DocumentBody::Rule(rule) = &document.body else {
        panic!("not a rule")
    };
    let mut rule = rule.clone();
    pipelines
        .process_rule(&mut rule, &document.node)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// A fixture event of the log source as a row of the table the pipeline chooses.
fn row(name: &str, category: &str, event: Value) -> (String, Map<String, Value>) {
    let pipelines = shipped(name);
    let processed = processed(&pipelines, "windows", category);
    let table = table_of(&processed).unwrap_or_else(|| panic!("{name}: no table for {category}"));
    let row = fixture_row(&pipelines, &processed, &table, &object(event)).unwrap();
    (table, row)
}

#[test]
fn every_builtin_loads() {
    assert_eq!(builtin_names(), ["asim", "defender_xdr"]);
    for name in builtin_names() {
        let pipeline = builtin_pipeline(name).unwrap();
        assert_eq!(pipeline.name, name);
    }
    assert!(builtin_pipeline("splunk").is_none());
}

#[test]
fn tables_by_log_source() {
    let cases = [
        (
            "asim",
            "windows",
            "network_connection",
            Some("imNetworkSession"),
        ),
        ("asim", "linux", "firewall", Some("imNetworkSession")),
        (
            "asim",
            "windows",
            "process_creation",
            Some("imProcessCreate"),
        ),
        ("asim", "linux", "process_creation", Some("imProcessCreate")),
        ("asim", "windows", "file_event", Some("imFileEvent")),
        ("asim", "windows", "file_delete", Some("imFileEvent")),
        ("asim", "windows", "registry_set", Some("imRegistry")),
        ("asim", "windows", "dns_query", Some("imDns")),
        ("asim", "linux", "auditd", None),
        (
            "defender_xdr",
            "windows",
            "process_creation",
            Some("DeviceProcessEvents"),
        ),
        (
            "defender_xdr",
            "windows",
            "network_connection",
            Some("DeviceNetworkEvents"),
        ),
        (
            "defender_xdr",
            "windows",
            "dns_query",
            Some("DeviceNetworkEvents"),
        ),
        (
            "defender_xdr",
            "windows",
            "file_rename",
            Some("DeviceFileEvents"),
        ),
        (
            "defender_xdr",
            "windows",
            "registry_event",
            Some("DeviceRegistryEvents"),
        ),
        (
            "defender_xdr",
            "windows",
            "image_load",
            Some("DeviceImageLoadEvents"),
        ),
        ("defender_xdr", "windows", "dns", None),
    ];
    for (name, product, category, table) in cases {
        let processed = processed(&shipped(name), product, category);
        assert_eq!(
            table_of(&processed).as_deref(),
            table,
            "{name}: {product}/{category}"
        );
    }
}

#[test]
fn fixture_events_become_typed_rows() {
    let (table, mapped) = row(
        "asim",
        "network_connection",
        json!({
            "DestinationHostname": "pool.supportxmr.com",
            "DestinationPort": 3333,
            "Image": "C:\\xmrig.exe",
            "Custom": "kept",
        }),
    );
    // A typed row of the table: mapped columns (a one-to-many mapping fills its first column),
    // every other column empty or null, and keys that are no column of the table dropped.
    assert_eq!(mapped["DstHostname"], json!("pool.supportxmr.com"));
    assert_eq!(mapped["DstFQDN"], json!(""));
    assert_eq!(mapped["DstPortNumber"], json!(3333));
    assert_eq!(mapped["SrcProcessName"], json!("C:\\xmrig.exe"));
    assert_eq!(mapped["SrcPortNumber"], Value::Null);
    assert!(!mapped.contains_key("Custom"));
    assert_eq!(mapped.len(), table_schema(&table).unwrap().columns().len());
    let query = Query::parse(
        "imNetworkSession | where DstHostname in~ (\"POOL.supportxmr.com\") and DstPortNumber == 3333",
    )
    .unwrap();
    assert!(query.evaluate(&mapped));
}

#[test]
fn a_renamed_key_wins_over_an_existing_name() {
    let (_, mapped) = row(
        "asim",
        "network_connection",
        json!({ "DstHostname": "old", "DestinationHostname": "new" }),
    );
    assert_eq!(mapped["DstHostname"], json!("new"));
}

#[test]
fn every_table_of_a_shipped_pipeline_has_a_typed_schema_with_its_mapped_columns() {
    let categories = [
        "network_connection",
        "firewall",
        "process_creation",
        "file_event",
        "file_change",
        "file_delete",
        "file_rename",
        "registry_event",
        "registry_add",
        "registry_set",
        "registry_delete",
        "dns_query",
        "dns",
        "image_load",
    ];
    let fields = [
        "Image",
        "CommandLine",
        "User",
        "Computer",
        "TargetObject",
        "ParentImage",
        "DestinationHostname",
        "TargetFilename",
        "QueryName",
        "ImageLoaded",
        "Details",
        "ProcessId",
    ];
    for name in builtin_names() {
        let pipelines = shipped(name);
        for category in categories {
            let processed = processed(&pipelines, "windows", category);
            let Some(table) = table_of(&processed) else {
                continue;
            };
            let schema =
                table_schema(&table).unwrap_or_else(|| panic!("{name}: no schema for {table}"));
            assert!(
                schema.source().starts_with("https://learn.microsoft.com/"),
                "{table}: the schema must cite Microsoft's page, not {}",
                schema.source()
            );
            // Every column a Sigma field is renamed to exists in the table.
            let event: Map<String, Value> = fields
                .iter()
                .map(|f| ((*f).to_owned(), json!("x")))
                .collect();
            let mapped = pipelines.map_event(&processed, &event).unwrap();
            for column in mapped.keys() {
                if !event.contains_key(column) {
                    assert!(
                        schema.column_type(column).is_some(),
                        "{name}: {category} maps a field to {column}, which {table} does not have"
                    );
                }
            }
        }
    }
}

#[test]
fn fixture_values_take_the_column_type_and_the_value_maps() {
    let (_, net) = row(
        "asim",
        "network_connection",
        json!({ "DestinationPort": "443", "SourcePort": "abc" }),
    );
    assert_eq!(net["DstPortNumber"], json!(443));
    assert_eq!(net["SrcPortNumber"], Value::Null);
    // ASIM process ids are strings; a number becomes its text.
    let (_, process) = row("asim", "process_creation", json!({ "ProcessId": 4 }));
    assert_eq!(process["TargetProcessId"], json!("4"));
    // Sysmon's hexadecimal logon id is Defender's long.
    let (_, process) = row(
        "defender_xdr",
        "process_creation",
        json!({ "LogonId": "0x3e7" }),
    );
    assert_eq!(process["LogonId"], json!(999));
    // Value maps apply to events too, whatever the case or type Sysmon's value has.
    for initiated in [json!("true"), json!("True"), json!(true)] {
        let (_, net) = row(
            "asim",
            "network_connection",
            json!({ "Initiated": initiated }),
        );
        assert_eq!(net["NetworkDirection"], json!("Outbound"), "{initiated}");
    }
    // Sysmon's Hashes fills one column per algorithm the table has.
    let (_, process) = row(
        "asim",
        "process_creation",
        json!({ "Hashes": "SHA1=AA,MD5=BB,IMPHASH=CC,OTHER=DD" }),
    );
    assert_eq!(process["TargetProcessSHA1"], json!("AA"));
    assert_eq!(process["TargetProcessMD5"], json!("BB"));
    assert_eq!(process["TargetProcessIMPHASH"], json!("CC"));
    assert!(!process.contains_key("Hashes"));
}

/// One row of `tests/data/rows.yml`: a fixture event of a log source, and columns of the row the
/// pipeline makes of it, with the value the table holds.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RowCase {
    name: String,
    source: String,
    pipeline: String,
    category: String,
    event: Map<String, Value>,
    row: Map<String, Value>,
}

#[test]
fn fixture_events_become_the_rows_the_tables_hold() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rows.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let cases: Vec<RowCase> = serde_saphyr::from_str(&text).unwrap();
    assert!(!cases.is_empty(), "{path} holds no case");
    let failures: Vec<String> = cases.iter().filter_map(check_row).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The row's expected columns against the mapped event; a failure names the case.
fn check_row(case: &RowCase) -> Option<String> {
    assert!(!case.source.is_empty(), "{}: cite the source", case.name);
    let (table, row) = row(
        &case.pipeline,
        &case.category,
        Value::Object(case.event.clone()),
    );
    let wrong: Vec<String> = case
        .row
        .iter()
        .filter(|(column, want)| row.get(column.as_str()) != Some(want))
        .map(|(column, want)| {
            format!(
                "{column}: expected {want}, got {}",
                row.get(column.as_str())
                    .map_or("nothing".to_owned(), Value::to_string)
            )
        })
        .collect();
    (!wrong.is_empty()).then(|| format!("{} ({table}): {}", case.name, wrong.join("; ")))
}

//! The shipped pipelines load, pick tables by log source, and rename event fields.

use ruleproof_kql::{Pipeline, PipelineError, Query};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn every_builtin_loads() {
    for name in Pipeline::builtin_names() {
        let text = match *name {
            "asim" => include_str!("../pipelines/asim.yml"),
            "defender_xdr" => include_str!("../pipelines/defender_xdr.yml"),
            other => panic!("a test is missing for the builtin pipeline {other}"),
        };
        if let Err(e) = Pipeline::from_yaml(text) {
            panic!("{name}: {e}");
        }
        let pipeline = Pipeline::builtin(name).unwrap();
        assert_eq!(pipeline.name(), *name);
        assert!(!pipeline.description().is_empty());
    }
    assert!(Pipeline::builtin("splunk").is_none());
}

#[test]
fn asim_tables() {
    let asim = Pipeline::builtin("asim").unwrap();
    let cases = [
        (
            Some("windows"),
            Some("network_connection"),
            None,
            Some("imNetworkSession"),
        ),
        (None, Some("firewall"), None, Some("imNetworkSession")),
        (
            Some("windows"),
            Some("process_creation"),
            None,
            Some("imProcessCreate"),
        ),
        (
            Some("linux"),
            Some("process_creation"),
            None,
            Some("imProcessCreate"),
        ),
        (
            Some("windows"),
            Some("file_event"),
            None,
            Some("imFileEvent"),
        ),
        (
            Some("windows"),
            Some("file_delete"),
            None,
            Some("imFileEvent"),
        ),
        (
            Some("windows"),
            Some("file_rename"),
            None,
            Some("imFileEvent"),
        ),
        (
            Some("windows"),
            Some("file_change"),
            None,
            Some("imFileEvent"),
        ),
        (
            Some("windows"),
            Some("registry_set"),
            None,
            Some("imRegistry"),
        ),
        (
            Some("windows"),
            Some("registry_add"),
            None,
            Some("imRegistry"),
        ),
        (
            Some("windows"),
            Some("registry_delete"),
            None,
            Some("imRegistry"),
        ),
        (
            Some("windows"),
            Some("registry_event"),
            None,
            Some("imRegistry"),
        ),
        (Some("windows"), Some("dns_query"), None, Some("imDns")),
        (None, Some("dns"), None, Some("imDns")),
        (
            Some("windows"),
            Some("PROCESS_CREATION"),
            None,
            Some("imProcessCreate"),
        ),
        (Some("windows"), None, Some("security"), None),
        (None, None, None, None),
    ];
    for (product, category, service, table) in cases {
        assert_eq!(
            asim.table_for(product, category, service),
            table,
            "{product:?} {category:?} {service:?}"
        );
    }
}

#[test]
fn defender_tables() {
    let xdr = Pipeline::builtin("defender_xdr").unwrap();
    let cases = [
        ("network_connection", "DeviceNetworkEvents"),
        ("dns_query", "DeviceNetworkEvents"),
        ("process_creation", "DeviceProcessEvents"),
        ("file_event", "DeviceFileEvents"),
        ("registry_set", "DeviceRegistryEvents"),
        ("image_load", "DeviceImageLoadEvents"),
    ];
    for (category, table) in cases {
        assert_eq!(
            xdr.table_for(Some("windows"), Some(category), None),
            Some(table)
        );
    }
}

#[test]
fn most_specific_entry_wins() {
    let pipeline = Pipeline::from_yaml(
        "name: t\ndescription: d\nlogsources:\n\
         - { category: process_creation, table: Generic }\n\
         - { product: linux, category: process_creation, table: Linux }\n\
         - { product: linux, table: AnyLinux }\n\
         - { category: process_creation, table: Later }\n",
    )
    .unwrap();
    assert_eq!(
        pipeline.table_for(Some("linux"), Some("process_creation"), None),
        Some("Linux")
    );
    assert_eq!(
        pipeline.table_for(Some("windows"), Some("process_creation"), None),
        Some("Generic")
    );
    assert_eq!(
        pipeline.table_for(Some("linux"), Some("auditd"), None),
        Some("AnyLinux")
    );
}

#[test]
fn field_mapping() {
    let asim = Pipeline::builtin("asim").unwrap();
    assert_eq!(
        asim.map_field("imNetworkSession", "DestinationHostname"),
        "DstHostname"
    );
    assert_eq!(
        asim.map_field("imNetworkSession", "Image"),
        "SrcProcessName"
    );
    assert_eq!(
        asim.map_field("imProcessCreate", "Image"),
        "TargetProcessName"
    );
    assert_eq!(
        asim.map_field("imProcessCreate", "ParentImage"),
        "ActingProcessName"
    );
    assert_eq!(asim.map_field("imRegistry", "TargetObject"), "RegistryKey");
    assert_eq!(asim.map_field("imDns", "QueryName"), "DnsQuery");
    assert_eq!(
        asim.map_field("imFileEvent", "TargetFilename"),
        "TargetFilePath"
    );
    assert_eq!(asim.map_field("imProcessCreate", "Computer"), "DvcHostname");
    assert_eq!(asim.map_field("imProcessCreate", "Unmapped"), "Unmapped");

    let xdr = Pipeline::builtin("defender_xdr").unwrap();
    assert_eq!(xdr.map_field("DeviceProcessEvents", "Image"), "FolderPath");
    assert_eq!(
        xdr.map_field("DeviceNetworkEvents", "Image"),
        "InitiatingProcessFolderPath"
    );
    assert_eq!(
        xdr.map_field("DeviceNetworkEvents", "DestinationIp"),
        "RemoteIP"
    );
    assert_eq!(
        xdr.map_field("DeviceRegistryEvents", "Details"),
        "RegistryValueData"
    );
    assert_eq!(
        xdr.map_field("DeviceProcessEvents", "OriginalFileName"),
        "ProcessVersionInfoOriginalFileName"
    );
}

#[test]
fn map_event_renames_and_keeps() {
    let asim = Pipeline::builtin("asim").unwrap();
    let event = object(json!({
        "DestinationHostname": "pool.supportxmr.com",
        "DestinationPort": 3333,
        "Image": "C:\\xmrig.exe",
        "Custom": "kept",
    }));
    let mapped = asim.map_event("imNetworkSession", &event);
    // A typed row of the table: mapped columns, every other column empty or null, and keys
    // that are no column of the table dropped.
    assert_eq!(mapped["DstHostname"], json!("pool.supportxmr.com"));
    assert_eq!(mapped["DstPortNumber"], json!(3333));
    assert_eq!(mapped["SrcProcessName"], json!("C:\\xmrig.exe"));
    assert_eq!(mapped["DstDomain"], json!(""));
    assert_eq!(mapped["SrcPortNumber"], Value::Null);
    assert!(!mapped.contains_key("Custom"));
    let schema = asim.schema("imNetworkSession").unwrap();
    assert_eq!(mapped.len(), schema.columns().len());
    let query = Query::parse(
        "imNetworkSession | where DstHostname in~ (\"POOL.supportxmr.com\") and DstPortNumber == 3333",
    )
    .unwrap();
    assert!(query.evaluate(&mapped));
}

#[test]
fn renamed_key_wins_over_existing_name() {
    let asim = Pipeline::builtin("asim").unwrap();
    let event = object(json!({ "DstHostname": "old", "DestinationHostname": "new" }));
    let mapped = asim.map_event("imNetworkSession", &event);
    assert_eq!(mapped["DstHostname"], json!("new"));
}

#[test]
fn a_pipeline_without_schemas_keeps_every_key() {
    let pipeline = Pipeline::from_yaml(
        "name: t\ndescription: d\nlogsources:\n- { category: a, table: X, fields: { Image: Path } }\n",
    )
    .unwrap();
    assert!(pipeline.schema("X").is_none());
    let event = object(json!({ "Image": "a", "Custom": 1 }));
    assert_eq!(
        Value::Object(pipeline.map_event("X", &event)),
        json!({ "Path": "a", "Custom": 1 })
    );
}

#[test]
fn every_table_of_a_shipped_pipeline_has_a_typed_schema() {
    for name in Pipeline::builtin_names() {
        let pipeline = Pipeline::builtin(name).unwrap();
        for table in pipeline.tables() {
            let schema = pipeline
                .schema(table)
                .unwrap_or_else(|| panic!("{name}: no schema for {table}"));
            assert!(
                schema.source().starts_with("https://learn.microsoft.com/"),
                "{table}: the schema must cite Microsoft's page, not {}",
                schema.source()
            );
            // Every column a Sigma field maps to exists in the table.
            for field in ["Image", "CommandLine", "User", "Computer", "TargetObject"] {
                for column in pipeline.map_fields(table, field) {
                    if column != field {
                        assert!(
                            schema.column_type(column).is_some(),
                            "{name}: {field} maps to {column}, which {table} does not have"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn fixture_values_take_the_column_type() {
    let asim = Pipeline::builtin("asim").unwrap();
    let xdr = Pipeline::builtin("defender_xdr").unwrap();
    let row =
        |pipeline: &Pipeline, table: &str, event: Value| pipeline.map_event(table, &object(event));
    let net = row(
        &asim,
        "imNetworkSession",
        json!({ "DestinationPort": "443", "SourcePort": "abc" }),
    );
    assert_eq!(net["DstPortNumber"], json!(443));
    assert_eq!(net["SrcPortNumber"], Value::Null);
    // ASIM process ids are strings; a number becomes its text.
    let process = row(&asim, "imProcessCreate", json!({ "ProcessId": 4 }));
    assert_eq!(process["TargetProcessId"], json!("4"));
    // Sysmon's hexadecimal logon id is Defender's long.
    let process = row(&xdr, "DeviceProcessEvents", json!({ "LogonId": "0x3e7" }));
    assert_eq!(process["LogonId"], json!(999));
    // Value maps apply to events too.
    let net = row(&asim, "imNetworkSession", json!({ "Initiated": "true" }));
    assert_eq!(net["NetworkDirection"], json!("Outbound"));
    let reg = row(
        &asim,
        "imRegistry",
        json!({ "TargetObject": "HKLM\\SOFTWARE\\x", "EventType": "SetValue" }),
    );
    assert_eq!(reg["RegistryKey"], json!("HKEY_LOCAL_MACHINE\\SOFTWARE\\x"));
    assert_eq!(reg["EventType"], json!("RegistryValueSet"));
}

#[test]
fn invalid_pipelines_are_refused() {
    let unknown_key = "name: t\ndescription: d\nlogsources: []\nextra: 1\n";
    assert!(matches!(
        Pipeline::from_yaml(unknown_key),
        Err(PipelineError::Yaml(_))
    ));
    let conflict = "name: t\ndescription: d\nlogsources:\n\
        - { category: a, table: X, fields: { Image: One } }\n\
        - { category: b, table: X, fields: { Image: Two } }\n";
    assert!(matches!(
        Pipeline::from_yaml(conflict),
        Err(PipelineError::Conflict { .. })
    ));
    let empty_table = "name: t\ndescription: d\nlogsources:\n- { category: a, table: '' }\n";
    assert!(matches!(
        Pipeline::from_yaml(empty_table),
        Err(PipelineError::Entry { index: 0, .. })
    ));
}

//! Replay scripts: the typed literals of a `datatable`, the columns kept, and the expected
//! fixtures. The seed rule's whole script is a snapshot in `crates/cli/tests/cli.rs`, and
//! `cargo xtask kql-check` runs Microsoft's analyser on it.

use ruleproof_kql::{ReplayCase, TableSchema, replay_script};
use serde_json::{Value, json};

const SCHEMA: &str = "table: T\nsource: https://learn.microsoft.com/x\ncolumns:\n  \
    Name: string\n  Port: int\n  Size: long\n  Ratio: real\n  Flag: bool\n  When: datetime\n  \
    Extra: dynamic\n  Unused: string\n  Read: string\n";

fn case(name: &str, record: Value, expect_match: bool) -> ReplayCase {
    let schema = TableSchema::from_yaml(SCHEMA).unwrap();
    let Value::Object(record) = record else {
        panic!("not an object")
    };
    ReplayCase {
        name: name.to_owned(),
        record: schema.typed_row(&record),
        expect_match,
    }
}

#[test]
fn a_script_types_every_value_and_lists_the_expected_fixtures() {
    let schema = TableSchema::from_yaml(SCHEMA).unwrap();
    let cases = [
        case(
            "all \"typed\"",
            json!({ "Name": "a\\b", "Port": "443", "Size": 5, "Ratio": 0.5, "Flag": "TRUE",
                    "When": "2024-05-01T10:00:00Z", "Extra": { "k": [1] } }),
            true,
        ),
        case("nulls", json!({ "Port": "x", "When": "yesterday" }), false),
    ];
    let script = replay_script(
        "A rule (r.yml)",
        &schema,
        "T\n| where Read == \"\"\n",
        &cases,
    );
    let expected = "\
// A rule (r.yml)
// Runs the query on the rule's fixtures; `agrees` is true when exactly the expected
// fixtures come back.
let expected = dynamic([\"all \\\"typed\\\"\"]);
let T = datatable(ruleproof_case: string, Name: string, Port: int, Size: long, Ratio: real, Flag: bool, When: datetime, Extra: dynamic, Read: string)
[
    \"all \\\"typed\\\"\", \"a\\\\b\", 443, 5, real(0.5), true, datetime(2024-05-01T10:00:00Z), dynamic({\"k\":[1]}), \"\",
    \"nulls\", \"\", int(null), long(null), real(null), bool(null), datetime(null), dynamic(null), \"\",
];
T
| where Read == \"\"
| summarize matched = make_set(ruleproof_case)
| extend not_returned = set_difference(expected, matched), wrongly_returned = set_difference(matched, expected)
| extend agrees = array_length(not_returned) == 0 and array_length(wrongly_returned) == 0
";
    assert_eq!(script, expected);
    // `Unused` is neither filled nor read, so it is left out.
    assert!(!script.contains("Unused"));
}

//! Every operator has its data-driven test directory and its line in `docs/mutation.md`, and
//! its stable name reads back as the same operator.

use std::path::Path;

use ruleproof_mutate::Operator;

#[test]
fn every_operator_is_tested_and_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("../../docs/mutation.md"))
        .expect("docs/mutation.md is readable");
    let mut missing = Vec::new();
    for operator in Operator::ALL {
        let name = operator.name();
        assert_eq!(Operator::parse(name), Some(operator));
        if !root
            .join("tests/operators")
            .join(name)
            .join("expected.yml")
            .is_file()
        {
            missing.push(format!("{name}: no tests/operators/{name}/expected.yml"));
        }
        if !docs.contains(&format!("| `{name}` |")) {
            missing.push(format!("{name}: no line in docs/mutation.md"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

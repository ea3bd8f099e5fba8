//! Data-driven schema tests. Every YAML file under `tests/schema/<kind>/valid/` must validate
//! with no violation; every file under `tests/schema/<kind>/invalid/` must produce exactly the
//! violations its `# expect: <json pointer> <keyword>` comment lines name (`""` is the pointer
//! of the whole document). The repository's own rules and test cases must validate too.

use std::collections::BTreeSet;
use std::path::Path;

use ruleproof_validate::{DocumentKind, SchemaViolation, Schemas};
use serde_json::Value;

/// Each kind's fixture directory, and how many files each half must hold at least, so that a
/// directory lost in a move fails the test instead of passing it vacuously.
const KINDS: [(DocumentKind, &str); 4] = [
    (DocumentKind::Rule, "rule"),
    (DocumentKind::Filter, "filter"),
    (DocumentKind::Correlation, "correlation"),
    (DocumentKind::TestCase, "test-case"),
];
const MIN_VALID: usize = 10;
const MIN_INVALID: usize = 15;

/// The `(pointer, keyword)` pairs an invalid fixture announces.
fn expectations(text: &str) -> Result<BTreeSet<(String, String)>, String> {
    let mut expected = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# expect:") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(pointer), Some(keyword), None) = (words.next(), words.next(), words.next())
        else {
            return Err(format!("malformed expectation `{line}`"));
        };
        let pointer = if pointer == "\"\"" { "" } else { pointer };
        expected.insert((pointer.to_owned(), keyword.to_owned()));
    }
    if expected.is_empty() {
        return Err(
            "an invalid fixture needs at least one `# expect: <pointer> <keyword>` line".into(),
        );
    }
    Ok(expected)
}

fn render(violations: &[SchemaViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("\n    {v}"))
        .collect::<String>()
}

/// Validates one fixture and compares the violations with what the file expects: none for a
/// valid fixture, exactly the announced ones for an invalid fixture.
fn check(schemas: &Schemas, kind: DocumentKind, path: &Path, valid: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let doc: Value = serde_saphyr::from_str(&text).map_err(|e| format!("not YAML: {e}"))?;
    let violations = schemas.validate(kind, &doc);
    if valid {
        return match violations.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "expected no violation, got:{}",
                render(&violations)
            )),
        };
    }
    let expected = expectations(&text)?;
    let actual: BTreeSet<(String, String)> = violations
        .iter()
        .map(|v| (v.pointer.clone(), v.keyword.clone()))
        .collect();
    if actual == expected {
        // Shown with `--nocapture`, so the messages can be read and reviewed.
        println!("{}:{}", path.display(), render(&violations));
        return Ok(());
    }
    let missing: Vec<String> = expected
        .difference(&actual)
        .map(|(p, k)| format!("\n    {p} {k}"))
        .collect();
    let unexpected: Vec<&SchemaViolation> = violations
        .iter()
        .filter(|v| !expected.contains(&(v.pointer.clone(), v.keyword.clone())))
        .collect();
    Err(format!(
        "missing:{}\n  unexpected:{}",
        missing.concat(),
        unexpected
            .iter()
            .map(|v| format!("\n    {v}"))
            .collect::<String>()
    ))
}

#[test]
fn fixtures_produce_exactly_the_expected_violations() {
    let schemas = Schemas::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema");
    let mut failures = Vec::new();
    for (kind, dir) in KINDS {
        for (half, valid, minimum) in [("valid", true, MIN_VALID), ("invalid", false, MIN_INVALID)]
        {
            let files = ruleproof_testkit::yaml_files(&root.join(dir).join(half));
            if files.len() < minimum {
                failures.push(format!(
                    "{dir}/{half}: {} fixtures, expected at least {minimum}",
                    files.len()
                ));
            }
            for path in &files {
                if let Err(difference) = check(&schemas, kind, path, valid) {
                    failures.push(format!("{}:\n  {difference}", path.display()));
                }
            }
            println!("{dir}/{half}: {} fixtures", files.len());
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The rules, meta-filters and test cases of this repository follow the schemas.
#[test]
fn repository_documents_validate() {
    let schemas = Schemas::new();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in ruleproof_testkit::yaml_files(&repository.join("rules")) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let documents: Vec<Value> = match serde_saphyr::from_multiple(&text) {
            Ok(documents) => documents,
            Err(e) => {
                failures.push(format!("{}: not YAML: {e}", path.display()));
                continue;
            }
        };
        for doc in &documents {
            let kind = DocumentKind::of_sigma_document(doc);
            checked += 1;
            let violations = schemas.validate(kind, doc);
            if !violations.is_empty() {
                failures.push(format!(
                    "{} ({kind}):{}",
                    path.display(),
                    render(&violations)
                ));
            }
        }
    }
    for path in ruleproof_testkit::yaml_files(&repository.join("test-cases")) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        checked += 1;
        match serde_saphyr::from_str::<Value>(&text) {
            Ok(doc) => {
                let violations = schemas.validate(DocumentKind::TestCase, &doc);
                if !violations.is_empty() {
                    failures.push(format!("{}:{}", path.display(), render(&violations)));
                }
            }
            Err(e) => failures.push(format!("{}: not YAML: {e}", path.display())),
        }
    }
    println!("{checked} repository documents checked");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

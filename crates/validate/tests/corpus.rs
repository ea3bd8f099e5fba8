//! Validates every active SigmaHQ rule (from `../shared/corpus/sigmahq`) against the schemas,
//! proving the schemas are no stricter than the rules the community actually writes.

use std::collections::BTreeMap;

use ruleproof_validate::{DocumentKind, Schemas};
use serde_json::Value;

/// Active rules that break the specification, by path relative to the corpus root, with the
/// reason. The schemas stay strict; a rule listed here must still produce a violation, so the
/// list cannot go stale.
const ALLOWED_VIOLATIONS: [(&str, &str); 0] = [];

#[test]
fn every_active_sigmahq_rule_validates() {
    // A missing corpus fails here, unless RULEPROOF_NO_CORPUS=1 says it is absent on purpose.
    let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let schemas = Schemas::new();
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut allowed_seen: Vec<&str> = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
        let documents: Vec<Value> = match serde_saphyr::from_multiple(&text) {
            Ok(documents) => documents,
            Err(e) => {
                failures.push(format!("{relative}: not YAML: {e}"));
                continue;
            }
        };
        let mut violations = Vec::new();
        for (index, doc) in documents.iter().enumerate() {
            let kind = DocumentKind::of_sigma_document(doc);
            *counts.entry(kind.to_string()).or_default() += 1;
            for violation in schemas.validate(kind, doc) {
                violations.push(format!("document {index} ({kind}): {violation}"));
            }
        }
        let allowed = ALLOWED_VIOLATIONS.iter().find(|(p, _)| *p == relative);
        match (allowed, violations.is_empty()) {
            (Some((p, _)), false) => allowed_seen.push(p),
            (Some(_), true) => failures.push(format!(
                "{relative}: listed in ALLOWED_VIOLATIONS but valid; remove it from the list"
            )),
            (None, false) => {
                failures.push(format!("{relative}:\n    {}", violations.join("\n    ")))
            }
            (None, true) => {}
        }
    }
    println!(
        "{} files, documents by kind: {counts:?}, {} allowed violations",
        files.len(),
        allowed_seen.len()
    );
    assert!(files.len() > 3000, "only {} files found", files.len());
    assert!(
        failures.is_empty(),
        "{} files break the schemas:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! The active SigmaHQ corpus validates with zero errors under the default configuration; the
//! warnings it raises are counted per lint so a new kind of warning is noticed.

use std::collections::BTreeMap;

use ruleproof_validate::{Layout, LintConfig, Severity, validate};

#[test]
fn active_sigmahq_rules_have_no_errors() {
    // A missing corpus fails here, unless RULEPROOF_NO_CORPUS=1 says it is absent on purpose.
    let Some(corpus) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let paths: Vec<_> = ruleproof_testkit::SIGMAHQ_ACTIVE_DIRS
        .iter()
        .map(|d| corpus.join(d))
        .collect();
    // The corpus is not a ruleproof repository: it has no rules/ or test-cases/ of ours.
    let layout = Layout {
        root: corpus.clone(),
        rules_dir: corpus.join("no-rules-dir"),
        cases_dir: corpus.join("no-test-cases-dir"),
    };
    let validation = validate(&paths, &layout, &LintConfig::default());
    let errors: Vec<String> = validation
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    let mut warnings: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &validation.diagnostics {
        if d.severity == Severity::Warning {
            *warnings.entry(d.lint.code).or_default() += 1;
        }
    }
    println!(
        "{} files, {} documents, warnings by lint: {warnings:?}",
        validation.files, validation.documents
    );
    assert!(
        validation.documents > 3500,
        "the corpus should hold about 3,750 rules"
    );
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
    // Each kind of warning is justified in docs/lints.md; a new kind needs a justification too.
    let justified = ["RP110", "RP113", "RP303"];
    for code in warnings.keys() {
        assert!(
            justified.contains(code),
            "a new kind of warning on the corpus: {code}"
        );
    }
}

//! The active SigmaHQ corpus validates with zero errors under the default configuration, but
//! for the placeholders of two template rules (no values given); the
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
    let validation = validate(
        &paths,
        &layout,
        &LintConfig::default(),
        &ruleproof_sigma::CompileOptions::default(),
    );
    // The two CVE-2026-54121 rules are templates: `%known_cdcs%` has no values here, so they
    // load nowhere (`match` refuses them too) until a deployment gives `--placeholders`.
    let expected_placeholder_errors = 2;
    let (placeholders, errors): (Vec<_>, Vec<_>) = validation
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .partition(|d| d.lint.code == "RP113" && d.message.contains("%known_cdcs%"));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        placeholders.len(),
        expected_placeholder_errors,
        "the `%known_cdcs%` placeholders without values"
    );
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
    let justified = ["RP110", "RP303"];
    for code in warnings.keys() {
        assert!(
            justified.contains(code),
            "a new kind of warning on the corpus: {code}"
        );
    }
}

//! The example pipelines over the SigmaHQ corpus (`rules/`), through the one loading path:
//! processing never panics; with `pipelines/sysmon-ecs.yml` (which renames fields, splits
//! hashes and adds conditions) every rule that loads as written still loads; with
//! `pipelines/windows-process-creation-asim.yml` a rule is refused only by the pipeline's own
//! `detection_item_failure` (a field the ASIM Process Event schema has no column for).

use std::collections::BTreeSet;
use std::path::Path;

use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::{Collection, CompileOptions, RuleProcessing};

/// Loads the corpus rules with and without the pipeline; returns the errors only the pipeline
/// brought, and how many rules it changed.
fn new_errors(pipeline: &str) -> Option<(Vec<String>, usize, usize)> {
    let corpus = ruleproof_testkit::sigmahq_corpus()?;
    let rules = vec![corpus.join("rules")];
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pipelines = Pipelines::load(&[repository.join("pipelines").join(pipeline)])
        .unwrap_or_else(|e| panic!("{e}"));
    let options = CompileOptions::default();
    let plain = Collection::load(&rules, &options, None);
    let processed = Collection::load_processed(
        &rules,
        &options,
        None,
        Some(&pipelines as &dyn RuleProcessing),
    );
    let before: BTreeSet<String> = plain.errors.iter().map(|e| e.render()).collect();
    let errors: Vec<String> = processed
        .errors
        .iter()
        .map(|e| e.render())
        .filter(|e| !before.contains(e))
        .collect();
    let changed = processed
        .rules
        .iter()
        .filter(|r| !r.processing.is_empty())
        .count();
    assert_eq!(
        processed.rules.len() + errors.len(),
        plain.rules.len(),
        "every rule either loads or fails through the pipeline"
    );
    Some((errors, changed, plain.rules.len()))
}

#[test]
fn sysmon_ecs_loads_every_rule_that_loads_as_written() {
    let Some((errors, changed, total)) = new_errors("sysmon-ecs.yml") else {
        return;
    };
    println!("sysmon-ecs: {changed} of {total} rules changed");
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(changed > 1000, "only {changed} rules changed");
}

#[test]
fn asim_refuses_only_fields_without_a_column() {
    let Some((errors, changed, total)) = new_errors("windows-process-creation-asim.yml") else {
        return;
    };
    println!(
        "windows-process-creation-asim: {changed} of {total} rules changed, {} refused",
        errors.len()
    );
    let unexpected: Vec<&String> = errors
        .iter()
        .filter(|e| !e.contains("the ASIM Process Event schema has no column for this field"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert!(changed > 1000, "only {changed} rules changed");
}

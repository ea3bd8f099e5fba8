//! Snapshots of `ruleproof explain` output in both formats, for a rule of the runner's
//! purpose-built repository with its meta-filter applied: one event it matches, one its own
//! filter rejects and one the meta-filter rejects; and the same rule processed by a pipeline,
//! with what the pipeline did. `UPDATE_EXPECT=1 cargo test -p ruleproof-report` rewrites them.

mod support;

use std::path::Path;

use ruleproof_report::explain_output;
use ruleproof_sigma::{
    CompileOptions, CompiledFilter, CompiledRule, DocumentBody, Explanation, Limits, load_file,
};
use support::check_snapshot;

/// The explanations of the three events, in order.
fn explanations() -> Vec<Explanation> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runner/repo/rules");
    let compile_first = |path: &Path| {
        let loaded = load_file(path, &Limits::default()).unwrap();
        assert!(loaded.errors.is_empty(), "{:#?}", loaded.errors);
        loaded.documents.into_iter().next().unwrap().body
    };
    let DocumentBody::Rule(rule) = compile_first(&repo.join("net/pool.yml")) else {
        panic!("net/pool.yml is a rule");
    };
    let DocumentBody::Filter(filter) = compile_first(&repo.join("filters/mf_sanctioned.yml"))
    else {
        panic!("filters/mf_sanctioned.yml is a meta-filter");
    };
    let options = CompileOptions::default();
    let rule = CompiledRule::compile(&rule, &options).unwrap();
    let filter = CompiledFilter::compile(&filter, &options).unwrap();
    let rule = rule.with_filters(&[&filter]);
    [
        serde_json::json!({"DestinationHostname": "POOL.example.org", "DestinationIp": "203.0.113.9"}),
        serde_json::json!({"DestinationHostname": "xmr.example.net", "DestinationIp": "10.1.2.3"}),
        serde_json::json!({"DestinationHostname": "xmr.example.net", "User": "miner-svc"}),
    ]
    .iter()
    .map(|event| rule.explain(event))
    .collect()
}

#[test]
fn human() {
    let text: String = explanations().iter().map(explain_output::human).collect();
    check_snapshot("explain", "human.txt", &text);
}

#[test]
fn json() {
    let text: String = explanations()
        .iter()
        .map(|e| format!("{:#}\n", explain_output::json(e)))
        .collect();
    check_snapshot("explain", "explanations.json", &text);
}

/// The rule processed by a small ECS pipeline (renamed fields, an added condition), its notes,
/// its file, and its explanation on an ECS event.
fn processed() -> (
    Vec<ruleproof_sigma::ProcessingNote>,
    ruleproof_sigma::SourceFile,
    Explanation,
) {
    use ruleproof_pipeline::{Pipeline, Pipelines};
    use ruleproof_sigma::{Collection, RuleProcessing, SourceFile};
    let pipeline = Pipeline::from_source(SourceFile::new(
        "ecs.yml",
        "name: ecs\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      \
         DestinationHostname: destination.domain\n      DestinationIp: destination.ip\n  - \
         type: add_condition\n    conditions:\n      event.code: 3\n",
    ))
    .unwrap();
    let pipelines = Pipelines::resolve(vec![pipeline]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runner/repo/rules/net/pool.yml");
    let collection = Collection::load_processed(
        &[path],
        &CompileOptions::default(),
        None,
        Some(&pipelines as &dyn RuleProcessing),
    );
    let loaded = collection.rules.into_iter().next().unwrap();
    let event = serde_json::json!({"event": {"code": 3}, "destination": {"domain": "pool.example.org", "ip": "203.0.113.9"}});
    let explanation = loaded.compiled.explain(&event);
    (loaded.processing, loaded.source, explanation)
}

#[test]
fn processed_human() {
    let (notes, source, explanation) = processed();
    let text =
        explain_output::processing_human(&notes, &source) + &explain_output::human(&explanation);
    check_snapshot("explain", "processed-human.txt", &text);
}

#[test]
fn processed_json() {
    let (notes, source, explanation) = processed();
    let text = format!(
        "{:#}\n",
        explain_output::json_with_processing(&explanation, &notes, &source)
    );
    check_snapshot("explain", "processed.json", &text);
}

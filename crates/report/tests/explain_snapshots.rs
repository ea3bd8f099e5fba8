//! Snapshots of `ruleproof explain` output in both formats, for a rule of the runner's
//! purpose-built repository with its meta-filter applied: one event it matches, one its own
//! filter rejects and one the meta-filter rejects. `UPDATE_EXPECT=1 cargo test -p ruleproof-report` rewrites them.

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

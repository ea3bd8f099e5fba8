//! Per modifier, a rule (`tests/modifiers/<name>.yml`) and the events `generate` must produce for
//! it (`<name>.jsonl`: one `{"expect", "kind", "target", "event"}` per line, written and reviewed
//! by hand). The check asserts the generated events equal the expected ones, and that the engine
//! gives each expected event the verdict written next to it.

use std::path::Path;

use ruleproof_generate::generate;
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, Limits, load_file};
use serde_json::{Value, json};

fn check(rule_path: &Path) -> datatest_stable::Result<()> {
    let loaded = load_file(rule_path, &Limits::default())?;
    let Some(rule) = loaded.documents.into_iter().find_map(|d| match d.body {
        DocumentBody::Rule(rule) => Some(rule),
        _ => None,
    }) else {
        return Err("the file holds no rule".into());
    };
    let options = CompileOptions::default();
    let compiled = CompiledRule::compile(&rule, &options)
        .map_err(|e| format!("the rule does not compile: {e:?}"))?;

    let expected_text = std::fs::read_to_string(rule_path.with_extension("jsonl"))?;
    let expected: Vec<Value> = expected_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    if expected.is_empty() {
        return Err("the expectation lists no event".into());
    }
    // The hand-written expectation and the engine agree on every event.
    for line in &expected {
        let wanted = line["expect"] == "match";
        if compiled.matches(&line["event"]) != wanted {
            return Err(format!("the engine disagrees with the expectation on {line}").into());
        }
    }
    let generated = generate(&rule, &compiled, &options);
    let actual: Vec<Value> = generated
        .events
        .iter()
        .map(|e| {
            json!({
                "expect": if e.expect_match { "match" } else { "no-match" },
                "kind": e.kind.as_str(),
                "target": e.target,
                "event": e.event,
            })
        })
        .collect();
    if actual != expected {
        let lines: Vec<String> = actual.iter().map(Value::to_string).collect();
        return Err(format!(
            "generated events differ from the expectation; generated:\n{}",
            lines.join("\n")
        )
        .into());
    }
    if !generated.unsatisfied.is_empty() {
        return Err(format!("unsatisfied branches: {:?}", generated.unsatisfied).into());
    }
    Ok(())
}

datatest_stable::harness! {
    { test = check, root = "tests/modifiers", pattern = r"\.yml$" },
}

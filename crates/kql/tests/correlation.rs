//! Correlation conversion against the engine: every case of the engine's own correlation suite
//! (`crates/sigma/tests/correlation/*.yml`: every type, every condition operator, chains,
//! aliases, window boundaries, the specification's examples) is converted and its query run by
//! the local evaluator on the case's events; the query's alerts (time, case-folded group,
//! value) must be exactly the engine's expected alerts of that correlation (every type converts,
//! so a refusal fails); the cases where the query cannot mean what the
//! engine does by design (`docs/kql.md`, "Correlation rules") are listed with their reason and
//! must differ, so a stale entry fails.

use std::collections::HashMap;
use std::path::Path;

use ruleproof_kql::correlation::{QueryAlert, read_alerts};
use ruleproof_kql::tabular::{Script, Table};
use ruleproof_kql::{Reason, convert_correlation};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::correlation::{
    CorrelationEngine, CorrelationSet, EngineOptions, Realert, Timespan, TimestampFields,
};
use ruleproof_sigma::fold::fold_case;
use ruleproof_sigma::{
    CompileOptions, CompiledRule, Correlation, DocumentBody, Limits, Metadata, Rule, SourceFile,
    load_source,
};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    rules: String,
    #[serde(default)]
    options: Option<Map<String, Value>>,
    #[serde(default)]
    events: Vec<Map<String, Value>>,
    #[serde(default, rename = "alerts")]
    _alerts: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "spec")]
    _spec: Option<String>,
    #[serde(default, rename = "skipped")]
    _skipped: Option<Value>,
}

/// Cases whose query cannot give the engine's alerts, by design, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "with realert reset, the window is emptied after an alert",
        "`--realert reset` has no counterpart: the query raises at every window end",
    ),
    (
        "the spec's alias example - the same addresses in different fields of two rules' events",
        "the events are nested JSON objects; a dotted Sigma field is one column of the table \
         (`[\"source.ip\"]`), which an untyped table built from nested events does not have",
    ),
];

/// A pipeline choosing one untyped table, `Events`, for every rule, with fields keeping their
/// names: the suite's rules use fields no shipped schema has.
fn pipeline() -> Pipelines {
    let text = "name: suite\ntransformations:\n  - {id: table, type: set_state, key: query_table, val: Events}\n";
    let pipeline = Pipeline::from_source(SourceFile::new("suite-pipeline.yml", text))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    Pipelines::resolve(vec![pipeline])
}

/// A correlation's reference, the query's alerts and the engine's, each as sorted keys.
type Compared = (String, Vec<String>, Vec<String>);

fn key(group: &[(String, String)], time: i64, value: f64) -> String {
    let mut pairs: Vec<String> = group
        .iter()
        .map(|(k, v)| format!("{k}={}", fold_case(v)))
        .collect();
    pairs.sort();
    format!("{time} [{}] {value}", pairs.join(", "))
}

/// What the case gives: `Ok(query alerts, expected alerts)` per converted correlation, or the
/// refusal.
fn run_case(case: &Case) -> Result<Vec<Compared>, String> {
    let source = SourceFile::new(Path::new("case.yml"), case.rules.as_str());
    let loaded = load_source(source, &Limits::default());
    let rules: Vec<&Rule> = loaded
        .documents
        .iter()
        .filter_map(|d| match &d.body {
            DocumentBody::Rule(rule) => Some(rule),
            _ => None,
        })
        .collect();
    let correlations: Vec<&Correlation> = loaded
        .documents
        .iter()
        .filter_map(|d| match &d.body {
            DocumentBody::Correlation(c) => Some(c),
            _ => None,
        })
        .collect();
    let pipeline = pipeline();
    let timestamps = match case
        .options
        .as_ref()
        .and_then(|o| o.get("timestamp_field"))
        .and_then(Value::as_str)
    {
        Some(field) => TimestampFields::only(field),
        None => TimestampFields::default(),
    };
    let times: Vec<Option<i64>> = case
        .events
        .iter()
        .map(|e| timestamps.read(e).ok())
        .collect();
    // The engine's alerts on the same events, with the case's options.
    let compiled: Vec<CompiledRule> = rules
        .iter()
        .map(|r| CompiledRule::compile(r, &CompileOptions::default()).expect("the rule compiles"))
        .collect();
    let metas: Vec<&Metadata> = rules.iter().map(|r| &r.meta).collect();
    let set = CorrelationSet::compile(&correlations, &metas).expect("the correlations compile");
    let mut options = EngineOptions {
        timestamps: timestamps.clone(),
        ..EngineOptions::default()
    };
    if let Some(o) = &case.options {
        if o.get("realert").and_then(Value::as_str) == Some("reset") {
            options.realert = Realert::Reset;
        }
        if let Some(lateness) = o.get("lateness").and_then(Value::as_str) {
            options.lateness_ms = if lateness == "0" {
                0
            } else {
                Timespan::parse(lateness).expect("a timespan").millis()
            };
        }
    }
    let mut engine = CorrelationEngine::new(&set, options);
    let mut engine_alerts = Vec::new();
    for (i, event) in case.events.iter().enumerate() {
        let hits: Vec<usize> = (0..compiled.len())
            .filter(|r| compiled[*r].matches(event))
            .collect();
        // A skipped event is left out of correlations, as the query leaves out a row without a
        // time (a late one is a listed difference).
        let _ = engine.push(i as u64, event, &hits, &mut engine_alerts);
    }
    engine.finish(&mut engine_alerts);
    let mut out = Vec::new();
    for document in &loaded.documents {
        let DocumentBody::Correlation(correlation) = &document.body else {
            continue;
        };
        let reference = correlation.meta.reference();
        let position = correlations
            .iter()
            .position(|c| c.meta.is_named(reference) || c.meta.title == correlation.meta.title)
            .expect("the correlation is in the list");
        let expected: Vec<String> = engine_alerts
            .iter()
            .filter(|e| e.correlation == position && e.held)
            .map(|e| key(&e.group, e.window_end, e.value))
            .collect();
        // Only reported correlations have expected alerts; an inner one of a chain is checked
        // through the outer one.
        if expected.is_empty()
            && correlations
                .iter()
                .any(|c| c.rules.iter().any(|(r, _)| correlation.meta.is_named(r)))
        {
            continue;
        }
        let query = match convert_correlation(
            document,
            &rules,
            &correlations,
            &pipeline,
            &CompileOptions::default(),
        ) {
            Ok(converted) => converted.query,
            Err(e) if e.reason == Reason::Unsupported => return Err(e.message),
            Err(e) => panic!("{}: {reference} does not convert: {e}", case.name),
        };
        let script =
            Script::parse(&query).unwrap_or_else(|e| panic!("{}: {e}\n{query}", case.name));
        let events: Vec<(&Map<String, Value>, Option<i64>)> =
            case.events.iter().zip(times.iter().copied()).collect();
        let tables: HashMap<String, Table> = script
            .tables()
            .into_iter()
            .map(|t| {
                let table = Table::of_sequence(&t, &events);
                (t, table)
            })
            .collect();
        let result = script
            .run(&tables)
            .unwrap_or_else(|e| panic!("{}: {e}\n{query}", case.name));
        let got: Vec<String> = read_alerts(&result)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .iter()
            .map(|QueryAlert { time, group, value }| key(group, *time, *value))
            .collect();
        out.push((reference.to_owned(), sorted(got), sorted(expected)));
    }
    Ok(out)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The events of a case with each `repeat: {count, from, every, event}` written out as `count`
/// copies of `event` whose `_time` (epoch seconds) starts at `from` and steps by `every`, as the
/// engine's suite reads them (`crates/sigma/tests/correlation.rs`).
fn expand(events: &[Map<String, Value>]) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for event in events {
        let Some(repeat) = event.get("repeat") else {
            out.push(event.clone());
            continue;
        };
        let number = |key: &str| {
            repeat[key]
                .as_u64()
                .unwrap_or_else(|| panic!("`repeat` needs a whole number `{key}`: {repeat}"))
        };
        let (count, from, every) = (number("count"), number("from"), number("every"));
        let template = repeat["event"]
            .as_object()
            .unwrap_or_else(|| panic!("`repeat` needs an `event` mapping: {repeat}"));
        for i in 0..count {
            let mut copy = template.clone();
            copy.insert("_time".into(), Value::from(from + i * every));
            out.push(copy);
        }
    }
    out
}

#[test]
fn converted_correlations_raise_the_engines_alerts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sigma/tests/correlation");
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut seen_differences = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut cases: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in cases.iter_mut().filter(|c| c.error.is_none()) {
            case.events = expand(&case.events);
            let case = &*case;
            let label = format!(
                "{}: {}",
                file.file_name().unwrap().to_string_lossy(),
                case.name
            );
            let difference = DIFFERENCES.iter().find(|(name, _)| *name == case.name);
            match run_case(case) {
                // Every correlation type has an exact form: a refusal is a failure.
                Err(message) => failures.push(format!("{label}: refused: {message}")),
                Ok(results) => {
                    let agrees = results.iter().all(|(_, got, want)| got == want);
                    compared += results.len();
                    match (agrees, difference) {
                        (true, None) => {}
                        (false, Some(_)) => seen_differences.push(case.name.clone()),
                        (true, Some((_, why))) => failures.push(format!("{label}: listed as a difference ({why}) but the query agrees: remove it from DIFFERENCES")),
                        (false, None) => {
                            for (reference, got, want) in results {
                                if got != want {
                                    failures.push(format!("{label}: `{reference}`\n  query:  {got:?}\n  engine: {want:?}"));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    for (name, _) in DIFFERENCES {
        if !seen_differences.iter().any(|n| n == name) && !failures.iter().any(|f| f.contains(name))
        {
            failures.push(format!(
                "DIFFERENCES names `{name}`, which is no case that differs"
            ));
        }
    }
    assert!(compared > 40, "only {compared} correlations compared");
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

//! Golden files: the converted KQL of every repository rule, for every shipped pipeline that
//! maps the rule's log source, kept under `tests/golden/<pipeline>/<rule path>.kql`. A fresh
//! conversion that differs fails with a diff; `UPDATE_EXPECT=1` rewrites the files instead
//! (`ruleproof_testkit::assert_snapshot`, the one snapshot mechanism). Also checks that every
//! converted query runs locally and agrees with the Sigma engine on each of the rule's fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ruleproof_cases::format::parse_test_case_file;
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_kql::{
    Query, Reason, builtin_names, builtin_pipeline, convert_correlation, convert_document,
    fixture_row,
};
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::{
    CompileOptions, CompiledRule, Correlation, DocumentBody, Limits, Rule, load_file,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A shipped pipeline, alone.
fn shipped(name: &str) -> Pipelines {
    let pipeline = builtin_pipeline(name).unwrap_or_else(|| panic!("pipeline {name}"));
    Pipelines::resolve(vec![pipeline])
}

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The converted text of every rule file for one pipeline, keyed by the golden file's path
/// relative to the pipeline's golden directory. Files whose log source the pipeline does not
/// map have no golden file; any other conversion error is returned.
fn convert_all(pipeline: &Pipelines) -> Result<BTreeMap<PathBuf, String>, Vec<String>> {
    let rules = repo_root().join("rules");
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for file in yaml_files(&rules).files {
        match load_file(&file, &Limits::default()) {
            Ok(loaded) => files.push((file, loaded)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // A correlation converts with every repository rule and correlation it may name.
    let documents = || files.iter().flat_map(|(_, loaded)| &loaded.documents);
    let detection_rules: Vec<&Rule> = documents()
        .filter_map(|d| match &d.body {
            DocumentBody::Rule(rule) => Some(rule),
            _ => None,
        })
        .collect();
    let correlations: Vec<&Correlation> = documents()
        .filter_map(|d| match &d.body {
            DocumentBody::Correlation(correlation) => Some(correlation),
            _ => None,
        })
        .collect();
    for (file, loaded) in &files {
        let mut text = String::new();
        for document in &loaded.documents {
            let converted = match document.body {
                DocumentBody::Rule(_) => {
                    convert_document(document, pipeline, &CompileOptions::default())
                }
                DocumentBody::Correlation(_) => convert_correlation(
                    document,
                    &detection_rules,
                    &correlations,
                    pipeline,
                    &CompileOptions::default(),
                )
                .map(|converted| converted.query),
                DocumentBody::Filter(_) => continue,
            };
            match converted {
                Ok(query) => {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&query);
                }
                Err(e) if e.reason == Reason::NoTable => {}
                Err(e) => errors.push(e.render(&loaded.source)),
            }
        }
        if !text.is_empty() {
            let relative = file
                .strip_prefix(&rules)
                .unwrap_or(file)
                .with_extension("kql");
            out.insert(relative, text);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Every `.kql` file under a directory, relative to it.
fn existing(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "kql") {
                found.push(path.strip_prefix(dir).unwrap_or(&path).to_owned());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn golden_files() {
    let bless = ruleproof_testkit::updating_snapshots();
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in builtin_names() {
        let pipeline = shipped(name);
        let converted = match convert_all(&pipeline) {
            Ok(converted) => converted,
            Err(errors) => {
                failures.push(format!(
                    "{name}: rules failed to convert:\n{}",
                    errors.join("\n")
                ));
                continue;
            }
        };
        let dir = golden_root().join(name);
        for (relative, fresh) in &converted {
            let path = dir.join(relative);
            compared += 1;
            ruleproof_testkit::assert_snapshot(&path, fresh);
        }
        // A golden file whose rule is gone, or no longer maps, is stale.
        for relative in existing(&dir) {
            if converted.contains_key(&relative) {
                continue;
            }
            let path = dir.join(&relative);
            if bless {
                std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            } else {
                failures.push(format!(
                    "{}: stale golden file, no rule converts to it",
                    path.display()
                ));
            }
        }
    }
    assert!(
        compared > 0,
        "no repository rule converted with any pipeline"
    );
    assert!(
        failures.is_empty(),
        "{} golden problem(s); rerun with UPDATE_EXPECT=1 to accept the fresh output:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The converted query of every repository rule gives the Sigma engine's verdict on every
/// fixture of the rule, fed the case's `kql.event` where one is given (that record is in the
/// target schema already) and the pipeline-mapped event otherwise. The `kql.xfail` marks are
/// about the hand-written query and do not excuse the converted one.
#[test]
fn converted_queries_agree_with_sigma_on_fixtures() {
    let root = repo_root();
    let mut rules = BTreeMap::new();
    for file in yaml_files(&root.join("rules")).files {
        let loaded = load_file(&file, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        for document in loaded.documents {
            if let DocumentBody::Rule(rule) = &document.body {
                let keys = [
                    rule.meta.id.clone(),
                    rule.meta.name.clone(),
                    Some(rule.meta.title.clone()),
                ];
                for key in keys.into_iter().flatten() {
                    rules.insert(key, (loaded.source.clone(), document.clone()));
                }
            }
        }
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in yaml_files(&root.join("test-cases")).files {
        let source = ruleproof_sigma::source::read_source(&file, Limits::default().max_file_bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        let (Some(cases), _) = parse_test_case_file(&source, &Limits::default()) else {
            continue;
        };
        // A file that names processing pipelines has fixtures in the deployed schema, while the
        // KQL pipeline maps fixtures written in the rule's own field names.
        if !cases.pipelines.is_empty() {
            continue;
        }
        let Some((rule_source, document)) = rules.get(&cases.rule.text) else {
            continue;
        };
        let DocumentBody::Rule(rule) = &document.body else {
            continue;
        };
        let name = cases
            .kql_pipeline
            .as_ref()
            .map_or("asim", |n| n.text.as_str());
        let pipeline = shipped(name);
        let options = CompileOptions::default();
        let mut processed_rule = rule.clone();
        let processed = pipeline
            .process_rule(&mut processed_rule, &document.node)
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        let text = convert_document(document, &pipeline, &options)
            .unwrap_or_else(|e| panic!("{}", e.render(rule_source)));
        let query = Query::parse(&text).unwrap_or_else(|e| {
            panic!(
                "{}: the converted query does not parse: {e}\n{text}",
                file.display()
            )
        });
        let compiled = CompiledRule::compile(rule, &options)
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        for case in &cases.cases {
            let sigma = compiled.matches(&case.event);
            let mapped;
            let record = match case
                .kql
                .as_ref()
                .and_then(|k| k.event.as_ref())
                .and_then(|e| e.as_object())
            {
                Some(record) => record,
                None => {
                    let empty = serde_json::Map::new();
                    mapped = fixture_row(
                        &pipeline,
                        &processed,
                        query.table(),
                        case.event.as_object().unwrap_or(&empty),
                    )
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                    &mapped
                }
            };
            let kql = query.evaluate(record);
            checked += 1;
            if kql != sigma {
                failures.push(format!(
                    "{}: case `{}`: Sigma says {sigma}, the converted KQL {kql}\n{}",
                    file.display(),
                    case.name,
                    query.explain(record)
                ));
            }
        }
    }
    assert!(checked > 0, "no fixture was checked");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

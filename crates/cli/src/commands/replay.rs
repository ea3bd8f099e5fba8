//! Replay scripts of converted rules on their fixtures, shared by `convert --with-fixtures`
//! (the rules named on the command line) and `test --replay-dir` (the rules whose test-case
//! files ran), and the one way both write their output files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use ruleproof_cases::format::{TestCaseFile, parse_test_case_file};
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_files::write_atomically;
use ruleproof_kql::tabular::{Script, sequence_record};
use ruleproof_kql::{
    ConvertedCorrelation, ReplayAlert, ReplayCase, ReplaySequence, correlation_replay_script,
    fixture_row, replay_script, table_schema,
};
use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::correlation::{TimestampFields, parse_timestamp};
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{CompiledRule, Correlation};
use serde_json::Map;

use super::force_hint;

/// A rule's fixtures for a replay script: its test-case file (the one mirroring the rule's
/// path under `test-cases/`), parsed, and that file's path.
///
/// # Errors
/// The rule is not under the rules directory, or its test-case file is missing or does not
/// load: a message to print after the rule's path.
pub fn fixtures(layout: &Layout, rule_path: &Path) -> Result<(PathBuf, TestCaseFile), String> {
    let relative = under_rules(layout, rule_path).ok_or_else(|| {
        format!(
            "a replay script needs the rule under {}, where its test-case file mirrors it",
            layout.rules_dir.display()
        )
    })?;
    let cases_path = layout.cases_dir.join(relative);
    let source =
        ruleproof_sigma::source::read_source(&cases_path, Limits::default().max_file_bytes)
            .map_err(|e| format!("no fixtures for a replay script: {e}"))?;
    let (file, diagnostics) = parse_test_case_file(&source, &Limits::default());
    if let Some(first) = diagnostics.first() {
        return Err(format!("its test-case file does not load: {first}"));
    }
    let file = file.ok_or_else(|| format!("{}: no test cases", cases_path.display()))?;
    Ok((cases_path, file))
}

/// A rule's path relative to the rules directory (however either was spelled), if it is
/// under it.
pub fn under_rules(layout: &Layout, rule_path: &Path) -> Option<PathBuf> {
    let path = rule_path.canonicalize().ok()?;
    let rules = layout.rules_dir.canonicalize().ok()?;
    path.strip_prefix(rules).ok().map(Path::to_owned)
}

/// The replay script of one rule's converted `query` on the fixtures of its test-case `file`
/// (read from `cases_path`). Each fixture becomes a row through the processing items that
/// applied to the rule (`processed`, from `pipelines`); the expected matches are the Sigma
/// engine's verdicts (`compiled`) on the fixtures, which `ruleproof test` checks against each
/// case's `expect`; `heading` names the rule (its title and path).
///
/// # Errors
/// There is no typed schema for the query's table, or a fixture cannot be mapped: a message to
/// print after the rule's path.
pub fn script(
    pipelines: &Pipelines,
    processed: &Processed,
    cases_path: &Path,
    file: &TestCaseFile,
    compiled: &CompiledRule,
    heading: &str,
    query: &str,
) -> Result<String, String> {
    let table = query.lines().next().unwrap_or_default().trim();
    let schema = table_schema(table).ok_or_else(|| {
        format!("there is no typed schema for {table}, which a replay script needs")
    })?;
    let empty = Map::new();
    let cases: Vec<ReplayCase> = file
        .cases
        .iter()
        .map(|case| {
            let event = case.event.as_object().unwrap_or(&empty);
            let record = match case.kql.as_ref().and_then(|k| k.event.as_ref()) {
                Some(record) => schema.typed_row(record.as_object().unwrap_or(&empty)),
                None => fixture_row(pipelines, processed, table, event)
                    .map_err(|e| format!("case `{}`: {e}", case.name))?,
            };
            Ok(ReplayCase {
                name: case.name.clone(),
                record,
                expect_match: compiled.matches(event),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(replay_script(
        &format!("Replay of {heading} on {}", cases_path.display()),
        schema,
        query,
        &cases,
    ))
}

/// Writes every file under `dir` atomically (the relative path to its text). A file that
/// already holds exactly that text is left as it is; a different existing file is replaced
/// only with `force`. Every conflict is checked first, so a refusal writes nothing. Each file
/// is reported on stderr (`wrote …` or `unchanged …`).
///
/// # Errors
/// `dir` naming a file; existing files that differ, without `force` (all of them named); a
/// file that cannot be written.
pub fn write_outputs(
    dir: &Path,
    outputs: &BTreeMap<PathBuf, String>,
    force: bool,
) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        // `--output FILE` where a directory is meant: said plainly, not as an I/O error on
        // `FILE/rule.kql`.
        bail!(
            "{}: is a file; the output goes into a directory, one file per rule",
            dir.display()
        );
    }
    let unchanged = |path: &Path, text: &str| {
        std::fs::read(path).is_ok_and(|existing| existing == text.as_bytes())
    };
    if !force {
        let existing: Vec<String> = outputs
            .iter()
            .map(|(relative, text)| (dir.join(relative), text))
            .filter(|(path, text)| path.exists() && !unchanged(path, text))
            .map(|(path, _)| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "refusing to overwrite existing files that differ (use --force): {}",
                existing.join(", ")
            );
        }
    }
    for (relative, text) in outputs {
        let path = dir.join(relative);
        if unchanged(&path, text) {
            eprintln!("unchanged {}", path.display());
            continue;
        }
        write_atomically(&path, text.as_bytes(), force)
            .map_err(|e| anyhow::anyhow!("{e}{}", force_hint(&e)))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The replay script of a correlation's converted query (`converted`, through `pipelines`) on
/// the sequence cases of its test-case file (the one mirroring `path`). The expected alerts are
/// the engine's on each sequence, run with `rules` (as `ruleproof test` computes them, which
/// checks them against each case's `expect`).
///
/// # Errors
/// No test-case file, sequence cases that do not run, a table without a typed schema, or an
/// event that cannot be mapped: a message to print after the correlation's path.
pub fn correlation_script(
    layout: &Layout,
    rules: &RuleSet,
    pipelines: &Pipelines,
    converted: &ConvertedCorrelation,
    path: &Path,
    correlation: &Correlation,
    heading: &str,
) -> Result<String, String> {
    let (cases_path, file) = fixtures(layout, path)?;
    let result = ruleproof_cases::run_file(layout, rules, &cases_path, None);
    if let Some(first) = result.errors.first() {
        return Err(format!("its sequence cases do not run: {first}"));
    }
    let script = Script::parse(&converted.query)
        .map_err(|e| format!("the converted query does not parse: {e}"))?;
    let tables = script.tables();
    let mut schemas = Vec::new();
    for table in &tables {
        schemas.push(table_schema(table).ok_or_else(|| {
            format!("there is no typed schema for {table}, which a replay script needs")
        })?);
    }
    let timestamps = TimestampFields::default();
    let empty = Map::new();
    let mut sequences = Vec::new();
    for case in &file.sequences {
        let Some(run) = result.sequences.iter().find(|s| s.name == case.name) else {
            continue;
        };
        let mut rows = Vec::new();
        for table in &tables {
            for event in &case.events {
                let record = event.event.as_object().unwrap_or(&empty);
                let time = timestamps.read(record).ok();
                let row = converted
                    .sequence_row(pipelines, table, record)
                    .map_err(|e| format!("sequence `{}`: {e}", case.name))?;
                rows.push((table.clone(), sequence_record(table, &row, time)));
            }
        }
        let expected = run
            .alerts
            .iter()
            .map(|alert| ReplayAlert {
                time_ms: parse_timestamp(&serde_json::Value::String(alert.window_end.clone()))
                    .unwrap_or_default(),
                group: correlation
                    .group_by
                    .iter()
                    .map(|g| {
                        alert.group.get(g).map_or_else(String::new, |v| {
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        })
                    })
                    .collect(),
                value: alert.value,
            })
            .collect();
        sequences.push(ReplaySequence {
            name: case.name.clone(),
            rows,
            expected,
        });
    }
    Ok(correlation_replay_script(
        &format!("Replay of {heading} on {}", cases_path.display()),
        &schemas,
        &converted.query,
        &correlation.group_by,
        &sequences,
    ))
}

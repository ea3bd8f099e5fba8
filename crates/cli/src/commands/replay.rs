//! Replay scripts of converted rules on their fixtures, shared by `convert --with-fixtures`
//! (the rules named on the command line) and `test --replay-dir` (the rules whose test-case
//! files ran), and the one way both write their output files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use ruleproof_cases::Layout;
use ruleproof_cases::format::{TestCaseFile, parse_test_case_file};
use ruleproof_files::write_atomically;
use ruleproof_kql::{ReplayCase, fixture_row, replay_script, table_schema};
use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::CompiledRule;
use ruleproof_sigma::yaml::Limits;
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
/// Existing files that differ, without `force` (all of them named); a file that cannot be
/// written.
pub fn write_outputs(
    dir: &Path,
    outputs: &BTreeMap<PathBuf, String>,
    force: bool,
) -> anyhow::Result<()> {
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

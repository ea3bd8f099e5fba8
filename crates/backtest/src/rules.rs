//! Loading rule files and directories on all cores, keeping file order and every problem found.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ruleproof_sigma::{CompileOptions, CompiledRule, Correlation, DocumentBody, Limits, load_file};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{0}: no such file or directory")]
    Missing(String),
}

/// The rules that compiled, and what went wrong with the others.
#[derive(Debug, Default)]
pub struct LoadedRules {
    pub rules: Vec<CompiledRule>,
    /// The file each rule came from, by rule index.
    pub paths: Vec<PathBuf>,
    /// Load and compile errors, rendered with positions.
    pub errors: Vec<String>,
    /// Correlation rules, in file order.
    pub correlations: Vec<Correlation>,
    /// Documents that were skipped on purpose, as notes.
    pub notes: Vec<String>,
    /// How many files or documents failed.
    pub failed: usize,
}

/// Every `.yml`/`.yaml` file under a path (the path itself when it is a file), sorted.
pub fn yaml_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut out = Vec::new();
    walk(path, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// One file's outcome, gathered in parallel and merged in file order.
#[derive(Default)]
struct FileOutcome {
    rules: Vec<CompiledRule>,
    correlations: Vec<Correlation>,
    errors: Vec<String>,
    notes: Vec<String>,
    failed: usize,
}

/// Loads and compiles every rule under the paths, on all cores.
pub fn load_rules(paths: &[PathBuf], options: &CompileOptions) -> Result<LoadedRules, RulesError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(RulesError::Missing(path.display().to_string()));
        }
        files.extend(yaml_files(path));
    }
    let outcomes: Vec<FileOutcome> = files.par_iter().map(|f| load_one(f, options)).collect();
    let mut loaded = LoadedRules::default();
    for (file, outcome) in files.iter().zip(outcomes) {
        loaded
            .paths
            .extend(std::iter::repeat_n(file.clone(), outcome.rules.len()));
        loaded.rules.extend(outcome.rules);
        loaded.correlations.extend(outcome.correlations);
        loaded.errors.extend(outcome.errors);
        loaded.notes.extend(outcome.notes);
        loaded.failed += outcome.failed;
    }
    Ok(loaded)
}

fn load_one(file: &Path, options: &CompileOptions) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let loaded = match load_file(file, &Limits::default()) {
        Ok(loaded) => loaded,
        Err(e) => {
            outcome.errors.push(e.to_string());
            outcome.failed += 1;
            return outcome;
        }
    };
    for error in &loaded.errors {
        outcome.errors.push(error.render(&loaded.source));
    }
    outcome.failed += usize::from(!loaded.errors.is_empty());
    for document in &loaded.documents {
        match &document.body {
            DocumentBody::Rule(rule) => match CompiledRule::compile(rule, options) {
                Ok(compiled) => outcome.rules.push(compiled),
                Err(errors) => {
                    outcome.failed += 1;
                    outcome
                        .errors
                        .extend(errors.iter().map(|e| e.render(&loaded.source)));
                }
            },
            DocumentBody::Correlation(c) => outcome.correlations.push(c.clone()),
            DocumentBody::Filter(_) => {}
        }
    }
    outcome
}

//! The repository's rules and meta-filters, loaded and compiled once for every test-case file.

use std::path::{Path, PathBuf};

use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{
    CompileOptions, CompiledFilter, CompiledRule, DocumentBody, Filter, Rule, SourceFile, load_file,
};

use crate::diagnostic::Diagnostic;

/// A rule of the repository, compiled.
#[derive(Clone, Debug)]
pub struct LoadedRule {
    /// The path as found (under the rules directory).
    pub path: PathBuf,
    pub source: SourceFile,
    pub rule: Rule,
    pub compiled: CompiledRule,
}

#[derive(Clone, Debug)]
pub struct LoadedFilter {
    pub path: PathBuf,
    pub source: SourceFile,
    pub filter: Filter,
    pub compiled: CompiledFilter,
}

/// Every rule and filter under a directory, and the problems of those that did not load.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<LoadedRule>,
    pub filters: Vec<LoadedFilter>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files that could not be read at all (I/O errors), as messages.
    pub unreadable: Vec<String>,
}

/// Every `.yml`/`.yaml` file under a path (the path itself when it is a file), sorted.
pub fn yaml_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files: Vec<PathBuf> = ["yml", "yaml"]
        .iter()
        .flat_map(|ext| {
            let pattern = path.join("**").join(format!("*.{ext}"));
            glob::glob(&pattern.to_string_lossy())
                .map(|paths| paths.flatten().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

impl RuleSet {
    pub fn load(dir: &Path, options: &CompileOptions) -> RuleSet {
        let mut set = RuleSet::default();
        for path in yaml_files(dir) {
            set.load_one(&path, options);
        }
        set
    }

    fn load_one(&mut self, path: &Path, options: &CompileOptions) {
        let loaded = match load_file(path, &Limits::default()) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.unreadable.push(e.to_string());
                return;
            }
        };
        let source = loaded.source;
        for error in loaded.errors {
            self.diagnostics
                .push(Diagnostic::new(&source, error.span, error.message));
        }
        for document in loaded.documents {
            match document.body {
                DocumentBody::Rule(rule) => match CompiledRule::compile(&rule, options) {
                    Ok(compiled) => self.rules.push(LoadedRule {
                        path: path.to_owned(),
                        source: source.clone(),
                        rule,
                        compiled,
                    }),
                    Err(errors) => self.diagnostics.extend(
                        errors
                            .into_iter()
                            .map(|e| Diagnostic::new(&source, e.span, e.message)),
                    ),
                },
                DocumentBody::Filter(filter) => match CompiledFilter::compile(&filter, options) {
                    Ok(compiled) => self.filters.push(LoadedFilter {
                        path: path.to_owned(),
                        source: source.clone(),
                        filter,
                        compiled,
                    }),
                    Err(errors) => self.diagnostics.extend(
                        errors
                            .into_iter()
                            .map(|e| Diagnostic::new(&source, e.span, e.message)),
                    ),
                },
                // Correlations are checked by the validator; the runner tests detection rules.
                DocumentBody::Correlation(_) => {}
            }
        }
    }

    /// The rule a test-case file names: by id or name, or by path relative to the repository root.
    pub fn find_rule(&self, reference: &str, root: &Path) -> Option<&LoadedRule> {
        self.rules
            .iter()
            .find(|r| r.rule.meta.is_named(reference))
            .or_else(|| {
                let wanted = normalize(&root.join(reference));
                self.rules.iter().find(|r| normalize(&r.path) == wanted)
            })
    }

    pub fn find_filter(&self, reference: &str) -> Option<&LoadedFilter> {
        self.filters
            .iter()
            .find(|f| f.filter.meta.is_named(reference) || f.filter.meta.title == reference)
    }
}

/// A path with `.` and `..` resolved textually, so `./rules/a.yml` and `rules/a.yml` compare equal.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

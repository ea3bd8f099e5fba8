//! The repository's rules and meta-filters, loaded and compiled once for every test-case file.

use std::path::{Path, PathBuf};

use ruleproof_sigma::correlation::{CorrelationSet, CorrelationSetError};
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{
    CompileOptions, CompiledFilter, CompiledRule, Correlation, DocumentBody, Filter, Rule,
    SourceFile, load_file,
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

/// A correlation rule of the repository.
#[derive(Clone, Debug)]
pub struct LoadedCorrelation {
    pub path: PathBuf,
    pub source: SourceFile,
    pub correlation: Correlation,
}

/// Every rule, filter and correlation under a directory, and the problems of those that did not load.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<LoadedRule>,
    pub filters: Vec<LoadedFilter>,
    pub correlations: Vec<LoadedCorrelation>,
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
                DocumentBody::Correlation(correlation) => {
                    self.correlations.push(LoadedCorrelation {
                        path: path.to_owned(),
                        source: source.clone(),
                        correlation,
                    });
                }
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

    /// The correlation a test-case file names: by id or name, or by path.
    pub fn find_correlation(&self, reference: &str, root: &Path) -> Option<&LoadedCorrelation> {
        self.correlations
            .iter()
            .find(|c| c.correlation.meta.is_named(reference))
            .or_else(|| {
                let wanted = normalize(&root.join(reference));
                self.correlations
                    .iter()
                    .find(|c| normalize(&c.path) == wanted)
            })
    }

    /// Every correlation of the repository compiled against every rule (rule `i` is
    /// `self.rules[i]`, correlation `j` is `self.correlations[j]`).
    ///
    /// # Errors
    /// References that resolve to nothing, and cycles.
    pub fn correlation_set(&self) -> Result<CorrelationSet, Vec<CorrelationSetError>> {
        let correlations: Vec<&Correlation> =
            self.correlations.iter().map(|c| &c.correlation).collect();
        let metas: Vec<&ruleproof_sigma::Metadata> =
            self.rules.iter().map(|r| &*r.compiled.meta).collect();
        CorrelationSet::compile(&correlations, &metas)
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

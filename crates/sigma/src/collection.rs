//! The one loading path: every command that reads Sigma files (`validate` aside, which reports
//! more than it rejects) decides through [`Collection::load`] which documents load.
//!
//! Like pySigma's `SigmaCollection`, a collection holds the rules, meta-filters and correlations
//! of a set of files and paths, plus every error of the documents that did not load. A document
//! loads when it parses, its kind's reader accepts it, it compiles, and the optional
//! [`DocumentCheck`] (the validator's schemas and error-level lints) finds nothing wrong, so a
//! rule that `validate` rejects is rejected by `match`, `backtest`, `convert` and `test` alike.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::compile::{CompileOptions, CompiledFilter, CompiledRule};
use crate::document::{Correlation, Document, DocumentBody, Rule, load_file};
use crate::error::SigmaError;
use crate::source::{SourceFile, Span};
use crate::yaml::{Limits, Node};

/// Checks beyond the engine's own that keep a document from loading. The engine defines the
/// trait and `ruleproof-validate` implements it with its JSON Schemas and error-level lints, so
/// the engine does not depend on the validator.
pub trait DocumentCheck: Sync {
    /// The errors of one YAML document of `source`; `document` is the engine's reading of it
    /// when that succeeded.
    fn errors(
        &self,
        node: &Node,
        document: Option<&Document>,
        source: &SourceFile,
    ) -> Vec<CheckError>;

    /// The lint code `validate` reports an engine error under, so every command names it alike.
    fn code_of(&self, _error: &SigmaError) -> Option<&'static str> {
        None
    }
}

/// An error a [`DocumentCheck`] found, with the lint code `validate` reports it under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// The lint code, e.g. as listed by `ruleproof validate`.
    pub code: &'static str,
    /// Where the problem is in the document's file.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// Why a file or a document did not load.
#[derive(Clone, Debug)]
pub struct LoadError {
    /// The file that did not load (or that holds the document that did not).
    pub path: PathBuf,
    /// The file's text, when it could be read (for positions).
    pub source: Option<SourceFile>,
    /// Where the problem is; meaningful only with `source`.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The lint code `validate` reports the same problem under, when known here.
    pub code: Option<&'static str>,
}

impl LoadError {
    /// `path:line:col: message [code]`, for printing.
    pub fn render(&self) -> String {
        let location = match &self.source {
            Some(source) => source.location(self.span),
            None => self.path.display().to_string(),
        };
        match self.code {
            Some(code) => format!("{location}: {} [{code}]", self.message),
            None => format!("{location}: {}", self.message),
        }
    }
}

/// A document that loaded, with where it came from and its compiled form.
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    /// The file the document was read from.
    pub path: PathBuf,
    /// That file's text, for turning spans into positions.
    pub source: SourceFile,
    /// The document as read.
    pub document: Document,
    /// Its compiled form: a [`CompiledRule`], a [`CompiledFilter`], or `()` for correlations.
    pub compiled: T,
}

impl Loaded<CompiledRule> {
    /// The rule as read.
    pub fn rule(&self) -> &Rule {
        match &self.document.body {
            DocumentBody::Rule(rule) => rule,
            // `Collection::load` puts only rules in `rules`.
            _ => unreachable!("a collected rule is a rule document"),
        }
    }
}

/// The documents of a set of paths that loaded, and the errors of those that did not.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    /// Detection rules, compiled without meta-filters, in file order.
    pub rules: Vec<Loaded<CompiledRule>>,
    /// Meta-filters, compiled on their own.
    pub filters: Vec<Loaded<CompiledFilter>>,
    /// Correlation rules, read and checked; `correlation::CorrelationSet` compiles them against
    /// the rules.
    pub correlations: Vec<Loaded<()>>,
    /// Errors of unreadable files and of documents that did not load, in file order.
    pub errors: Vec<LoadError>,
    /// Paths that could not be walked (symbolic-link loops, unreadable directories), as messages.
    pub walk_problems: Vec<String>,
    /// How many files were read.
    pub files: usize,
}

/// Whether a path names a YAML file, the only files a walk for Sigma documents picks up.
pub fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yml" || e == "yaml")
}

/// What one file contributed, gathered in parallel and merged in file order.
#[derive(Default)]
struct FileOutcome {
    rules: Vec<Loaded<CompiledRule>>,
    filters: Vec<Loaded<CompiledFilter>>,
    correlations: Vec<Loaded<()>>,
    errors: Vec<LoadError>,
}

impl Collection {
    /// Loads every `.yml`/`.yaml` file under `paths` (a path that is a file is read whatever its
    /// name) on all cores, keeping file order.
    pub fn load(
        paths: &[PathBuf],
        options: &CompileOptions,
        check: Option<&dyn DocumentCheck>,
    ) -> Collection {
        let walked = ruleproof_files::walk_all(paths, &is_yaml);
        let mut files = walked.files;
        files.sort();
        let outcomes: Vec<FileOutcome> = files
            .par_iter()
            .map(|file| load_one(file, options, check))
            .collect();
        let mut collection = Collection {
            files: files.len(),
            walk_problems: walked.problems.iter().map(ToString::to_string).collect(),
            ..Collection::default()
        };
        for outcome in outcomes {
            collection.rules.extend(outcome.rules);
            collection.filters.extend(outcome.filters);
            collection.correlations.extend(outcome.correlations);
            collection.errors.extend(outcome.errors);
        }
        collection
    }

    /// Every rule with the meta-filters that apply to it (those naming it, or naming no rule
    /// and covering its log source), as pySigma applies filters given beside rules.
    pub fn rules_with_filters(&self) -> Vec<CompiledRule> {
        self.rules
            .iter()
            .map(|rule| {
                let filters: Vec<&CompiledFilter> = self
                    .filters
                    .iter()
                    .map(|f| &f.compiled)
                    .filter(|f| f.applies_to(&rule.compiled))
                    .collect();
                if filters.is_empty() {
                    rule.compiled.clone()
                } else {
                    rule.compiled.with_filters(&filters)
                }
            })
            .collect()
    }

    /// The correlation rules as read, in file order.
    pub fn correlation_rules(&self) -> Vec<Correlation> {
        self.correlations
            .iter()
            .filter_map(|loaded| match &loaded.document.body {
                DocumentBody::Correlation(correlation) => Some(correlation.clone()),
                _ => None,
            })
            .collect()
    }

    /// How many documents of any kind loaded.
    pub fn documents(&self) -> usize {
        self.rules.len() + self.filters.len() + self.correlations.len()
    }
}

fn load_one(
    path: &Path,
    options: &CompileOptions,
    check: Option<&dyn DocumentCheck>,
) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let loaded = match load_file(path, &Limits::default()) {
        Ok(loaded) => loaded,
        Err(e) => {
            outcome.errors.push(LoadError {
                path: path.to_owned(),
                source: None,
                span: Span::default(),
                message: e.to_string(),
                code: None,
            });
            return outcome;
        }
    };
    let source = loaded.source;
    let error = |span: Span, message: String, code: Option<&'static str>| LoadError {
        path: path.to_owned(),
        source: Some(source.clone()),
        span,
        message,
        code,
    };
    let code_of = |e: &SigmaError| check.and_then(|c| c.code_of(e));
    for e in loaded.errors {
        let code = code_of(&e);
        outcome.errors.push(error(e.span, e.message, code));
    }
    for node in &loaded.nodes {
        let document = loaded.documents.iter().find(|d| d.node.span == node.span);
        let checked = check
            .map(|c| c.errors(node, document, &source))
            .unwrap_or_default();
        let rejected = !checked.is_empty();
        outcome.errors.extend(
            checked
                .into_iter()
                .map(|c| error(c.span, c.message, Some(c.code))),
        );
        let Some(document) = document else {
            continue;
        };
        if rejected {
            continue;
        }
        let loaded_as = |compiled| Loaded {
            path: path.to_owned(),
            source: source.clone(),
            document: document.clone(),
            compiled,
        };
        match &document.body {
            DocumentBody::Rule(rule) => match CompiledRule::compile(rule, options) {
                Ok(compiled) => outcome.rules.push(loaded_as(compiled)),
                Err(errors) => outcome.errors.extend(errors.into_iter().map(|e| {
                    let code = code_of(&e);
                    error(e.span, e.message, code)
                })),
            },
            DocumentBody::Filter(filter) => match CompiledFilter::compile(filter, options) {
                Ok(compiled) => outcome.filters.push(Loaded {
                    path: path.to_owned(),
                    source: source.clone(),
                    document: document.clone(),
                    compiled,
                }),
                Err(errors) => outcome.errors.extend(errors.into_iter().map(|e| {
                    let code = code_of(&e);
                    error(e.span, e.message, code)
                })),
            },
            DocumentBody::Correlation(_) => outcome.correlations.push(Loaded {
                path: path.to_owned(),
                source: source.clone(),
                document: document.clone(),
                compiled: (),
            }),
        }
    }
    outcome
}

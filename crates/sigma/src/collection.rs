//! The one loading path: every command that reads Sigma files (`validate` aside, which reports
//! more than it rejects) decides through [`Collection::load`] which documents load.
//!
//! Like pySigma's `SigmaCollection`, a collection holds the rules, meta-filters and correlations
//! of a set of files and paths, plus every error of the documents that did not load. A document
//! loads when it parses, its kind's reader accepts it, it compiles, and the optional
//! [`DocumentCheck`] (the validator's schemas and error-level lints) finds nothing wrong, so a
//! rule that `validate` rejects is rejected by `match`, `backtest`, `convert` and `test` alike.
//! Then the references among all the documents read are resolved
//! ([`crate::references::resolve_references`], which `validate` calls too): the later of two
//! duplicate ids or names, a meta-filter or correlation naming what is not there, and a
//! correlation over a document that does not load are dropped with an error each. A file given
//! twice is read once.
//!
//! A [`RuleProcessing`] (the processing pipelines of `ruleproof-pipeline`) changes every rule
//! and meta-filter after it is read and before it compiles, as pySigma's backends apply a
//! processing pipeline to a parsed rule: the loaded document is the rule as deployed, so
//! matching, explanations, coverage, mutation and conversion all read the same rule.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::compile::{CompileOptions, CompiledFilter, CompiledRule};
use crate::document::{
    Correlation, Document, DocumentBody, Filter, LogSource, Metadata, Rule, load_file,
};
use crate::error::SigmaError;
use crate::references::{Referable, resolve_references};
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

/// Changes a rule after it is read and before it compiles: how processing pipelines (field
/// mappings, added conditions, value changes) are applied on the one loading path. The engine
/// defines the trait and `ruleproof-pipeline` implements it, so the engine does not depend on
/// the pipeline format.
pub trait RuleProcessing: Sync {
    /// Changes `rule` in place (a meta-filter's detection and log source are passed as a rule
    /// with the filter's metadata); `node` is the document's YAML tree as written, for
    /// conditions on attributes the engine does not keep. Returns what was done, for
    /// explanations.
    ///
    /// # Errors
    /// Why the rule cannot be processed (a pipeline's `rule_failure`, a value a transformation
    /// cannot convert), with spans into the rule's file.
    fn process(&self, rule: &mut Rule, node: &Node)
    -> Result<Vec<ProcessingNote>, Vec<SigmaError>>;

    /// Changes a correlation rule in place (its `group-by`, `aliases`, condition field and
    /// `fields`), as pySigma processes correlation rules; `referenced` holds the log sources of
    /// the detection rules it references, directly or through other correlations, as processed.
    ///
    /// # Errors
    /// Why the correlation cannot be processed (a `rule_failure`, a field of an alias mapped
    /// to several fields), with spans into its file.
    fn process_correlation(
        &self,
        correlation: &mut Correlation,
        node: &Node,
        referenced: &[LogSource],
    ) -> Result<Vec<ProcessingNote>, Vec<SigmaError>>;
}

/// One thing a [`RuleProcessing`] did to a rule, for explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingNote {
    /// The detection item (its key) the note is about, or `None` for the rule as a whole.
    pub span: Option<Span>,
    /// What was done, e.g. `` `Image` → `process.executable` (sysmon-ecs, field_name_mapping) ``.
    pub text: String,
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
    /// What the processing pipelines did to the document, in order (empty without pipelines).
    pub processing: Vec<ProcessingNote>,
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

/// The rule with the meta-filters that apply to it, or `None` when none does.
fn filtered(filters: &[Loaded<CompiledFilter>], rule: &CompiledRule) -> Option<CompiledRule> {
    let applying: Vec<&CompiledFilter> = filters
        .iter()
        .map(|f| &f.compiled)
        .filter(|f| f.applies_to(rule))
        .collect();
    (!applying.is_empty()).then(|| rule.with_filters(&applying))
}

/// What one file contributed, gathered in parallel and merged in file order.
#[derive(Default)]
struct FileOutcome {
    rules: Vec<Loaded<CompiledRule>>,
    filters: Vec<Loaded<CompiledFilter>>,
    correlations: Vec<Loaded<()>>,
    errors: Vec<LoadError>,
    /// Every document read, loaded or not, for reference resolution.
    referables: Vec<Referable>,
}

impl Collection {
    /// Loads every `.yml`/`.yaml` file under `paths` (a path that is a file is read whatever its
    /// name) on all cores, keeping file order.
    pub fn load(
        paths: &[PathBuf],
        options: &CompileOptions,
        check: Option<&dyn DocumentCheck>,
    ) -> Collection {
        Collection::load_processed(paths, options, check, None)
    }

    /// [`Collection::load`], with every rule and meta-filter changed by `processing` (the
    /// processing pipelines) after the checks and before it compiles.
    pub fn load_processed(
        paths: &[PathBuf],
        options: &CompileOptions,
        check: Option<&dyn DocumentCheck>,
        processing: Option<&dyn RuleProcessing>,
    ) -> Collection {
        let walked = ruleproof_files::walk_all(paths, &is_yaml);
        let mut files = walked.files;
        files.sort();
        // A file named twice (`r.yml rules/`) is one file, not two documents with one id.
        files.dedup();
        let outcomes: Vec<FileOutcome> = files
            .par_iter()
            .map(|file| load_one(file, options, check, processing))
            .collect();
        let mut collection = Collection {
            files: files.len(),
            walk_problems: walked.problems.iter().map(ToString::to_string).collect(),
            ..Collection::default()
        };
        let mut referables = Vec::new();
        for outcome in outcomes {
            collection.rules.extend(outcome.rules);
            collection.filters.extend(outcome.filters);
            collection.correlations.extend(outcome.correlations);
            collection.errors.extend(outcome.errors);
            referables.extend(outcome.referables);
        }
        collection.drop_unresolved(&referables, check);
        if let Some(processing) = processing {
            collection.process_correlations(processing);
        }
        collection
    }

    /// Drops the documents whose references do not resolve among those read (duplicate ids and
    /// names, references to nothing, correlations over documents that do not load), with an
    /// error each, as `validate` reports them.
    fn drop_unresolved(&mut self, referables: &[Referable], check: Option<&dyn DocumentCheck>) {
        let problems = resolve_references(referables);
        if problems.is_empty() {
            return;
        }
        let mut dropped = std::collections::HashSet::new();
        for (i, error) in problems {
            let document = &referables[i];
            dropped.insert((document.file.path().to_owned(), document.span));
            self.errors.push(LoadError {
                path: document.file.path().to_owned(),
                source: Some(document.file.clone()),
                span: error.span,
                code: check.and_then(|c| c.code_of(&error)),
                message: error.message,
            });
        }
        // In file order, as the rest of the collection's (a stable sort keeps each file's own).
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        let kept = |path: &Path, document: &Document| {
            !dropped.contains(&(path.to_owned(), document.node.span))
        };
        self.rules.retain(|l| kept(&l.path, &l.document));
        self.filters.retain(|l| kept(&l.path, &l.document));
        self.correlations.retain(|l| kept(&l.path, &l.document));
    }

    /// Processes every correlation rule once the rules it references are loaded, as pySigma's
    /// backends process a correlation's rules before it; a correlation the pipelines refuse is
    /// an error and is dropped.
    fn process_correlations(&mut self, processing: &dyn RuleProcessing) {
        let correlations = std::mem::take(&mut self.correlations);
        let documents: Vec<Document> = correlations.iter().map(|c| c.document.clone()).collect();
        for mut loaded in correlations {
            let referenced = referenced_logsources(&self.rules, &documents, &loaded.document);
            let DocumentBody::Correlation(correlation) = &mut loaded.document.body else {
                continue;
            };
            match processing.process_correlation(correlation, &loaded.document.node, &referenced) {
                Ok(notes) => {
                    loaded.processing = notes;
                    self.correlations.push(loaded);
                }
                Err(errors) => self.errors.extend(errors.into_iter().map(|e| LoadError {
                    path: loaded.path.clone(),
                    source: Some(loaded.source.clone()),
                    span: e.span,
                    message: e.message,
                    code: None,
                })),
            }
        }
    }

    /// Every rule with the meta-filters that apply to it (those naming it, or naming no rule
    /// and covering its log source), as pySigma applies filters given beside rules.
    pub fn rules_with_filters(&self) -> Vec<CompiledRule> {
        self.rules
            .iter()
            .map(|rule| {
                filtered(&self.filters, &rule.compiled).unwrap_or_else(|| rule.compiled.clone())
            })
            .collect()
    }

    /// [`Collection::rules_with_filters`], consuming the collection: each rule's document and
    /// source text are freed as it is taken, so a large rule set is not held twice.
    pub fn into_rules_with_filters(self) -> Vec<CompiledRule> {
        let Collection { rules, filters, .. } = self;
        rules
            .into_iter()
            .map(|rule| filtered(&filters, &rule.compiled).unwrap_or(rule.compiled))
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

/// The log sources of the detection rules a correlation references, directly or through the
/// correlations it references (by id or name), each rule once.
fn referenced_logsources(
    rules: &[Loaded<CompiledRule>],
    correlations: &[Document],
    document: &Document,
) -> Vec<LogSource> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![document];
    while let Some(current) = stack.pop() {
        let DocumentBody::Correlation(correlation) = &current.body else {
            continue;
        };
        for (reference, _) in &correlation.rules {
            if !seen.insert(reference.as_str()) {
                continue;
            }
            let named = |meta: &Metadata| {
                meta.id.as_deref() == Some(reference.as_str())
                    || meta.name.as_deref() == Some(reference.as_str())
            };
            for rule in rules {
                if named(&rule.rule().meta) {
                    found.push(rule.rule().logsource.clone());
                }
            }
            stack.extend(correlations.iter().filter(|c| named(c.meta())));
        }
    }
    found
}

/// A document as the processing pipelines leave it, with what they did; the document as read
/// when there are none.
fn process(
    document: Document,
    processing: Option<&dyn RuleProcessing>,
) -> Result<(Document, Vec<ProcessingNote>), Vec<SigmaError>> {
    let Some(processing) = processing else {
        return Ok((document, Vec::new()));
    };
    let mut processed = document;
    let notes = match &mut processed.body {
        DocumentBody::Rule(rule) => processing.process(rule, &processed.node)?,
        DocumentBody::Filter(filter) => {
            let Filter {
                meta,
                logsource,
                detection,
                ..
            } = filter;
            let mut as_rule = Rule {
                meta: meta.clone(),
                logsource: logsource.clone(),
                detection: detection.clone(),
            };
            let notes = processing.process(&mut as_rule, &processed.node)?;
            *logsource = as_rule.logsource;
            *detection = as_rule.detection;
            notes
        }
        DocumentBody::Correlation(_) => Vec::new(),
    };
    Ok((processed, notes))
}

/// A document's compiled form, by kind.
enum Compiled {
    Rule(CompiledRule),
    Filter(CompiledFilter),
    Correlation,
}

fn load_one(
    path: &Path,
    options: &CompileOptions,
    check: Option<&dyn DocumentCheck>,
    processing: Option<&dyn RuleProcessing>,
) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let loaded = match load_file(path, &Limits::default()) {
        Ok(loaded) => loaded,
        Err(e) => {
            let (file, span, message) = e.site();
            outcome.errors.push(LoadError {
                path: path.to_owned(),
                source: Some(file),
                span,
                message,
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
    // The documents that loaded are a subsequence of the YAML documents, in the same order;
    // each is moved, not copied, into what the collection keeps.
    let mut documents = loaded.documents.into_iter().peekable();
    for node in &loaded.nodes {
        let document = documents.next_if(|d| d.node.span == node.span);
        let checked = check
            .map(|c| c.errors(node, document.as_ref(), &source))
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
        // Recorded as not loading; set to loading once the document is kept below.
        outcome
            .referables
            .push(Referable::of(&document, &source, false));
        if rejected {
            continue;
        }
        let (document, processing) = match process(document, processing) {
            Ok(processed) => processed,
            // Pipelines are not the validator's business: their errors carry no lint code.
            Err(errors) => {
                outcome
                    .errors
                    .extend(errors.into_iter().map(|e| error(e.span, e.message, None)));
                continue;
            }
        };
        let compiled = match &document.body {
            DocumentBody::Rule(rule) => CompiledRule::compile(rule, options).map(Compiled::Rule),
            DocumentBody::Filter(filter) => {
                CompiledFilter::compile(filter, options).map(Compiled::Filter)
            }
            DocumentBody::Correlation(_) => Ok(Compiled::Correlation),
        };
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(errors) => {
                outcome.errors.extend(errors.into_iter().map(|e| {
                    let code = code_of(&e);
                    error(e.span, e.message, code)
                }));
                continue;
            }
        };
        if let Some(referable) = outcome.referables.last_mut() {
            referable.loads = true;
        }
        let path = path.to_owned();
        let source = source.clone();
        match compiled {
            Compiled::Rule(compiled) => outcome.rules.push(Loaded {
                path,
                source,
                document,
                compiled,
                processing,
            }),
            Compiled::Filter(compiled) => outcome.filters.push(Loaded {
                path,
                source,
                document,
                compiled,
                processing,
            }),
            Compiled::Correlation => outcome.correlations.push(Loaded {
                path,
                source,
                document,
                compiled: (),
                processing,
            }),
        }
    }
    outcome
}

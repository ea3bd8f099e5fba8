//! The repository's rules and meta-filters, loaded and compiled once for every test-case file.

use std::path::{Path, PathBuf};

use ruleproof_files::Walk;
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::collection::is_yaml;
use ruleproof_sigma::correlation::{CorrelationSet, CorrelationSetError};
use ruleproof_sigma::{
    Collection, CompileOptions, CompiledFilter, CompiledRule, Correlation, DocumentBody,
    DocumentCheck, Filter, Rule, RuleProcessing, SourceFile, Span,
};

use crate::diagnostic::Diagnostic;

/// A rule of the repository, compiled.
#[derive(Clone, Debug)]
pub struct LoadedRule {
    /// The path as found (under the rules directory).
    pub path: PathBuf,
    /// The rule's text, for diagnostics and line numbers.
    pub source: SourceFile,
    /// The parsed rule, as written and then processed by the pipelines, if any.
    pub rule: Rule,
    /// What the processing pipelines did to it (empty without pipelines).
    pub processing: Vec<ruleproof_sigma::ProcessingNote>,
    /// The rule compiled with the repository's options, ready to evaluate events.
    pub compiled: CompiledRule,
}

#[derive(Clone, Debug)]
/// A meta-filter of the repository (Sigma filters specification), compiled.
pub struct LoadedFilter {
    /// The path as found (under the rules directory).
    pub path: PathBuf,
    /// The filter's text, for diagnostics and line numbers.
    pub source: SourceFile,
    /// The parsed filter, as written.
    pub filter: Filter,
    /// The filter compiled, ready to be applied to the rules it names.
    pub compiled: CompiledFilter,
}

/// A correlation rule of the repository.
#[derive(Clone, Debug)]
pub struct LoadedCorrelation {
    /// The path as found (under the rules directory).
    pub path: PathBuf,
    /// The correlation's text, for diagnostics and line numbers.
    pub source: SourceFile,
    /// The parsed correlation; compiled together with the rules by `RuleSet::correlation_set`.
    pub correlation: Correlation,
}

/// Every rule, filter and correlation under a directory, and the problems of those that did not load.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// The rules that parsed and compiled, in walk order.
    pub rules: Vec<LoadedRule>,
    /// The meta-filters that parsed and compiled, in walk order.
    pub filters: Vec<LoadedFilter>,
    /// The correlation rules that parsed, in walk order.
    pub correlations: Vec<LoadedCorrelation>,
    /// Problems of the files that were read but did not load (parse or compile errors).
    pub diagnostics: Vec<Diagnostic>,
    /// Files that could not be read at all (I/O errors), as messages.
    pub unreadable: Vec<String>,
    /// The compile options the rules were loaded with, to load a rule again with a test-case
    /// file's own pipelines.
    pub options: CompileOptions,
    /// The processing pipelines every rule was loaded with (`--pipeline`).
    pub pipelines: Pipelines,
}

/// Every `.yml`/`.yaml` file under a path (the path itself when it is a file), sorted, and the
/// entries the walk had to leave out (symbolic-link loops, unreadable directories).
pub fn yaml_files(path: &Path) -> Walk {
    let mut walked = ruleproof_files::walk(path, &is_yaml);
    walked.files.sort();
    walked
}

impl RuleSet {
    /// Loads every rule and meta-filter under `dir` through the one loading path
    /// ([`Collection`]), without the validator's checks.
    pub fn load(dir: &Path, options: &CompileOptions) -> RuleSet {
        RuleSet::load_checked(dir, options, None)
    }

    /// Loads every rule and meta-filter under `dir` through the one loading path; `check` (the
    /// validator's, in the command line) rejects what `validate` reports as an error.
    pub fn load_checked(
        dir: &Path,
        options: &CompileOptions,
        check: Option<&dyn DocumentCheck>,
    ) -> RuleSet {
        RuleSet::load_processed(dir, options, check, &Pipelines::default())
    }

    /// [`RuleSet::load_checked`], with every rule and meta-filter processed by `pipelines`
    /// before it compiles.
    pub fn load_processed(
        dir: &Path,
        options: &CompileOptions,
        check: Option<&dyn DocumentCheck>,
        pipelines: &Pipelines,
    ) -> RuleSet {
        let processing = (!pipelines.is_empty()).then_some(pipelines as &dyn RuleProcessing);
        let mut set = RuleSet::from(Collection::load_processed(
            &[dir.to_owned()],
            options,
            check,
            processing,
        ));
        set.options = options.clone();
        set.pipelines = pipelines.clone();
        set
    }

    /// `rule` loaded again from its file, processed by the rule set's pipelines and then by
    /// the pipeline files a test-case file names (paths relative to `root`, resolved by
    /// priority with the others). The document already passed the load checks as written.
    ///
    /// # Errors
    /// A pipeline that cannot be read (at its name in the test-case file), and the rule's
    /// processing or compile errors.
    pub(crate) fn with_pipelines(
        &self,
        rule: &LoadedRule,
        names: &[crate::format::Named],
        test_file: &SourceFile,
        root: &Path,
    ) -> Result<LoadedRule, Vec<Diagnostic>> {
        let mut pipelines: Vec<Pipeline> = self.pipelines.pipelines().to_vec();
        for name in names {
            match Pipeline::load(&root.join(&name.text)) {
                Ok(pipeline) => pipelines.push(pipeline),
                Err(e) => {
                    return Err(vec![Diagnostic::new(
                        test_file,
                        name.span,
                        format!("pipeline `{}`: {e}", name.text),
                    )]);
                }
            }
        }
        let pipelines = Pipelines::resolve(pipelines);
        let reloaded = RuleSet::from(Collection::load_processed(
            std::slice::from_ref(&rule.path),
            &self.options,
            None,
            Some(&pipelines),
        ));
        // Only the rule's own problems count: the other documents of its file were judged by
        // the first load, and alone a filter or correlation there may name rules of other files.
        let RuleSet {
            rules,
            diagnostics,
            unreadable,
            ..
        } = reloaded;
        if let Some(found) = rules
            .into_iter()
            .find(|r| r.rule.meta.reference() == rule.rule.meta.reference())
        {
            return Ok(found);
        }
        let mut diagnostics = diagnostics;
        diagnostics.extend(
            unreadable
                .into_iter()
                .map(|m| Diagnostic::new(test_file, Span::default(), m)),
        );
        if diagnostics.is_empty() {
            diagnostics.push(Diagnostic::new(
                test_file,
                Span::default(),
                format!("{}: the rule did not load again", rule.path.display()),
            ));
        }
        Err(diagnostics)
    }
    /// The rule a test-case file names: by id or name, or by path relative to the repository root.
    pub(crate) fn find_rule(&self, reference: &str, root: &Path) -> Option<&LoadedRule> {
        self.rules
            .iter()
            .find(|r| r.rule.meta.is_named(reference))
            .or_else(|| {
                let wanted = normalize(&root.join(reference));
                self.rules.iter().find(|r| normalize(&r.path) == wanted)
            })
    }

    /// The correlation a test-case file names: by id or name, or by path.
    pub(crate) fn find_correlation(
        &self,
        reference: &str,
        root: &Path,
    ) -> Option<&LoadedCorrelation> {
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
    pub(crate) fn correlation_set(&self) -> Result<CorrelationSet, Vec<CorrelationSetError>> {
        let correlations: Vec<&Correlation> =
            self.correlations.iter().map(|c| &c.correlation).collect();
        let metas: Vec<&ruleproof_sigma::Metadata> =
            self.rules.iter().map(|r| &*r.compiled.meta).collect();
        CorrelationSet::compile(&correlations, &metas)
    }

    /// The meta-filter with this id or name, else with this title.
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

impl From<Collection> for RuleSet {
    /// The collection's rules and filters, with its errors as diagnostics (or, for files that
    /// could not be read or walked, as messages).
    fn from(collection: Collection) -> RuleSet {
        let mut set = RuleSet {
            unreadable: collection.walk_problems,
            ..RuleSet::default()
        };
        for error in collection.errors {
            match &error.source {
                Some(source) => set.diagnostics.push(Diagnostic::new(
                    source,
                    error.span,
                    match error.code {
                        Some(code) => format!("{} [{code}]", error.message),
                        None => error.message,
                    },
                )),
                None => set.unreadable.push(error.render()),
            }
        }
        for loaded in collection.rules {
            let DocumentBody::Rule(rule) = loaded.document.body else {
                continue;
            };
            set.rules.push(LoadedRule {
                path: loaded.path,
                source: loaded.source,
                rule,
                processing: loaded.processing,
                compiled: loaded.compiled,
            });
        }
        for loaded in collection.filters {
            let DocumentBody::Filter(filter) = loaded.document.body else {
                continue;
            };
            set.filters.push(LoadedFilter {
                path: loaded.path,
                source: loaded.source,
                filter,
                compiled: loaded.compiled,
            });
        }
        for loaded in collection.correlations {
            let DocumentBody::Correlation(correlation) = loaded.document.body else {
                continue;
            };
            set.correlations.push(LoadedCorrelation {
                path: loaded.path,
                source: loaded.source,
                correlation,
            });
        }
        set
    }
}

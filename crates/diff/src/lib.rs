//! What a change to a Sigma rule set does to detection: the rules, meta-filters, correlations
//! and test-case files that differ between a git revision and the working tree, each rule
//! classified by meaning (`equivalent`, `broadened`, `narrowed`, `changed`, `metadata`,
//! `added`, `removed`) and shown with witness events on which its two versions disagree.
//!
//! The pipeline is [`git`] (changed files, renames followed; the base version of `rules/` and
//! `test-cases/` exported to a temporary directory) → [`Collection::load`] on both trees (the
//! one loading path, with the caller's [`DocumentCheck`] and processing pipelines) → [`compare`] (per rule: the
//! [`canonical`] form for an exact proof, else witnesses among generated events, fixtures and
//! corpus events) → [`policy`] (what a change needs, from `ruleproof.yml`). Semantics and the
//! JSON shape (`ruleproof.diff/1`) are in `docs/ci.md`.

#![deny(missing_docs)]

pub mod canonical;
pub mod compare;
pub mod git;
pub mod policy;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ruleproof_cases::Layout;
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::{Collection, CompileOptions, DocumentCheck, RuleProcessing};
use serde_json::Value;

pub use compare::{
    Change, CorrelationDiff, FilterDiff, FixtureChanges, Proof, RuleDiff, RuleEffect, Witness,
};
pub use git::{FileChange, GitError, Repository};

/// An event from a corpus given with `--events`, and where it was read.
#[derive(Clone, Debug)]
pub struct CorpusEvent {
    /// `file:line` (or `file:record` for concatenated JSON), shown as the witness's source.
    pub source: String,
    /// The event, a JSON object.
    pub event: Value,
}

/// What to compare.
pub struct DiffOptions<'a> {
    /// The base revision as the user wrote it (`main`, `HEAD~1`, a commit id).
    pub base: &'a str,
    /// Paths (relative to the repository root) to restrict the comparison to; empty for the
    /// rules and test-case directories.
    pub paths: Vec<PathBuf>,
    /// Extra witness candidates.
    pub events: &'a [CorpusEvent],
    /// The checks that keep a document from loading (the validator's, in the command line).
    pub check: Option<&'a dyn DocumentCheck>,
    /// How rules are compiled.
    pub compile: CompileOptions,
    /// The processing pipelines both versions of every rule and meta-filter go through before
    /// they compile (`--pipeline`), so a change is judged on the rules as deployed. The same
    /// pipelines serve both sides: a change to a pipeline itself is not compared.
    pub pipelines: &'a Pipelines,
}

/// Why no comparison could be made.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// Git could not say what changed or give the base version.
    #[error(transparent)]
    Git(#[from] GitError),
    /// No temporary directory for the base version.
    #[error("cannot create a temporary directory for the base version: {0}")]
    TempDir(std::io::Error),
}

/// Everything a change does, in the order of the working tree's files.
#[derive(Clone, Debug, Default)]
pub struct DiffReport {
    /// The base revision as given.
    pub base: String,
    /// The commit it resolved to.
    pub commit: String,
    /// How many files under the compared paths changed.
    pub changed_files: usize,
    /// Changed rules: those whose file or test-case file changed, by path.
    pub rules: Vec<RuleDiff>,
    /// Changed meta-filters and the rules whose verdicts they change.
    pub filters: Vec<FilterDiff>,
    /// Changed correlations, and correlations over changed rules.
    pub correlations: Vec<CorrelationDiff>,
    /// Test-case files changed, added or moved, present in the working tree (relative to the
    /// repository root).
    pub changed_test_cases: Vec<PathBuf>,
    /// Documents of the working tree that did not load (as `path:line:col: message`).
    pub errors: Vec<String>,
    /// Documents of the base that did not load; they count as absent there.
    pub base_errors: Vec<String>,
}

impl DiffReport {
    /// The rules whose detection changed meaning (broadened, narrowed, changed, added, removed).
    pub fn semantic_changes(&self) -> usize {
        self.rules.iter().filter(|r| r.change.is_semantic()).count()
    }

    /// What a changed-only run (`test --changed-since`, `coverage --changed-since`) must run,
    /// relative to the repository root: the files of the changed rules and correlations still
    /// in the working tree, of every rule a changed meta-filter applies to, of every
    /// correlation over a changed rule, and the changed test-case files. Sorted, without
    /// duplicates.
    pub fn affected_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self
            .rules
            .iter()
            .filter(|r| r.change != Change::Removed)
            .map(|r| r.path.clone())
            .chain(
                self.filters
                    .iter()
                    .flat_map(|f| f.applies_to.iter().cloned()),
            )
            .chain(
                self.correlations
                    .iter()
                    .filter(|c| c.change != Change::Removed)
                    .map(|c| c.path.clone()),
            )
            .chain(self.changed_test_cases.iter().cloned())
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// Compares the rule set at `options.base` with the working tree under `layout`.
///
/// # Errors
/// [`DiffError::Git`] when git is missing, the root is not in a repository, the revision is
/// unknown or git fails; [`DiffError::TempDir`] when the base cannot be exported.
pub fn diff(layout: &Layout, options: &DiffOptions) -> Result<DiffReport, DiffError> {
    let repository = Repository::open(&layout.root)?;
    let commit = repository.resolve(options.base)?;
    let relative = |dir: &Path| {
        dir.strip_prefix(&layout.root)
            .map(Path::to_owned)
            .unwrap_or_else(|_| dir.to_owned())
    };
    let (rules_rel, cases_rel) = (relative(&layout.rules_dir), relative(&layout.cases_dir));
    // One absolute spelling of every path, so walked paths, test-case paths and git's paths
    // compare equal whatever `--root` was written as (`.`, `./x`, absolute).
    let root = layout
        .root
        .canonicalize()
        .unwrap_or_else(|_| layout.root.clone());
    let layout = &Layout {
        rules_dir: root.join(&rules_rel),
        cases_dir: root.join(&cases_rel),
        root,
    };
    let pathspecs = if options.paths.is_empty() {
        vec![rules_rel.clone(), cases_rel.clone()]
    } else {
        options.paths.clone()
    };
    let changes = repository.changes(&commit, &pathspecs)?;
    let temp = tempfile::tempdir().map_err(DiffError::TempDir)?;
    repository.export(
        &commit,
        &[rules_rel.clone(), cases_rel.clone()],
        temp.path(),
    )?;
    let base_layout = Layout {
        root: temp.path().to_owned(),
        rules_dir: temp.path().join(&rules_rel),
        cases_dir: temp.path().join(&cases_rel),
    };
    let processing =
        (!options.pipelines.is_empty()).then_some(options.pipelines as &dyn RuleProcessing);
    let load = |dir: &Path| {
        if dir.is_dir() {
            Collection::load_processed(
                &[dir.to_owned()],
                &options.compile,
                options.check,
                processing,
            )
        } else {
            Collection::default()
        }
    };
    let base = load(&base_layout.rules_dir);
    let new = load(&layout.rules_dir);

    let mut report = DiffReport {
        base: options.base.to_owned(),
        commit,
        changed_files: changes.len(),
        errors: render_errors(&new, &layout.root),
        base_errors: render_errors(&base, temp.path()),
        ..DiffReport::default()
    };
    let old_changed: BTreeSet<PathBuf> = changes
        .iter()
        .filter_map(|c| c.old_path().map(Path::to_owned))
        .collect();
    let new_changed: BTreeSet<PathBuf> = changes
        .iter()
        .filter_map(|c| c.new_path().map(Path::to_owned))
        .collect();
    let renamed: HashMap<PathBuf, PathBuf> = changes
        .iter()
        .filter_map(|c| match c {
            FileChange::Renamed { from, to } => Some((from.clone(), to.clone())),
            _ => None,
        })
        .collect();
    let trees = compare::Trees {
        base: &base,
        new: &new,
        base_layout: &base_layout,
        layout,
        old_changed: &old_changed,
        new_changed: &new_changed,
        renamed: &renamed,
        events: options.events,
        options: &options.compile,
    };
    report.changed_test_cases = new_changed
        .iter()
        .filter(|p| p.starts_with(&cases_rel) && layout.root.join(p).is_file())
        .cloned()
        .collect();
    report.rules = trees.rules();
    report.filters = trees.filters();
    report.correlations = trees.correlations(&report.rules);
    Ok(report)
}

fn render_errors(collection: &Collection, root: &Path) -> Vec<String> {
    let root = format!("{}/", root.display());
    collection
        .walk_problems
        .iter()
        .cloned()
        .chain(collection.errors.iter().map(|e| e.render()))
        .map(|e| e.replace(&root, ""))
        .collect()
}

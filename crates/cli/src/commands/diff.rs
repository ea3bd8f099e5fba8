//! `ruleproof diff --base REF`: what the working tree's changes to rules, meta-filters,
//! correlations and test cases do to detection, against a git revision, and whether each
//! change meets the `diff:` policy of `ruleproof.yml`.

use std::path::PathBuf;

use clap::ValueEnum;
use ruleproof_cases::policy::ChangePolicy;
use ruleproof_diff::{CorpusEvent, DiffOptions, Repository};
use ruleproof_pipeline::Pipelines;
use ruleproof_report::diff_output as render;
use ruleproof_validate::LoadCheck;

use super::{PipelineArgs, RootArgs};
use crate::Outcome;

/// Formats of the diff report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// For the terminal: each changed rule, its classification and witnesses.
    Human,
    /// `ruleproof.diff/1`, documented in docs/ci.md.
    Json,
    /// For a pull-request comment: one row per rule, witnesses folded.
    Markdown,
    /// GitHub Actions annotations on the changed lines.
    Github,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Paths to compare, relative to the repository root (default: `rules/` and `test-cases/`).
    paths: Vec<PathBuf>,
    /// The git revision to compare the working tree with (a branch, tag or commit).
    #[arg(long, value_name = "REF")]
    base: String,
    /// Event corpora (JSON Lines, JSON, gzip, EVTX-as-JSON) whose events are witness
    /// candidates too.
    #[arg(long, value_name = "PATH")]
    events: Vec<PathBuf>,
    #[command(flatten)]
    root: RootArgs,
    /// Both versions of every rule go through these pipelines (the working tree's files) before
    /// they are compared, so the change is judged on the rules as deployed.
    #[command(flatten)]
    pipelines: PipelineArgs,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: DiffFormat,
}

pub fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let layout = args.root.layout(&[])?;
    let policy = ChangePolicy::load(&layout.root)?;
    let mut events = Vec::new();
    let (files, walk_failed) = super::backtest::event_inputs(&args.events)?;
    let mut outcome = Outcome::error_if(walk_failed);
    for path in &files {
        let (read, errors) = ruleproof_backtest::events::read_all(path)?;
        let name = path.display().to_string();
        for error in &errors {
            eprintln!("error: {}", error.located(&name));
            // An unreadable record is a failure, as in `match` and `backtest`.
            outcome = outcome.and(Outcome::Failures);
        }
        events.extend(read.into_iter().map(|e| CorpusEvent {
            source: format!("{name}:{}", e.line),
            event: e.value,
        }));
    }
    let check = LoadCheck::new();
    let options = args.placeholders.options()?;
    let pipelines = args.pipelines.load()?;
    let report = ruleproof_diff::diff(
        &layout,
        &DiffOptions {
            base: &args.base,
            paths: args.paths.clone(),
            events: &events,
            check: Some(&check),
            compile: options.clone(),
            pipelines: &pipelines,
        },
    )?;
    for path in changed_pipelines(&layout, &report.commit, args.pipelines.paths())? {
        eprintln!(
            "note: {} differs from its version at {}: both versions of every rule went through \
             the working tree's version, so what the pipeline's own change does is not in this \
             diff (`ruleproof test --pipeline {}` checks the fixtures through it)",
            path.display(),
            args.base,
            path.display()
        );
    }
    let unmet = ruleproof_diff::policy::check(
        &report,
        &policy,
        &layout,
        Some(&check),
        &options,
        &pipelines,
    );
    let output = match args.format {
        DiffFormat::Human => render::human(&report, &unmet),
        DiffFormat::Json => format!("{:#}\n", render::json(&report, &unmet)),
        DiffFormat::Markdown => render::markdown(&report, &unmet),
        DiffFormat::Github => render::github(&report, &unmet),
    };
    print!("{output}");
    if args.format != DiffFormat::Human {
        for error in &report.errors {
            eprintln!("error: {error}");
        }
        eprint!("{}", render::policy_text(&unmet));
    }
    Ok(outcome
        .and(Outcome::error_if(!report.errors.is_empty()))
        .and(Outcome::failures_if(!unmet.is_empty())))
}

/// The `--pipeline` files inside the repository that differ from their version at `commit`
/// (changed, added or untracked), as given on the command line.
///
/// # Errors
/// Git failing.
fn changed_pipelines(
    layout: &ruleproof_cases::Layout,
    commit: &str,
    files: &[PathBuf],
) -> anyhow::Result<Vec<PathBuf>> {
    let Ok(root) = layout.root.canonicalize() else {
        return Ok(Vec::new());
    };
    let inside: Vec<(PathBuf, &PathBuf)> = files
        .iter()
        .filter_map(|file| {
            let relative = file
                .canonicalize()
                .ok()?
                .strip_prefix(&root)
                .ok()?
                .to_owned();
            Some((relative, file))
        })
        .collect();
    if inside.is_empty() {
        return Ok(Vec::new());
    }
    let relative: Vec<PathBuf> = inside.iter().map(|(r, _)| r.clone()).collect();
    let changes = Repository::open(&layout.root)?.changes(commit, &relative)?;
    Ok(inside
        .into_iter()
        .filter(|(r, _)| changes.iter().any(|c| c.new_path() == Some(r.as_path())))
        .map(|(_, given)| given.clone())
        .collect())
}

/// What `test --changed-since` and `coverage --changed-since` run: the files
/// ([`DiffReport::affected_files`](ruleproof_diff::DiffReport::affected_files)) changed or
/// affected since `base`, as paths under the root, and the test-case files they select that
/// exist.
///
/// # Errors
/// Git missing, not a repository, an unknown `base`.
pub fn changed_since(
    layout: &ruleproof_cases::Layout,
    base: &str,
) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let check = LoadCheck::new();
    let report = ruleproof_diff::diff(
        layout,
        &DiffOptions {
            base,
            paths: Vec::new(),
            events: &[],
            check: Some(&check),
            compile: ruleproof_sigma::CompileOptions::default(),
            // Which files changed does not depend on how the rules are deployed.
            pipelines: &Pipelines::default(),
        },
    )?;
    let affected: Vec<PathBuf> = report
        .affected_files()
        .iter()
        .map(|p| layout.root.join(p))
        .collect();
    if affected.is_empty() {
        return Ok((affected, Vec::new()));
    }
    let mut cases: Vec<PathBuf> = layout
        .select_test_cases(&affected)
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    cases.dedup();
    Ok((affected, cases))
}

/// The summary line of a changed-only run: `what` names the things and what was done with
/// them (`test-case files run`).
pub fn skipped_line(base: &str, ran: usize, total: usize, what: &str) -> String {
    format!(
        "changed since {base}: {ran} of {total} {what}, {} skipped\n",
        total.saturating_sub(ran)
    )
}

//! `ruleproof coverage`: what the test cases cover, rendered for people, pull requests, tools
//! and browsers, and checked against the repository's coverage policy with `--check`.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_cases::coverage::{CoverageReport, coverage};
use ruleproof_cases::policy::Policy;
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_report::coverage as render;
use ruleproof_validate::LoadCheck;

use super::{PipelineArgs, RootArgs, force_hint};
use crate::Outcome;
use ruleproof_files::write_atomically;

/// Formats of the coverage report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// For the terminal (`text` is the older name, still accepted).
    #[value(alias = "text")]
    Human,
    /// For a pull-request comment: a summary table, then only what is uncovered or failing.
    Markdown,
    /// The versioned shape documented in docs/coverage.md.
    Json,
    /// One self-contained page with per-rule bars and a drill-down.
    Html,
    /// A MITRE ATT&CK Navigator layer (format 4.5): techniques scored by proven rules.
    Navigator,
}

#[derive(Debug, clap::Args)]
pub struct CoverageArgs {
    /// Rule or test-case files or directories to report on (default: every rule).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    root: RootArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: CoverageFormat,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Overwrite the `--output` file if it exists.
    #[arg(long, requires = "output")]
    force: bool,
    /// Exit 1 when a rule does not meet the policy of the repository's ruleproof.yml, naming
    /// each rule and what it lacks on stderr.
    #[arg(long)]
    check: bool,
    /// Report only the rules changed or affected since this git revision (as `test
    /// --changed-since` selects them); the summary says how many were skipped.
    #[arg(long, value_name = "REF", conflicts_with = "paths")]
    changed_since: Option<String>,
}

pub fn run(args: CoverageArgs) -> anyhow::Result<Outcome> {
    let layout = args.root.layout(&args.paths)?;
    // The policy is read first: a broken configuration is an error before any work is done.
    let policy = Policy::load(&layout.root)?;
    if let Some(output) = &args.output
        && output.exists()
        && !args.force
    {
        bail!("{} exists; pass --force to overwrite it", output.display());
    }
    let options = args.placeholders.options()?;
    let rules = RuleSet::load_processed(
        &layout.rules_dir,
        &options,
        Some(&LoadCheck::new()),
        &args.pipelines.load()?,
    );
    let run = ruleproof_cases::run(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        None,
    );
    let mut report = coverage(&layout, &rules, &run);
    if !args.paths.is_empty() {
        select(&mut report, &layout, &args.paths);
    }
    let mut skipped = None;
    if let Some(base) = &args.changed_since {
        let (affected, cases) = super::diff::changed_since(&layout, base)?;
        let total = report.rules.len();
        let wanted: Vec<PathBuf> = affected.into_iter().chain(cases).collect();
        if wanted.is_empty() {
            report.rules.clear();
        } else {
            select(&mut report, &layout, &wanted);
        }
        skipped = Some(super::diff::skipped_line(
            base,
            report.rules.len(),
            total,
            "rules reported",
        ));
    }
    let verdict = policy.check(&report);
    let rendered = match args.format {
        CoverageFormat::Human => render::text(&report, &verdict),
        CoverageFormat::Markdown => render::markdown(&report, &verdict),
        CoverageFormat::Json => format!("{:#}\n", render::json(&report, &verdict)),
        CoverageFormat::Navigator => format!("{:#}\n", render::navigator(&report, &verdict)),
        CoverageFormat::Html => {
            // The page also shows how many mutants the selected rules' cases kill.
            let cases = report
                .rules
                .iter()
                .filter_map(|r| r.test_file.as_ref().map(|f| layout.root.join(f)))
                .collect::<Vec<_>>();
            let mutation = if cases.is_empty() {
                ruleproof_mutate::MutationReport::default()
            } else {
                ruleproof_mutate::mutate(&layout, &rules, &cases, &options)
            };
            render::html(&report, &verdict, Some(&mutation))
        }
    };
    match &args.output {
        Some(path) => write_atomically(path, rendered.as_bytes(), args.force)
            .map_err(|e| anyhow::anyhow!("{e}{}", force_hint(&e)))?,
        None => print!("{rendered}"),
    }
    if let Some(line) = skipped {
        if args.format == CoverageFormat::Human && args.output.is_none() {
            print!("{line}");
        } else {
            eprint!("{line}");
        }
    }
    // A rule, meta-filter or test-case file that does not load, or a walk that met a loop or an
    // unreadable directory, leaves the report incomplete whatever the policy says.
    let loaded = Outcome::error_if(!report.errors.is_empty());
    if args.format != CoverageFormat::Human || args.output.is_some() {
        // The human report lists them; a document (or a file) holds them where a terminal or CI
        // log does not show them.
        for error in &report.errors {
            eprintln!("error: {error}");
        }
    }
    if !args.check {
        return Ok(loaded);
    }
    // Text output already ends with the verdict; other formats (or a file) leave the terminal
    // without it, so it goes to stderr, where CI logs show it next to the exit code.
    if args.format != CoverageFormat::Human || args.output.is_some() {
        eprint!("{}", render::policy_text(&verdict));
    }
    Ok(loaded.and(Outcome::failures_if(!verdict.passed())))
}

/// Keeps the rules whose rule file or test-case file is (under) one of `paths`.
fn select(report: &mut CoverageReport, layout: &Layout, paths: &[PathBuf]) {
    let wanted: Vec<PathBuf> = paths.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let under = |relative: &Path| {
        layout
            .root
            .join(relative)
            .canonicalize()
            .is_ok_and(|full| wanted.iter().any(|w| full.starts_with(w)))
    };
    // Paths of missing test-case files cannot be canonicalised, so they are compared through
    // their directory, which exists whenever a selected directory contains it.
    let under_missing = |relative: &Path| {
        let full = layout.root.join(relative);
        let (Some(dir), Some(name)) = (full.parent(), full.file_name()) else {
            return false;
        };
        dir.canonicalize()
            .is_ok_and(|d| wanted.iter().any(|w| d.join(name).starts_with(w)))
    };
    report.rules.retain(|rule| {
        under(&rule.rule.path)
            || rule.test_file.as_deref().is_some_and(under)
            || rule
                .expected_test_file
                .as_deref()
                .is_some_and(under_missing)
    });
}

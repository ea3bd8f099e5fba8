//! `ruleproof mutate`: mutation-test rules against their test cases and check the policy's
//! `min_mutation_score`.

use std::path::PathBuf;

use clap::ValueEnum;
use ruleproof_cases::RuleSet;
use ruleproof_cases::policy::Policy;
use ruleproof_report::mutation as render;
use ruleproof_validate::LoadCheck;

use super::{PipelineArgs, RootArgs};
use crate::Outcome;

/// Formats of the mutation report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MutateFormat {
    /// For the terminal: scores and every surviving mutant.
    Human,
    /// `ruleproof.mutation/1`, documented in docs/mutation.md.
    Json,
    /// For a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct MutateArgs {
    /// Test-case files or directories (default: the repository's `test-cases/`). A rule file or
    /// directory under `rules/` selects its test-case files.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    root: RootArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: MutateFormat,
}

pub fn run(args: MutateArgs) -> anyhow::Result<Outcome> {
    let layout = args.root.layout(&args.paths)?;
    let policy = Policy::load(&layout.root)?;
    let paths = layout.select_test_cases(&args.paths);
    let options = args.placeholders.options()?;
    let rules = RuleSet::load_processed(
        &layout.rules_dir,
        &options,
        Some(&LoadCheck::new()),
        &args.pipelines.load()?,
    );
    let report = ruleproof_mutate::mutate(&layout, &rules, &paths, &options);
    let shortfalls = ruleproof_mutate::policy::check(&report, &policy);
    let output = match args.format {
        MutateFormat::Human => render::human(&report, &shortfalls),
        MutateFormat::Json => format!("{:#}\n", render::json(&report, &shortfalls)),
        MutateFormat::Markdown => render::markdown(&report, &shortfalls),
    };
    print!("{output}");
    if args.format != MutateFormat::Human && !shortfalls.is_empty() {
        eprint!("{}", render::policy_text(&shortfalls));
    }
    Ok(Outcome::error_if(!report.errors.is_empty())
        .and(Outcome::failures_if(!shortfalls.is_empty())))
}

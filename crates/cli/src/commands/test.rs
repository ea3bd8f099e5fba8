//! `ruleproof test`: run test-case files and report.

use std::path::PathBuf;

use anyhow::bail;
use ruleproof_cases::RuleSet;
use ruleproof_report::test_output;
use ruleproof_sigma::CompileOptions;
use ruleproof_validate::LoadCheck;

use super::{Format, PipelineArgs, RootArgs};
use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test-case files or directories to run (default: the repository's `test-cases/`).
    /// A rule file or directory under `rules/` selects its test-case files.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    root: RootArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub fn run(args: TestArgs) -> anyhow::Result<Outcome> {
    let layout = args.root.layout(&args.paths)?;
    let paths = layout.select_test_cases(&args.paths);
    let rules = RuleSet::load_processed(
        &layout.rules_dir,
        &CompileOptions::default(),
        Some(&LoadCheck::new()),
        &args.pipelines.load()?,
    );
    if rules.rules.is_empty() {
        for message in rules
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .chain(rules.unreadable.iter().cloned())
        {
            eprintln!("error: {message}");
        }
        bail!(
            "no detection rule loaded from {}",
            layout.rules_dir.display()
        );
    }
    let kql = ruleproof_kql_parity::SiblingKql::new();
    let mut report = ruleproof_cases::run(&layout, &rules, &paths, Some(&kql));
    // Which rules lack a test-case file is only known when every test-case file ran.
    if !args.paths.is_empty() {
        report.untested.clear();
    }
    let output = match args.format {
        Format::Human => test_output::human(&report),
        Format::Json => format!("{:#}\n", test_output::json(&report)),
        Format::Junit => test_output::junit(&report),
        Format::Github => test_output::github(&report),
    };
    print!("{output}");
    let totals = report.totals();
    Ok(
        Outcome::error_if(totals.errors > 0).and(Outcome::failures_if(
            totals.failed > 0 || totals.kql_failed > 0,
        )),
    )
}

//! `ruleproof test`: run test-case files and report.

use std::path::PathBuf;

use anyhow::bail;
use ruleproof_cases::RuleSet;
use ruleproof_cases::ruleset::yaml_files;
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
    /// Run only the test-case files of the rules, meta-filters and correlations changed since
    /// this git revision (and of the rules a changed meta-filter applies to), and the changed
    /// test-case files; the summary says how many were skipped.
    #[arg(long, value_name = "REF", conflicts_with = "paths")]
    changed_since: Option<String>,
}

pub fn run(args: TestArgs) -> anyhow::Result<Outcome> {
    let layout = args.root.layout(&args.paths)?;
    let (paths, skipped) = match &args.changed_since {
        None => (layout.select_test_cases(&args.paths), None),
        Some(base) => {
            let (_, cases) = super::diff::changed_since(&layout, base)?;
            let total = yaml_files(&layout.cases_dir).files.len();
            let line = super::diff::skipped_line(base, cases.len(), total, "test-case files run");
            if cases.is_empty() {
                print!("{line}");
                return Ok(Outcome::Ok);
            }
            (cases, Some(line))
        }
    };
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
    if !args.paths.is_empty() || skipped.is_some() {
        report.untested.clear();
    }
    let output = match args.format {
        Format::Human => test_output::human(&report),
        Format::Json => format!("{:#}\n", test_output::json(&report)),
        Format::Junit => test_output::junit(&report),
        Format::Github => test_output::github(&report),
    };
    print!("{output}");
    if let Some(line) = skipped {
        // The machine formats stay one document; the count goes where CI logs show it.
        if args.format == Format::Human {
            print!("{line}");
        } else {
            eprint!("{line}");
        }
    }
    let totals = report.totals();
    Ok(
        Outcome::error_if(totals.errors > 0).and(Outcome::failures_if(
            totals.failed > 0 || totals.kql_failed > 0,
        )),
    )
}

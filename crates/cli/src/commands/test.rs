//! `ruleproof test`: run test-case files and report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_cases::{Layout, LoadedCorrelation, LoadedRule, RuleSet, RunReport};
use ruleproof_kql::{convert_correlation_rule, convert_rule};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_report::test_output;
use ruleproof_sigma::{Correlation, Rule, Span};
use ruleproof_validate::LoadCheck;

use super::convert::load_pipeline;
use super::{Format, PipelineArgs, RootArgs, replay};
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
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Run only the test-case files of the rules, meta-filters and correlations changed since
    /// this git revision (and of the rules a changed meta-filter applies to), and the changed
    /// test-case files; the summary says how many were skipped.
    #[arg(long, value_name = "REF", conflicts_with = "paths")]
    changed_since: Option<String>,
    /// Also write a replay script per rule into this directory, at
    /// `DIR/<KQL pipeline>/<rule path>.kql`: the rule converted to KQL, bound to its fixtures
    /// as a typed `datatable`, with the fixtures that must come back (what `convert
    /// --with-fixtures` writes, a correlation's on its sequence cases; see docs/kql.md).
    /// Written for each rule whose test-case file runs and names a KQL pipeline
    /// (`kql.pipeline`), or every one with `--kql-pipeline`.
    #[arg(long, value_name = "DIR")]
    replay_dir: Option<PathBuf>,
    /// The KQL table pipeline of the replay scripts (repeatable: one script per pipeline),
    /// instead of each test-case file's `kql.pipeline`: a shipped one (`asim`,
    /// `defender_xdr`) or a file in its format.
    #[arg(long, value_name = "NAME|FILE", requires = "replay_dir")]
    kql_pipeline: Vec<String>,
    /// Overwrite existing replay scripts that differ (a file that already holds the same
    /// script is left as it is).
    #[arg(long, requires = "replay_dir")]
    force: bool,
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
        &args.placeholders.options()?,
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
    if paths.len() > 1 {
        // One emptied directory among several must not pass unseen behind the others.
        super::refuse_empty_directories(&paths, "test-case file")?;
    }
    let kql = ruleproof_kql_parity::SiblingKql::new();
    let mut report = ruleproof_cases::run(&layout, &rules, &paths, Some(&kql));
    if report.files.is_empty() && report.unreadable.is_empty() && report.load_errors.is_empty() {
        // Zero test-case files is a mistyped path or a lost directory, not a green run.
        bail!("no test-case file under {}", super::display_paths(&paths));
    }
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
    let replay_outcome = match &args.replay_dir {
        Some(dir) => write_replay_scripts(dir, &args, &layout, &rules, &report)?,
        None => Outcome::Ok,
    };
    let totals = report.totals();
    Ok(Outcome::error_if(totals.errors > 0)
        .and(replay_outcome)
        .and(Outcome::failures_if(
            totals.failed > 0 || totals.kql_failed > 0,
        )))
}

/// A document `--replay-dir` writes scripts for.
#[derive(Clone, Copy)]
enum Replayed<'a> {
    Rule(&'a LoadedRule),
    Correlation(&'a LoadedCorrelation),
}

/// `--replay-dir`: one replay script per rule (detection or correlation) whose test-case file ran and per KQL
/// pipeline (`--kql-pipeline`, or else the `kql.pipeline` of the rule's test-case file), at
/// `dir/<pipeline>/<rule path relative to rules/>.kql`. A rule that cannot be converted or
/// replayed is an error naming it; the others are still written.
fn write_replay_scripts(
    dir: &Path,
    args: &TestArgs,
    layout: &Layout,
    rules: &RuleSet,
    report: &RunReport,
) -> anyhow::Result<Outcome> {
    let given = args
        .kql_pipeline
        .iter()
        .map(|name| load_pipeline(name))
        .collect::<anyhow::Result<Vec<Pipeline>>>()?;
    let mut outcome = Outcome::Ok;
    let mut outputs: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut without_settings = 0;
    let mut done: Vec<&Path> = Vec::new();
    let tested = report.files.iter().filter_map(|f| f.rule.as_ref());
    // What a correlation may name: every rule and correlation of the repository.
    let detection: Vec<&Rule> = rules.rules.iter().map(|r| &r.rule).collect();
    let correlations: Vec<&Correlation> =
        rules.correlations.iter().map(|c| &c.correlation).collect();
    for summary in tested {
        // A detection rule or a correlation; each gets its scripts once, however many of its
        // test-case files ran.
        let document = match (
            rules.rules.iter().find(|r| r.path == summary.path),
            rules.correlations.iter().find(|c| c.path == summary.path),
        ) {
            (Some(rule), _) => Replayed::Rule(rule),
            (None, Some(correlation)) => Replayed::Correlation(correlation),
            (None, None) => continue,
        };
        let (path, source) = match document {
            Replayed::Rule(rule) => (&rule.path, &rule.source),
            Replayed::Correlation(c) => (&c.path, &c.source),
        };
        if done.contains(&path.as_path()) {
            continue;
        }
        done.push(path);
        let fixtures = replay::fixtures(layout, path);
        let from_file;
        // A rule without the test-case file mirroring it has no fixtures to replay: that is
        // the error to name, whether or not --kql-pipeline was given.
        let (cases_path, file) = match &fixtures {
            Ok(fixtures) => fixtures,
            Err(message) => {
                eprintln!("error: {}: {message}", path.display());
                outcome = Outcome::Error;
                continue;
            }
        };
        let pipelines: &[Pipeline] = if !given.is_empty() {
            &given
        } else {
            match &file.kql_pipeline {
                Some(name) => {
                    from_file = [load_pipeline(&name.text)?];
                    &from_file
                }
                None => {
                    without_settings += 1;
                    continue;
                }
            }
        };
        let title = match document {
            Replayed::Rule(rule) => &rule.rule.meta.title,
            Replayed::Correlation(c) => &c.correlation.meta.title,
        };
        let heading = format!("{title} ({})", path.display());
        // Found by the walk of the rules directory, so under it.
        let relative = replay::under_rules(layout, path).unwrap_or_default();
        for pipeline in pipelines {
            let processing = Pipelines::resolve(vec![pipeline.clone()]);
            // The same scripts `convert --with-fixtures` writes, through the same functions.
            let script = match document {
                Replayed::Rule(rule) => convert_rule(&rule.rule, &processing, &rules.options)
                    .map_err(|e| e.render(source))
                    .and_then(|(query, processed)| {
                        replay::script(
                            &processing,
                            &processed,
                            cases_path,
                            file,
                            &rule.compiled,
                            &heading,
                            &query,
                        )
                        .map_err(|message| format!("{}: {message}", path.display()))
                    }),
                Replayed::Correlation(c) => {
                    let at = c
                        .correlation
                        .rules
                        .first()
                        .map_or_else(Span::default, |r| r.1);
                    convert_correlation_rule(
                        &c.correlation,
                        at,
                        &detection,
                        &correlations,
                        &processing,
                        &rules.options,
                    )
                    .map_err(|e| e.render(source))
                    .and_then(|converted| {
                        replay::correlation_script(
                            layout,
                            rules,
                            &processing,
                            &converted,
                            path,
                            &c.correlation,
                            &heading,
                        )
                        .map_err(|message| format!("{}: {message}", path.display()))
                    })
                }
            };
            match script {
                Ok(script) => {
                    let path = Path::new(&pipeline.name).join(relative.with_extension("kql"));
                    outputs.insert(path, script);
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    outcome = Outcome::Error;
                }
            }
        }
    }
    if outputs.is_empty() && outcome == Outcome::Ok {
        bail!(
            "--replay-dir: no replay script to write: no test-case file that ran names a KQL \
             pipeline (`kql.pipeline`); name one with --kql-pipeline"
        );
    }
    replay::write_outputs(dir, &outputs, args.force)?;
    if without_settings > 0 {
        eprintln!(
            "{without_settings} rule(s) without a KQL pipeline (`kql.pipeline` in the test-case \
             file, or --kql-pipeline) have no replay script"
        );
    }
    Ok(outcome)
}

//! The subcommands and their arguments.

mod backtest;
mod cases;
mod convert;
mod coverage;
mod diff;
mod explain;
mod generate;
mod matching;
mod mutate;
mod regression;
mod replay;
mod test;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{Collection, CompileOptions, RuleProcessing};
use ruleproof_validate::LoadCheck;

use crate::Outcome;

/// Prove that Sigma detection rules do what they claim.
#[derive(Debug, Parser)]
#[command(name = "ruleproof", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every rule's test cases (and KQL parity checks) and report each verdict.
    Test(test::TestArgs),
    /// Compare the rules with a git revision by meaning: broadened, narrowed, changed… with
    /// witness events, and check the `diff:` policy.
    Diff(diff::DiffArgs),
    /// Validate rules, filters, correlations and test cases: schemas and lints.
    Validate(validate::ValidateArgs),
    /// Evaluate rules against events (JSON Lines, gzip, EVTX JSON); print one JSON line per match.
    Match(matching::MatchArgs),
    /// Explain a rule's verdict on one event, as a tree.
    Explain(explain::ExplainArgs),
    /// Replay event corpora through a rule set and check match counts against expectations.
    Backtest(backtest::BacktestArgs),
    /// Run a tree in SigmaHQ's `regression_data` layout against the rules.
    Regression(regression::RegressionArgs),
    /// Write test-case files: skeletons and appended cases.
    #[command(subcommand)]
    Cases(cases::CasesCommand),
    /// Report what the test cases cover (scenarios, searches, items, values) and check the policy.
    Coverage(coverage::CoverageArgs),
    /// Generate engine-confirmed events for rules: a positive per branch, near misses.
    Generate(generate::GenerateArgs),
    /// Mutation-test rules: which small changes to each rule its test cases would not notice.
    Mutate(mutate::MutateArgs),
    /// Convert Sigma rules to KQL through a field pipeline (ASIM or Defender XDR tables).
    Convert(convert::ConvertArgs),
}

/// Output formats shared by commands that report results. Every command names the same
/// format the same way: `human` is the terminal text, `json` the versioned JSON shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For the terminal.
    Human,
    /// The versioned shape documented in docs/output-formats.md.
    Json,
    /// JUnit XML for CI test reports.
    Junit,
    /// GitHub Actions annotations.
    Github,
}

/// Where the repository is: the directory holding `rules/` and `test-cases/`.
#[derive(Debug, clap::Args)]
pub struct RootArgs {
    /// The repository root (holding `rules/` and `test-cases/`).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

impl RootArgs {
    /// The repository's layout, after checking that it has a `rules/` directory and that every
    /// path given on the command line exists.
    ///
    /// # Errors
    /// No `rules/` directory under the root, or a path that does not exist.
    pub fn layout(&self, paths: &[PathBuf]) -> anyhow::Result<ruleproof_cases::Layout> {
        let layout = ruleproof_cases::Layout::at(&self.root);
        if !layout.rules_dir.is_dir() {
            bail!("no rules directory at {}", layout.rules_dir.display());
        }
        for path in paths {
            if !path.exists() {
                bail!("{}: no such file or directory", path.display());
            }
        }
        Ok(layout)
    }
}

/// `--pipeline FILE`: the pySigma processing pipelines every rule goes through before it
/// compiles, shared by every command that loads rules.
#[derive(Debug, Default, clap::Args)]
pub struct PipelineArgs {
    /// A pySigma processing pipeline applied to every rule before it compiles (repeatable;
    /// applied by `priority`, lowest first; see docs/pipelines.md).
    #[arg(long = "pipeline", value_name = "FILE")]
    pipelines: Vec<PathBuf>,
}

impl PipelineArgs {
    /// The pipelines, read and resolved.
    ///
    /// # Errors
    /// A pipeline file that cannot be read or used, at its `path:line:col`.
    pub fn load(&self) -> anyhow::Result<Pipelines> {
        Ok(Pipelines::load(&self.pipelines)?)
    }

    /// The pipeline files as given.
    pub fn paths(&self) -> &[PathBuf] {
        &self.pipelines
    }
}

/// `--placeholders FILE`: values for `|expand` placeholders, taken by every command that loads
/// rules and by `validate`, so a rule with placeholders loads the same way in each
/// (docs/semantics.md, "Which documents load").
#[derive(Debug, Default, clap::Args)]
pub struct PlaceholderArgs {
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`
    /// (without values such a rule loads nowhere: RP113).
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
}

impl PlaceholderArgs {
    /// The compile options every rule loads with: the placeholder values, when given.
    ///
    /// # Errors
    /// A placeholder file that cannot be read or is not a mapping of names to values.
    pub fn options(&self) -> anyhow::Result<CompileOptions> {
        Ok(CompileOptions {
            placeholders: self
                .placeholders
                .as_deref()
                .map(load_placeholders)
                .transpose()?,
        })
    }
}

/// Loads rule files and directories through the one loading path, with the validator's checks
/// (so a document `validate` rejects loads nowhere) and the processing pipelines, printing every
/// load error and every entry a walk had to leave out on stderr. The outcome is
/// [`Outcome::Error`] when anything did not load.
///
/// # Errors
/// A path that does not exist.
pub fn load_collection(
    paths: &[PathBuf],
    options: &CompileOptions,
    pipelines: &Pipelines,
) -> anyhow::Result<(Collection, Outcome)> {
    for path in paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
    }
    let processing = (!pipelines.is_empty()).then_some(pipelines as &dyn RuleProcessing);
    let collection =
        Collection::load_processed(paths, options, Some(&LoadCheck::new()), processing);
    for problem in &collection.walk_problems {
        eprintln!("error: {problem}");
    }
    for error in &collection.errors {
        eprintln!("error: {}", error.render());
    }
    let outcome =
        Outcome::error_if(!collection.errors.is_empty() || !collection.walk_problems.is_empty());
    Ok((collection, outcome))
}

/// What to add to a write error: how to overwrite, when the file exists.
pub fn force_hint(error: &ruleproof_files::WriteError) -> &'static str {
    match error {
        ruleproof_files::WriteError::Exists(_) => " (pass --force to overwrite it)",
        ruleproof_files::WriteError::Io { .. } => "",
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Test(args) => test::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Match(args) => matching::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Regression(args) => regression::run(args),
        Command::Cases(command) => cases::run(command),
        Command::Coverage(args) => coverage::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Mutate(args) => mutate::run(args),
        Command::Generate(args) => generate::run(args),
    }
}

/// Refuses a directory among `paths` that holds no YAML file (and had nothing unreadable in
/// its walk), as the command refuses a lone path with nothing to check; `what` names the files
/// in the message (`no test-case file under DIR`).
///
/// # Errors
///
/// The first such directory.
pub fn refuse_empty_directories(paths: &[PathBuf], what: &str) -> anyhow::Result<()> {
    for path in paths.iter().filter(|p| p.is_dir()) {
        // The first file (or loop) found is enough; the command walks the paths itself.
        if !ruleproof_files::finds_anything(path, &ruleproof_sigma::collection::is_yaml) {
            bail!("no {what} under {}", path.display());
        }
    }
    Ok(())
}

/// The paths a command was given, as one comma-separated list for a message.
pub fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads placeholder values: a mapping from names to a value or a list of values.
pub fn load_placeholders(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let source = ruleproof_sigma::source::read_source(path, Limits::default().max_file_bytes)?;
    let docs = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", source.location(e.span), e.message))?;
    if docs.is_empty() {
        // A truncated file would otherwise leave every `|expand` rule without values.
        bail!(
            "{}: the file holds no placeholder values (a mapping of names to lists)",
            path.display()
        );
    }
    let mut values = HashMap::new();
    for doc in &docs {
        let Some(entries) = doc.as_map() else {
            bail!(
                "{}: placeholder values must be a mapping of names to lists",
                source.location(doc.span)
            );
        };
        for (key, value) in entries {
            let list = match value.as_seq() {
                Some(items) => items.iter().filter_map(|i| i.scalar_text()).collect(),
                None => value.scalar_text().into_iter().collect(),
            };
            values.insert(key.scalar_text().unwrap_or_default(), list);
        }
    }
    Ok(values)
}

//! `ruleproof regression`: run a tree in SigmaHQ's `regression_data` layout against the rules and
//! correlations.

use std::path::PathBuf;

use ruleproof_backtest::regression;

use super::backtest::load_index;
use super::matching::{CorrelationArgs, compile_correlations};
use super::{Format, PipelineArgs};
use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct RegressionArgs {
    /// The `regression_data` directory (or any part of it) holding `info.yml` files.
    dir: PathBuf,
    /// Rule files or directories holding the rules the tests name.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    correlation: CorrelationArgs,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub fn run(args: RegressionArgs) -> anyhow::Result<Outcome> {
    let (index, loaded, correlations) =
        load_index(&args.rules, &args.placeholders, &args.pipelines)?;
    let set = compile_correlations(&correlations, &index)?;
    let options = args.correlation.options(false)?;
    let report = regression::run(
        &args.dir,
        regression::Rules {
            detection: index.rules(),
            correlations: &set,
            options: &options,
        },
    )?;
    match args.format {
        Format::Json => println!("{:#}", report.json()),
        Format::Junit => print!("{}", report.junit()),
        Format::Human | Format::Github => print!("{}", report.human()),
    }
    // An `info.yml` that does not load is a load error, like a rule that does not.
    Ok(loaded
        .and(Outcome::error_if(!report.errors.is_empty()))
        .and(Outcome::failures_if(!report.passed())))
}

//! `ruleproof validate`: schemas and lints over rules, filters, correlations and test cases.

use std::path::PathBuf;

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_report::validate_output;
use ruleproof_validate::{Layout, LintConfig, Severity, validate};

use super::RootArgs;
use crate::Outcome;

/// Formats of the validation report; the names are those of [`super::Format`] where they mean
/// the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// For the terminal.
    Human,
    /// The versioned shape documented in docs/output-formats.md.
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Files or directories to validate (default: the repository's `rules/` and `test-cases/`).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    root: RootArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ValidateFormat,
    /// Treat warnings as errors for the exit code.
    #[arg(long)]
    deny_warnings: bool,
    /// List every lint with its code, default severity and documentation, then exit.
    #[arg(long)]
    list_lints: bool,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<Outcome> {
    if args.list_lints {
        for lint in ruleproof_validate::lints::ALL {
            println!(
                "{} {} ({})\n  What: {}\n  Why: {}\n",
                lint.code, lint.name, lint.default_severity, lint.what, lint.why
            );
        }
        return Ok(Outcome::Ok);
    }
    let root = &args.root.root;
    let layout = Layout {
        root: root.clone(),
        rules_dir: root.join("rules"),
        cases_dir: root.join("test-cases"),
    };
    let config = match LintConfig::load(root) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Outcome::Error);
        }
    };
    let mut paths = args.paths.clone();
    for path in &paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
    }
    if paths.len() > 1 {
        // One emptied directory among several must not pass unseen behind the others.
        super::refuse_empty_directories(&paths, "YAML file")?;
    }
    if paths.is_empty() {
        paths = vec![layout.rules_dir.clone(), layout.cases_dir.clone()];
        paths.retain(|p| p.exists());
        if paths.is_empty() {
            bail!("no rules/ or test-cases/ under {}", root.display());
        }
    }
    let options = args.placeholders.options()?;
    let validation = validate(&paths, &layout, &config, &options);
    if validation.files == 0 && validation.walk_problems.is_empty() {
        // A mistyped or emptied directory must not pass CI as "0 errors".
        bail!("no YAML file under {}", super::display_paths(&paths));
    }
    let output = match args.format {
        ValidateFormat::Human => validate_output::human(&validation),
        ValidateFormat::Json => format!("{:#}\n", validate_output::json(&validation)),
        ValidateFormat::Sarif => format!("{:#}\n", validate_output::sarif(&validation)),
        ValidateFormat::Github => validate_output::github(&validation),
    };
    print!("{output}");
    for problem in &validation.walk_problems {
        eprintln!("error: {problem}");
    }
    let errors = validation.count(Severity::Error);
    let warnings = validation.count(Severity::Warning);
    Ok(
        Outcome::error_if(!validation.walk_problems.is_empty()).and(Outcome::failures_if(
            errors > 0 || (args.deny_warnings && warnings > 0),
        )),
    )
}

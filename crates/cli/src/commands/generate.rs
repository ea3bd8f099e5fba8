//! `ruleproof generate`: engine-confirmed events for rules, as JSON Lines or test-case YAML.

use std::path::PathBuf;

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_cases::RuleSet;
use ruleproof_report::generated;

use ruleproof_validate::LoadCheck;

use crate::Outcome;

/// Output formats of generated events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GenerateFormat {
    /// One test-case document per rule (`---` between them).
    Yaml,
    /// One JSON object per event.
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "yaml")]
    format: GenerateFormat,
    #[command(flatten)]
    placeholders: super::PlaceholderArgs,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<Outcome> {
    let options = args.placeholders.options()?;
    let mut failed = false;
    let mut first = true;
    for path in &args.rules {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
        let set = RuleSet::load_checked(path, &options, Some(&LoadCheck::new()));
        for diagnostic in &set.diagnostics {
            eprintln!("error: {diagnostic}");
            failed = true;
        }
        for message in &set.unreadable {
            eprintln!("error: {message}");
            failed = true;
        }
        if set.rules.is_empty() {
            // An empty directory or a file of meta-filters: nothing to generate for is an error,
            // as a run over zero rules is in `match` and `convert`.
            eprintln!("error: no detection rule loaded from {}", path.display());
            failed = true;
        }
        for rule in &set.rules {
            let mut events = ruleproof_generate::generate(&rule.rule, &rule.compiled, &options);
            // Events for the mutants the positives and near misses do not tell apart, so the
            // generated set kills every mutant it can.
            let (killers, not_found) = ruleproof_mutate::suggest::kill_mutants(
                &rule.rule,
                &rule.compiled,
                &options,
                &events.events,
                |_, _| true,
            );
            events.events.extend(killers);
            for gap in not_found {
                eprintln!("{}: {gap}", rule.path.display());
            }
            let reference = rule.rule.meta.reference();
            for gap in &events.unsatisfied {
                let what = if gap.contradictory {
                    "contradictory branch"
                } else {
                    "no event for branch"
                };
                eprintln!(
                    "{}: {what} `{}`: {}",
                    rule.path.display(),
                    gap.target,
                    gap.reason
                );
            }
            match args.format {
                GenerateFormat::Jsonl => {
                    print!(
                        "{}",
                        generated::jsonl(reference, &rule.path, &events.events)
                    );
                }
                GenerateFormat::Yaml => {
                    if !first {
                        println!("---");
                    }
                    print!("{}", generated::yaml(reference, &rule.path, &events.events));
                }
            }
            first = false;
        }
    }
    Ok(Outcome::error_if(failed))
}

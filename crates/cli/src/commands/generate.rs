//! `ruleproof generate`: engine-confirmed events for rules, as JSON Lines or test-case YAML.

use std::path::PathBuf;

use anyhow::bail;
use clap::ValueEnum;
use ruleproof_pipeline::Pipelines;
use ruleproof_report::generated;

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
    if args.rules.len() > 1 {
        // One emptied directory among several must not pass unseen behind the others.
        super::refuse_empty_directories(&args.rules, "rule file")?;
    }
    // All paths at once, as `match` loads them: a meta-filter or correlation in one path may
    // name rules of another.
    let (collection, outcome) =
        super::load_collection(&args.rules, &options, &Pipelines::default())?;
    if collection.rules.is_empty() {
        // An empty directory or a file of meta-filters: nothing to generate for is an error,
        // as a run over zero rules is in `match` and `convert`.
        bail!(
            "no detection rule loaded from {} ({} file(s) read)",
            super::display_paths(&args.rules),
            collection.files
        );
    }
    let mut first = true;
    for rule in &collection.rules {
        let mut events = ruleproof_generate::generate(rule.rule(), &rule.compiled, &options);
        // Events for the mutants the positives and near misses do not tell apart, so the
        // generated set kills every mutant it can.
        let (killers, not_found) = ruleproof_mutate::suggest::kill_mutants(
            rule.rule(),
            &rule.compiled,
            &options,
            &events.events,
            |_, _| true,
        );
        events.events.extend(killers);
        for gap in not_found {
            eprintln!("{}: {gap}", rule.path.display());
        }
        let reference = rule.rule().meta.reference();
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
    Ok(outcome)
}

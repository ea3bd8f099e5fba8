//! `ruleproof explain`: print the explanation tree of one rule on one event.

use std::path::PathBuf;

use anyhow::{Context, bail};
use ruleproof_report::explain_output;
use ruleproof_sigma::CompileOptions;
use ruleproof_sigma::yaml::Limits;

use super::load_collection;
use super::matching::load_placeholders;
use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The rule file.
    #[arg(long)]
    rule: PathBuf,
    /// A file holding one event (JSON or YAML).
    #[arg(long)]
    event: PathBuf,
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`.
    #[arg(long)]
    placeholders: Option<PathBuf>,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let options = CompileOptions {
        placeholders: args
            .placeholders
            .as_deref()
            .map(load_placeholders)
            .transpose()?,
    };
    let (collection, loaded) = load_collection(std::slice::from_ref(&args.rule), &options)?;
    if loaded != Outcome::Ok || collection.rules.is_empty() {
        bail!("{}: no rule could be loaded", args.rule.display());
    }
    let rules = collection.rules_with_filters();
    let source =
        ruleproof_sigma::source::read_source(&args.event, Limits::default().max_file_bytes)?;
    let docs = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", source.location(e.span), e.message))
        .context("the event file does not parse")?;
    let [event] = docs.as_slice() else {
        bail!(
            "{}: the event file must hold exactly one event",
            args.event.display()
        );
    };
    if event.as_map().is_none() {
        bail!(
            "{}: the event must be a mapping of fields",
            source.location(event.span)
        );
    }
    let event = event.to_json();
    let mut any_match = false;
    for rule in &rules {
        let explanation = rule.explain(&event);
        any_match |= explanation.matched;
        if args.json {
            println!("{:#}", explain_output::json(&explanation));
        } else {
            print!("{}", explain_output::human(&explanation));
        }
    }
    // Like grep, explain exits 0 when the rule matched and 1 when it did not.
    Ok(Outcome::failures_if(!any_match))
}

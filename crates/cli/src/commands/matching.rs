//! `ruleproof match`: evaluate a rule set against events with the rule-set index, on all cores,
//! printing one JSON line per match in input order.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use ruleproof_backtest::run::Item;
use ruleproof_sigma::yaml::Limits;

use super::backtest::{CorpusArgs, load_index, run_corpus, set_threads};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    corpus: CorpusArgs,
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`.
    #[arg(long)]
    placeholders: Option<PathBuf>,
}

/// Loads placeholder values: a mapping from names to a value or a list of values.
pub fn load_placeholders(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let source = ruleproof_sigma::source::read_source(path, Limits::default().max_file_bytes)?;
    let docs = ruleproof_sigma::yaml::parse_documents(&source, &Limits::default())
        .map_err(|e| anyhow::anyhow!("{}: {}", source.location(e.span), e.message))?;
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

pub fn run(args: MatchArgs) -> anyhow::Result<Outcome> {
    set_threads(args.corpus.threads)?;
    let (index, loaded) = load_index(&args.rules, args.placeholders.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let totals = run_corpus(&index, &args.corpus, &mut |file, item| match item {
        Item::Event(matched) => {
            for &rule in matched.rules {
                let rule = &index.rules()[rule];
                // `event` is the 0-based line index the event's record starts on.
                let record = serde_json::json!({
                    "file": file,
                    "line": matched.line,
                    "event": matched.line.saturating_sub(1),
                    "rule": rule.meta.reference(),
                    "title": rule.meta.title,
                    "level": rule.meta.level,
                });
                if let Err(e) = writeln!(out, "{record}") {
                    write_error.get_or_insert(e);
                }
            }
        }
        Item::Bad(error) => eprintln!("error: {file}:{}: {}", error.line, error.message),
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    out.flush()?;
    let counts = totals.counts;
    eprintln!(
        "{} rules, {} events in {} file(s) ({} unreadable records), {} matches",
        index.len(),
        counts.events,
        totals.files,
        counts.bad_records,
        counts.matches
    );
    Ok(loaded
        .and(totals.outcome)
        .and(Outcome::failures_if(counts.bad_records > 0)))
}

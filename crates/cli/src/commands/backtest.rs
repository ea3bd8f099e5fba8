//! `ruleproof backtest`: replay corpora through a rule set and check how often each rule matches
//! against an expectations file; plus the corpus runner `ruleproof match` shares.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ruleproof_backtest::correlate::CorpusCorrelator;
use ruleproof_backtest::events::{EventSource, event_files};
use ruleproof_backtest::expect::{Expectations, Tally, Unexpected};
use ruleproof_backtest::logsource::{LogSourceMap, parse_logsource};
use ruleproof_backtest::run::{Counts, Item, run_source};
use ruleproof_sigma::Correlation;
use ruleproof_sigma::ruleset::{Route, RuleSetIndex};

use super::matching::{CorrelationArgs, compile_correlations};
use super::{Format, PipelineArgs, PlaceholderArgs, load_collection};
use crate::Outcome;

/// Where the events come from and which log source they belong to.
#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Event files (JSON Lines, JSON, EVTX-converter JSON, optionally gzip-compressed),
    /// directories of them, or `-` for standard input.
    #[arg(long, required = true, num_args = 1..)]
    pub events: Vec<PathBuf>,
    /// The log source of every event, e.g. `product:windows,category:process_creation`; only
    /// rules whose log source agrees run.
    #[arg(long)]
    pub logsource: Option<String>,
    /// A YAML list of `{files: GLOB, product, category, service}` giving each corpus file's log
    /// source (first match wins; `--logsource` applies to files no entry names).
    #[arg(long)]
    pub logsource_map: Option<PathBuf>,
    /// Threads that parse and match events (default: one per core). Output order does not
    /// depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Sets how many threads load rules and match events (`--threads`; default one per core). Called
/// before any parallel work, since the thread pool is built once per process.
///
/// # Errors
/// The pool was already built, or its threads cannot be started.
pub fn set_threads(threads: Option<u16>) -> anyhow::Result<()> {
    if let Some(threads) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(threads))
            .build_global()
            .context("cannot start the matching threads")?;
    }
    Ok(())
}

/// Totals over every corpus file.
#[derive(Debug)]
pub struct Totals {
    pub counts: Counts,
    pub files: usize,
    /// [`Outcome::Error`] when a directory of events could not be walked completely.
    pub outcome: Outcome,
}

/// The event files `--events` names: `-` (standard input) as is, a file whatever its name, the
/// event files under a directory (`.json`, `.jsonl`, `.ndjson`, `.evtx`, with or without `.gz`).
/// Walk problems (symbolic-link loops, unreadable directories) are printed; the flag says
/// whether there were any. Every command that takes `--events` reads it through this.
///
/// # Errors
/// A path that does not exist.
pub fn event_inputs(paths: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, bool)> {
    let mut files = Vec::new();
    let mut walk_failed = false;
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
            continue;
        }
        if !path.exists() {
            anyhow::bail!("{}: no such file or directory", path.display());
        }
        let walked = event_files(path);
        for problem in &walked.problems {
            eprintln!("error: {problem}");
        }
        walk_failed |= !walked.problems.is_empty();
        files.extend(walked.files);
    }
    Ok((files, walk_failed))
}

/// Runs every corpus file through the index, in order, calling `sink` with each file's name and
/// each event (or unreadable record), on `--threads` threads. Shows a progress bar on a terminal.
pub fn run_corpus(
    index: &RuleSetIndex,
    args: &CorpusArgs,
    sink: &mut dyn FnMut(&str, Item<'_>),
) -> anyhow::Result<Totals> {
    let default_route = args
        .logsource
        .as_deref()
        .map(parse_logsource)
        .transpose()?
        .map(|l| index.route(&l));
    let map = args
        .logsource_map
        .as_deref()
        .map(LogSourceMap::load)
        .transpose()?;
    let (files, walk_failed) = event_inputs(&args.events)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok().map(|m| m.len()))
        .sum();
    let progress = progress_bar(total, files.iter().any(|f| is_stream(f)));
    let mut totals = Totals {
        counts: Counts::default(),
        files: 0,
        outcome: Outcome::error_if(walk_failed),
    };
    let mut done = 0;
    for file in &files {
        // A file that cannot be opened or read is reported and the run goes on with the next;
        // the outcome says the corpus was not read completely.
        let source = match EventSource::open(file) {
            Ok(source) => source,
            Err(e) => {
                eprintln!("error: {e}");
                totals.outcome = Outcome::Error;
                continue;
            }
        };
        let name = source.name.clone();
        let mapped: Option<Route> = map
            .as_ref()
            .and_then(|m| m.for_file(&name))
            .map(|l| index.route(l));
        let route = mapped.as_ref().or(default_route.as_ref());
        let size = source.size.unwrap_or(0);
        progress.set_message(name.clone());
        let mut counts = Counts::default();
        let result = run_source(
            index,
            source,
            route,
            &mut |bytes| progress.set_position(done + bytes.min(size)),
            &mut |item| {
                match &item {
                    Item::Event(matched) => {
                        counts.events += 1;
                        counts.matches += matched.rules.len();
                    }
                    Item::Bad(_) => counts.bad_records += 1,
                }
                sink(&name, item);
            },
        );
        if let Err(e) = result {
            progress.suspend(|| eprintln!("error: {e} (the events before it were read)"));
            totals.outcome = Outcome::Error;
        }
        done += size;
        totals.files += 1;
        totals.counts.events += counts.events;
        totals.counts.bad_records += counts.bad_records;
        totals.counts.matches += counts.matches;
    }
    progress.finish_and_clear();
    Ok(totals)
}

fn is_stream(path: &Path) -> bool {
    path.as_os_str() == "-" || path.extension().is_some_and(|e| e == "gz")
}

/// A byte-count bar on a terminal (a spinner when sizes mean little), nothing otherwise.
fn progress_bar(total: u64, streaming: bool) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = if streaming || total == 0 {
        (
            ProgressBar::new_spinner(),
            "{spinner} {msg} {bytes} read ({bytes_per_sec})",
        )
    } else {
        (
            ProgressBar::new(total),
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Loads the rules through the one loading path, applies the meta-filters given beside them to
/// the rules they name (as pySigma does), and builds the index, printing load problems. The
/// outcome is [`Outcome::Error`] when a document did not load.
///
/// # Errors
/// A missing path or placeholder file, or no detection rule at all: a run over zero rules would
/// pass whatever the events hold.
pub fn load_index(
    rules: &[PathBuf],
    placeholders: &PlaceholderArgs,
    pipelines: &PipelineArgs,
) -> anyhow::Result<(RuleSetIndex, Outcome, Vec<Correlation>)> {
    let options = placeholders.options()?;
    let (collection, outcome) = load_collection(rules, &options, &pipelines.load()?)?;
    if collection.rules.is_empty() {
        bail!(
            "no detection rule loaded from {} ({} file(s) read)",
            super::display_paths(rules),
            collection.files
        );
    }
    let correlations = collection.correlation_rules();
    let filters: Vec<(PathBuf, String, String)> = collection
        .filters
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.compiled.meta.reference().to_owned(),
                f.compiled.meta.title.clone(),
            )
        })
        .collect();
    // Taking the rules out of the collection frees each document and its source as it goes, so
    // the rule set is not held twice and the index is built without them.
    let compiled = collection.into_rules_with_filters();
    for (path, reference, title) in &filters {
        let applied = compiled
            .iter()
            .filter(|r| r.applied_filters().iter().any(|f| f == reference))
            .count();
        eprintln!(
            "note: {}: meta-filter `{title}` applies to {applied} rule(s)",
            path.display(),
        );
    }
    Ok((RuleSetIndex::new(compiled), outcome, correlations))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UnexpectedArg {
    /// List matches no expectation covers without failing.
    Allow,
    /// Fail on any match no expectation or allowlist entry covers (for benign corpora).
    Fail,
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    correlation: CorrelationArgs,
    /// The expectations file: per rule or correlation `exactly`, `at_least` or `at_most` N matches (optionally
    /// per corpus `file` glob), and an `allowlist` of known false positives.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// What matches that no expectation or allowlist entry covers do to the verdict.
    #[arg(long, value_enum, default_value = "allow")]
    unexpected: UnexpectedArg,
    #[command(flatten)]
    placeholders: PlaceholderArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

pub fn run(args: BacktestArgs) -> anyhow::Result<Outcome> {
    set_threads(args.corpus.threads)?;
    let (index, loaded, correlations) =
        load_index(&args.rules, &args.placeholders, &args.pipelines)?;
    let set = compile_correlations(&correlations, &index)?;
    let mut correlator = CorpusCorrelator::new(&set, args.correlation.options(false)?);
    let expectations = match &args.expect {
        Some(path) => Expectations::load(path)?,
        None => Expectations::default(),
    };
    let mut tally = Tally::new(&expectations, index.rules(), &set);
    // The tally's number of the file being read; alerts are raised in it, or (at a file's
    // end) in the file before, which is the number before.
    let mut current: Option<(String, usize)> = None;
    let totals = run_corpus(&index, &args.corpus, &mut |name, item| {
        let file = match &current {
            Some((n, id)) if n == name => *id,
            _ => {
                correlator.finish(&mut |_, alert| {
                    if let Some((_, id)) = &current {
                        tally.record_alert(*id, alert);
                    }
                });
                let id = tally.add_file(name);
                current = Some((name.to_owned(), id));
                id
            }
        };
        match item {
            Item::Event(matched) => {
                tally.record(file, &matched);
                correlator.event(name, &matched, &mut |_, alert| {
                    tally.record_alert(file, alert);
                });
            }
            Item::Bad(error) => {
                eprintln!("error: {}", error.located(name));
                tally.bad_record();
            }
        }
    })?;
    correlator.finish(&mut |_, alert| {
        if let Some((_, id)) = &current {
            tally.record_alert(*id, alert);
        }
    });
    for line in correlator.skipped().lines() {
        eprintln!("warning: {line}");
    }
    let unexpected = match args.unexpected {
        UnexpectedArg::Allow => Unexpected::Allow,
        UnexpectedArg::Fail => Unexpected::Fail,
    };
    let report = tally.finish(unexpected);
    match args.format {
        Format::Json => println!("{:#}", report.json()),
        Format::Junit => print!("{}", report.junit()),
        Format::Human | Format::Github => print!("{}", report.human()),
    }
    Ok(loaded
        .and(totals.outcome)
        .and(Outcome::failures_if(!report.run_passed())))
}

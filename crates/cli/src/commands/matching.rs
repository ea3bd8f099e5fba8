//! `ruleproof match`: evaluate a rule set against events with the rule-set index, on all cores,
//! printing one JSON line per match in input order.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use ruleproof_backtest::correlate;
use ruleproof_backtest::correlate::CorpusCorrelator;
use ruleproof_backtest::events::Unit;
use ruleproof_backtest::run::Item;
use ruleproof_sigma::correlation::{
    CorrelationSet, EngineOptions, Evaluation, Realert, Timespan, TimestampFields,
};

use super::backtest::{CorpusArgs, load_index, run_corpus, set_threads};
use super::{PipelineArgs, PlaceholderArgs};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Rule files or directories.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    corpus: CorpusArgs,
    #[command(flatten)]
    correlation: CorrelationArgs,
    #[command(flatten)]
    placeholders: PlaceholderArgs,
    #[command(flatten)]
    pipelines: PipelineArgs,
}

/// How correlation rules are evaluated over events (`match`, `explain`).
#[derive(Debug, clap::Args)]
pub struct CorrelationArgs {
    /// The field that holds each event's time (default: the first present of @timestamp,
    /// timestamp, TimeCreated, UtcTime, EventTime, TimeGenerated, _time).
    #[arg(long)]
    timestamp_field: Option<String>,
    /// How far an event may be older than the newest one seen and still be correlated in time
    /// order, e.g. `30s`, `5m`, or `0`.
    #[arg(long, default_value = "5m")]
    lateness: String,
    /// After a correlation fires for a group: `every` later event that keeps the condition true
    /// fires again, or `reset` empties the group's window.
    #[arg(long, value_enum, default_value = "every")]
    realert: RealertArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RealertArg {
    Every,
    Reset,
}

impl CorrelationArgs {
    /// The engine options these arguments ask for.
    pub fn options(&self, trace: bool) -> anyhow::Result<EngineOptions> {
        let lateness_ms = if self.lateness == "0" {
            0
        } else {
            Timespan::parse(&self.lateness)
                .map_err(|e| anyhow::anyhow!("--lateness: {e}"))?
                .millis()
        };
        Ok(EngineOptions {
            timestamps: self
                .timestamp_field
                .as_deref()
                .map_or_else(TimestampFields::default, TimestampFields::only),
            lateness_ms,
            realert: match self.realert {
                RealertArg::Every => Realert::Every,
                RealertArg::Reset => Realert::Reset,
            },
            trace,
        })
    }
}

pub fn run(args: MatchArgs) -> anyhow::Result<Outcome> {
    set_threads(args.corpus.threads)?;
    let (index, loaded, correlations) =
        load_index(&args.rules, &args.placeholders, &args.pipelines)?;
    let set = compile_correlations(&correlations, &index)?;
    let mut correlator = CorpusCorrelator::new(&set, args.correlation.options(false)?);
    let stdout = std::io::stdout();
    let mut out = Printer {
        out: std::io::BufWriter::new(stdout.lock()),
        write_error: None,
        alerts: 0,
        record_files: HashSet::new(),
    };
    let totals = run_corpus(&index, &args.corpus, &mut |file, item| match item {
        Item::Event(matched) => {
            // `event` is the 0-based line index the event's record starts on.
            let event_index = matched.line.saturating_sub(1);
            for &rule in matched.rules {
                if !set.reports_rule(rule) {
                    continue;
                }
                let rule = &index.rules()[rule];
                out.line(&match matched.unit {
                    Unit::Line => serde_json::json!({
                        "file": file,
                        "line": matched.line,
                        "event": event_index,
                        "rule": rule.meta.reference(),
                        "title": rule.meta.title,
                        "level": rule.meta.level,
                    }),
                    Unit::Record => serde_json::json!({
                        "file": file,
                        "record": matched.line,
                        "rule": rule.meta.reference(),
                        "title": rule.meta.title,
                        "level": rule.meta.level,
                    }),
                });
            }
            if matched.unit == Unit::Record && !out.record_files.contains(file) {
                out.record_files.insert(file.to_owned());
            }
            correlator.event(file, &matched, &mut |file, alert| {
                out.alert(&set, file, alert);
            });
        }
        Item::Bad(error) => eprintln!("error: {}", error.located(file)),
    })?;
    correlator.finish(&mut |file, alert| out.alert(&set, file, alert));
    if let Some(e) = out.write_error {
        return Err(e.into());
    }
    out.out.flush()?;
    let skipped = correlator.skipped();
    for line in skipped.lines() {
        eprintln!("warning: {line}");
    }
    let counts = totals.counts;
    eprintln!(
        "{} rules, {} correlations, {} events in {} file(s) ({} unreadable records), {} matches, {} correlation alerts, {} events left out of correlations",
        index.len(),
        set.correlations().len(),
        counts.events,
        totals.files,
        counts.bad_records,
        counts.matches,
        out.alerts,
        skipped.total()
    );
    Ok(loaded
        .and(totals.outcome)
        .and(Outcome::failures_if(counts.bad_records > 0)))
}

/// Compiles the loaded correlations against the index's rules, printing each reference to
/// nothing and each cycle.
///
/// # Errors
/// When any correlation does not compile: alerts of a partial set would mislead.
pub fn compile_correlations(
    correlations: &[ruleproof_sigma::Correlation],
    index: &ruleproof_sigma::ruleset::RuleSetIndex,
) -> anyhow::Result<CorrelationSet> {
    correlate::compile(correlations, index.rules()).or_else(|errors| {
        for error in errors {
            eprintln!("error: {error}");
        }
        bail!("the correlation rules do not compile")
    })
}

/// Writes JSON lines to stdout, keeping the first write error for the end of the run.
struct Printer<W: Write> {
    out: W,
    write_error: Option<std::io::Error>,
    /// Correlation alerts written.
    alerts: usize,
    /// The input files read as native EVTX, whose alerts give the record number.
    record_files: HashSet<String>,
}

impl<W: Write> Printer<W> {
    fn line(&mut self, record: &serde_json::Value) {
        if let Err(e) = writeln!(self.out, "{record}") {
            self.write_error.get_or_insert(e);
        }
    }

    /// Writes an alert of a correlation that is reported (not only a building block of another).
    fn alert(&mut self, set: &CorrelationSet, file: &str, alert: &Evaluation) {
        if set.reports_correlation(alert.correlation) {
            self.alerts += 1;
            let unit = if self.record_files.contains(file) {
                Unit::Record
            } else {
                Unit::Line
            };
            let line = correlate::alert_json(set, alert, file, unit);
            if let Err(e) = writeln!(self.out, "{line}") {
                self.write_error.get_or_insert(e);
            }
        }
    }
}

//! `ruleproof match`: evaluate a rule set against events with the rule-set index, on all cores,
//! printing one JSON line per match in input order.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use ruleproof_backtest::correlate;
use ruleproof_backtest::events::Unit;
use ruleproof_backtest::run::Item;
use ruleproof_sigma::correlation::{
    CorrelationEngine, EngineOptions, Evaluation, Realert, Skipped, Timespan, TimestampFields,
    format_timestamp,
};

use super::backtest::{CorpusArgs, load_index, run_corpus, set_threads};

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
    /// A YAML file mapping placeholder names to lists of values, for rules that use `|expand`.
    #[arg(long)]
    placeholders: Option<PathBuf>,
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

/// Why an event was left out of correlations, as a message.
pub fn skipped_message(why: &Skipped) -> String {
    match why {
        Skipped::NoTimestamp(message) => format!("left out of correlations: {message}"),
        Skipped::Late { time, limit } => format!(
            "left out of correlations: late ({} is before {}, the newest time seen minus the lateness)",
            format_timestamp(*time),
            format_timestamp(*limit)
        ),
    }
}

pub fn run(args: MatchArgs) -> anyhow::Result<Outcome> {
    set_threads(args.corpus.threads)?;
    let (index, loaded, correlations) = load_index(&args.rules, args.placeholders.as_deref())?;
    let set = match correlate::compile(&correlations, index.rules()) {
        Ok(set) => set,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            bail!("the correlation rules do not compile");
        }
    };
    let options = args.correlation.options(false)?;
    let stdout = std::io::stdout();
    let mut out = Printer {
        out: std::io::BufWriter::new(stdout.lock()),
        write_error: None,
        alerts: 0,
    };
    let mut skipped = 0_usize;
    // Each file is its own sequence: its correlation state starts empty (docs/semantics.md).
    let mut current: Option<(String, CorrelationEngine<'_>)> = None;
    let mut evaluations: Vec<Evaluation> = Vec::new();
    let totals = run_corpus(&index, &args.corpus, &mut |file, item| {
        if current.as_ref().is_none_or(|(name, _)| name != file) {
            if let Some((name, mut engine)) = current.take() {
                engine.finish(&mut evaluations);
                out.alerts(&set, &name, &mut evaluations);
            }
            current = Some((
                file.to_owned(),
                CorrelationEngine::new(&set, options.clone()),
            ));
        }
        match item {
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
                if let Some((_, engine)) = current.as_mut()
                    && let Err(why) = engine.push(
                        event_index as u64,
                        matched.event,
                        matched.rules,
                        &mut evaluations,
                    )
                {
                    skipped += 1;
                    eprintln!(
                        "warning: {file}:{}: {}",
                        matched.line,
                        skipped_message(&why)
                    );
                }
                out.alerts(&set, file, &mut evaluations);
            }
            Item::Bad(error) => eprintln!("error: {}", error.located(file)),
        }
    })?;
    if let Some((name, mut engine)) = current.take() {
        engine.finish(&mut evaluations);
        out.alerts(&set, &name, &mut evaluations);
    }
    if let Some(e) = out.write_error {
        return Err(e.into());
    }
    out.out.flush()?;
    let alerts = out.alerts;
    let counts = totals.counts;
    eprintln!(
        "{} rules, {} correlations, {} events in {} file(s) ({} unreadable records), {} matches, {} correlation alerts, {} events left out of correlations",
        index.len(),
        set.correlations().len(),
        counts.events,
        totals.files,
        counts.bad_records,
        counts.matches,
        alerts,
        skipped
    );
    Ok(loaded
        .and(totals.outcome)
        .and(Outcome::failures_if(counts.bad_records > 0)))
}

/// Writes JSON lines to stdout, keeping the first write error for the end of the run.
struct Printer<W: Write> {
    out: W,
    write_error: Option<std::io::Error>,
    /// Correlation alerts written.
    alerts: usize,
}

impl<W: Write> Printer<W> {
    fn line(&mut self, record: &serde_json::Value) {
        if let Err(e) = writeln!(self.out, "{record}") {
            self.write_error.get_or_insert(e);
        }
    }

    /// Writes the alerts among `evaluations` of the correlations that are reported (not only
    /// building blocks of another one), and empties it.
    fn alerts(
        &mut self,
        set: &ruleproof_sigma::correlation::CorrelationSet,
        file: &str,
        evaluations: &mut Vec<Evaluation>,
    ) {
        for alert in evaluations.drain(..) {
            if alert.held && set.reports_correlation(alert.correlation) {
                self.alerts += 1;
                let line = correlate::alert_json(set, &alert, file, alert.event + 1);
                if let Err(e) = writeln!(self.out, "{line}") {
                    self.write_error.get_or_insert(e);
                }
            }
        }
    }
}

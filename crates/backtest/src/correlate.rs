//! Correlation rules over corpora: compiling them against the loaded rules, running them file by
//! file beside the rule-set index ([`CorpusCorrelator`], shared by `match` and `backtest`), the
//! events they left out ([`SkippedSummary`]), and the JSON line of an alert (`ruleproof match`
//! output, documented in `docs/output-formats.md`).

use ruleproof_sigma::correlation::{
    CorrelationEngine, CorrelationSet, EngineOptions, Evaluation, Skipped, format_timestamp,
};
use ruleproof_sigma::{CompiledRule, Correlation, Metadata};
use serde_json::{Value, json};

use crate::events::Unit;
use crate::run::Matched;

/// Compiles the correlations against the rules (indices as in `rules`).
///
/// # Errors
/// Each reference to nothing and each cycle, as a message naming the correlation.
pub fn compile(
    correlations: &[Correlation],
    rules: &[CompiledRule],
) -> Result<CorrelationSet, Vec<String>> {
    let correlations: Vec<&Correlation> = correlations.iter().collect();
    let metas: Vec<&Metadata> = rules.iter().map(|r| &*r.meta).collect();
    CorrelationSet::compile(&correlations, &metas)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// The JSON line of a correlation alert (keys in the documented order). `event` and `events`
/// number events the way the correlator is fed them (the 0-based line index each event's
/// record starts on, or the EVTX record number less one); the position of the event that raised
/// the alert is `line` (its 1-based line) for JSON input and `record` (its EVTX record number)
/// for native EVTX, as base-rule match lines label it.
pub fn alert_json(set: &CorrelationSet, alert: &Evaluation, file: &str, unit: Unit) -> String {
    let correlation = &set.correlations()[alert.correlation];
    let value = if alert.value.fract() == 0.0 && alert.value.abs() < 9e15 {
        json!(alert.value as i64)
    } else {
        json!(alert.value)
    };
    let position = alert.event + 1;
    let line = AlertLine {
        event: alert.event,
        file,
        line: (unit == Unit::Line).then_some(position),
        record: (unit == Unit::Record).then_some(position),
        rule: correlation.meta.reference(),
        title: &correlation.meta.title,
        level: correlation.meta.level.as_deref(),
        correlation: AlertCorrelation {
            correlation_type: correlation.correlation_type.as_str(),
            group: Group(&alert.group),
            window_start: format_timestamp(alert.window_start),
            window_end: format_timestamp(alert.window_end),
            value,
            events: &alert.events,
        },
    };
    serde_json::to_string(&line).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct AlertLine<'a> {
    event: u64,
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<u64>,
    rule: &'a str,
    title: &'a str,
    level: Option<&'a str>,
    correlation: AlertCorrelation<'a>,
}

#[derive(serde::Serialize)]
struct AlertCorrelation<'a> {
    #[serde(rename = "type")]
    correlation_type: &'a str,
    group: Group<'a>,
    window_start: String,
    window_end: String,
    value: Value,
    events: &'a [u64],
}

/// Group-by names with their values, as a JSON object in the order of `group-by`.
struct Group<'a>(&'a [(String, String)]);

impl serde::Serialize for Group<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Why events were left out of correlations over a whole run, counted per reason with the first
/// of each, so a corpus without timestamps gives one line, not one per event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkippedSummary {
    /// Events without a usable timestamp.
    pub no_timestamp: usize,
    /// The first of them: file, 1-based line, and why.
    pub first_no_timestamp: Option<(String, usize, String)>,
    /// Events older than the newest one seen minus the lateness.
    pub late: usize,
    /// The first of them: file, 1-based line, and why.
    pub first_late: Option<(String, usize, String)>,
}

impl SkippedSummary {
    /// Events left out, for either reason.
    pub fn total(&self) -> usize {
        self.no_timestamp + self.late
    }

    fn add(&mut self, file: &str, line: usize, why: &Skipped) {
        let (count, first) = match why {
            Skipped::NoTimestamp(_) => (&mut self.no_timestamp, &mut self.first_no_timestamp),
            Skipped::Late { .. } => (&mut self.late, &mut self.first_late),
        };
        *count += 1;
        first.get_or_insert_with(|| (file.to_owned(), line, why.to_string()));
    }

    /// One line per reason that occurred, e.g. `3 event(s) left out of correlations for lack of a
    /// timestamp (first: a.jsonl:2: no timestamp: …)`; empty when nothing was left out.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (count, first, reason) in [
            (
                self.no_timestamp,
                &self.first_no_timestamp,
                "for lack of a usable timestamp",
            ),
            (
                self.late,
                &self.first_late,
                "as later than --lateness allows",
            ),
        ] {
            if let Some((file, line, why)) = first {
                lines.push(format!(
                    "{count} event(s) left out of correlations {reason} (first: {file}:{line}: {why})"
                ));
            }
        }
        lines
    }
}

/// Correlations over a corpus: each file is its own sequence (its correlation state starts
/// empty, `docs/semantics.md`), events go to the file's engine as they are matched, and alerts
/// come back through a callback with the file they were raised in.
pub struct CorpusCorrelator<'a> {
    set: &'a CorrelationSet,
    options: EngineOptions,
    current: Option<(String, CorrelationEngine<'a>)>,
    evaluations: Vec<Evaluation>,
    skipped: SkippedSummary,
}

impl<'a> CorpusCorrelator<'a> {
    /// A correlator with no file started.
    pub fn new(set: &'a CorrelationSet, options: EngineOptions) -> CorpusCorrelator<'a> {
        CorpusCorrelator {
            set,
            options,
            current: None,
            evaluations: Vec::new(),
            skipped: SkippedSummary::default(),
        }
    }

    /// Feeds one matched event of `file` (a new file name finishes the previous file first).
    /// `alert` gets every evaluation whose condition held, with the file it belongs to; whether
    /// it is reported on its own is [`CorrelationSet::reports_correlation`]. The event is
    /// numbered like base-rule matches of `match`: the 0-based line its record starts on.
    pub fn event(
        &mut self,
        file: &str,
        matched: &Matched<'_>,
        alert: &mut dyn FnMut(&str, &Evaluation),
    ) {
        if self.set.is_empty() {
            return;
        }
        if self.current.as_ref().is_none_or(|(name, _)| name != file) {
            self.finish(alert);
            self.current = Some((
                file.to_owned(),
                CorrelationEngine::new(self.set, self.options.clone()),
            ));
        }
        let Some((_, engine)) = self.current.as_mut() else {
            return;
        };
        let index = matched.line.saturating_sub(1) as u64;
        if let Err(why) = engine.push(index, matched.event, matched.rules, &mut self.evaluations) {
            self.skipped.add(file, matched.line, &why);
        }
        for evaluation in self.evaluations.drain(..).filter(|e| e.held) {
            alert(file, &evaluation);
        }
    }

    /// Evaluates what the current file's engine still holds (the end of a file or of the run).
    pub fn finish(&mut self, alert: &mut dyn FnMut(&str, &Evaluation)) {
        if let Some((name, mut engine)) = self.current.take() {
            engine.finish(&mut self.evaluations);
            for evaluation in self.evaluations.drain(..).filter(|e| e.held) {
                alert(&name, &evaluation);
            }
        }
    }

    /// The events left out so far.
    pub fn skipped(&self) -> &SkippedSummary {
        &self.skipped
    }
}

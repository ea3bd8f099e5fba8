//! Evaluating a [`CorrelationSet`] over one stream of events: timestamps read once per event,
//! observations reordered within a bounded lateness, one sliding window per correlation and
//! group, alerts at the event that makes a condition true, and chains fed by those alerts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::definition::{CorrelationType, number_text};
use super::set::CorrelationSet;
use super::timestamp::TimestampFields;
use super::window::{Entry, EntryValue, EventRefs, GroupWindow};
use crate::event::{Event, as_number, with_scalar_text};
use crate::fold::fold_case;

/// What happens after a correlation fires for a group, while later events keep its condition
/// true in the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Realert {
    /// Every event that leaves the condition true raises another alert: each new window end is
    /// a new window (rsigma's default, and what a query over every sliding window returns).
    #[default]
    Every,
    /// The group's window is emptied after an alert, so the condition must be met again by new
    /// events before the next alert.
    Reset,
}

/// How a stream is evaluated.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Which event fields hold the time, and how they are read.
    pub timestamps: TimestampFields,
    /// How far (ms) an event may be older than the newest one seen and still be evaluated in
    /// time order. Observations wait this long before they are evaluated; older ones are late.
    pub lateness_ms: i64,
    /// What happens to a group's window after it raises an alert.
    pub realert: Realert,
    /// Also return the evaluations whose condition did not hold (for `explain`).
    pub trace: bool,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            timestamps: TimestampFields::default(),
            lateness_ms: DEFAULT_LATENESS_MS,
            realert: Realert::Every,
            trace: false,
        }
    }
}

/// Five minutes: more than the disorder of a log shipper's batches, small enough that little
/// waits in memory.
pub const DEFAULT_LATENESS_MS: i64 = 5 * 60 * 1000;

/// One evaluation of a correlation's condition for a group, after an observation entered its
/// window. Without tracing, only those whose condition held (the alerts) are returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Index of the correlation in the set.
    pub correlation: usize,
    /// Index (in the stream) of the event whose observation was evaluated.
    pub event: u64,
    /// The group-by names with the group's values as first seen.
    pub group: Vec<(String, String)>,
    /// The window, in ms since the epoch: `[window_end - timespan, window_end]`.
    pub window_start: i64,
    /// The window's end: the time of the evaluated observation.
    pub window_end: i64,
    /// The aggregated value compared with the condition (a count, a sum, …).
    pub value: f64,
    /// Whether the condition held: this evaluation is an alert.
    pub held: bool,
    /// Indices of the events in the window that contribute, in time order.
    pub events: Vec<u64>,
}

impl Evaluation {
    /// The value as JSON writes numbers: integers without a fraction.
    pub fn value_text(&self) -> String {
        number_text(self.value)
    }
}

/// Why an event was left out of correlations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skipped {
    /// No usable timestamp (the message names the fields tried or the bad value).
    NoTimestamp(String),
    /// Older than the newest event seen minus the lateness (`limit`, ms since the epoch).
    Late {
        /// The event's time, ms since the epoch.
        time: i64,
        /// The oldest time still accepted, ms since the epoch.
        limit: i64,
    },
}

/// Why, in words: the timestamp problem as the reader found it, or `late (T is before L, the
/// newest time seen minus the lateness)`.
impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::NoTimestamp(message) => f.write_str(message),
            Skipped::Late { time, limit } => write!(
                f,
                "late ({} is before {}, the newest time seen minus the lateness)",
                super::timestamp::format_timestamp(*time),
                super::timestamp::format_timestamp(*limit)
            ),
        }
    }
}

/// An observation waiting in the reorder buffer: what one event contributes to one correlation.
#[derive(Debug)]
struct Observation {
    time: i64,
    sequence: u64,
    correlation: usize,
    slot: usize,
    key: Box<[String]>,
    display: Arc<[String]>,
    value: EntryValue,
    events: EventRefs,
    event: u64,
}

/// The evaluation state of one stream. Memory holds only the windows' entries: a group's window
/// is pruned when it is evaluated, and every timespan all groups are swept, so a group whose
/// newest entry left its window is dropped.
pub struct CorrelationEngine<'a> {
    set: &'a CorrelationSet,
    options: EngineOptions,
    windows: Vec<HashMap<Box<[String]>, GroupWindow>>,
    pending: BinaryHeap<Reverse<(i64, u64)>>,
    waiting: HashMap<u64, Observation>,
    sequence: u64,
    /// The newest time seen.
    watermark: i64,
    next_sweep: i64,
}

impl<'a> CorrelationEngine<'a> {
    /// An engine with empty windows for every correlation of `set`.
    pub fn new(set: &'a CorrelationSet, options: EngineOptions) -> CorrelationEngine<'a> {
        CorrelationEngine {
            set,
            options,
            windows: (0..set.correlations.len())
                .map(|_| HashMap::new())
                .collect(),
            pending: BinaryHeap::new(),
            waiting: HashMap::new(),
            sequence: 0,
            watermark: i64::MIN,
            next_sweep: i64::MIN,
        }
    }

    /// Feeds event `index` of the stream, which matched the detection rules `matched` (indices
    /// as given to [`CorrelationSet::compile`]). Evaluations that became due are appended to `out`.
    ///
    /// # Errors
    /// Why the event was left out of correlations: no usable timestamp, or too late. An event
    /// that feeds no correlation is never an error, whatever its timestamp.
    pub fn push<E: Event + ?Sized>(
        &mut self,
        index: u64,
        event: &E,
        matched: &[usize],
        out: &mut Vec<Evaluation>,
    ) -> Result<(), Skipped> {
        if !matched.iter().any(|r| self.set.uses_rule(*r)) {
            return Ok(());
        }
        let time = self
            .options
            .timestamps
            .read(event)
            .map_err(Skipped::NoTimestamp)?;
        // An event older than the newest one seen minus the lateness is late, even if nothing
        // after it was evaluated yet: the rule is simple to state and to predict.
        let limit = self.watermark.saturating_sub(self.options.lateness_ms);
        if time < limit {
            return Err(Skipped::Late { time, limit });
        }
        for rule in matched {
            let Some(consumers) = self.set.rule_consumers.get(*rule) else {
                continue;
            };
            for &(correlation, slot) in consumers {
                if let Some(observation) = self.observe(correlation, slot, time, index, event) {
                    self.wait(observation);
                }
            }
        }
        self.watermark = self.watermark.max(time);
        self.release(self.watermark.saturating_sub(self.options.lateness_ms), out);
        Ok(())
    }

    /// Evaluates everything still waiting: the end of the stream.
    pub fn finish(&mut self, out: &mut Vec<Evaluation>) {
        self.release(i64::MAX, out);
    }

    /// How many groups hold state, over all correlations (for tests of bounded memory).
    pub fn live_groups(&self) -> usize {
        self.windows.iter().map(HashMap::len).sum()
    }

    fn wait(&mut self, mut observation: Observation) {
        observation.sequence = self.sequence;
        self.sequence += 1;
        self.pending
            .push(Reverse((observation.time, observation.sequence)));
        self.waiting.insert(observation.sequence, observation);
    }

    /// What an event contributes to one correlation through one of its `rules:` entries, or
    /// `None` when it lacks a group-by field or the value the correlation aggregates.
    fn observe<E: Event + ?Sized>(
        &self,
        correlation: usize,
        slot: usize,
        time: i64,
        index: u64,
        event: &E,
    ) -> Option<Observation> {
        let compiled = &self.set.correlations[correlation];
        let mut key = Vec::with_capacity(compiled.group_by.len());
        let mut display = Vec::with_capacity(compiled.group_by.len());
        for field in &compiled.group_fields[slot] {
            // pySigma's backends group with `by`/`stats … by`, which leave out events that lack
            // a group-by field; we do the same.
            let text = with_scalar_text(event.field(field)?, str::to_owned)?;
            key.push(fold_case(&text));
            display.push(text);
        }
        let value = match compiled.correlation_type {
            CorrelationType::EventCount
            | CorrelationType::Temporal
            | CorrelationType::TemporalOrdered => EntryValue::None,
            CorrelationType::ValueCount => {
                let mut parts = Vec::with_capacity(compiled.value_fields.len());
                for field in &compiled.value_fields {
                    parts.push(with_scalar_text(event.field(field)?, fold_case)?);
                }
                EntryValue::Text(parts.join("\u{1f}").into())
            }
            CorrelationType::ValuePercentile if compiled.condition.percentile.is_none() => {
                EntryValue::Text(
                    with_scalar_text(event.field(&compiled.value_fields[0])?, fold_case)?.into(),
                )
            }
            CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
            | CorrelationType::ValueMedian => {
                EntryValue::Number(as_number(event.field(&compiled.value_fields[0])?)?)
            }
        };
        Some(Observation {
            time,
            sequence: 0,
            correlation,
            slot,
            key: key.into(),
            display: display.into(),
            value,
            events: EventRefs::One(index),
            event: index,
        })
    }

    /// Evaluates, in time order, every waiting observation at or before `until`.
    fn release(&mut self, until: i64, out: &mut Vec<Evaluation>) {
        while let Some(Reverse((time, sequence))) = self.pending.peek().copied() {
            if time > until {
                break;
            }
            self.pending.pop();
            let Some(observation) = self.waiting.remove(&sequence) else {
                continue;
            };
            self.sweep(time);
            self.evaluate(observation, out);
        }
    }

    /// Every timespan of the longest correlation, drops the groups whose newest entry has left
    /// its window, so state stays bounded by the events inside the windows.
    fn sweep(&mut self, now: i64) {
        if now < self.next_sweep {
            return;
        }
        let mut longest = 0;
        for (windows, compiled) in self.windows.iter_mut().zip(&self.set.correlations) {
            let from = now.saturating_sub(compiled.timespan_ms);
            windows.retain(|_, w| w.newest().is_some_and(|n| n >= from));
            longest = longest.max(compiled.timespan_ms);
        }
        self.next_sweep = now.saturating_add(longest.max(1));
    }

    fn evaluate(&mut self, observation: Observation, out: &mut Vec<Evaluation>) {
        let set = self.set;
        let compiled = &set.correlations[observation.correlation];
        let window_start = observation.time.saturating_sub(compiled.timespan_ms);
        let slots = compiled.sources.len();
        let group = self.windows[observation.correlation]
            .entry(observation.key)
            .or_insert_with(|| GroupWindow::new(observation.display, slots));
        group.prune(window_start);
        group.push(Entry {
            time: observation.time,
            slot: observation.slot,
            value: observation.value,
            events: observation.events,
        });
        let (value, used) =
            group.aggregate(compiled.correlation_type, compiled.condition.percentile);
        let held = compiled.condition.holds(value);
        if !held && !self.options.trace {
            return;
        }
        let mut events = Vec::new();
        for i in used {
            group.entries[i].events.extend_into(&mut events);
        }
        events.sort_unstable();
        events.dedup();
        let evaluation = Evaluation {
            correlation: observation.correlation,
            event: observation.event,
            group: compiled
                .group_by
                .iter()
                .cloned()
                .zip(group.display.iter().cloned())
                .collect(),
            window_start,
            window_end: observation.time,
            value,
            held,
            events,
        };
        if held && self.options.realert == Realert::Reset {
            group.clear();
        }
        if held {
            self.chain(&evaluation, observation.time, out);
        }
        out.push(evaluation);
    }

    /// Feeds an alert to the correlations built on this one, as an event at the alert's time
    /// whose fields are the alert's group values.
    fn chain(&mut self, alert: &Evaluation, time: i64, out: &mut Vec<Evaluation>) {
        let set = self.set;
        let consumers = &set.chain_consumers[alert.correlation];
        if consumers.is_empty() {
            return;
        }
        let fields: Map<String, Value> = alert
            .group
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let events: Arc<[u64]> = alert.events.clone().into();
        for &(correlation, slot) in consumers {
            if let Some(mut observation) =
                self.observe(correlation, slot, time, alert.event, &fields)
            {
                observation.events = EventRefs::Many(events.clone());
                // The alert's time is the current time of the stream, so it is evaluated now,
                // in order, rather than waiting.
                self.evaluate(observation, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocumentBody, load_source};
    use crate::source::SourceFile;
    use crate::yaml::Limits;

    /// Groups whose newest entry left the window are dropped, so state does not grow with the
    /// number of distinct groups over time, only with those inside the window.
    #[test]
    fn state_is_pruned_when_groups_leave_the_window() {
        let text = "title: c\ncorrelation:\n    type: event_count\n    rules: [r]\n    group-by: [User]\n    timespan: 1m\n    condition: {gte: 1000}\n---\ntitle: r\nname: r\nlogsource: {product: test}\ndetection:\n    selection: {EventID: 1}\n    condition: selection\n";
        let loaded = load_source(
            SourceFile::new("c.yml", text.to_owned()),
            &Limits::default(),
        );
        let DocumentBody::Correlation(correlation) = &loaded.documents[0].body else {
            panic!("{:?}", loaded.errors);
        };
        let rule = loaded.documents[1].meta();
        let set = CorrelationSet::compile(&[correlation], &[rule]).unwrap();
        let options = EngineOptions {
            lateness_ms: 0,
            ..EngineOptions::default()
        };
        let mut engine = CorrelationEngine::new(&set, options);
        let mut out = Vec::new();
        let mut most = 0;
        for i in 0..10_000_u64 {
            // One new user per second: at most about 60 are inside a one-minute window.
            let event = serde_json::json!({"_time": 1_714_557_600 + i, "User": format!("u{i}")});
            engine.push(i, &event, &[0], &mut out).unwrap();
            most = most.max(engine.live_groups());
        }
        assert!(out.is_empty());
        assert!(most <= 2 * 61, "{most} groups held at once");
    }
}

//! Matching a corpus with the rule-set index on all cores: records are split sequentially,
//! parsed and matched in parallel chunks, and handed on in input order.

use rayon::prelude::*;
use ruleproof_sigma::ruleset::{Route, RuleSetIndex};
use serde_json::Value;

use crate::events::{EventError, EventSource, RawRecord, RecordError, Unit, parse_record};

/// Records parsed and matched per parallel batch: enough to keep every core busy, few enough
/// that memory stays small.
const CHUNK: usize = 4096;

/// One event of the input and the rules it matches.
#[derive(Debug)]
pub struct Matched<'a> {
    /// The event's position in its input, counting from 0.
    pub number: usize,
    /// The 1-based line its record starts on, or its EVTX record number (see `unit`).
    pub line: usize,
    /// What `line` counts.
    pub unit: Unit,
    /// The event itself, EVTX shapes flattened (see [`crate::events::flatten_evtx`]).
    pub event: &'a Value,
    /// Indices into the index's rules, in rule order.
    pub rules: &'a [usize],
}

/// What the sink is handed, in input order.
#[derive(Debug)]
pub enum Item<'a> {
    /// An event and the rules it matches (possibly none).
    Event(Matched<'a>),
    /// A record that is not an event; counted in [`Counts::bad_records`], and the run goes on.
    Bad(&'a RecordError),
}

/// Totals for one input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events read (an array record counts each of its objects).
    pub events: usize,
    /// Records that were not events (invalid JSON, not objects, too long).
    pub bad_records: usize,
    /// Matches: (event, rule) pairs, so one event matching three rules counts three.
    pub matches: usize,
}

type Outcome = Result<Vec<(Value, Vec<usize>)>, RecordError>;

/// Runs the index over every event of `source`, calling `progress` with the bytes read so far
/// after each batch and `sink` for every event (and every unreadable record) in input order.
/// `route`, when given, restricts matching to the rules of one log source.
///
/// # Errors
/// An [`EventError`] when the input cannot be read any further; events already handed to `sink`
/// stay handed.
pub fn run_source(
    index: &RuleSetIndex,
    source: EventSource,
    route: Option<&Route>,
    progress: &mut dyn FnMut(u64),
    sink: &mut dyn FnMut(Item<'_>),
) -> Result<Counts, EventError> {
    let unit = source.unit();
    let mut records = source.records();
    let mut counts = Counts::default();
    let mut batch: Vec<Result<RawRecord, RecordError>> = Vec::with_capacity(CHUNK);
    // Kept for the whole corpus, so each thread's memo of values stays warm across batches.
    let scratches = index.scratch_pool();
    loop {
        batch.clear();
        for record in records.by_ref() {
            batch.push(record?);
            if batch.len() == CHUNK {
                break;
            }
        }
        if batch.is_empty() {
            return Ok(counts);
        }
        let outcomes: Vec<Outcome> = batch
            .par_iter()
            .with_min_len(64)
            .map(|record| {
                let record = record.as_ref().map_err(Clone::clone)?;
                let events = parse_record(record)?;
                Ok(scratches.with(|scratch| {
                    events
                        .into_iter()
                        .map(|event| {
                            let mut rules = Vec::new();
                            index.matching_rules_into(&event, route, scratch, &mut rules);
                            (event, rules)
                        })
                        .collect()
                }))
            })
            .collect();
        for (record, outcome) in batch.iter().zip(&outcomes) {
            match outcome {
                Ok(events) => {
                    let line = record.as_ref().map_or(0, |r| r.line);
                    for (event, rules) in events {
                        counts.matches += rules.len();
                        sink(Item::Event(Matched {
                            number: counts.events,
                            line,
                            unit,
                            event,
                            rules,
                        }));
                        counts.events += 1;
                    }
                }
                Err(error) => {
                    counts.bad_records += 1;
                    sink(Item::Bad(error));
                }
            }
        }
        progress(records.bytes_read());
    }
}

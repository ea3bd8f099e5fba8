//! The sliding window of one group of one correlation: the entries inside the timespan, kept in
//! time order, with running aggregates so that adding and pruning an entry costs O(1) (the
//! percentile types sort the window's values when they are evaluated).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::definition::CorrelationType;

/// The events behind one window entry: one base event, or the contributing events of an alert
/// of a correlation this one builds on.
#[derive(Clone, Debug)]
pub(crate) enum EventRefs {
    One(u64),
    Many(Arc<[u64]>),
}

impl EventRefs {
    pub(crate) fn extend_into(&self, out: &mut Vec<u64>) {
        match self {
            EventRefs::One(i) => out.push(*i),
            EventRefs::Many(all) => out.extend_from_slice(all),
        }
    }
}

/// The value an entry contributes: nothing (counting types), a folded text (`value_count`), or
/// a number (`value_sum`, `value_avg`, `value_percentile`, `value_median`).
#[derive(Clone, Debug)]
pub(crate) enum EntryValue {
    None,
    Text(Box<str>),
    Number(f64),
}

/// One observation in a window.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) time: i64,
    /// Which `rules:` entry of the correlation the observation came from.
    pub(crate) slot: usize,
    pub(crate) value: EntryValue,
    pub(crate) events: EventRefs,
}

/// The state of one group: its entries inside the window and running aggregates over them.
#[derive(Debug)]
pub(crate) struct GroupWindow {
    /// The group values as first seen (not folded), for output.
    pub(crate) display: Arc<[String]>,
    pub(crate) entries: VecDeque<Entry>,
    /// `value_count`: how many entries hold each distinct folded value.
    distinct: HashMap<Box<str>, usize>,
    /// Numeric types: the sum of the entries' numbers.
    sum: f64,
    /// Temporal types: how many entries came from each `rules:` entry.
    per_slot: Vec<usize>,
}

impl GroupWindow {
    pub(crate) fn new(display: Arc<[String]>, slots: usize) -> GroupWindow {
        GroupWindow {
            display,
            entries: VecDeque::new(),
            distinct: HashMap::new(),
            sum: 0.0,
            per_slot: vec![0; slots],
        }
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        match &entry.value {
            EntryValue::Text(t) => *self.distinct.entry(t.clone()).or_default() += 1,
            EntryValue::Number(n) => self.sum += n,
            EntryValue::None => {}
        }
        self.per_slot[entry.slot] += 1;
        self.entries.push_back(entry);
    }

    /// Drops the entries older than `from` (the window's start, inclusive).
    pub(crate) fn prune(&mut self, from: i64) {
        while self.entries.front().is_some_and(|e| e.time < from) {
            let Some(entry) = self.entries.pop_front() else {
                break;
            };
            match &entry.value {
                EntryValue::Text(t) => {
                    if let Some(count) = self.distinct.get_mut(t) {
                        *count -= 1;
                        if *count == 0 {
                            self.distinct.remove(t);
                        }
                    }
                }
                EntryValue::Number(n) => self.sum -= n,
                EntryValue::None => {}
            }
            self.per_slot[entry.slot] -= 1;
        }
        if self.entries.is_empty() {
            // Floating-point sums drift as numbers come and go; an empty window restarts at 0.
            self.sum = 0.0;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.distinct.clear();
        self.sum = 0.0;
        self.per_slot.fill(0);
    }

    /// The newest entry's time, or `None` for an empty window.
    pub(crate) fn newest(&self) -> Option<i64> {
        self.entries.back().map(|e| e.time)
    }

    /// The aggregated value the condition is compared with, and the entries that contribute.
    /// `current` is the value of the entry just added (`value_percentile` without `percentile`
    /// measures how rare it is).
    pub(crate) fn aggregate(
        &self,
        correlation_type: CorrelationType,
        percentile: Option<f64>,
    ) -> (f64, Vec<usize>) {
        let all = || (0..self.entries.len()).collect::<Vec<_>>();
        match correlation_type {
            CorrelationType::EventCount => (self.entries.len() as f64, all()),
            CorrelationType::ValueCount => (self.distinct.len() as f64, all()),
            CorrelationType::Temporal => (
                self.per_slot.iter().filter(|c| **c > 0).count() as f64,
                all(),
            ),
            CorrelationType::TemporalOrdered => self.ordered(),
            CorrelationType::ValueSum => (self.sum, all()),
            CorrelationType::ValueAvg => (self.sum / self.entries.len().max(1) as f64, all()),
            CorrelationType::ValueMedian => (self.percentile(50.0), all()),
            CorrelationType::ValuePercentile => match percentile {
                Some(p) => (self.percentile(p), all()),
                None => (self.share_of_newest(), all()),
            },
        }
    }

    /// `temporal_ordered`: how many of the `rules:` entries occur in the order written, each
    /// after the previous one (equal times keep input order), found greedily from the window's
    /// start (the earliest possible occurrence of each leaves the most room for the next).
    fn ordered(&self) -> (f64, Vec<usize>) {
        let mut next = 0;
        let mut used = Vec::new();
        for (index, entry) in self.entries.iter().enumerate() {
            if next < self.per_slot.len() && entry.slot == next {
                used.push(index);
                next += 1;
            }
        }
        (next as f64, used)
    }

    /// The `p`th percentile of the window's numbers, interpolating linearly between the closest
    /// ranks (the method of numpy's default and of Splunk's `exactperc`).
    fn percentile(&self, p: f64) -> f64 {
        let mut numbers: Vec<f64> = self
            .entries
            .iter()
            .filter_map(|e| match e.value {
                EntryValue::Number(n) => Some(n),
                _ => None,
            })
            .collect();
        if numbers.is_empty() {
            return 0.0;
        }
        numbers.sort_by(f64::total_cmp);
        let rank = p / 100.0 * (numbers.len() - 1) as f64;
        let low = rank.floor() as usize;
        let high = rank.ceil() as usize;
        numbers[low] + (numbers[high] - numbers[low]) * (rank - low as f64)
    }

    /// The specification's reading of `value_percentile` without a `percentile` key: the share,
    /// in percent, of the window's entries whose value equals the newest entry's value.
    fn share_of_newest(&self) -> f64 {
        let Some(Entry {
            value: EntryValue::Text(newest),
            ..
        }) = self.entries.back()
        else {
            return 0.0;
        };
        let same = self.distinct.get(newest).copied().unwrap_or(0);
        100.0 * same as f64 / self.entries.len().max(1) as f64
    }
}

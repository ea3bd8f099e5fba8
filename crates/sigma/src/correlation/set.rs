//! A set of correlations compiled against the detection rules they refer to: references
//! (by id or name, to rules or to other correlations) resolved once, aliases turned into the
//! field each referenced rule's events are read by, and chains ordered.

use std::sync::Arc;

use thiserror::Error;

use super::definition::{CorrelationCondition, CorrelationType};
use crate::document::{Correlation, Metadata};
use crate::event::FieldPath;
use crate::source::Span;

/// What a `rules:` entry of a correlation refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The detection rule at this index of the rules the set was compiled with.
    Rule(usize),
    /// The correlation at this index of the set.
    Correlation(usize),
}

/// One correlation, ready to evaluate.
#[derive(Debug)]
pub struct CompiledCorrelation {
    /// The correlation's metadata, shared with the alerts it raises.
    pub meta: Arc<Metadata>,
    /// Its `type:`.
    pub correlation_type: CorrelationType,
    /// Its `timespan:` in milliseconds.
    pub timespan_ms: i64,
    /// Its `timespan:` as written (`5m`), for messages.
    pub timespan_text: String,
    /// Its `condition:`.
    pub condition: CorrelationCondition,
    /// The `group-by` names as written (aliases included): the keys of an alert's group.
    pub group_by: Vec<String>,
    /// The `rules:` entries, resolved, in the order written (`temporal_ordered` uses it).
    pub sources: Vec<Source>,
    /// The references as written, parallel to `sources`.
    pub references: Vec<String>,
    /// Per source, the field each `group-by` name is read from (an alias resolved, or the name).
    pub(crate) group_fields: Vec<Vec<FieldPath>>,
    /// The value fields of `condition.field`.
    pub(crate) value_fields: Vec<FieldPath>,
    /// Its `generate:`: whether the rules it references also alert on their own.
    pub generate: bool,
}

/// Why a set of correlations cannot be compiled.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CorrelationSetError {
    /// A `rules:` entry names no rule and no correlation.
    #[error("correlation `{correlation}` refers to `{reference}`, which is no rule or correlation")]
    UnknownReference {
        /// The reference of the correlation that holds the entry.
        correlation: String,
        /// The entry as written.
        reference: String,
        /// Where the entry is written (in the correlation's file).
        span: Span,
    },
    /// Correlations that refer to each other in a cycle can never be evaluated.
    #[error("correlation `{correlation}` refers to itself through a chain of correlations")]
    /// A correlation that reaches itself through its `rules:`.
    Cycle {
        /// The reference of a correlation on the cycle.
        correlation: String,
    },
}

/// Correlations compiled together, with the routes from rule matches and correlation alerts to
/// the correlations that consume them.
#[derive(Debug, Default)]
pub struct CorrelationSet {
    pub(crate) correlations: Vec<CompiledCorrelation>,
    /// Per detection rule index, the (correlation, source slot) pairs it feeds.
    pub(crate) rule_consumers: Vec<Vec<(usize, usize)>>,
    /// Per correlation index, the (correlation, source slot) pairs its alerts feed.
    pub(crate) chain_consumers: Vec<Vec<(usize, usize)>>,
}

impl CorrelationSet {
    /// Compiles correlations against the detection rules they may name. `rules[i]` is rule `i`
    /// in every later [`Source::Rule`] and in the matches given to the engine.
    ///
    /// # Errors
    /// Every reference that resolves to nothing, and every cycle.
    pub fn compile(
        correlations: &[&Correlation],
        rules: &[&Metadata],
    ) -> Result<CorrelationSet, Vec<CorrelationSetError>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        for correlation in correlations {
            let mut sources = Vec::new();
            for (reference, span) in &correlation.rules {
                // Correlations first: a chain names the correlation it builds on.
                let found = correlations
                    .iter()
                    .position(|c| c.meta.is_named(reference))
                    .map(Source::Correlation)
                    .or_else(|| {
                        rules
                            .iter()
                            .position(|r| r.is_named(reference))
                            .map(Source::Rule)
                    });
                match found {
                    Some(source) => sources.push(source),
                    None => errors.push(CorrelationSetError::UnknownReference {
                        correlation: correlation.meta.reference().to_owned(),
                        reference: reference.clone(),
                        span: *span,
                    }),
                }
            }
            if sources.len() != correlation.rules.len() {
                continue;
            }
            let source_meta = |source: &Source| -> &Metadata {
                match source {
                    Source::Rule(i) => rules[*i],
                    Source::Correlation(i) => &correlations[*i].meta,
                }
            };
            let group_fields = sources
                .iter()
                .map(|source| {
                    let meta = source_meta(source);
                    correlation
                        .group_by
                        .iter()
                        .map(|name| {
                            let field = correlation
                                .aliases
                                .get(name)
                                .and_then(|per_rule| {
                                    per_rule
                                        .iter()
                                        .find(|(rule, _)| meta.is_named(rule))
                                        .map(|(_, field)| field.as_str())
                                })
                                .unwrap_or(name);
                            FieldPath::new(field)
                        })
                        .collect()
                })
                .collect();
            compiled.push(CompiledCorrelation {
                meta: Arc::new(correlation.meta.clone()),
                correlation_type: correlation.correlation_type,
                timespan_ms: correlation.timespan.millis(),
                timespan_text: correlation.timespan.text.clone(),
                condition: correlation.condition.clone(),
                group_by: correlation.group_by.clone(),
                sources,
                references: correlation.rules.iter().map(|(r, _)| r.clone()).collect(),
                group_fields,
                value_fields: correlation
                    .condition
                    .fields
                    .iter()
                    .map(|f| FieldPath::new(f))
                    .collect(),
                generate: correlation.generate,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut set = CorrelationSet {
            rule_consumers: vec![Vec::new(); rules.len()],
            chain_consumers: vec![Vec::new(); compiled.len()],
            correlations: compiled,
        };
        for (index, correlation) in set.correlations.iter().enumerate() {
            for (slot, source) in correlation.sources.iter().enumerate() {
                match source {
                    Source::Rule(r) => set.rule_consumers[*r].push((index, slot)),
                    Source::Correlation(c) => set.chain_consumers[*c].push((index, slot)),
                }
            }
        }
        let cycles = set.cycles();
        if !cycles.is_empty() {
            return Err(cycles);
        }
        Ok(set)
    }

    fn cycles(&self) -> Vec<CorrelationSetError> {
        // A correlation is in a cycle when following its sources leads back to it.
        let mut errors = Vec::new();
        for start in 0..self.correlations.len() {
            let mut stack: Vec<usize> = self.sources_of(start).collect();
            let mut seen = vec![false; self.correlations.len()];
            while let Some(c) = stack.pop() {
                if c == start {
                    errors.push(CorrelationSetError::Cycle {
                        correlation: self.correlations[start].meta.reference().to_owned(),
                    });
                    break;
                }
                if !std::mem::replace(&mut seen[c], true) {
                    stack.extend(self.sources_of(c));
                }
            }
        }
        errors
    }

    fn sources_of(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.correlations[index]
            .sources
            .iter()
            .filter_map(|s| match s {
                Source::Correlation(c) => Some(*c),
                Source::Rule(_) => None,
            })
    }

    /// The compiled correlations, in the order given.
    pub fn correlations(&self) -> &[CompiledCorrelation] {
        &self.correlations
    }

    /// Whether the set has no correlation.
    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    /// Whether any correlation consumes matches of detection rule `rule`.
    pub fn uses_rule(&self, rule: usize) -> bool {
        self.rule_consumers.get(rule).is_some_and(|c| !c.is_empty())
    }

    /// Whether matches of detection rule `rule` are reported on their own: it feeds no
    /// correlation, or one that feeds it says `generate: true` (specification, "Generate").
    pub fn reports_rule(&self, rule: usize) -> bool {
        self.rule_consumers
            .get(rule)
            .is_none_or(|c| c.iter().any(|(i, _)| self.correlations[*i].generate) || c.is_empty())
    }

    /// Whether alerts of correlation `index` are reported: it feeds no other correlation, or one
    /// that it feeds says `generate: true`.
    pub fn reports_correlation(&self, index: usize) -> bool {
        let consumers = &self.chain_consumers[index];
        consumers.is_empty()
            || consumers
                .iter()
                .any(|(i, _)| self.correlations[*i].generate)
    }
}

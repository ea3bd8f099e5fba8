//! KQL parity for the test runner: a rule's hand-written query (the `.kql` file next to it) is
//! evaluated on the rule's fixtures, mapped into the query's schema by a pipeline; a correlation
//! rule's converted query is run on its sequence cases and must raise the engine's alerts.
//!
//! The adapter between two crates that do not know each other: the runner
//! (`ruleproof-cases`) defines the `KqlParity` trait, the KQL language crate (`ruleproof-kql`)
//! knows only the engine, and this crate implements the one with the other.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::path::PathBuf;

use ruleproof_cases::{
    Diagnostic, KqlAlert, KqlParity, KqlVerdict, LoadedRule, PreparedCorrelationKql, PreparedKql,
    RuleSet,
};
use ruleproof_kql::correlation::read_alerts;
use ruleproof_kql::tabular::{Script, Table};
use ruleproof_kql::{
    ConvertedCorrelation, Query, Reason, builtin_names, builtin_pipeline, convert_correlation_rule,
    fixture_row,
};
use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::correlation::{TimestampFields, format_timestamp};
use ruleproof_sigma::yaml::{Limits, Node, Value as YamlValue};
use ruleproof_sigma::{Correlation, Rule, SourceFile, Span};
use serde_json::{Map, Value};

/// The pipeline used when a test-case file names none.
pub const DEFAULT_PIPELINE: &str = "asim";

/// Finds `<rule>.kql` beside each rule file.
#[derive(Clone, Copy, Debug, Default)]
pub struct SiblingKql;

impl SiblingKql {
    /// The adapter; it holds nothing, each rule's query is read when the rule is prepared.
    pub fn new() -> SiblingKql {
        SiblingKql
    }
}

struct Prepared {
    query: Query,
    pipelines: Pipelines,
    /// What the pipeline did to the rule: the items its fixtures go through.
    processed: Processed,
}

impl KqlParity for SiblingKql {
    fn prepare(
        &self,
        rule: &LoadedRule,
        pipeline: Option<&str>,
    ) -> Option<Result<Box<dyn PreparedKql>, Diagnostic>> {
        let path: PathBuf = rule.path.with_extension("kql");
        if !path.is_file() {
            return None;
        }
        let source =
            match ruleproof_sigma::source::read_source(&path, Limits::default().max_file_bytes) {
                Ok(source) => source,
                Err(e) => {
                    let empty = SourceFile::new(&path, "");
                    return Some(Err(Diagnostic::new(&empty, Span::default(), e.to_string())));
                }
            };
        let query = match Query::parse(source.text()) {
            Ok(query) => query,
            Err(e) => {
                return Some(Err(Diagnostic::new(
                    &source,
                    Span::new(e.span.start, e.span.end),
                    format!("the rule's KQL cannot be evaluated: {}", e.message),
                )));
            }
        };
        let name = pipeline.unwrap_or(DEFAULT_PIPELINE);
        let Some(pipeline) = builtin_pipeline(name) else {
            return Some(Err(Diagnostic::new(
                &source,
                Span::default(),
                format!(
                    "unknown pipeline `{name}` for KQL parity (available: {})",
                    builtin_names().join(", ")
                ),
            )));
        };
        let pipelines = Pipelines::resolve(vec![pipeline]);
        // The shipped pipelines' rule conditions read the log source and the state, never the
        // rule's YAML tree, so an empty one stands for it.
        let node = Node {
            value: YamlValue::Null,
            span: Span::default(),
        };
        let mut processed_rule = rule.rule.clone();
        let processed = match pipelines.process_rule(&mut processed_rule, &node) {
            Ok(processed) => processed,
            Err(errors) => {
                let first = errors.first();
                return Some(Err(Diagnostic::new(
                    &rule.source,
                    first.map_or(Span::default(), |e| e.span),
                    format!(
                        "the {name} pipeline cannot map this rule's fixtures: {}",
                        first.map_or("", |e| e.message.as_str())
                    ),
                )));
            }
        };
        Some(Ok(Box::new(Prepared {
            query,
            pipelines,
            processed,
        })))
    }

    /// The correlation's query converted through the pipeline (a correlation has no
    /// hand-written query to check): `None` when the pipeline maps no table for a rule it
    /// builds on or the correlation has no exact KQL form (`convert` says which); an error for
    /// any other conversion failure.
    fn prepare_correlation(
        &self,
        rules: &RuleSet,
        index: usize,
        pipeline: Option<&str>,
    ) -> Option<Result<Box<dyn PreparedCorrelationKql>, Diagnostic>> {
        let loaded = rules.correlations.get(index)?;
        let name = pipeline.unwrap_or(DEFAULT_PIPELINE);
        let at = loaded
            .correlation
            .rules
            .first()
            .map_or_else(Span::default, |r| r.1);
        let Some(pipeline) = builtin_pipeline(name) else {
            return Some(Err(Diagnostic::new(
                &loaded.source,
                at,
                format!(
                    "unknown pipeline `{name}` for KQL parity (available: {})",
                    builtin_names().join(", ")
                ),
            )));
        };
        let pipelines = Pipelines::resolve(vec![pipeline]);
        let detection: Vec<&Rule> = rules.rules.iter().map(|r| &r.rule).collect();
        let correlations: Vec<&Correlation> =
            rules.correlations.iter().map(|c| &c.correlation).collect();
        let converted = match convert_correlation_rule(
            &loaded.correlation,
            at,
            &detection,
            &correlations,
            &pipelines,
            &rules.options,
        ) {
            Ok(converted) => converted,
            Err(e) if matches!(e.reason, Reason::NoTable | Reason::Unsupported) => return None,
            Err(e) => {
                return Some(Err(Diagnostic::new(
                    &loaded.source,
                    e.span,
                    format!("the correlation's KQL cannot be converted: {}", e.message),
                )));
            }
        };
        match Script::parse(&converted.query) {
            Ok(script) => Some(Ok(Box::new(PreparedCorrelation {
                script,
                converted,
                pipelines,
            }))),
            Err(e) => Some(Err(Diagnostic::new(
                &loaded.source,
                at,
                format!(
                    "the correlation's converted KQL cannot be evaluated: {}",
                    e.message
                ),
            ))),
        }
    }
}

/// A correlation's converted query, parsed once.
struct PreparedCorrelation {
    script: Script,
    /// How each referenced rule was processed: the items a sequence event goes through to
    /// become a row of that rule's table.
    converted: ConvertedCorrelation,
    pipelines: Pipelines,
}

impl PreparedCorrelationKql for PreparedCorrelation {
    fn alerts(&self, events: &[&Value]) -> Result<Vec<KqlAlert>, String> {
        let empty = Map::new();
        // The engine's sequence cases read times from the default timestamp fields.
        let timestamps = TimestampFields::default();
        let events: Vec<(&Map<String, Value>, Option<i64>)> = events
            .iter()
            .map(|e| {
                let record = e.as_object().unwrap_or(&empty);
                (record, timestamps.read(record).ok())
            })
            .collect();
        let mut tables: HashMap<String, Table> = HashMap::new();
        for name in self.script.tables() {
            let rows = events
                .iter()
                .map(|(event, time)| {
                    self.converted
                        .sequence_row(&self.pipelines, &name, event)
                        .map(|row| (row, *time))
                        .map_err(|e| format!("a sequence event cannot be mapped: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let rows: Vec<(&Map<String, Value>, Option<i64>)> =
                rows.iter().map(|(row, time)| (row, *time)).collect();
            let table = Table::of_sequence(&name, &rows);
            tables.insert(name, table);
        }
        let result = self.script.run(&tables).map_err(|e| e.message)?;
        Ok(read_alerts(&result)?
            .into_iter()
            .map(|alert| KqlAlert {
                time: format_timestamp(alert.time),
                group: alert
                    .group
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
                value: alert.value,
            })
            .collect())
    }
}

impl PreparedKql for Prepared {
    fn evaluate(&self, sigma_event: &Value, record: Option<&Value>) -> KqlVerdict {
        let empty = Map::new();
        let mapped;
        let record: &Map<String, Value> = match record.and_then(Value::as_object) {
            Some(record) => record,
            None => {
                match fixture_row(
                    &self.pipelines,
                    &self.processed,
                    self.query.table(),
                    sigma_event.as_object().unwrap_or(&empty),
                ) {
                    Ok(row) => mapped = row,
                    Err(e) => {
                        return KqlVerdict {
                            matched: false,
                            explanation: format!("the fixture cannot be mapped: {e}"),
                        };
                    }
                }
                &mapped
            }
        };
        let explanation = self.query.explain(record);
        KqlVerdict {
            matched: explanation.result,
            explanation: explanation.to_string(),
        }
    }
}

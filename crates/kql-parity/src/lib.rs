//! KQL parity for the test runner: a rule's hand-written query (the `.kql` file next to it) is
//! evaluated on the rule's fixtures, mapped into the query's schema by a pipeline.
//!
//! The adapter between two crates that do not know each other: the runner
//! (`ruleproof-cases`) defines the `KqlParity` trait, the KQL language crate (`ruleproof-kql`)
//! knows only the engine, and this crate implements the one with the other.

#![deny(missing_docs)]

use std::path::PathBuf;

use ruleproof_cases::{Diagnostic, KqlParity, KqlVerdict, LoadedRule, PreparedKql};
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{SourceFile, Span};
use serde_json::{Map, Value};

use ruleproof_kql::{Query, builtin_names, builtin_pipeline, fixture_row};
use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::yaml::{Node, Value as YamlValue};

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

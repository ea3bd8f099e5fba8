//! Local evaluation of the filtering subset of Microsoft Sentinel KQL, and the pipelines that
//! map Sigma log sources and field names onto KQL tables and schemas.
//!
//! A [`Query`] is a table or function name followed by `| where` stages; it is parsed once and
//! then evaluated against records given as JSON objects. Anything outside that subset is
//! refused with a [`KqlError`] that points at the offending bytes. Operator semantics, and the
//! choices made where records differ from Kusto tables, are described in the `ast` module.

#![deny(missing_docs)]

mod ast;
pub mod convert;
pub mod correlation;
mod error;
mod explain;
mod lexer;
mod parser;
mod pipeline;
pub mod replay;
mod schema;
pub mod tabular;

use serde_json::{Map, Value};

use crate::ast::Expr;

pub use convert::{ConvertError, Reason, convert_document, convert_rule};
pub use correlation::{ConvertedCorrelation, convert_correlation, convert_correlation_rule};
pub use error::{KqlError, line_col};
pub use explain::{Explanation, FieldValue};
pub use pipeline::{
    TABLE_STATE, builtin_names, builtin_pipeline, fixture_row, table_of, table_schema,
};
pub use replay::{
    ReplayAlert, ReplayCase, ReplaySequence, correlation_replay_script, replay_script,
};
pub use schema::{ColumnType, SchemaError, TableSchema};

/// A parsed query: the table it reads and the predicates of its `where` stages, with regexes
/// compiled and needles lowercased so that evaluation does no parsing.
#[derive(Clone, Debug)]
pub struct Query {
    text: String,
    table: String,
    stages: Vec<Expr>,
}

impl Query {
    /// Parses `text`, refusing anything the evaluator cannot run.
    pub fn parse(text: &str) -> Result<Query, KqlError> {
        let (tokens, lex_error) = lexer::tokenize(text);
        // The token stream stops where a lexical error starts; a syntax error before that
        // point is reported first, and anything at or after it is the lexical error's doing.
        let parsed = match (parser::parse(tokens), lex_error) {
            (Err(parse_error), Some(lex_error))
                if parse_error.span.start < lex_error.span.start =>
            {
                return Err(parse_error);
            }
            (_, Some(lex_error)) => return Err(lex_error),
            (result, None) => result?,
        };
        Ok(Query {
            text: text.to_owned(),
            table: parsed.table,
            stages: parsed.stages,
        })
    }

    /// The table or function the query reads from.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Whether the record passes every `where` stage: each keeps a row only when its predicate
    /// is `true`, dropping `false` and null alike. A query without stages passes everything.
    pub fn evaluate(&self, record: &Map<String, Value>) -> bool {
        self.stages
            .iter()
            .all(|stage| stage.evaluate(record) == Some(true))
    }

    /// The three-valued value of the query's predicate on `record` (its stages joined by
    /// `and`): `None` is Kusto's `bool(null)`, which `where` drops like `false`.
    pub fn value(&self, record: &Map<String, Value>) -> Option<bool> {
        ast::and(self.stages.iter().map(|stage| stage.evaluate(record)))
    }

    /// The verdict of every predicate on `record`, with the values they saw.
    pub fn explain(&self, record: &Map<String, Value>) -> Explanation {
        Explanation::of_query(&self.table, &self.text, &self.stages, record)
    }
}

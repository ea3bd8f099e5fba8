//! Local evaluation of the tabular KQL the correlation converter emits: `let` statements, a
//! table, `union`, and the operators of [`operators`] over typed rows ([`scalar`]).
//!
//! This is not a general KQL engine: it runs the shapes `crate::correlation` writes, refuses
//! everything else with a [`KqlError`] naming the construct, and follows Microsoft's pages for
//! each operator and function it runs (cited in the modules). The `where` stages of the base
//! rules' queries are the filtering subset, evaluated by the same predicate evaluator as
//! [`crate::Query`].

mod operators;
mod scalar;

use std::collections::HashMap;
use std::ops::Range;

use ruleproof_sigma::correlation::format_timestamp;
use serde_json::{Map, Value};

use crate::error::KqlError;
use crate::lexer::{Tok, Token, tokenize_script};
use crate::parser::describe;
use crate::pipeline::table_schema;
use crate::schema::{ColumnType, TableSchema};

use operators::Operator;
use scalar::{ScalarParser, Val};

/// A table of typed rows: what a tabular query reads and returns.
#[derive(Clone, Debug, Default)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Val>>,
    /// Whether the rows have an order `row_number()` may count (after `sort`).
    serialized: bool,
}

impl Table {
    /// A table of `records` (JSON objects). With a typed schema the columns are the schema's, in
    /// its order, each value read as the column's type (a `datetime` from RFC 3339 text or the
    /// other timestamp forms events carry; anything unreadable is null); without one, the
    /// columns are the records' keys in order of first appearance, typed by their JSON values.
    pub fn from_records(schema: Option<&TableSchema>, records: &[Map<String, Value>]) -> Table {
        let mut columns: Vec<(String, Option<ColumnType>)> = match schema {
            Some(schema) => schema
                .columns()
                .iter()
                .map(|(name, ty)| (name.clone(), Some(*ty)))
                .collect(),
            None => Vec::new(),
        };
        if schema.is_none() {
            for record in records {
                for key in record.keys() {
                    if !columns.iter().any(|(c, _)| c == key) {
                        columns.push((key.clone(), None));
                    }
                }
            }
        }
        let rows = records
            .iter()
            .map(|record| {
                columns
                    .iter()
                    .map(|(name, ty)| {
                        let value = record.get(name);
                        match ty {
                            Some(ColumnType::Datetime) => {
                                value.map_or(Val::Null, Val::datetime_from_json)
                            }
                            Some(ty) => Val::from_json(&ty.coerce(value)),
                            None => value.map_or(Val::Null, Val::from_json),
                        }
                    })
                    .collect()
            })
            .collect();
        Table {
            columns: columns.into_iter().map(|(name, _)| name).collect(),
            rows,
            serialized: false,
        }
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows as JSON objects: a `datetime` as RFC 3339 text with milliseconds, null as JSON
    /// `null`.
    pub fn records(&self) -> Vec<Map<String, Value>> {
        self.rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .cloned()
                    .zip(row.iter().map(Val::to_json))
                    .collect()
            })
            .collect()
    }

    /// The table `table` holding a sequence of events, for running a converted correlation on
    /// them: each event already a row of the table (mapped as for a detection rule's parity
    /// check, [`crate::fixture_row`]), typed by the table's schema when it has one, and the
    /// table's time column ([`crate::correlation::time_column`]) set to the event's time in
    /// milliseconds since the epoch (null for an event without one, which the query then leaves
    /// out as the engine does).
    pub fn of_sequence(table: &str, events: &[(&Map<String, Value>, Option<i64>)]) -> Table {
        let records: Vec<Map<String, Value>> = events
            .iter()
            .map(|(row, time)| sequence_record(table, row, *time))
            .collect();
        let mut out = Table::from_records(table_schema(table), &records);
        // Without a typed schema the time column is read as text; it is a datetime.
        let time = crate::correlation::time_column(table);
        let at = match out.columns.iter().position(|c| c == time) {
            Some(at) => at,
            None => {
                out.columns.push(time.to_owned());
                for row in &mut out.rows {
                    row.push(Val::Null);
                }
                out.columns.len() - 1
            }
        };
        for (row, (_, when)) in out.rows.iter_mut().zip(events) {
            row[at] = when.map_or(Val::Null, Val::DateTime);
        }
        out
    }

    fn empty_like(&self) -> Table {
        Table {
            columns: self.columns.clone(),
            rows: Vec::new(),
            serialized: self.serialized,
        }
    }

    fn column(&self, name: &str) -> Result<usize, KqlError> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            KqlError::new(
                0..0,
                format!(
                    "the column `{name}` does not exist here (columns: {})",
                    self.columns.join(", ")
                ),
            )
        })
    }
}

/// A row of `table` for an event of a sequence (already mapped as for a detection rule's parity
/// check, [`crate::fixture_row`]), with the table's time column
/// ([`crate::correlation::time_column`]) set to `time` (RFC 3339 with milliseconds; null when
/// the event has no time). Local parity ([`Table::of_sequence`]) and replay scripts write
/// sequences this way.
pub fn sequence_record(
    table: &str,
    row: &Map<String, Value>,
    time: Option<i64>,
) -> Map<String, Value> {
    let mut record = row.clone();
    record.insert(
        crate::correlation::time_column(table).to_owned(),
        time.map_or(Value::Null, |t| Value::String(format_timestamp(t))),
    );
    record
}

/// Where a tabular expression's rows come from, and its operators.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    /// A table or `let` name, or several under `union`.
    inputs: Vec<(String, Range<usize>)>,
    operators: Vec<Operator>,
}

impl Source {
    fn parse(parser: &mut ScalarParser<'_>) -> Result<Source, KqlError> {
        let mut inputs = Vec::new();
        if parser.is_word("union") {
            parser.bump();
            loop {
                inputs.push(parser.name()?);
                if !parser.is_punct(",") {
                    break;
                }
                parser.bump();
            }
        } else {
            let token = parser.peek().clone();
            match &token.tok {
                Tok::Word(w) if !is_statement(w) => inputs.push(parser.name()?),
                other => {
                    return Err(match other {
                        Tok::Word(w) => KqlError::unsupported(token.span.clone(), w),
                        _ => KqlError::new(
                            token.span.clone(),
                            format!(
                                "expected a table or a `let` name, found {}",
                                describe(other)
                            ),
                        ),
                    });
                }
            }
        }
        let mut operators = Vec::new();
        while parser.is_punct("|") {
            parser.bump();
            operators.push(Operator::parse(parser, &Source::parse)?);
        }
        Ok(Source { inputs, operators })
    }

    fn inputs_into(&self, defined: &[&str], out: &mut Vec<String>) {
        for (name, _) in &self.inputs {
            if !defined.contains(&name.as_str()) && !out.contains(name) {
                out.push(name.clone());
            }
        }
        for operator in &self.operators {
            if let Operator::Join { right, .. } = operator {
                right.inputs_into(defined, out);
            }
        }
    }

    fn run(
        &self,
        lets: &HashMap<String, Table>,
        tables: &HashMap<String, Table>,
    ) -> Result<Table, KqlError> {
        let mut inputs = Vec::new();
        for (name, span) in &self.inputs {
            let table = lets.get(name).or_else(|| tables.get(name)).ok_or_else(|| {
                KqlError::new(span.clone(), format!("no table or `let` named `{name}`"))
            })?;
            inputs.push(table);
        }
        let mut table = match inputs.as_slice() {
            [one] => (*one).clone(),
            several => union(several),
        };
        for operator in &self.operators {
            table = operator.run(table, lets, tables)?;
        }
        Ok(table)
    }
}

/// `union` of the default kind, `outer`: every column of every input, missing ones null.
fn union(inputs: &[&Table]) -> Table {
    let mut columns: Vec<String> = Vec::new();
    for input in inputs {
        for column in &input.columns {
            if !columns.contains(column) {
                columns.push(column.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for input in inputs {
        let at: Vec<Option<usize>> = columns
            .iter()
            .map(|c| input.columns.iter().position(|i| i == c))
            .collect();
        for row in &input.rows {
            rows.push(
                at.iter()
                    .map(|i| i.map_or(Val::Null, |i| row[i].clone()))
                    .collect(),
            );
        }
    }
    Table {
        columns,
        rows,
        serialized: false,
    }
}

fn is_statement(word: &str) -> bool {
    matches!(
        word,
        "let"
            | "search"
            | "find"
            | "print"
            | "range"
            | "datatable"
            | "evaluate"
            | "set"
            | "declare"
    )
}

/// A parsed script: `let name = <tabular expression>;` statements and a final tabular
/// expression, as `crate::correlation` writes them.
#[derive(Clone, Debug)]
pub struct Script {
    lets: Vec<(String, Source)>,
    body: Source,
}

impl Script {
    /// Parses a script once.
    ///
    /// # Errors
    /// A [`KqlError`] with the byte span of what is malformed, or of the construct the local
    /// evaluator does not run (naming it).
    pub fn parse(text: &str) -> Result<Script, KqlError> {
        let (tokens, lex_error) = tokenize_script(text);
        if let Some(error) = lex_error {
            return Err(error);
        }
        let mut parser = ScalarParser {
            tokens: &tokens,
            pos: 0,
        };
        let mut lets = Vec::new();
        while parser.is_word("let") {
            parser.bump();
            let (name, _) = parser.name()?;
            parser.expect_punct("=")?;
            let source = Source::parse(&mut parser)?;
            parser.expect_punct(";")?;
            lets.push((name, source));
        }
        let body = Source::parse(&mut parser)?;
        let end: &Token = parser.peek();
        if end.tok != Tok::Eof {
            return Err(KqlError::new(
                end.span.clone(),
                format!(
                    "expected '|' or the end of the query, found {}",
                    describe(&end.tok)
                ),
            ));
        }
        Ok(Script { lets, body })
    }

    /// The tables the script reads: the names its tabular expressions start from that no `let`
    /// defines, in order of first use.
    pub fn tables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut defined: Vec<&str> = Vec::new();
        for (name, source) in self
            .lets
            .iter()
            .map(|(n, s)| (Some(n), s))
            .chain([(None, &self.body)])
        {
            source.inputs_into(&defined, &mut out);
            if let Some(name) = name {
                defined.push(name);
            }
        }
        out
    }

    /// Runs the script over named input tables.
    ///
    /// # Errors
    /// A [`KqlError`] for a table or `let` name that does not exist, a column an operator
    /// names that its input lacks, or `row_number()` over rows that are not serialized.
    pub fn run(&self, tables: &HashMap<String, Table>) -> Result<Table, KqlError> {
        let mut lets = HashMap::new();
        for (name, source) in &self.lets {
            let table = source.run(&lets, tables)?;
            lets.insert(name.clone(), table);
        }
        self.body.run(&lets, tables)
    }
}

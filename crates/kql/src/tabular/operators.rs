//! The tabular operators the correlation converter emits, parsed once and run over a
//! [`Table`], each following its Microsoft page:
//!
//! - `where` (<https://learn.microsoft.com/kusto/query/where-operator>): keeps a row when its
//!   predicate is `true`, dropping `false` and null. A predicate of the filtering subset
//!   (`contains`, `in~`, `matches regex`, …) is evaluated by the crate's predicate evaluator on
//!   the row as a record; any other by the scalar evaluator.
//! - `project` and `extend` (<https://learn.microsoft.com/kusto/query/project-operator>,
//!   <https://learn.microsoft.com/kusto/query/extend-operator>): `extend` replaces a column of
//!   the same name in place, or appends.
//! - `sort by C asc|desc` (<https://learn.microsoft.com/kusto/query/sort-operator>): the default
//!   is `desc`; nulls come first ascending and last descending; the output is serialized. Ties
//!   keep their input order here (Kusto does not define it).
//! - `join kind=inner (…) on C` (<https://learn.microsoft.com/kusto/query/join-operator>,
//!   <https://learn.microsoft.com/kusto/query/join-inner>): every pair of rows with equal keys;
//!   null keys never match; a right column whose name the left has gets the suffix `1`. Other
//!   kinds (the default `innerunique` included) are refused: they are not emitted.
//! - `summarize A = agg(…), … by C, …`
//!   (<https://learn.microsoft.com/kusto/query/summarize-operator>): one row per distinct tuple
//!   of the `by` values, the `by` columns first, groups in order of first appearance;
//!   aggregates `count()`, `count_distinct()` (exact, nulls ignored,
//!   <https://learn.microsoft.com/kusto/query/count-distinct-aggregation-function>), `sum()`
//!   and `avg()` (nulls ignored, <https://learn.microsoft.com/kusto/query/sum-aggregation-function>,
//!   <https://learn.microsoft.com/kusto/query/avg-aggregation-function>), `min()` (nulls
//!   ignored, null for none, <https://learn.microsoft.com/kusto/query/min-aggregation-function>),
//!   `countif()` (the rows whose predicate is `true`,
//!   <https://learn.microsoft.com/kusto/query/countif-aggregation-function>), `make_list()` (an
//!   array of the non-null values, in input order here: Kusto keeps the order only for sorted
//!   input, and the converter sorts the array it builds,
//!   <https://learn.microsoft.com/kusto/query/make-list-aggregation-function>).
//! - `union A, B` (<https://learn.microsoft.com/kusto/query/union-operator>): the default
//!   `kind=outer`, every column of every input, missing ones null; rows of the first input
//!   first here (Kusto does not define the order).

use std::collections::HashMap;

use crate::ast::Expr;
use crate::error::KqlError;
use crate::lexer::Tok;
use crate::parser::{describe, parse_predicate};

use super::scalar::{Context, Scalar, ScalarParser, Val};
use super::{Source, Table};

/// One `| operator` stage.
#[derive(Clone, Debug)]
pub(crate) enum Operator {
    /// A `where` on a scalar predicate.
    Where(Scalar),
    /// A `where` in the filtering subset of the crate's predicate evaluator.
    Filter(Expr),
    Project(Vec<(String, Scalar)>),
    Extend(Vec<(String, Scalar)>),
    Sort {
        column: String,
        descending: bool,
    },
    Join {
        right: Box<Source>,
        key: String,
    },
    Summarize {
        aggregates: Vec<(String, Aggregate)>,
        by: Vec<(String, Scalar)>,
    },
}

/// An aggregation function of `summarize`.
#[derive(Clone, Debug)]
pub(crate) enum Aggregate {
    Count,
    CountDistinct(Scalar),
    Sum(Scalar),
    Avg(Scalar),
    MakeList(Scalar),
    Min(Scalar),
    CountIf(Scalar),
}

impl Operator {
    /// Parses the operator after a `|`, up to the next top-level `|`, `;` or `)`.
    pub(crate) fn parse(
        parser: &mut ScalarParser<'_>,
        nested: &dyn Fn(&mut ScalarParser<'_>) -> Result<Source, KqlError>,
    ) -> Result<Operator, KqlError> {
        let token = parser.bump();
        let Tok::Word(word) = &token.tok else {
            return Err(KqlError::new(
                token.span,
                format!(
                    "expected a tabular operator after '|', found {}",
                    describe(&token.tok)
                ),
            ));
        };
        match word.as_str() {
            "where" | "filter" => where_stage(parser),
            "project" => Ok(Operator::Project(assignments(parser, true)?)),
            "extend" => Ok(Operator::Extend(assignments(parser, false)?)),
            "sort" | "order" => {
                expect_word(parser, "by")?;
                let (column, _) = parser.name()?;
                let descending = if parser.is_word("asc") {
                    parser.bump();
                    false
                } else {
                    if parser.is_word("desc") {
                        parser.bump();
                    }
                    true
                };
                Ok(Operator::Sort { column, descending })
            }
            "join" => {
                expect_word(parser, "kind")?;
                parser.expect_punct("=")?;
                let kind = parser.bump();
                if kind.tok != Tok::Word("inner".to_owned()) {
                    return Err(KqlError::new(
                        kind.span,
                        format!(
                            "not supported for local evaluation: join kind {}",
                            describe(&kind.tok)
                        ),
                    ));
                }
                parser.expect_punct("(")?;
                let right = nested(parser)?;
                parser.expect_punct(")")?;
                expect_word(parser, "on")?;
                let (key, _) = parser.name()?;
                Ok(Operator::Join {
                    right: Box::new(right),
                    key,
                })
            }
            "summarize" => {
                let mut aggregates = Vec::new();
                loop {
                    let (name, _) = parser.name()?;
                    parser.expect_punct("=")?;
                    aggregates.push((name, aggregate(parser)?));
                    if !parser.is_punct(",") {
                        break;
                    }
                    parser.bump();
                }
                let mut by = Vec::new();
                if parser.is_word("by") {
                    parser.bump();
                    by = assignments(parser, true)?;
                }
                Ok(Operator::Summarize { aggregates, by })
            }
            other => Err(KqlError::unsupported(token.span.clone(), other)),
        }
    }

    /// Runs the operator on `input`.
    pub(crate) fn run(
        &self,
        input: Table,
        lets: &HashMap<String, Table>,
        tables: &HashMap<String, Table>,
    ) -> Result<Table, KqlError> {
        Ok(match self {
            Operator::Where(predicate) => {
                let mut output = input.empty_like();
                for (i, row) in input.rows.into_iter().enumerate() {
                    let context = Context {
                        row_number: i as i64 + 1,
                    };
                    if predicate.evaluate(&row, &input.columns, &context) == Val::Bool(true) {
                        output.rows.push(row);
                    }
                }
                output
            }
            Operator::Filter(predicate) => {
                let mut output = input.empty_like();
                for row in input.rows {
                    let record = input
                        .columns
                        .iter()
                        .zip(&row)
                        .map(|(c, v)| (c.clone(), v.to_json()))
                        .collect();
                    if predicate.evaluate(&record) == Some(true) {
                        output.rows.push(row);
                    }
                }
                output
            }
            Operator::Project(columns) => {
                check_row_number(&input, columns)?;
                let mut output = Table {
                    columns: columns.iter().map(|(n, _)| n.clone()).collect(),
                    rows: Vec::with_capacity(input.rows.len()),
                    serialized: input.serialized,
                };
                for (i, row) in input.rows.iter().enumerate() {
                    let context = Context {
                        row_number: i as i64 + 1,
                    };
                    output.rows.push(
                        columns
                            .iter()
                            .map(|(_, e)| e.evaluate(row, &input.columns, &context))
                            .collect(),
                    );
                }
                output
            }
            Operator::Extend(columns) => {
                check_row_number(&input, columns)?;
                let mut output = input.empty_like();
                for (name, _) in columns {
                    if !output.columns.contains(name) {
                        output.columns.push(name.clone());
                    }
                }
                for (i, mut row) in input.rows.into_iter().enumerate() {
                    let context = Context {
                        row_number: i as i64 + 1,
                    };
                    let values: Vec<Val> = columns
                        .iter()
                        .map(|(_, e)| e.evaluate(&row, &input.columns, &context))
                        .collect();
                    row.resize(output.columns.len(), Val::Null);
                    for ((name, _), value) in columns.iter().zip(values) {
                        if let Some(at) = output.columns.iter().position(|c| c == name) {
                            row[at] = value;
                        }
                    }
                    output.rows.push(row);
                }
                output
            }
            Operator::Sort { column, descending } => {
                let at = input.column(column)?;
                let mut output = input;
                output.rows.sort_by(|a, b| {
                    let order = match (&a[at], &b[at]) {
                        (Val::Null, Val::Null) => std::cmp::Ordering::Equal,
                        (Val::Null, _) => std::cmp::Ordering::Less,
                        (_, Val::Null) => std::cmp::Ordering::Greater,
                        (x, y) => x.compare(y).unwrap_or(std::cmp::Ordering::Equal),
                    };
                    if *descending { order.reverse() } else { order }
                });
                output.serialized = true;
                output
            }
            Operator::Join { right, key } => {
                let right = right.run(lets, tables)?;
                let left_at = input.column(key)?;
                let right_at = right.column(key)?;
                let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
                for (i, row) in right.rows.iter().enumerate() {
                    if let Some(k) = row[right_at].key() {
                        by_key.entry(k).or_default().push(i);
                    }
                }
                let mut columns = input.columns.clone();
                for name in &right.columns {
                    let mut unique = name.clone();
                    let mut n = 1;
                    while columns.contains(&unique) {
                        unique = format!("{name}{n}");
                        n += 1;
                    }
                    columns.push(unique);
                }
                let mut output = Table {
                    columns,
                    rows: Vec::new(),
                    serialized: false,
                };
                for row in &input.rows {
                    let Some(k) = row[left_at].key() else {
                        continue;
                    };
                    for &j in by_key.get(&k).map_or(&[][..], Vec::as_slice) {
                        let mut joined = row.clone();
                        joined.extend(right.rows[j].iter().cloned());
                        output.rows.push(joined);
                    }
                }
                output
            }
            Operator::Summarize { aggregates, by } => summarize(&input, aggregates, by),
        })
    }
}

/// Refuses `row_number()` on a row set that is not serialized, as Kusto does.
fn check_row_number(input: &Table, columns: &[(String, Scalar)]) -> Result<(), KqlError> {
    if !input.serialized && columns.iter().any(|(_, e)| e.uses_row_number()) {
        return Err(KqlError::new(
            0..0,
            "row_number() needs a serialized row set (after `sort` or `serialize`)",
        ));
    }
    Ok(())
}

fn summarize(input: &Table, aggregates: &[(String, Aggregate)], by: &[(String, Scalar)]) -> Table {
    let context = Context { row_number: 0 };
    let mut groups: Vec<(Vec<Val>, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    for (i, row) in input.rows.iter().enumerate() {
        let values: Vec<Val> = by
            .iter()
            .map(|(_, e)| e.evaluate(row, &input.columns, &context))
            .collect();
        let key: Vec<Option<String>> = values.iter().map(Val::key).collect();
        let at = *index.entry(key).or_insert_with(|| {
            groups.push((values, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    let mut columns: Vec<String> = by.iter().map(|(n, _)| n.clone()).collect();
    columns.extend(aggregates.iter().map(|(n, _)| n.clone()));
    let mut output = Table {
        columns,
        rows: Vec::with_capacity(groups.len()),
        serialized: false,
    };
    for (mut values, rows) in groups {
        for (_, aggregate) in aggregates {
            let of = |e: &Scalar| -> Vec<Val> {
                rows.iter()
                    .map(|&i| e.evaluate(&input.rows[i], &input.columns, &context))
                    .filter(|v| *v != Val::Null)
                    .collect()
            };
            values.push(match aggregate {
                Aggregate::Count => Val::Long(rows.len() as i64),
                Aggregate::MakeList(e) => Val::Array(of(e)),
                Aggregate::CountIf(e) => Val::Long(
                    rows.iter()
                        .filter(|&&i| {
                            e.evaluate(&input.rows[i], &input.columns, &context) == Val::Bool(true)
                        })
                        .count() as i64,
                ),
                Aggregate::Min(e) => of(e)
                    .into_iter()
                    .reduce(|least, v| {
                        if v.compare(&least) == Some(std::cmp::Ordering::Less) {
                            v
                        } else {
                            least
                        }
                    })
                    .unwrap_or(Val::Null),
                Aggregate::CountDistinct(e) => {
                    let mut seen: Vec<String> = of(e).iter().filter_map(Val::key).collect();
                    seen.sort();
                    seen.dedup();
                    Val::Long(seen.len() as i64)
                }
                Aggregate::Sum(e) | Aggregate::Avg(e) => {
                    let numbers: Vec<Val> = of(e);
                    let all_long = numbers.iter().all(|v| matches!(v, Val::Long(_)));
                    let total: f64 = numbers
                        .iter()
                        .filter_map(|v| match v {
                            Val::Long(i) => Some(*i as f64),
                            Val::Real(r) => Some(*r),
                            _ => None,
                        })
                        .sum();
                    match aggregate {
                        Aggregate::Avg(_) if numbers.is_empty() => Val::Null,
                        Aggregate::Avg(_) => Val::Real(total / numbers.len() as f64),
                        _ if all_long => Val::Long(total as i64),
                        _ => Val::Real(total),
                    }
                }
            });
        }
        output.rows.push(values);
    }
    output
}

fn expect_word(parser: &mut ScalarParser<'_>, word: &str) -> Result<(), KqlError> {
    if parser.is_word(word) {
        parser.bump();
        Ok(())
    } else {
        let token = parser.peek().clone();
        Err(KqlError::new(
            token.span,
            format!("expected '{word}', found {}", describe(&token.tok)),
        ))
    }
}

/// `name = expr, …`; with `bare`, a plain column name stands for itself (`project a, b`).
fn assignments(
    parser: &mut ScalarParser<'_>,
    bare: bool,
) -> Result<Vec<(String, Scalar)>, KqlError> {
    let mut out = Vec::new();
    loop {
        let start = parser.pos;
        let (name, _) = parser.name()?;
        if parser.is_punct("=") {
            parser.bump();
            out.push((name, parser.expr()?));
        } else if bare {
            out.push((name.clone(), Scalar::Column(name)));
        } else {
            parser.pos = start;
            let token = parser.peek().clone();
            return Err(KqlError::new(token.span, "expected `name = expression`"));
        }
        if !parser.is_punct(",") {
            return Ok(out);
        }
        parser.bump();
    }
}

fn aggregate(parser: &mut ScalarParser<'_>) -> Result<Aggregate, KqlError> {
    let token = parser.bump();
    let Tok::Word(name) = &token.tok else {
        return Err(KqlError::new(
            token.span,
            format!(
                "expected an aggregation function, found {}",
                describe(&token.tok)
            ),
        ));
    };
    parser.expect_punct("(")?;
    let result = match name.as_str() {
        "count" => Aggregate::Count,
        "count_distinct" => Aggregate::CountDistinct(parser.expr()?),
        "sum" => Aggregate::Sum(parser.expr()?),
        "avg" => Aggregate::Avg(parser.expr()?),
        "make_list" => Aggregate::MakeList(parser.expr()?),
        "min" => Aggregate::Min(parser.expr()?),
        "countif" => Aggregate::CountIf(parser.expr()?),
        other => return Err(KqlError::unsupported(token.span.clone(), other)),
    };
    parser.expect_punct(")")?;
    Ok(result)
}

/// A `where` stage: its tokens up to the next top-level `|`, `;` or `)` are a scalar
/// predicate when they parse as one, else a predicate of the filtering subset.
fn where_stage(parser: &mut ScalarParser<'_>) -> Result<Operator, KqlError> {
    let start = parser.pos;
    let end = stage_end(parser, start);
    let mut slice = parser.tokens[start..end].to_vec();
    let eof_at = slice.last().map_or(0, |t| t.span.end);
    slice.push(crate::lexer::Token {
        tok: Tok::Eof,
        span: eof_at..eof_at,
    });
    let mut scalar = ScalarParser {
        tokens: &slice,
        pos: 0,
    };
    let parsed = scalar.expr().ok().filter(|_| scalar.peek().tok == Tok::Eof);
    parser.pos = end;
    match parsed {
        Some(predicate) => Ok(Operator::Where(predicate)),
        None => Ok(Operator::Filter(parse_predicate(slice)?)),
    }
}

/// The index of the token ending the stage that starts at `start`.
fn stage_end(parser: &ScalarParser<'_>, start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while let Some(token) = parser.tokens.get(at) {
        match &token.tok {
            Tok::Eof => break,
            Tok::Punct("(" | "[") => depth += 1,
            Tok::Punct(")" | "]") if depth == 0 => break,
            Tok::Punct(")" | "]") => depth -= 1,
            Tok::Punct("|" | ";") if depth == 0 => break,
            _ => {}
        }
        at += 1;
    }
    at
}

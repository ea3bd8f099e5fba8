//! Sigma correlation rules → KQL with the engine's sliding windows (`docs/kql.md`,
//! "Correlation rules").
//!
//! The engine raises an alert at every observation whose window `[t − timespan, t]` (both ends
//! included, over the group's observations up to and including this one) meets the condition
//! (`docs/semantics.md`, "Windows and alerts", with `--realert every`). The query says exactly
//! that, with a time-bounded self-join rather than a tumbling `bin()`:
//!
//! 1. each referenced detection rule becomes a `let` of its converted query (the same field
//!    pipeline as a detection rule), keeping the rows with a time and every group-by and value
//!    field, projected onto one column per group-by name (`aliases` resolved per rule);
//! 2. the observations of all referenced rules are `union`ed, get a case-folded group key
//!    (`tolower`), are sorted by time and numbered (`row_number()`);
//! 3. each observation is joined (`join kind=inner`) with the observations of its group and kept
//!    with those of its window (`ruleproof_in_row <= ruleproof_row` and
//!    `ruleproof_in_time >= ruleproof_time - <timespan>`), then `summarize`d per observation
//!    into the correlation's value, and the condition keeps the alerts. The percentile types
//!    gather the window's values (`make_list`), sort them and interpolate between the closest
//!    ranks as the engine does (`percentile_rank`): Kusto's `percentile()` is an estimate.
//!
//! A chain (a correlation over a correlation) reads the alerts of the inner query as
//! observations, as the engine does. `temporal_ordered` finds the order with one summarize per
//! rule over the window rows (`Writer::ordered_alerts`). What has no exact form (a chain
//! field that is no group-by name of the inner correlation) is refused, naming the construct.

use std::collections::HashMap;
use std::fmt::Write as _;

use ruleproof_sigma::correlation::{ConditionOp, CorrelationType, number_text, parse_timestamp};
use ruleproof_sigma::{CompileOptions, Correlation, Document, DocumentBody, Rule, Span};
use serde_json::Value;

use crate::convert::{ConvertError, Reason, column, convert_rule, names, string_literal};
use crate::pipeline::table_schema;
use crate::schema::ColumnType;
use crate::tabular::Table;
use ruleproof_pipeline::{Pipelines, Processed};

/// The column every query of a correlation keeps an observation's time in.
pub const TIME_COLUMN: &str = "ruleproof_time";

/// The column holding a correlation alert's aggregated value.
pub const VALUE_COLUMN: &str = "ruleproof_value";

/// Converts a correlation rule to one KQL query whose rows are its alerts: per alert, the time
/// of the observation that raised it ([`TIME_COLUMN`]), one column per `group-by` name (the
/// raising observation's spelling), and the aggregated value ([`VALUE_COLUMN`]).
///
/// `rules` and `correlations` are the documents its `rules:` may name (by id or name;
/// correlations are looked up first, as the engine does); `document` must be a correlation.
/// Returns the query with how each rule it builds on was processed, which maps sequence events
/// into rows (replay scripts and parity checks use both, so a correlation converts once).
///
/// # Errors
/// A [`ConvertError`] naming the construct: a reference to nothing given, a chain field with no
/// exact KQL form, a field the table has no column for, or a referenced rule that does not convert (its own error,
/// under this correlation's title).
pub fn convert_correlation(
    document: &Document,
    rules: &[&Rule],
    correlations: &[&Correlation],
    pipeline: &Pipelines,
    options: &CompileOptions,
) -> Result<ConvertedCorrelation, ConvertError> {
    let DocumentBody::Correlation(correlation) = &document.body else {
        return Err(ConvertError {
            rule: document.meta().title.clone(),
            span: document.node.span,
            reason: Reason::NotARule,
            message: "not a correlation rule".to_owned(),
        });
    };
    let span = document
        .node
        .get("correlation")
        .map_or(document.node.span, |n| n.span);
    convert_correlation_rule(correlation, span, rules, correlations, pipeline, options)
}

/// A converted correlation: its query, and how each detection rule it builds on (directly or
/// through a chain) was processed, so that sequence events become rows the way each rule's
/// query reads them.
#[derive(Clone, Debug)]
pub struct ConvertedCorrelation {
    /// The query.
    pub query: String,
    /// Per referenced detection rule, in the order they are written: the table its query reads
    /// and what processing left.
    pub sources: Vec<(String, Processed)>,
}

impl ConvertedCorrelation {
    /// A Sigma event of a sequence as a row of `table`: mapped through the processing of every
    /// referenced rule that reads `table` ([`crate::fixture_row`]), the columns of the first
    /// such rule winning when two name one column differently. Without such a rule the event
    /// keeps its fields, typed by the table's schema when it has one.
    ///
    /// # Errors
    /// A value transformation refuses a field's value, as [`crate::fixture_row`].
    pub fn sequence_row(
        &self,
        pipelines: &Pipelines,
        table: &str,
        event: &serde_json::Map<String, Value>,
    ) -> Result<serde_json::Map<String, Value>, ruleproof_pipeline::EventError> {
        let mut row = serde_json::Map::new();
        let mut read = false;
        for (_, processed) in self.sources.iter().filter(|(t, _)| t == table) {
            read = true;
            for (column, value) in crate::fixture_row(pipelines, processed, table, event)? {
                row.entry(column).or_insert(value);
            }
        }
        if !read {
            row = match table_schema(table) {
                Some(schema) => schema.typed_row(event),
                None => event.clone(),
            };
        }
        Ok(row)
    }
}

/// [`convert_correlation`] for a parsed correlation; `span` is where errors that have no more
/// precise place point (its `correlation:` section).
///
/// # Errors
/// As [`convert_correlation`].
pub fn convert_correlation_rule(
    correlation: &Correlation,
    span: Span,
    rules: &[&Rule],
    correlations: &[&Correlation],
    pipeline: &Pipelines,
    options: &CompileOptions,
) -> Result<ConvertedCorrelation, ConvertError> {
    let mut writer = Writer {
        rules,
        correlations,
        pipeline,
        options,
        title: &correlation.meta.title,
        span,
        lets: String::new(),
        converted: HashMap::new(),
        stack: Vec::new(),
        written: 0,
        sources: Vec::new(),
    };
    let alerts = writer.correlation(correlation)?;
    Ok(ConvertedCorrelation {
        query: format!("{}{alerts}\n", writer.lets),
        sources: writer.sources,
    })
}

/// Writes the `let` statements of a correlation and everything it names.
struct Writer<'a> {
    rules: &'a [&'a Rule],
    correlations: &'a [&'a Correlation],
    pipeline: &'a Pipelines,
    options: &'a CompileOptions,
    /// The converted correlation's title, which every error carries.
    title: &'a str,
    /// Its `correlation:` section, where errors that have no better place point.
    span: Span,
    lets: String,
    /// Correlations already written, by reference: a correlation named twice is written once.
    converted: HashMap<String, String>,
    /// The correlations being written, to refuse a cycle rather than recurse forever.
    stack: Vec<String>,
    /// How many correlations have been numbered, so that every `let` name is unique.
    written: usize,
    /// Each referenced detection rule's table and processing, for [`ConvertedCorrelation`].
    sources: Vec<(String, Processed)>,
}

/// What a `rules:` entry resolved to.
enum Referenced<'a> {
    Rule(&'a Rule),
    Correlation(&'a Correlation),
}

impl<'a> Writer<'a> {
    fn error(&self, span: Span, reason: Reason, message: String) -> ConvertError {
        ConvertError {
            rule: self.title.to_owned(),
            span,
            reason,
            message,
        }
    }

    fn resolve(&self, reference: &str) -> Option<Referenced<'a>> {
        self.correlations
            .iter()
            .find(|c| c.meta.is_named(reference))
            .map(|c| Referenced::Correlation(c))
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| r.meta.is_named(reference))
                    .map(|r| Referenced::Rule(r))
            })
    }

    /// Writes the `let`s of `correlation` and of what it names; returns the name of the `let`
    /// holding its alerts, or, for the outermost correlation, the alerts query itself.
    fn correlation(&mut self, correlation: &Correlation) -> Result<String, ConvertError> {
        let reference = correlation.meta.reference().to_owned();
        if self.stack.contains(&reference) {
            return Err(self.error(
                self.span,
                Reason::InvalidRule,
                format!("correlation `{reference}` refers to itself through a chain"),
            ));
        }
        self.stack.push(reference.clone());
        self.written += 1;
        let index = self.written;
        let mut sources = Vec::new();
        for (slot, (entry, span)) in correlation.rules.iter().enumerate() {
            let name = format!("ruleproof_source_{index}_{slot}");
            let body = match self.resolve(entry) {
                None => {
                    return Err(self.error(
                        *span,
                        Reason::InvalidRule,
                        format!(
                            "`{entry}` names no rule or correlation among the converted files \
                             (give the files of the rules a correlation builds on too)"
                        ),
                    ));
                }
                Some(Referenced::Rule(rule)) => self.rule_source(correlation, entry, rule)?,
                Some(Referenced::Correlation(inner)) => {
                    self.chain_source(correlation, entry, *span, inner)?
                }
            };
            writeln!(self.lets, "let {name} = {body};").expect("writing to a String");
            sources.push(name);
        }
        self.stack.pop();
        let observations = format!("ruleproof_observations_{index}");
        let group_key = match correlation.group_by.as_slice() {
            [] => "\"\"".to_owned(),
            [one] => format!("tolower(tostring({}))", column(one)),
            several => format!(
                "strcat({})",
                several
                    .iter()
                    .map(|g| format!("tolower(tostring({}))", column(g)))
                    .collect::<Vec<_>>()
                    .join(", \"\\u001f\", ")
            ),
        };
        let union = match sources.as_slice() {
            [one] => one.clone(),
            several => format!("union {}", several.join(", ")),
        };
        writeln!(
            self.lets,
            "let {observations} = {union}\n\
             | extend ruleproof_group = {group_key}\n\
             | sort by {TIME_COLUMN} asc\n\
             | extend ruleproof_row = row_number();"
        )
        .expect("writing to a String");
        let groups: String = correlation
            .group_by
            .iter()
            .map(|g| format!(", {}", column(g)))
            .collect();
        let condition = condition(correlation);
        let window = format!(
            "{observations}\n\
             | join kind=inner ({observations} | project ruleproof_group, ruleproof_in_time = {TIME_COLUMN}, ruleproof_in_row = ruleproof_row, ruleproof_in_source = ruleproof_source, ruleproof_in_value = {VALUE_COLUMN}) on ruleproof_group\n\
             | where ruleproof_in_row <= ruleproof_row and ruleproof_in_time >= {TIME_COLUMN} - {timespan}",
            timespan = timespan(correlation.timespan.seconds),
        );
        let alerts = match summary(correlation) {
            None => self.ordered_alerts(correlation, index, &window, &groups, &condition),
            Some((aggregates, stages)) => format!(
                "{window}\n\
                 | summarize {aggregates} by ruleproof_row, {TIME_COLUMN}{groups}\n\
                 {stages}\
                 | where {condition}\n\
                 | project {TIME_COLUMN}{groups}, {VALUE_COLUMN}"
            ),
        };
        if self.stack.is_empty() {
            return Ok(alerts);
        }
        let name = format!("ruleproof_alerts_{index}");
        writeln!(self.lets, "let {name} = {alerts};").expect("writing to a String");
        self.converted.insert(reference, name.clone());
        Ok(name)
    }

    /// `temporal_ordered`'s alerts, as the engine finds the order (`docs/semantics.md`): in
    /// each window, greedily from its start, the first observation of the first rule, then the
    /// first of the second rule after it (in row order, so equal times keep the order of the
    /// rows), and so on; the value is how many rules were found. One `let` per rule: the window
    /// rows (a `let` of `window`) joined with the previous step's positions, summarized per
    /// alert row into this rule's position, `ruleproof_row + 1` when there is none (no window
    /// row comes after it, so every later rule is missing too).
    fn ordered_alerts(
        &mut self,
        correlation: &Correlation,
        index: usize,
        window: &str,
        groups: &str,
        condition: &str,
    ) -> String {
        let rows = format!("ruleproof_window_{index}");
        writeln!(self.lets, "let {rows} = {window};").expect("writing to a String");
        let mut found = String::new();
        let mut previous = None;
        for (slot, (entry, _)) in correlation.rules.iter().enumerate() {
            let input = match &previous {
                None => rows.clone(),
                Some(step) => format!(
                    "{rows}\n| join kind=inner ({step} | project ruleproof_row{found}) on ruleproof_row"
                ),
            };
            let after = match slot {
                0 => String::new(),
                _ => format!(" and ruleproof_in_row > ruleproof_at_{}", slot - 1),
            };
            let step = format!("ruleproof_ordered_{index}_{slot}");
            writeln!(
                self.lets,
                "let {step} = {input}\n\
                 | summarize ruleproof_at_{slot} = min(iff(ruleproof_in_source == {source}{after}, ruleproof_in_row, ruleproof_row + 1)) by ruleproof_row, {TIME_COLUMN}{groups}{found};",
                source = string_literal(entry),
            )
            .expect("writing to a String");
            write!(found, ", ruleproof_at_{slot}").expect("writing to a String");
            previous = Some(step);
        }
        let value = (0..correlation.rules.len())
            .map(|slot| format!("iff(ruleproof_at_{slot} <= ruleproof_row, 1, 0)"))
            .collect::<Vec<_>>()
            .join(" + ");
        format!(
            "{}\n\
             | extend {VALUE_COLUMN} = {value}\n\
             | where {condition}\n\
             | project {TIME_COLUMN}{groups}, {VALUE_COLUMN}",
            previous.unwrap_or(rows)
        )
    }

    /// A referenced detection rule's observations: its converted query, the rows with a time
    /// and every field the correlation reads, projected onto the correlation's columns.
    fn rule_source(
        &mut self,
        correlation: &Correlation,
        entry: &str,
        rule: &Rule,
    ) -> Result<String, ConvertError> {
        let (query, processed) = convert_rule(rule, self.pipeline, self.options).map_err(|e| {
            self.error(
                self.span,
                e.reason,
                format!(
                    "the rule `{entry}` ({}) does not convert: {}",
                    e.rule, e.message
                ),
            )
        })?;
        let table = query.lines().next().unwrap_or_default().trim().to_owned();
        let time = time_column(&table);
        let mut present = vec![format!("isnotnull({time})")];
        let mut projected = vec![
            format!("{TIME_COLUMN} = {time}"),
            format!("ruleproof_source = {}", string_literal(entry)),
        ];
        for name in &correlation.group_by {
            let field = alias_of(correlation, name, |r| rule.meta.is_named(r));
            let col = self.column_of(&table, &processed, field)?;
            present.push(format!("isnotempty(tostring({col}))"));
            projected.push(format!("{} = {col}", column(name)));
        }
        let value = self.value_of(correlation, &mut present, |field| {
            self.column_of(&table, &processed, field)
        })?;
        projected.push(format!("{VALUE_COLUMN} = {value}"));
        self.sources.push((table, processed));
        Ok(format!(
            "{}| where {}\n| project {}",
            query,
            present.join(" and "),
            projected.join(", ")
        ))
    }

    /// A referenced correlation's alerts as observations: the engine observes each alert at
    /// its time with the alert's group values as its fields.
    fn chain_source(
        &mut self,
        correlation: &Correlation,
        entry: &str,
        span: Span,
        inner: &Correlation,
    ) -> Result<String, ConvertError> {
        let alerts = match self.converted.get(inner.meta.reference()) {
            Some(name) => name.clone(),
            None => self.correlation(inner)?,
        };
        let inner_column = |field: &str| {
            if inner.group_by.iter().any(|g| g == field) {
                Ok(column(field))
            } else {
                Err(self.error(
                    span,
                    Reason::Unsupported,
                    format!(
                        "the field `{field}` is not a group-by name of the correlation `{entry}`, \
                         whose alerts hold only {}",
                        inner.group_by.join(", ")
                    ),
                ))
            }
        };
        let mut present = vec![format!("isnotnull({TIME_COLUMN})")];
        let mut projected = vec![
            TIME_COLUMN.to_owned(),
            format!("ruleproof_source = {}", string_literal(entry)),
        ];
        for name in &correlation.group_by {
            let field = alias_of(correlation, name, |r| inner.meta.is_named(r));
            let col = inner_column(field)?;
            present.push(format!("isnotempty(tostring({col}))"));
            projected.push(format!("{} = {col}", column(name)));
        }
        let value = self.value_of(correlation, &mut present, inner_column)?;
        projected.push(format!("{VALUE_COLUMN} = {value}"));
        Ok(format!(
            "{alerts}\n| where {}\n| project {}",
            present.join(" and "),
            projected.join(", ")
        ))
    }

    /// The expression of an observation's value: the case-folded text of the `value_count`
    /// fields, the number of the numeric types' field, or nothing for the counting
    /// types; adds the presence tests that leave out events without it, as the engine does.
    fn value_of(
        &self,
        correlation: &Correlation,
        present: &mut Vec<String>,
        column_of: impl Fn(&str) -> Result<String, ConvertError>,
    ) -> Result<String, ConvertError> {
        let fields = &correlation.condition.fields;
        let shared = correlation.correlation_type == CorrelationType::ValuePercentile
            && correlation.condition.percentile.is_none();
        Ok(match correlation.correlation_type {
            _ if shared || correlation.correlation_type == CorrelationType::ValueCount => {
                let mut parts = Vec::new();
                for field in fields {
                    let col = column_of(field)?;
                    present.push(format!("isnotempty(tostring({col}))"));
                    parts.push(format!("tolower(tostring({col}))"));
                }
                match parts.as_slice() {
                    [one] => one.clone(),
                    _ => format!("strcat({})", parts.join(", \"\\u001f\", ")),
                }
            }
            CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
            | CorrelationType::ValueMedian => {
                let col = column_of(&fields[0])?;
                present.push(format!("isnotnull(todouble({col}))"));
                format!("todouble({col})")
            }
            _ => "\"\"".to_owned(),
        })
    }

    /// The column a Sigma field is read from in `table`: the name the referenced rule's
    /// processing items give the field (the first of several, as a fixture event's field is
    /// mapped), refused when the table's typed schema has no such column.
    fn column_of(
        &self,
        table: &str,
        processed: &Processed,
        field: &str,
    ) -> Result<String, ConvertError> {
        let event = serde_json::Map::from_iter([(field.to_owned(), Value::from(""))]);
        let mapped = self
            .pipeline
            .map_event(processed, &event)
            .ok()
            .and_then(|row| row.keys().next().cloned())
            .unwrap_or_else(|| field.to_owned());
        if let Some(schema) = table_schema(table)
            && schema.column_type(&mapped).is_none()
        {
            return Err(self.error(
                self.span,
                Reason::Unsupported,
                format!(
                    "the field `{field}` has no column in {table}: the {} pipeline maps it to \
                     `{mapped}`",
                    names(self.pipeline)
                ),
            ));
        }
        Ok(column(&mapped))
    }
}

/// The column holding an event's time in `table`: `TimeGenerated` (ASIM and Log Analytics
/// tables), or `Timestamp` where the typed schema has that instead (Defender XDR tables).
pub fn time_column(table: &str) -> &'static str {
    table_schema(table)
        .and_then(|s| {
            ["TimeGenerated", "Timestamp"]
                .into_iter()
                .find(|c| s.column_type(c) == Some(ColumnType::Datetime))
        })
        .unwrap_or("TimeGenerated")
}

/// One alert of a converted correlation's query, read from its result.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryAlert {
    /// [`TIME_COLUMN`]: the time of the observation that raised it, in milliseconds since the
    /// epoch.
    pub time: i64,
    /// The group-by columns and their text, in the query's column order.
    pub group: Vec<(String, String)>,
    /// [`VALUE_COLUMN`].
    pub value: f64,
}

/// The alerts in the result of a query [`convert_correlation`] wrote.
///
/// # Errors
/// A message when the result lacks [`TIME_COLUMN`] or [`VALUE_COLUMN`] or holds a row whose
/// time or value is not one: the table is no correlation query's result.
pub fn read_alerts(result: &Table) -> Result<Vec<QueryAlert>, String> {
    let columns = result.columns();
    for needed in [TIME_COLUMN, VALUE_COLUMN] {
        if !columns.iter().any(|c| c == needed) {
            return Err(format!("the query's result has no `{needed}` column"));
        }
    }
    result
        .records()
        .into_iter()
        .map(|record| {
            let time = record
                .get(TIME_COLUMN)
                .and_then(parse_timestamp)
                .ok_or_else(|| {
                    format!("an alert without a time: {}", Value::Object(record.clone()))
                })?;
            let value = record
                .get(VALUE_COLUMN)
                .and_then(Value::as_f64)
                .ok_or_else(|| {
                    format!(
                        "an alert without a value: {}",
                        Value::Object(record.clone())
                    )
                })?;
            let group = record
                .iter()
                .filter(|(k, _)| *k != TIME_COLUMN && *k != VALUE_COLUMN)
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect();
            Ok(QueryAlert { time, group, value })
        })
        .collect()
}

/// The field a `group-by` name is read from in the events of a source: the alias's field for
/// the rule it names (matched by id or name), else the name itself.
fn alias_of<'c>(
    correlation: &'c Correlation,
    name: &'c str,
    names_source: impl Fn(&str) -> bool,
) -> &'c str {
    correlation
        .aliases
        .get(name)
        .and_then(|per_rule| per_rule.iter().find(|(rule, _)| names_source(rule)))
        .map_or(name, |(_, field)| field.as_str())
}

/// The condition's comparisons on [`VALUE_COLUMN`], ANDed (a range is two of them).
fn condition(correlation: &Correlation) -> String {
    correlation
        .condition
        .comparisons
        .iter()
        .map(|(op, threshold)| {
            let op = match op {
                ConditionOp::Gt => ">",
                ConditionOp::Gte => ">=",
                ConditionOp::Lt => "<",
                ConditionOp::Lte => "<=",
                ConditionOp::Eq => "==",
                ConditionOp::Neq => "!=",
            };
            format!("{VALUE_COLUMN} {op} {}", number_text(*threshold))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// How the window rows of one alert row give [`VALUE_COLUMN`]: the `summarize` aggregations and
/// the stages after it; `None` for `temporal_ordered`, whose order takes one step per rule
/// (`Writer::ordered_alerts`).
fn summary(correlation: &Correlation) -> Option<(String, String)> {
    let counted = |aggregate: &str| Some((format!("{VALUE_COLUMN} = {aggregate}"), String::new()));
    let listed = |p: f64| {
        Some((
            "ruleproof_values = make_list(ruleproof_in_value)".to_owned(),
            percentile_rank(p),
        ))
    };
    match correlation.correlation_type {
        CorrelationType::EventCount => counted("count()"),
        CorrelationType::ValueCount => counted("count_distinct(ruleproof_in_value)"),
        CorrelationType::Temporal => counted("count_distinct(ruleproof_in_source)"),
        CorrelationType::ValueSum => counted("sum(ruleproof_in_value)"),
        CorrelationType::ValueAvg => counted("avg(ruleproof_in_value)"),
        CorrelationType::TemporalOrdered => None,
        CorrelationType::ValueMedian => listed(50.0),
        CorrelationType::ValuePercentile => match correlation.condition.percentile {
            Some(p) => listed(p),
            // The specification's reading without `percentile`: the share, in percent, of the
            // window's observations whose folded value is the alert row's own (the newest).
            None => Some((
                "ruleproof_same = countif(ruleproof_in_value == ruleproof_value), \
                 ruleproof_count = count()"
                    .to_owned(),
                format!("| extend {VALUE_COLUMN} = 100.0 * ruleproof_same / ruleproof_count\n"),
            )),
        },
    }
}

/// The stages after `summarize ruleproof_values = make_list(…)` that give [`VALUE_COLUMN`] the
/// `p`th percentile of the window's values exactly as the engine computes it
/// (`docs/semantics.md`): the values sorted, the rank `p / 100 × (n − 1)`, and linear
/// interpolation between the elements at its floor (`tolong` truncates a non-negative rank)
/// and its ceiling. The same IEEE operations in the same order give the engine's number.
fn percentile_rank(p: f64) -> String {
    format!(
        "| extend ruleproof_values = array_sort_asc(ruleproof_values)\n\
         | extend ruleproof_rank = {p} / 100.0 * (array_length(ruleproof_values) - 1)\n\
         | extend ruleproof_low = tolong(ruleproof_rank), ruleproof_high = tolong(ceiling(ruleproof_rank))\n\
         | extend {VALUE_COLUMN} = todouble(ruleproof_values[ruleproof_low]) + (todouble(ruleproof_values[ruleproof_high]) - todouble(ruleproof_values[ruleproof_low])) * (ruleproof_rank - ruleproof_low)\n",
        p = real_literal(p),
    )
}

/// A real literal: a whole number gets `.0`, so that Kusto divides it as a real.
fn real_literal(value: f64) -> String {
    let text = number_text(value);
    if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// A timespan literal in the largest unit that divides it (`10m`, `1h`, `90s`).
fn timespan(seconds: u64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

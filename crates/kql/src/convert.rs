//! Sigma → Microsoft Sentinel KQL: a rule's detection as one `where` over the pipeline's table.
//!
//! The output keeps Sigma's semantics, which `docs/kql.md` lists rule by rule:
//!
//! - equality ignores case (`=~`, and `in~` for lists); `cased` switches to `==`, `in` and the
//!   `_cs` operators;
//! - numbers compare unquoted with `==` and `in` (as text on a string column), booleans with
//!   `== true`;
//! - `contains`, `startswith` and `endswith` keep their names;
//! - a value with wildcards inside becomes an anchored, case-insensitive `matches regex`;
//! - `re` becomes `matches regex` with its flags written inline (`(?i)`, `(?m)`, `(?s)`);
//! - `cidr` becomes `ipv4_is_in_range` or `ipv6_is_in_range` by the range's address family;
//! - `exists`, `null` and a lone `*` test presence by the column's type: `isnotempty`/`isempty`
//!   on a string column (Kusto stores a missing string as `""`), `isnotnull`/`isnull` on others;
//! - with a typed schema, values are converted to the column's type (`0x3e7` is 999 on a `long`
//!   column) or refused, and a field the table has no column for is refused;
//! - a test Kusto may evaluate to null is wrapped in `coalesce(…, false)` under a negation;
//! - `all` ANDs one test per value (never `has_all`, whose term semantics differ);
//! - keywords search every column with `*`, as the `where` forms of Kusto's `search` do.
//!
//! The converter renders the engine's lowered form of a rule ([`LoweredRule`]): the condition
//! resolved, every value's modifiers already turned into a typed test and placeholders
//! expanded, so it never reads a modifier chain itself. Lowering checks a rule exactly as
//! compiling does, so a rule the engine refuses is refused here too, with the engine's own
//! message, instead of being converted into something that cannot mean what the rule says.

use std::fmt::{self, Write as _};

use ipnet::IpNet;
use ruleproof_sigma::JoinedColumns;
use ruleproof_sigma::condition::Quantifier;
use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::pattern::{Part, literal_parts};
use ruleproof_sigma::{
    CompileOptions, Cond, Document, DocumentBody, LoweredItem, LoweredRule, LoweredValue, NumOp,
    Position, Rule, SourceFile, Span, TimePart, ValueTest,
};

use ruleproof_pipeline::{Pipelines, Processed};
use ruleproof_sigma::yaml::{Node, Value as YamlValue};

use crate::pipeline::{table_of, table_schema};
use crate::schema::{ColumnType, TableSchema, integer_text};

/// Why a rule could not be converted, for counting failures by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The pipeline maps no table for the rule's log source.
    NoTable,
    /// The rule uses a construct with no faithful KQL form.
    Unsupported,
    /// The Sigma engine itself refuses the rule.
    InvalidRule,
    /// The document is a correlation or a meta-filter, not a detection rule.
    NotARule,
}

impl Reason {
    /// A short label, as printed in failure counts.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NoTable => "no table for the log source",
            Reason::Unsupported => "unsupported construct",
            Reason::InvalidRule => "invalid rule",
            Reason::NotARule => "not a detection rule",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A construct that has no faithful KQL form, naming the rule, the construct and where it was
/// written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct ConvertError {
    /// The rule's title.
    pub rule: String,
    /// Where the construct is written in the rule file.
    pub span: Span,
    /// The kind of failure, for counting.
    pub reason: Reason,
    /// The message, which names the construct (a modifier chain, a value, a log source).
    pub message: String,
}

impl ConvertError {
    /// `path:line:col: rule title: message`, for printing.
    pub fn render(&self, source: &SourceFile) -> String {
        format!(
            "{}: {}: {}",
            source.location(self.span),
            self.rule,
            self.message
        )
    }
}

/// Converts one document: a rule becomes a query; a correlation or a meta-filter is refused.
/// The rule is processed by `pipelines` first (its table is the state `query_table` they set);
/// the document's YAML tree serves their rule conditions and lets a log source error point at
/// the `logsource` mapping.
///
/// # Errors
/// The pipelines refuse the rule or choose no table for it, or the rule has a construct with no
/// faithful KQL form.
pub fn convert_document(
    document: &Document,
    pipelines: &Pipelines,
    options: &CompileOptions,
) -> Result<String, ConvertError> {
    match &document.body {
        DocumentBody::Rule(rule) => {
            let logsource_span = document
                .node
                .get("logsource")
                .map_or(rule.detection.span, |n| n.span);
            convert(rule, &document.node, pipelines, options, logsource_span).map(|(q, _)| q)
        }
        DocumentBody::Filter(filter) => Err(ConvertError {
            rule: filter.meta.title.clone(),
            span: document.node.span,
            reason: Reason::NotARule,
            message: "a meta-filter is applied to rules, not converted on its own".to_owned(),
        }),
        DocumentBody::Correlation(correlation) => Err(ConvertError {
            rule: correlation.meta.title.clone(),
            span: document.node.span,
            reason: Reason::NotARule,
            message: "a correlation rule cannot be converted to one KQL `where`".to_owned(),
        }),
    }
}

/// The pipelines' names, for messages (`asim`, or `my-pipeline+asim`).
pub(crate) fn names(pipelines: &Pipelines) -> String {
    let names: Vec<&str> = pipelines
        .pipelines()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    names.join("+")
}

/// Converts a rule given without its YAML tree (a correlation's referenced rule): the
/// pipelines' rule conditions that read the tree (`rule_attribute` on a custom attribute) see
/// an empty one. Returns the query and what processing left (the table, the items that
/// applied).
///
/// # Errors
/// As [`convert_document`].
pub fn convert_rule(
    rule: &Rule,
    pipelines: &Pipelines,
    options: &CompileOptions,
) -> Result<(String, Processed), ConvertError> {
    let node = Node {
        value: YamlValue::Null,
        span: rule.detection.span,
    };
    convert(rule, &node, pipelines, options, rule.detection.span)
}

fn convert(
    written: &Rule,
    node: &Node,
    pipelines: &Pipelines,
    options: &CompileOptions,
    logsource_span: Span,
) -> Result<(String, Processed), ConvertError> {
    let error = |span: Span, reason: Reason, message: String| ConvertError {
        rule: written.meta.title.clone(),
        span,
        reason,
        message,
    };
    let mut rule = written.clone();
    let processed = pipelines.process_rule(&mut rule, node).map_err(|errors| {
        let first = errors.first();
        error(
            first.map_or(rule_span(written), |e| e.span),
            Reason::Unsupported,
            first.map_or_else(String::new, |e| e.message.clone()),
        )
    })?;
    // The engine's own reading of the rule: a rule it refuses has no meaning to preserve, and
    // its first error says why.
    let lowered = LoweredRule::lower(&rule, options).map_err(|errors| {
        let first = errors.first();
        error(
            first.map_or(rule.detection.span, |e| e.span),
            Reason::InvalidRule,
            format!(
                "the rule does not compile: {}",
                first.map_or("", |e| e.message.as_str())
            ),
        )
    })?;
    let logsource = &written.logsource;
    let table = table_of(&processed).ok_or_else(|| {
        error(
            logsource_span,
            Reason::NoTable,
            format!(
                "the {} pipeline maps no table for the log source (product: {}, category: {}, service: {})",
                names(pipelines),
                logsource.product.as_deref().unwrap_or("-"),
                logsource.category.as_deref().unwrap_or("-"),
                logsource.service.as_deref().unwrap_or("-"),
            ),
        )
    })?;
    let converter = Converter {
        lowered: &lowered,
        schema: table_schema(&table),
        table: &table,
        span: rule.detection.span,
        joined: &rule.detection.joined,
    };
    let predicate = converter
        .condition(&lowered.condition, false)
        .map_err(|f| error(f.span, f.reason, f.message))?;
    Ok((format!("{table}\n| where {predicate}\n"), processed))
}

/// Where a rule's processing error points when it names no place: the detection.
fn rule_span(rule: &Rule) -> Span {
    rule.detection.span
}

/// A conversion failure before the rule's title is attached.
struct Failure {
    span: Span,
    reason: Reason,
    message: String,
}

fn unsupported(span: Span, message: String) -> Failure {
    Failure {
        span,
        reason: Reason::Unsupported,
        message,
    }
}

/// One test of one column, kept structured so that equalities can be folded into lists
/// without looking at rendered text.
#[derive(Clone, Debug, PartialEq)]
enum Atom {
    /// `column =~ "text"`, or `==` when cased.
    StrEq { cased: bool, text: String },
    /// `column == number`, with the number as a KQL literal.
    NumEq(String),
    /// Any other test, already rendered.
    Other(String),
}

struct Converter<'a> {
    lowered: &'a LoweredRule,
    /// The table's typed schema, when the crate has one.
    schema: Option<&'static TableSchema>,
    table: &'a str,
    /// The detection's span, for the failures that have no narrower place.
    span: Span,
    /// The fields two columns hold together, as the pipelines recorded them in the rule.
    joined: &'a [JoinedColumns],
}

/// A column a Sigma field is tested against: its KQL reference and its type, when the table
/// has a typed schema.
struct Column {
    /// The column as written in KQL (bare, or `["…"]`); `*` for keywords.
    name: String,
    /// The column's Kusto type; `None` for keywords and tables without a schema.
    ty: Option<ColumnType>,
}

impl Column {
    /// Whether the column can hold null: every typed column but a string one. Columns of
    /// unknown type are treated as strings, as the evaluator reads records without a schema.
    fn nullable(&self) -> bool {
        self.ty.is_some_and(|ty| ty != ColumnType::String)
    }

    /// The faithful test of "the field is present" on this column: `isnotempty` on a string
    /// column (Kusto stores a missing string as `""`, so present-but-empty cannot be told
    /// apart), `isnotnull` on every other type.
    fn present(&self) -> String {
        if self.nullable() {
            format!("isnotnull({})", self.name)
        } else {
            format!("isnotempty({})", self.name)
        }
    }

    /// The faithful test of "the field is absent or null".
    fn absent(&self) -> String {
        if self.nullable() {
            format!("isnull({})", self.name)
        } else {
            format!("isempty({})", self.name)
        }
    }
}

impl Converter<'_> {
    /// The condition as KQL; several conditions of a rule arrive as one `or`, so the rule
    /// matches when any of them does. `negated` says whether the condition sits under a `not`,
    /// where a test that Kusto may evaluate to null must be made two-valued (see
    /// [`Converter::two_valued`]).
    fn condition(&self, cond: &Cond, negated: bool) -> Result<String, Failure> {
        Ok(match cond {
            Cond::Search(i) => self.search(*i, negated)?,
            Cond::Not(inner) => format!("not({})", self.condition(inner, !negated)?),
            Cond::And(items) => self.join(items, " and ", negated)?,
            Cond::Or(items) => self.join(items, " or ", negated)?,
            // The engine's selection: `them` skips names starting with `_`.
            Cond::Quantified {
                quantifier,
                searches,
                ..
            } => {
                let parts = searches
                    .iter()
                    .map(|i| self.search(*i, negated))
                    .collect::<Result<Vec<_>, _>>()?;
                let joiner = match quantifier {
                    Quantifier::Any => " or ",
                    Quantifier::All => " and ",
                };
                group(&parts, joiner)
            }
        })
    }

    fn join(&self, items: &[Cond], joiner: &str, negated: bool) -> Result<String, Failure> {
        let parts = items
            .iter()
            .map(|c| self.condition(c, negated))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, joiner))
    }

    fn search(&self, index: usize, negated: bool) -> Result<String, Failure> {
        let search = self.lowered.searches.get(index).ok_or_else(|| {
            unsupported(
                self.span,
                format!("the condition names search {index}, which the detection does not have"),
            )
        })?;
        let parts = search
            .maps
            .iter()
            .map(|items| {
                let parts = items
                    .iter()
                    .map(|i| self.item(i, negated))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(group(&parts, " and "))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, " or "))
    }

    /// The column a field is tested against, with its type. With a typed schema, a field the
    /// table has no column for is refused, naming both: Kusto refuses a query that names an
    /// unknown column. A field a `ruleproof_joined_columns` item gave two columns is their
    /// join, `iff(isempty(value), key, strcat(key, "sep", value))`, a string.
    fn column(&self, item: &LoweredItem, field: &str) -> Result<Column, Failure> {
        if let Some(joined) = self.joined.iter().find(|j| j.name() == field) {
            for part in [&joined.key, &joined.value] {
                let ty = self.column_type(item, part)?;
                if ty.is_some_and(|ty| ty != ColumnType::String) {
                    return Err(unsupported(
                        item.values.first().map_or(self.span, |v| v.span),
                        format!(
                            "the field `{field}` (`{}`) joins the column `{part}` of {}, which is no string",
                            item.key, self.table
                        ),
                    ));
                }
            }
            let (key, value) = (column(&joined.key), column(&joined.value));
            return Ok(Column {
                name: format!(
                    "iff(isempty({value}), {key}, strcat({key}, {}, {value}))",
                    string_literal(&joined.separator)
                ),
                ty: self.schema.map(|_| ColumnType::String),
            });
        }
        Ok(Column {
            name: column(field),
            ty: self.column_type(item, field)?,
        })
    }

    /// A column's type in the table's typed schema (`None` without one); a column the schema
    /// does not have is refused.
    fn column_type(&self, item: &LoweredItem, field: &str) -> Result<Option<ColumnType>, Failure> {
        let Some(schema) = self.schema else {
            return Ok(None);
        };
        schema.column_type(field).map(Some).ok_or_else(|| {
            unsupported(
                item.values.first().map_or(self.span, |v| v.span),
                format!(
                    "the field `{field}` (`{}`) has no column in {}: the pipelines map no column to it",
                    item.key, self.table
                ),
            )
        })
    }

    fn item(&self, item: &LoweredItem, negated: bool) -> Result<String, Failure> {
        let columns = match &item.field {
            Some(field) => vec![self.column(item, field)?],
            None => vec![Column {
                name: "*".to_owned(),
                ty: None,
            }],
        };
        let negated_here = negated != item.negated;
        let mut per_column = Vec::with_capacity(columns.len());
        for col in &columns {
            let mut values = Vec::with_capacity(item.values.len());
            for value in &item.values {
                values.push(self.value(item, value, col, negated_here)?);
            }
            let tested = if item.all {
                // Every value must match on its own; `has_all` would test terms instead.
                let each: Vec<String> =
                    values.into_iter().map(|v| or_atoms(&col.name, v)).collect();
                group(&each, " and ")
            } else {
                or_atoms(&col.name, values.into_iter().flatten().collect())
            };
            per_column.push(tested);
        }
        // A Sigma field that the pipeline maps to several columns matches when any of them does.
        let expr = group(&per_column, " or ");
        Ok(if item.negated {
            format!("not({expr})")
        } else {
            expr
        })
    }

    /// A test Kusto may evaluate to null (a comparison with a null or non-numeric value, an
    /// address of the other family), as a two-valued one when it sits under a negation: Sigma
    /// reads such a test as false, so `not` of it is true, while Kusto's `not(null)` is null
    /// and `where` drops the row. Outside a negation null and false drop the row alike, so the
    /// plain form is kept. Source: <https://learn.microsoft.com/kusto/query/scalar-data-types/null-values>.
    fn two_valued(test: String, negated: bool) -> Atom {
        Atom::Other(if negated {
            format!("coalesce({test}, false)")
        } else {
            test
        })
    }

    /// The alternative tests one value stands for on one column.
    fn value(
        &self,
        item: &LoweredItem,
        value: &LoweredValue,
        col: &Column,
        negated: bool,
    ) -> Result<Vec<Atom>, Failure> {
        let keyword = item.field.is_none();
        let refuse = |what: &str| {
            unsupported(
                value.span,
                format!("{what} (`{}`) cannot be converted to KQL", item.key),
            )
        };
        let typed = |what: &str| {
            refuse(&format!(
                "{what} on the {} column `{}` of {}",
                col.ty.map_or("untyped", ColumnType::name),
                col.name,
                self.table
            ))
        };
        let name = col.name.as_str();
        let numeric = col.ty.is_some_and(ColumnType::is_numeric);
        let text_column = matches!(
            col.ty,
            None | Some(ColumnType::String | ColumnType::Dynamic)
        );
        let tests = &value.tests;
        let mut atoms = Vec::with_capacity(tests.len());
        for test in tests {
            atoms.push(match test {
                ValueTest::Exists(true) => Atom::Other(col.present()),
                ValueTest::Exists(false) | ValueTest::Null if !keyword => Atom::Other(col.absent()),
                ValueTest::Exists(false) | ValueTest::Null => {
                    return Err(refuse("a null keyword"));
                }
                ValueTest::FieldRef {
                    other,
                    position,
                    cased,
                } => {
                    if !text_column {
                        return Err(typed("a field reference"));
                    }
                    let op = match (position, cased) {
                        (Position::Exact, false) => "=~",
                        (Position::Exact, true) => "==",
                        (Position::Contains, false) => "contains",
                        (Position::Contains, true) => "contains_cs",
                        (Position::Prefix, false) => "startswith",
                        (Position::Prefix, true) => "startswith_cs",
                        (Position::Suffix, false) => "endswith",
                        (Position::Suffix, true) => "endswith_cs",
                    };
                    // Sigma fails when the other field is absent; Kusto reads an absent string
                    // as "", which every string operator would accept, so the emptiness is
                    // tested first.
                    let tests: Vec<String> = [self.column(item, other.as_str())?]
                        .into_iter()
                        .map(|o| {
                            if o.nullable() {
                                Err(typed(&format!(
                                    "a reference to the typed column `{}`",
                                    o.name
                                )))
                            } else {
                                Ok(format!("(isnotempty({0}) and {name} {op} {0})", o.name))
                            }
                        })
                        .collect::<Result<_, _>>()?;
                    Atom::Other(group(&tests, " or "))
                }
                ValueTest::Regex {
                    pattern,
                    insensitive,
                    multiline,
                    dot_all,
                } => {
                    if !text_column {
                        return Err(typed("a regular expression"));
                    }
                    let mut flags = String::new();
                    for (on, letter) in [(insensitive, 'i'), (multiline, 'm'), (dot_all, 's')] {
                        if *on {
                            flags.push(letter);
                        }
                    }
                    let pattern = if flags.is_empty() {
                        pattern.clone()
                    } else {
                        format!("(?{flags}){pattern}")
                    };
                    Atom::Other(format!("{name} matches regex {}", string_literal(&pattern)))
                }
                ValueTest::Cidr(net) => {
                    if !text_column {
                        return Err(typed("an address range"));
                    }
                    // The engine tests the network of the range, so `10.1.2.3/8` is `10.0.0.0/8`.
                    let function = match net {
                        IpNet::V4(_) => "ipv4_is_in_range",
                        IpNet::V6(_) => "ipv6_is_in_range",
                    };
                    // Null for an address of the other family, `""` or `-`.
                    Self::two_valued(
                        format!("{function}({name}, {})", string_literal(&net.to_string())),
                        negated,
                    )
                }
                ValueTest::Number(op, _) | ValueTest::TimePart(_, op, _) => {
                    let Some(number) = number_literal(&value.written) else {
                        return Err(refuse(&format!(
                            "the comparison with `{}`, which is not a number,",
                            value.written.text()
                        )));
                    };
                    // Kusto's `datetime_part` names, which match the engine's parts
                    // (`week_of_year` is the ISO 8601 week, as the engine's `week` is).
                    let lhs = match (test, col.ty) {
                        (ValueTest::TimePart(part, _, _), ty) => {
                            let part = match part {
                                TimePart::Minute => "Minute",
                                TimePart::Hour => "Hour",
                                TimePart::Day => "Day",
                                TimePart::Week => "week_of_year",
                                TimePart::Month => "Month",
                                TimePart::Year => "Year",
                            };
                            let time = match ty {
                                Some(ColumnType::Datetime) => name.to_owned(),
                                None | Some(ColumnType::String | ColumnType::Dynamic) => {
                                    format!("todatetime({name})")
                                }
                                Some(_) => return Err(typed("a time part")),
                            };
                            format!("datetime_part(\"{part}\", {time})")
                        }
                        (_, ty) if ty.is_some_and(ColumnType::is_numeric) => name.to_owned(),
                        (_, None | Some(ColumnType::String | ColumnType::Dynamic)) => {
                            format!("todouble({name})")
                        }
                        (_, Some(_)) => return Err(typed("a numeric comparison")),
                    };
                    let op = match op {
                        NumOp::Eq => "==",
                        NumOp::Lt => "<",
                        NumOp::Lte => "<=",
                        NumOp::Gt => ">",
                        NumOp::Gte => ">=",
                    };
                    // Null when the value is missing or is no number (`todouble("")`).
                    Self::two_valued(format!("{lhs} {op} {number}"), negated)
                }
                ValueTest::Equals(Scalar::Bool(b)) => match col.ty {
                    Some(ColumnType::Bool) | None => Atom::Other(format!("{name} == {b}")),
                    Some(ColumnType::String) => Atom::StrEq {
                        cased: false,
                        text: b.to_string(),
                    },
                    Some(_) => return Err(typed(&format!("the boolean `{b}`"))),
                },
                ValueTest::Equals(scalar @ (Scalar::Int(_) | Scalar::Float(_)))
                    if col.ty == Some(ColumnType::String) =>
                {
                    // The engine compares a number with a string value as text.
                    Atom::StrEq {
                        cased: false,
                        text: scalar.text(),
                    }
                }
                ValueTest::Equals(scalar @ (Scalar::Int(_) | Scalar::Float(_)))
                    if !numeric && col.ty.is_some() && col.ty != Some(ColumnType::Dynamic) =>
                {
                    return Err(typed(&format!("the number `{}`", scalar.text())));
                }
                ValueTest::Equals(Scalar::Int(i)) => Atom::NumEq(i.to_string()),
                ValueTest::Equals(Scalar::Float(f)) if f.is_finite() => Atom::NumEq(real(*f)),
                // Anything else the engine compares as the text it is written as.
                ValueTest::Equals(other) => self
                    .pattern(col, &literal_parts(&other.text()), item.cased, keyword)
                    .map_err(|what| typed(&what))?,
                ValueTest::Pattern(parts) => self
                    .pattern(col, parts, item.cased, keyword)
                    .map_err(|what| typed(&what))?,
            });
        }
        Ok(atoms)
    }

    /// One string pattern as the cheapest faithful KQL test of a column, or of every column (`*`)
    /// for a keyword. On a typed column that is not a string, a literal is converted to the
    /// column's type (a number, hexadecimal `0x3e7` included, or a boolean) and anything else
    /// is refused, with what was refused as the error.
    fn pattern(
        &self,
        col: &Column,
        parts: &[Part],
        cased: bool,
        keyword: bool,
    ) -> Result<Atom, String> {
        match (col.ty, parts) {
            (_, [Part::AnyRun]) if !keyword => Ok(Atom::Other(col.present())),
            (None | Some(ColumnType::String | ColumnType::Dynamic), _) => {
                Ok(pattern_test(&col.name, parts, cased, keyword))
            }
            (Some(ty), [Part::Literal(text)]) if ty.is_numeric() => {
                let number = integer_text(text)
                    .map(|i| i.to_string())
                    .or_else(|| {
                        (ty == ColumnType::Real)
                            .then(|| text.trim().parse::<f64>().ok())
                            .flatten()
                            .filter(|f| f.is_finite())
                            .map(real)
                    })
                    .ok_or_else(|| format!("the value `{text}`, which is not a number,"))?;
                Ok(Atom::NumEq(number))
            }
            (Some(ColumnType::Bool), [Part::Literal(text)])
                if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
            {
                Ok(Atom::Other(format!(
                    "{} == {}",
                    col.name,
                    text.to_ascii_lowercase()
                )))
            }
            (Some(_), [Part::Literal(text)]) => Err(format!("the value `{text}`")),
            (Some(_), _) => Err("a string pattern".to_owned()),
        }
    }
}

/// A number as a KQL literal, parsed the way the engine parses comparison values.
fn number_literal(value: &Scalar) -> Option<String> {
    match value {
        Scalar::Int(i) => Some(i.to_string()),
        Scalar::Float(f) if f.is_finite() => Some(real(*f)),
        Scalar::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                return Some(i.to_string());
            }
            s.parse::<f64>().ok().filter(|f| f.is_finite()).map(real)
        }
        _ => None,
    }
}

/// A finite real as a KQL literal; Rust's `Debug` form always has a dot or an exponent.
fn real(f: f64) -> String {
    format!("{f:?}")
}

/// ORs a column's tests, folding equalities into one `in~` (or `in`) list per kind.
fn or_atoms(col: &str, atoms: Vec<Atom>) -> String {
    let mut folded_ci: Vec<String> = Vec::new();
    let mut folded_cs: Vec<String> = Vec::new();
    let mut numbers: Vec<String> = Vec::new();
    // Each slot is where a folded list appears: at the first of its members.
    let mut order: Vec<Slot> = Vec::new();
    for atom in atoms {
        match atom {
            Atom::StrEq { cased: false, text } => {
                if folded_ci.is_empty() {
                    order.push(Slot::Insensitive);
                }
                if !folded_ci.contains(&text) {
                    folded_ci.push(text);
                }
            }
            Atom::StrEq { cased: true, text } => {
                if folded_cs.is_empty() {
                    order.push(Slot::Sensitive);
                }
                if !folded_cs.contains(&text) {
                    folded_cs.push(text);
                }
            }
            Atom::NumEq(n) => {
                if numbers.is_empty() {
                    order.push(Slot::Numbers);
                }
                if !numbers.contains(&n) {
                    numbers.push(n);
                }
            }
            Atom::Other(text) => {
                if !order.iter().any(|s| *s == Slot::Other(text.clone())) {
                    order.push(Slot::Other(text));
                }
            }
        }
    }
    let strings = |list: &[String], single: &str, multi: &str| match list {
        [one] => format!("{col} {single} {}", string_literal(one)),
        _ => format!(
            "{col} {multi} ({})",
            list.iter()
                .map(|s| string_literal(s))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let parts: Vec<String> = order
        .into_iter()
        .map(|slot| match slot {
            Slot::Insensitive => strings(&folded_ci, "=~", "in~"),
            Slot::Sensitive => strings(&folded_cs, "==", "in"),
            Slot::Numbers => match numbers.as_slice() {
                [one] => format!("{col} == {one}"),
                _ => format!("{col} in ({})", numbers.join(", ")),
            },
            Slot::Other(text) => text,
        })
        .collect();
    group(&parts, " or ")
}

#[derive(Debug, PartialEq)]
enum Slot {
    Insensitive,
    Sensitive,
    Numbers,
    Other(String),
}

/// One string pattern as the cheapest faithful KQL test of a column, or of every column (`*`)
/// for a keyword.
fn pattern_test(col: &str, parts: &[Part], cased: bool, keyword: bool) -> Atom {
    let cs = if cased { "_cs" } else { "" };
    let other = Atom::Other;
    if keyword {
        // Kusto documents `where * contains "x"` and `where * matches regex "…"` as the `where`
        // forms of `search`; a cased substring uses the regex, which is case-sensitive.
        return match parts {
            [Part::AnyRun, Part::Literal(s), Part::AnyRun] if !cased => {
                other(format!("* contains {}", string_literal(s)))
            }
            _ => other(format!(
                "* matches regex {}",
                string_literal(&regex(parts, cased))
            )),
        };
    }
    match parts {
        [] => Atom::StrEq {
            cased,
            text: String::new(),
        },
        [Part::Literal(s)] => Atom::StrEq {
            cased,
            text: s.clone(),
        },
        [Part::Literal(s), Part::AnyRun] => {
            other(format!("{col} startswith{cs} {}", string_literal(s)))
        }
        [Part::AnyRun, Part::Literal(s)] => {
            other(format!("{col} endswith{cs} {}", string_literal(s)))
        }
        [Part::AnyRun, Part::Literal(s), Part::AnyRun] => {
            other(format!("{col} contains{cs} {}", string_literal(s)))
        }
        _ => other(format!(
            "{col} matches regex {}",
            string_literal(&regex(parts, cased))
        )),
    }
}

/// An anchored RE2 pattern for Sigma parts, matching the whole value as the engine does:
/// `(?s)` lets `*` cross line breaks and `(?i)` ignores case unless the value is cased.
fn regex(parts: &[Part], cased: bool) -> String {
    let mut out = String::from(if cased { "(?s)^" } else { "(?is)^" });
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(&regex_escape(s)),
            Part::AnyRun => out.push_str(".*"),
            Part::AnyChar => out.push('.'),
            Part::Dash => out.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
        }
    }
    out.push('$');
    out
}

/// Escapes text for RE2 (and Rust's regex crate, which reads the same escapes): punctuation
/// with a meaning gets a backslash, control characters become `\x{…}`.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let _ = write!(out, "\\x{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// A KQL string literal: double-quoted with backslash escapes, so any text round-trips.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words that cannot be a bare column name because KQL reads them as operators or literals.
const RESERVED: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "has",
    "contains",
    "startswith",
    "endswith",
    "matches",
    "between",
    "true",
    "false",
    "where",
    "let",
    "by",
    "on",
    "dynamic",
];

/// A column reference: bare when it is a plain identifier, bracket-quoted otherwise.
pub(crate) fn column(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name);
    if plain {
        name.to_owned()
    } else {
        format!("[{}]", string_literal(name))
    }
}

/// The most operands one `and`/`or` chain gets. Kusto parses a chain as nested binary
/// operators, so a flat chain of a thousand terms is a thousand levels deep and Kusto.Language
/// refuses it ("Query syntax depth exceeds maximum safe limit", KS245); longer chains are split
/// into parenthesised chunks, which `and` and `or` being associative keeps the meaning of.
const MAX_CHAIN: usize = 32;

/// Joins with an operator, parenthesising when there is more than one part, and chunking a
/// chain longer than [`MAX_CHAIN`] into a tree of chains.
fn group(parts: &[String], joiner: &str) -> String {
    match parts {
        [single] => single.clone(),
        _ if parts.len() > MAX_CHAIN => {
            let chunks: Vec<String> = parts
                .chunks(MAX_CHAIN)
                .map(|chunk| group(chunk, joiner))
                .collect();
            group(&chunks, joiner)
        }
        _ => format!("({})", parts.join(joiner)),
    }
}

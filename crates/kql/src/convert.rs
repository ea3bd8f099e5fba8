//! Sigma → Microsoft Sentinel KQL: a rule's detection as one `where` over the pipeline's table.
//!
//! The output keeps Sigma's semantics, which `docs/kql.md` lists rule by rule:
//!
//! - equality ignores case (`=~`, and `in~` for lists); `cased` switches to `==`, `in` and the
//!   `_cs` operators;
//! - numbers compare unquoted with `==` and `in`, booleans with `== true`;
//! - `contains`, `startswith` and `endswith` keep their names;
//! - a value with wildcards inside becomes an anchored, case-insensitive `matches regex`;
//! - `re` becomes `matches regex` with its flags written inline (`(?i)`, `(?m)`, `(?s)`);
//! - `cidr` becomes `ipv4_is_in_range` or `ipv6_is_in_range` by the range's address family;
//! - `exists` becomes `isnotempty`/`isempty`, and `null` becomes `isempty`;
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
use ruleproof_sigma::condition::Quantifier;
use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::pattern::{Part, literal_parts};
use ruleproof_sigma::{
    CompileOptions, Cond, Document, DocumentBody, LoweredItem, LoweredRule, LoweredValue, NumOp,
    Position, Rule, SourceFile, Span, TimePart, ValueTest,
};

use crate::pipeline::Pipeline;

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
/// The document's YAML tree lets a log source error point at the `logsource` mapping.
pub fn convert_document(
    document: &Document,
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> Result<String, ConvertError> {
    match &document.body {
        DocumentBody::Rule(rule) => {
            let logsource_span = document
                .node
                .get("logsource")
                .map_or(rule.detection.span, |n| n.span);
            convert(rule, pipeline, options, logsource_span)
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

/// Converts one rule to a KQL query over the table the pipeline maps its log source to.
pub fn convert_rule(
    rule: &Rule,
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> Result<String, ConvertError> {
    convert(rule, pipeline, options, rule.detection.span)
}

fn convert(
    rule: &Rule,
    pipeline: &Pipeline,
    options: &CompileOptions,
    logsource_span: Span,
) -> Result<String, ConvertError> {
    let error = |span: Span, reason: Reason, message: String| ConvertError {
        rule: rule.meta.title.clone(),
        span,
        reason,
        message,
    };
    // The engine's own reading of the rule: a rule it refuses has no meaning to preserve, and
    // its first error says why.
    let lowered = LoweredRule::lower(rule, options).map_err(|errors| {
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
    let logsource = &rule.logsource;
    let table = pipeline
        .table_for(
            logsource.product.as_deref(),
            logsource.category.as_deref(),
            logsource.service.as_deref(),
        )
        .ok_or_else(|| {
            error(
                logsource_span,
                Reason::NoTable,
                format!(
                    "the {} pipeline maps no table for the log source (product: {}, category: {}, service: {})",
                    pipeline.name(),
                    logsource.product.as_deref().unwrap_or("-"),
                    logsource.category.as_deref().unwrap_or("-"),
                    logsource.service.as_deref().unwrap_or("-"),
                ),
            )
        })?
        .to_owned();
    let converter = Converter {
        lowered: &lowered,
        pipeline,
        table: &table,
        span: rule.detection.span,
    };
    let predicate = converter
        .condition(&lowered.condition)
        .map_err(|f| error(f.span, f.reason, f.message))?;
    Ok(format!("{table}\n| where {predicate}\n"))
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
    pipeline: &'a Pipeline,
    table: &'a str,
    /// The detection's span, for the failures that have no narrower place.
    span: Span,
}

impl Converter<'_> {
    /// The condition as KQL; several conditions of a rule arrive as one `or`, so the rule
    /// matches when any of them does.
    fn condition(&self, cond: &Cond) -> Result<String, Failure> {
        Ok(match cond {
            Cond::Search(i) => self.search(*i)?,
            Cond::Not(inner) => format!("not({})", self.condition(inner)?),
            Cond::And(items) => self.join(items, " and ")?,
            Cond::Or(items) => self.join(items, " or ")?,
            // The engine's selection: `them` skips names starting with `_`.
            Cond::Quantified {
                quantifier,
                searches,
                ..
            } => {
                let parts = searches
                    .iter()
                    .map(|i| self.search(*i))
                    .collect::<Result<Vec<_>, _>>()?;
                let joiner = match quantifier {
                    Quantifier::Any => " or ",
                    Quantifier::All => " and ",
                };
                group(&parts, joiner)
            }
        })
    }

    fn join(&self, items: &[Cond], joiner: &str) -> Result<String, Failure> {
        let parts = items
            .iter()
            .map(|c| self.condition(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, joiner))
    }

    fn search(&self, index: usize) -> Result<String, Failure> {
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
                    .map(|i| self.item(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(group(&parts, " and "))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, " or "))
    }

    fn item(&self, item: &LoweredItem) -> Result<String, Failure> {
        let columns: Vec<String> = match &item.field {
            Some(field) => self
                .pipeline
                .map_fields(self.table, field)
                .into_iter()
                .map(column)
                .collect(),
            None => vec!["*".to_owned()],
        };
        let mut per_column = Vec::with_capacity(columns.len());
        for col in &columns {
            let mut values = Vec::with_capacity(item.values.len());
            for value in &item.values {
                values.push(self.value(item, value, col)?);
            }
            let tested = if item.all {
                // Every value must match on its own; `has_all` would test terms instead.
                let each: Vec<String> = values.into_iter().map(|v| or_atoms(col, v)).collect();
                group(&each, " and ")
            } else {
                or_atoms(col, values.into_iter().flatten().collect())
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

    /// The alternative tests one value stands for on one column.
    fn value(
        &self,
        item: &LoweredItem,
        value: &LoweredValue,
        col: &str,
    ) -> Result<Vec<Atom>, Failure> {
        let keyword = item.field.is_none();
        let refuse = |what: &str| {
            unsupported(
                value.span,
                format!("{what} (`{}`) cannot be converted to KQL", item.key),
            )
        };
        let mut atoms = Vec::with_capacity(value.tests.len());
        for test in &value.tests {
            atoms.push(match test {
                ValueTest::Exists(true) => Atom::Other(format!("isnotempty({col})")),
                ValueTest::Exists(false) => Atom::Other(format!("isempty({col})")),
                ValueTest::FieldRef {
                    other,
                    position,
                    cased,
                } => {
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
                    let tests: Vec<String> = self
                        .pipeline
                        .map_fields(self.table, other)
                        .into_iter()
                        .map(column)
                        .map(|o| format!("(isnotempty({o}) and {col} {op} {o})"))
                        .collect();
                    Atom::Other(group(&tests, " or "))
                }
                ValueTest::Regex {
                    pattern,
                    insensitive,
                    multiline,
                    dot_all,
                } => {
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
                    Atom::Other(format!("{col} matches regex {}", string_literal(&pattern)))
                }
                ValueTest::Cidr(net) => {
                    // The engine tests the network of the range, so `10.1.2.3/8` is `10.0.0.0/8`.
                    let function = match net {
                        IpNet::V4(_) => "ipv4_is_in_range",
                        IpNet::V6(_) => "ipv6_is_in_range",
                    };
                    Atom::Other(format!(
                        "{function}({col}, {})",
                        string_literal(&net.to_string())
                    ))
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
                    let lhs = match test {
                        ValueTest::TimePart(part, _, _) => {
                            let part = match part {
                                TimePart::Minute => "Minute",
                                TimePart::Hour => "Hour",
                                TimePart::Day => "Day",
                                TimePart::Week => "week_of_year",
                                TimePart::Month => "Month",
                                TimePart::Year => "Year",
                            };
                            format!("datetime_part(\"{part}\", todatetime({col}))")
                        }
                        _ => format!("todouble({col})"),
                    };
                    let op = match op {
                        NumOp::Eq => "==",
                        NumOp::Lt => "<",
                        NumOp::Lte => "<=",
                        NumOp::Gt => ">",
                        NumOp::Gte => ">=",
                    };
                    Atom::Other(format!("{lhs} {op} {number}"))
                }
                ValueTest::Equals(Scalar::Int(i)) => Atom::NumEq(i.to_string()),
                ValueTest::Equals(Scalar::Float(f)) if f.is_finite() => Atom::NumEq(real(*f)),
                ValueTest::Equals(Scalar::Bool(b)) => Atom::Other(format!("{col} == {b}")),
                // Anything else the engine compares as the text it is written as.
                ValueTest::Equals(other) => {
                    pattern_test(col, &literal_parts(&other.text()), item.cased, keyword)
                }
                ValueTest::Null if keyword => return Err(refuse("a null keyword")),
                ValueTest::Null => Atom::Other(format!("isempty({col})")),
                ValueTest::Pattern(parts) => pattern_test(col, parts, item.cased, keyword),
            });
        }
        Ok(atoms)
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
        [Part::AnyRun] => other(format!("isnotnull({col})")),
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
fn column(name: &str) -> String {
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

/// Joins with an operator, parenthesising when there is more than one part.
fn group(parts: &[String], joiner: &str) -> String {
    match parts {
        [single] => single.clone(),
        _ => format!("({})", parts.join(joiner)),
    }
}

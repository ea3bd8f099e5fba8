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
//! A rule is compiled by the Sigma engine first, so that a rule the engine refuses is refused
//! here too, with the engine's own message, instead of being converted into something that
//! cannot mean what the rule says.

use std::fmt::{self, Write as _};

use ipnet::IpNet;
use ruleproof_sigma::condition::{CondExpr, Quantifier};
use ruleproof_sigma::detection::{Item, ItemMap, RuleValue, Scalar, SearchBody};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::pattern::Part;
use ruleproof_sigma::{
    CompileOptions, CompiledRule, Document, DocumentBody, Rule, SourceFile, Span, value_patterns,
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
    // A rule the engine refuses has no meaning to preserve; its first error says why.
    if let Err(errors) = CompiledRule::compile(rule, options)
        && let Some(first) = errors.first()
    {
        return Err(error(
            first.span,
            Reason::InvalidRule,
            format!("the rule does not compile: {}", first.message),
        ));
    }
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
        rule,
        pipeline,
        table: &table,
        options,
    };
    let mut conditions = Vec::new();
    for condition in &rule.detection.conditions {
        let expr = condition
            .parsed
            .as_ref()
            .map_err(|e| error(e.span, Reason::Unsupported, e.message.clone()))?;
        conditions.push(
            converter
                .condition(expr)
                .map_err(|f| error(f.span, f.reason, f.message))?,
        );
    }
    // Several conditions are alternatives: the rule matches when any of them does.
    let predicate = group(&conditions, " or ");
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
    rule: &'a Rule,
    pipeline: &'a Pipeline,
    table: &'a str,
    options: &'a CompileOptions,
}

impl Converter<'_> {
    fn condition(&self, expr: &CondExpr) -> Result<String, Failure> {
        Ok(match expr {
            CondExpr::Ident { name, span } => {
                let search = self.rule.detection.search(name).ok_or_else(|| {
                    unsupported(
                        *span,
                        format!(
                            "the condition names `{name}`, which the detection does not define"
                        ),
                    )
                })?;
                self.search(&search.body)?
            }
            CondExpr::Not(inner) => format!("not({})", self.condition(inner)?),
            CondExpr::And(items) => self.join(items, " and ")?,
            CondExpr::Or(items) => self.join(items, " or ")?,
            CondExpr::Quantified {
                quantifier,
                target,
                span,
            } => {
                // The same selection as the engine's: `them` skips names starting with `_`.
                let parts = self
                    .rule
                    .detection
                    .searches
                    .iter()
                    .filter(|s| target.matches(&s.name))
                    .map(|s| self.search(&s.body))
                    .collect::<Result<Vec<_>, _>>()?;
                if parts.is_empty() {
                    return Err(unsupported(
                        *span,
                        format!("`{target}` matches no search identifier"),
                    ));
                }
                let joiner = match quantifier {
                    Quantifier::Any => " or ",
                    Quantifier::All => " and ",
                };
                group(&parts, joiner)
            }
        })
    }

    fn join(&self, items: &[CondExpr], joiner: &str) -> Result<String, Failure> {
        let parts = items
            .iter()
            .map(|c| self.condition(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, joiner))
    }

    fn search(&self, body: &SearchBody) -> Result<String, Failure> {
        match body {
            SearchBody::Maps(maps) => {
                let parts = maps
                    .iter()
                    .map(|m| self.map(m))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(group(&parts, " or "))
            }
            SearchBody::Keywords(item) => self.item(item),
        }
    }

    fn map(&self, map: &ItemMap) -> Result<String, Failure> {
        let parts = map
            .items
            .iter()
            .map(|i| self.item(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, " and "))
    }

    fn item(&self, item: &Item) -> Result<String, Failure> {
        let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
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
            let tested = if has(Modifier::All) {
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
        Ok(if has(Modifier::Neq) {
            format!("not({expr})")
        } else {
            expr
        })
    }

    /// The alternative tests one value stands for on one column.
    fn value(&self, item: &Item, value: &RuleValue, col: &str) -> Result<Vec<Atom>, Failure> {
        let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
        let keyword = item.field.is_none();
        let cased = has(Modifier::Cased);
        let chain = modifier_chain(item);
        let refuse = |what: &str| {
            Err(unsupported(
                value.span,
                format!("{what} (`{chain}`) cannot be converted to KQL"),
            ))
        };
        if has(Modifier::Exists) {
            return match value.value {
                Scalar::Bool(true) => Ok(vec![Atom::Other(format!("isnotempty({col})"))]),
                Scalar::Bool(false) => Ok(vec![Atom::Other(format!("isempty({col})"))]),
                _ => refuse("`exists` with a value other than true or false"),
            };
        }
        if has(Modifier::FieldRef) {
            let Scalar::String(other) = &value.value else {
                return refuse("`fieldref` without a field name");
            };
            let op = if has(Modifier::Contains) {
                "contains"
            } else if has(Modifier::StartsWith) {
                "startswith"
            } else if has(Modifier::EndsWith) {
                "endswith"
            } else {
                "=~"
            };
            let op = match (op, cased) {
                ("=~", true) => "==".to_owned(),
                (op, true) => format!("{op}_cs"),
                (op, false) => op.to_owned(),
            };
            // Sigma fails when the other field is absent; Kusto reads an absent string as "",
            // which every string operator would accept, so the emptiness is tested first.
            let tests: Vec<String> = self
                .pipeline
                .map_fields(self.table, other)
                .into_iter()
                .map(column)
                .map(|o| format!("(isnotempty({o}) and {col} {op} {o})"))
                .collect();
            return Ok(vec![Atom::Other(group(&tests, " or "))]);
        }
        if has(Modifier::Re) {
            let Scalar::String(pattern) = &value.value else {
                return refuse("`re` without a pattern string");
            };
            let mut flags = String::new();
            for (flag, letter) in [
                (Modifier::ReInsensitive, 'i'),
                (Modifier::ReMultiline, 'm'),
                (Modifier::ReDotAll, 's'),
            ] {
                if has(flag) {
                    flags.push(letter);
                }
            }
            let pattern = if flags.is_empty() {
                pattern.clone()
            } else {
                format!("(?{flags}){pattern}")
            };
            return Ok(vec![Atom::Other(format!(
                "{col} matches regex {}",
                string_literal(&pattern)
            ))]);
        }
        if has(Modifier::Cidr) {
            let text = value.value.text();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
            let Ok(net) = net else {
                return refuse(&format!("the CIDR range `{text}`"));
            };
            // The engine tests the network of the range, so `10.1.2.3/8` means `10.0.0.0/8`.
            let function = match net {
                IpNet::V4(_) => "ipv4_is_in_range",
                IpNet::V6(_) => "ipv6_is_in_range",
            };
            return Ok(vec![Atom::Other(format!(
                "{function}({col}, {})",
                string_literal(&net.trunc().to_string())
            ))]);
        }
        let comparison = item.modifiers.iter().find_map(|(m, _)| match m {
            Modifier::Lt => Some("<"),
            Modifier::Lte => Some("<="),
            Modifier::Gt => Some(">"),
            Modifier::Gte => Some(">="),
            _ => None,
        });
        // Kusto's `datetime_part` names, which match the engine's parts (`week_of_year` is the
        // ISO 8601 week, as the engine's `week` is).
        let time_part = item.modifiers.iter().find_map(|(m, _)| match m {
            Modifier::Minute => Some("Minute"),
            Modifier::Hour => Some("Hour"),
            Modifier::Day => Some("Day"),
            Modifier::Week => Some("week_of_year"),
            Modifier::Month => Some("Month"),
            Modifier::Year => Some("Year"),
            _ => None,
        });
        if comparison.is_some() || time_part.is_some() {
            let Some(number) = number_literal(&value.value) else {
                return refuse(&format!(
                    "the comparison with `{}`, which is not a number,",
                    value.value.text()
                ));
            };
            let lhs = match time_part {
                Some(part) => format!("datetime_part(\"{part}\", todatetime({col}))"),
                None => format!("todouble({col})"),
            };
            return Ok(vec![Atom::Other(format!(
                "{lhs} {} {number}",
                comparison.unwrap_or("==")
            ))]);
        }
        let transformed = item.modifiers.iter().any(|(m, _)| {
            m.is_position()
                || m.is_encoding()
                || matches!(
                    m,
                    Modifier::Windash
                        | Modifier::Base64
                        | Modifier::Base64Offset
                        | Modifier::Expand
                )
        });
        if !keyword && !transformed {
            match &value.value {
                Scalar::Int(i) => return Ok(vec![Atom::NumEq(i.to_string())]),
                Scalar::Float(f) if f.is_finite() => return Ok(vec![Atom::NumEq(real(*f))]),
                Scalar::Bool(b) => return Ok(vec![Atom::Other(format!("{col} == {b}"))]),
                Scalar::Null => return Ok(vec![Atom::Other(format!("isempty({col})"))]),
                _ => {}
            }
        }
        let alternatives = value_patterns(item, value, self.options).map_err(|e| Failure {
            span: e.span,
            reason: Reason::InvalidRule,
            message: e.message,
        })?;
        let Some(alternatives) = alternatives else {
            return refuse("a null keyword");
        };
        Ok(alternatives
            .iter()
            .map(|parts| pattern_test(col, parts, cased, keyword))
            .collect())
    }
}

/// The modifier chain of an item as written, such as `CommandLine|contains|all`.
fn modifier_chain(item: &Item) -> String {
    let mut chain = item.field.clone().unwrap_or_else(|| "keywords".to_owned());
    for (modifier, _) in &item.modifiers {
        chain.push('|');
        chain.push_str(modifier.name());
    }
    chain
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

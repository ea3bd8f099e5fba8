//! Sigma → Microsoft Sentinel KQL: a rule's detection as a `where` over the pipeline's table.
//!
//! The output keeps Sigma's semantics: equality is case-insensitive (`=~`, `in~`), `contains`,
//! `startswith` and `endswith` keep their names (and `_cs` forms under `cased`), a value with
//! wildcards inside becomes an anchored, case-insensitive `matches regex`, numbers are compared
//! unquoted, CIDR ranges use the function of their address family, and keywords search every
//! column with `*`.

use std::fmt::Write as _;

use ruleproof_sigma::condition::{CondExpr, Quantifier, parse_condition, pattern_matches};
use ruleproof_sigma::detection::{Item, ItemMap, Scalar, SearchBody};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::pattern::Part;
use ruleproof_sigma::{CompileOptions, Rule, SourceFile, Span, value_patterns};

use crate::pipeline::Pipeline;

/// A construct that has no faithful KQL form, naming the rule and where it was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct ConvertError {
    pub rule: String,
    pub span: Span,
    pub message: String,
}

/// Converts one rule to a KQL query over the table the pipeline maps its log source to.
pub fn convert_rule(
    rule: &Rule,
    source: &SourceFile,
    pipeline: &Pipeline,
    options: &CompileOptions,
) -> Result<String, ConvertError> {
    let error = |span: Span, message: String| ConvertError {
        rule: rule.meta.title.clone(),
        span,
        message,
    };
    let logsource = &rule.logsource;
    let table = pipeline
        .table_for(
            logsource.product.as_deref(),
            logsource.category.as_deref(),
            logsource.service.as_deref(),
        )
        .ok_or_else(|| {
            error(
                rule.detection.span,
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
        let span = content_span(source, condition.span);
        let expr = parse_condition(&condition.text, span).map_err(|e| error(e.span, e.message))?;
        conditions.push(converter.condition(&expr).map_err(|(span, m)| error(span, m))?);
    }
    let predicate = match conditions.len() {
        1 => conditions.remove(0),
        _ => conditions.iter().map(|c| format!("({c})")).collect::<Vec<_>>().join(" or "),
    };
    Ok(format!("{table}\n| where {predicate}\n"))
}

fn content_span(source: &SourceFile, span: Span) -> Span {
    match source.text().as_bytes().get(span.start as usize) {
        Some(b'\'' | b'"') => Span::new(span.start as usize + 1, span.end as usize),
        _ => span,
    }
}

type Failure = (Span, String);

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
                    (*span, format!("the condition names `{name}`, which the detection does not define"))
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
                let names: Vec<&str> = self
                    .rule
                    .detection
                    .searches
                    .iter()
                    .map(|s| s.name.as_str())
                    .filter(|n| {
                        if target == "them" {
                            !n.starts_with('_')
                        } else {
                            pattern_matches(target, n)
                        }
                    })
                    .collect();
                if names.is_empty() {
                    return Err((*span, format!("`{target}` matches no search identifier")));
                }
                let parts = names
                    .iter()
                    .map(|n| {
                        self.condition(&CondExpr::Ident {
                            name: (*n).to_owned(),
                            span: *span,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let joiner = match quantifier {
                    Quantifier::Any => " or ",
                    Quantifier::All => " and ",
                };
                group(&parts, joiner)
            }
        })
    }

    fn join(&self, items: &[CondExpr], joiner: &str) -> Result<String, Failure> {
        let parts = items.iter().map(|c| self.condition(c)).collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, joiner))
    }

    fn search(&self, body: &SearchBody) -> Result<String, Failure> {
        match body {
            SearchBody::Maps(maps) => {
                let parts = maps.iter().map(|m| self.map(m)).collect::<Result<Vec<_>, _>>()?;
                Ok(group(&parts, " or "))
            }
            SearchBody::Keywords(item) => self.item(item),
        }
    }

    fn map(&self, map: &ItemMap) -> Result<String, Failure> {
        let parts = map.items.iter().map(|i| self.item(i)).collect::<Result<Vec<_>, _>>()?;
        Ok(group(&parts, " and "))
    }

    fn item(&self, item: &Item) -> Result<String, Failure> {
        let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
        let fields: Vec<String> = match &item.field {
            Some(field) => self
                .pipeline
                .map_fields(self.table, field)
                .into_iter()
                .map(column)
                .collect(),
            None => vec!["*".to_owned()],
        };
        let cased = has(Modifier::Cased);
        let mut per_field = Vec::new();
        for field in &fields {
            let mut values = Vec::new();
            for value in &item.values {
                values.push(self.value(item, value, field, cased)?);
            }
            let joined = if has(Modifier::All) {
                group(&values, " and ")
            } else {
                self.or_values(item, field, cased, values)?
            };
            per_field.push(joined);
        }
        // A Sigma field that the pipeline maps to several columns matches when any of them does.
        let expr = group(&per_field, " or ");
        Ok(if has(Modifier::Neq) { format!("not({expr})") } else { expr })
    }

    /// ORs a field's value tests, folding plain equalities into one `in~` (or `in`) list.
    fn or_values(&self, item: &Item, field: &str, cased: bool, values: Vec<String>) -> Result<String, Failure> {
        let equality = if cased { " == " } else { " =~ " };
        let prefix = format!("{field}{equality}");
        let numeric_prefix = format!("{field} == ");
        let all_equal = values.len() > 1 && values.iter().all(|v| v.starts_with(&prefix) && !v.contains(" or "));
        let all_numeric = values.len() > 1
            && item.values.iter().all(|v| matches!(v.value, Scalar::Int(_) | Scalar::Float(_)))
            && values.iter().all(|v| v.starts_with(&numeric_prefix));
        if all_numeric {
            let list: Vec<&str> = values.iter().map(|v| &v[numeric_prefix.len()..]).collect();
            return Ok(format!("{field} in ({})", list.join(", ")));
        }
        if all_equal {
            let list: Vec<&str> = values.iter().map(|v| &v[prefix.len()..]).collect();
            let op = if cased { "in" } else { "in~" };
            return Ok(format!("{field} {op} ({})", list.join(", ")));
        }
        Ok(group(&values, " or "))
    }

    fn value(&self, item: &Item, value: &ruleproof_sigma::detection::RuleValue, field: &str, cased: bool) -> Result<String, Failure> {
        let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
        let unsupported = |what: &str| Err((value.span, format!("{what} cannot be converted to KQL")));
        if has(Modifier::Exists) {
            return match value.value {
                Scalar::Bool(true) => Ok(format!("isnotempty({field})")),
                Scalar::Bool(false) => Ok(format!("isempty({field})")),
                _ => unsupported("`exists` with a value other than true or false"),
            };
        }
        if field == "*" && (has(Modifier::Re) || has(Modifier::Cidr) || has(Modifier::FieldRef)) {
            return unsupported("a keyword search with `re`, `cidr` or `fieldref`");
        }
        if has(Modifier::FieldRef) {
            let Scalar::String(other) = &value.value else {
                return unsupported("`fieldref` without a field name");
            };
            let other = column(self.pipeline.map_fields(self.table, other).first().copied().unwrap_or(other));
            let op = if has(Modifier::Contains) {
                "contains"
            } else if has(Modifier::StartsWith) {
                "startswith"
            } else if has(Modifier::EndsWith) {
                "endswith"
            } else if cased {
                "=="
            } else {
                "=~"
            };
            let op = if cased && op != "==" { format!("{op}_cs") } else { op.to_owned() };
            return Ok(format!("{field} {op} {other}"));
        }
        if has(Modifier::Re) {
            let Scalar::String(pattern) = &value.value else {
                return unsupported("`re` without a pattern");
            };
            let mut flags = String::new();
            for (flag, letter) in [(Modifier::ReInsensitive, 'i'), (Modifier::ReMultiline, 'm'), (Modifier::ReDotAll, 's')] {
                if has(flag) {
                    flags.push(letter);
                }
            }
            let pattern = if flags.is_empty() { pattern.clone() } else { format!("(?{flags}){pattern}") };
            return Ok(format!("{field} matches regex {}", string_literal(&pattern)));
        }
        if has(Modifier::Cidr) {
            let text = value.value.text();
            let function = if text.contains(':') { "ipv6_is_in_range" } else { "ipv4_is_in_range" };
            return Ok(format!("{function}({field}, {})", string_literal(&text)));
        }
        let comparison = item.modifiers.iter().find_map(|(m, _)| match m {
            Modifier::Lt => Some("<"),
            Modifier::Lte => Some("<="),
            Modifier::Gt => Some(">"),
            Modifier::Gte => Some(">="),
            _ => None,
        });
        let time_part = item.modifiers.iter().find_map(|(m, _)| match m {
            Modifier::Minute => Some("minute"),
            Modifier::Hour => Some("hour"),
            Modifier::Day => Some("day"),
            Modifier::Week => Some("week_of_year"),
            Modifier::Month => Some("month"),
            Modifier::Year => Some("year"),
            _ => None,
        });
        if comparison.is_some() || time_part.is_some() {
            let number = match &value.value {
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(f) => f.to_string(),
                Scalar::String(s) if s.trim().parse::<f64>().is_ok() => s.trim().to_owned(),
                _ => return unsupported("a comparison with a value that is not a number"),
            };
            let lhs = match time_part {
                Some(part) => format!("datetime_part(\"{part}\", todatetime({field}))"),
                None => format!("todouble({field})"),
            };
            return Ok(format!("{lhs} {} {number}", comparison.unwrap_or("==")));
        }
        if let (Scalar::Int(_) | Scalar::Float(_), true) = (&value.value, field != "*" && item.modifiers.is_empty()) {
            return Ok(format!("{field} == {}", value.value.text()));
        }
        let alternatives = value_patterns(item, value, self.options)
            .map_err(|e| (e.span, e.message))?;
        let Some(alternatives) = alternatives else {
            return Ok(format!("isempty({field})"));
        };
        let tests: Vec<String> = alternatives
            .iter()
            .map(|parts| pattern_test(field, parts, cased))
            .collect();
        Ok(group(&tests, " or "))
    }
}

/// One string pattern as the cheapest faithful KQL test.
fn pattern_test(field: &str, parts: &[Part], cased: bool) -> String {
    let suffix = if cased { "_cs" } else { "" };
    let literal = |s: &str| string_literal(s);
    match parts {
        [] => format!("{field} {} \"\"", if cased { "==" } else { "=~" }),
        [Part::AnyRun] => format!("isnotnull({field})"),
        [Part::Literal(s)] if field == "*" => format!("* contains{suffix} {}", literal(s)),
        [Part::Literal(s)] => format!("{field} {} {}", if cased { "==" } else { "=~" }, literal(s)),
        [Part::Literal(s), Part::AnyRun] if field != "*" => format!("{field} startswith{suffix} {}", literal(s)),
        [Part::AnyRun, Part::Literal(s)] if field != "*" => format!("{field} endswith{suffix} {}", literal(s)),
        [Part::AnyRun, Part::Literal(s), Part::AnyRun] => format!("{field} contains{suffix} {}", literal(s)),
        _ => {
            let mut regex = String::new();
            if !cased {
                regex.push_str("(?i)");
            }
            // Keyword searches look for the pattern anywhere in a value; field tests anchor it.
            if field != "*" {
                regex.push('^');
            }
            for part in parts {
                match part {
                    Part::Literal(s) => regex.push_str(&regex_escape(s)),
                    Part::AnyRun => regex.push_str(".*"),
                    Part::AnyChar => regex.push('.'),
                    Part::Dash => regex.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
                }
            }
            if field != "*" {
                regex.push('$');
            }
            format!("{field} matches regex {}", string_literal(&regex))
        }
    }
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) || c.is_whitespace() && c != ' ' {
            out.push('\\');
        }
        out.push(c);
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

/// A column reference: bare when it is an identifier, bracket-quoted otherwise.
fn column(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
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

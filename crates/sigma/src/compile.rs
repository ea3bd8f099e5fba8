//! Compiling a rule once into matchers that evaluate events without parsing or per-event allocation.

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;
use regex::Regex;

use crate::condition::{CondExpr, Quantifier};
use crate::detection::{Detection, Item, RuleValue, Scalar, SearchBody};
use crate::document::{Filter, LogSource, Metadata, Rule};
use crate::error::{ErrorKind, SigmaError};
use crate::event::FieldPath;
use crate::explain::SearchRole;
use crate::modifier::Modifier;
use crate::pattern::{self, Part, StrMatcher};
use crate::source::Span;

/// Inputs to compilation that do not come from the rule itself.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Values for `|expand` placeholders (`%name%` → values). Without them such rules are rejected.
    pub placeholders: Option<HashMap<String, Vec<String>>>,
}

/// A rule (with any meta-filters applied) ready to evaluate events. `Send + Sync`.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub meta: Arc<Metadata>,
    pub logsource: LogSource,
    pub(crate) searches: Vec<CompiledSearch>,
    pub(crate) condition: Cond,
    /// The references of the meta-filters applied, in order.
    pub(crate) filters: Vec<String>,
}

/// A search identifier's structure without a verdict, from [`CompiledRule::outline`].
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOutline {
    /// The search identifier as written.
    pub name: String,
    /// The meta-filter the search came from, if it is not the rule's own.
    pub origin: Option<String>,
    /// What the search does in its condition.
    pub role: SearchRole,
    /// Whether it is a keyword search.
    pub keywords: bool,
    /// Its maps (ORed), each a list of items (ANDed).
    pub maps: Vec<Vec<ItemOutline>>,
}

/// A detection item's structure without a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemOutline {
    /// The key as written, with modifiers (`keywords` for keyword searches).
    pub key: String,
    /// Whether the item is `neq`.
    pub negated: bool,
    /// Each value as written.
    pub values: Vec<String>,
}

/// A meta-filter compiled on its own, to be applied to the rules it names.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    pub meta: Arc<Metadata>,
    pub logsource: LogSource,
    pub rules: Vec<String>,
    pub(crate) searches: Vec<CompiledSearch>,
    pub(crate) condition: Cond,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledSearch {
    pub name: String,
    /// The filter this search came from, when it was added by a meta-filter.
    pub origin: Option<String>,
    /// What the search does in the condition it was written for.
    pub role: SearchRole,
    pub keywords: bool,
    pub maps: Vec<CompiledMap>,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledMap {
    pub items: Vec<CompiledItem>,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledItem {
    pub field: Option<FieldPath>,
    /// The key as written, modifiers included, for explanations.
    pub key: String,
    pub all: bool,
    pub negate: bool,
    pub values: Vec<CompiledValue>,
}

/// One value of an item; alternatives come from expansions (`base64offset`, placeholders) and are ORed.
#[derive(Clone, Debug)]
pub(crate) struct CompiledValue {
    pub display: String,
    pub alternatives: Vec<ValueMatcher>,
}

#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "matchers sit inline in compiled rules and are read per event; boxing the larger ones would add a pointer chase on the hot path"
)]
pub(crate) enum ValueMatcher {
    Str {
        matcher: StrMatcher,
        cased: bool,
        /// For cased values, the case-insensitive twin that tells a case mismatch from a miss.
        folded_twin: Option<StrMatcher>,
    },
    Regex(Regex),
    Number(NumOp, f64),
    Cidr(IpNet),
    Null,
    Exists(bool),
    FieldRef {
        other: FieldPath,
        position: Position,
        cased: bool,
    },
    TimePart(TimePart, NumOp, f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumOp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// The condition with identifiers resolved to indices into the rule's searches.
#[derive(Clone, Debug)]
pub(crate) enum Cond {
    Search(usize),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Quantified {
        quantifier: Quantifier,
        label: String,
        searches: Vec<usize>,
    },
}

impl CompiledRule {
    /// Compiles a loaded rule, collecting every error rather than stopping at the first.
    pub fn compile(rule: &Rule, options: &CompileOptions) -> Result<CompiledRule, Vec<SigmaError>> {
        let (searches, condition) = compile_detection(&rule.detection, options, None)?;
        Ok(CompiledRule {
            meta: Arc::new(rule.meta.clone()),
            logsource: rule.logsource.clone(),
            searches,
            condition,
            filters: Vec::new(),
        })
    }

    /// The rule with meta-filters applied: `(rule condition) and (filter condition)` for each, as pySigma does.
    pub fn with_filters(&self, filters: &[&CompiledFilter]) -> CompiledRule {
        let mut rule = self.clone();
        let mut parts = vec![rule.condition.clone()];
        for filter in filters {
            let offset = rule.searches.len();
            rule.searches
                .extend(filter.searches.iter().cloned().map(|mut s| {
                    s.origin = Some(filter.meta.reference().to_owned());
                    s
                }));
            parts.push(filter.condition.shifted(offset));
            rule.filters.push(filter.meta.reference().to_owned());
        }
        if parts.len() > 1 {
            rule.condition = Cond::And(parts);
        }
        rule
    }

    /// The names of the rule's own search identifiers, in the order written.
    pub fn search_names(&self) -> impl Iterator<Item = &str> {
        self.searches
            .iter()
            .filter(|s| s.origin.is_none())
            .map(|s| s.name.as_str())
    }

    /// The structure of every search (the rule's own, then those of applied meta-filters): its
    /// identity, role, items and values, in the order written, without evaluating anything.
    /// The same structure, in the same order, as every [`Explanation`](crate::Explanation)
    /// of the rule.
    pub fn outline(&self) -> Vec<SearchOutline> {
        self.searches
            .iter()
            .map(|search| SearchOutline {
                name: search.name.clone(),
                origin: search.origin.clone(),
                role: search.role,
                keywords: search.keywords,
                maps: search
                    .maps
                    .iter()
                    .map(|map| {
                        map.items
                            .iter()
                            .map(|item| ItemOutline {
                                key: item.key.clone(),
                                negated: item.negate,
                                values: item.values.iter().map(|v| v.display.clone()).collect(),
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn applied_filters(&self) -> &[String] {
        &self.filters
    }
}

impl CompiledFilter {
    pub fn compile(
        filter: &Filter,
        options: &CompileOptions,
    ) -> Result<CompiledFilter, Vec<SigmaError>> {
        let (searches, condition) = compile_detection(
            &filter.detection,
            options,
            filter.meta.id.clone().or(Some(filter.meta.title.clone())),
        )?;
        Ok(CompiledFilter {
            meta: Arc::new(filter.meta.clone()),
            logsource: filter.logsource.clone(),
            rules: filter.rules.iter().map(|(r, _)| r.clone()).collect(),
            searches,
            condition,
        })
    }

    /// The names of the filter's search identifiers, in the order written.
    pub fn search_names(&self) -> impl Iterator<Item = &str> {
        self.searches.iter().map(|s| s.name.as_str())
    }

    /// Whether the filter applies to a rule: it names the rule by id or name, or it names no
    /// rules and its log source covers the rule's.
    pub fn applies_to(&self, rule: &CompiledRule) -> bool {
        if self.rules.is_empty() {
            self.logsource.covers(&rule.logsource)
        } else {
            self.rules.iter().any(|r| rule.meta.is_named(r))
        }
    }
}

impl Cond {
    fn shifted(&self, offset: usize) -> Cond {
        match self {
            Cond::Search(i) => Cond::Search(i + offset),
            Cond::Not(inner) => Cond::Not(Box::new(inner.shifted(offset))),
            Cond::And(items) => Cond::And(items.iter().map(|c| c.shifted(offset)).collect()),
            Cond::Or(items) => Cond::Or(items.iter().map(|c| c.shifted(offset)).collect()),
            Cond::Quantified {
                quantifier,
                label,
                searches,
            } => Cond::Quantified {
                quantifier: *quantifier,
                label: label.clone(),
                searches: searches.iter().map(|i| i + offset).collect(),
            },
        }
    }
}

fn compile_detection(
    detection: &Detection,
    options: &CompileOptions,
    origin: Option<String>,
) -> Result<(Vec<CompiledSearch>, Cond), Vec<SigmaError>> {
    let mut errors = Vec::new();
    let mut searches = Vec::new();
    for search in &detection.searches {
        let (keywords, maps) = match &search.body {
            SearchBody::Maps(maps) => (
                false,
                maps.iter()
                    .map(|m| CompiledMap {
                        items: m
                            .items
                            .iter()
                            .filter_map(|item| compile_item(item, options, &mut errors))
                            .collect(),
                    })
                    .collect(),
            ),
            SearchBody::Keywords(item) => (
                true,
                compile_item(item, options, &mut errors)
                    .map(|item| vec![CompiledMap { items: vec![item] }])
                    .unwrap_or_default(),
            ),
        };
        searches.push(CompiledSearch {
            name: search.name.clone(),
            origin: origin.clone(),
            // Decided below, once the condition is resolved.
            role: SearchRole::Selection,
            keywords,
            maps,
        });
    }
    let names: Vec<&str> = searches.iter().map(|s| s.name.as_str()).collect();
    let mut conditions = Vec::new();
    for condition in &detection.conditions {
        match &condition.parsed {
            Ok(expr) => match resolve(expr, &names) {
                Ok(cond) => conditions.push(cond),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let condition = if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        Cond::Or(conditions)
    };
    mark_filters(&condition, false, &mut searches);
    Ok((searches, condition))
}

/// Marks every search that sits under a `not` somewhere in the condition as a filter.
fn mark_filters(cond: &Cond, negated: bool, searches: &mut [CompiledSearch]) {
    let mut mark = |i: usize| {
        if negated && let Some(search) = searches.get_mut(i) {
            search.role = SearchRole::Filter;
        }
    };
    match cond {
        Cond::Search(i) => mark(*i),
        Cond::Quantified { searches: ids, .. } => ids.iter().for_each(|i| mark(*i)),
        Cond::Not(inner) => mark_filters(inner, !negated, searches),
        Cond::And(items) | Cond::Or(items) => {
            for item in items {
                mark_filters(item, negated, searches);
            }
        }
    }
}

fn resolve(expr: &CondExpr, names: &[&str]) -> Result<Cond, SigmaError> {
    Ok(match expr {
        CondExpr::Ident { name, span } => match names.iter().position(|n| n == name) {
            Some(i) => Cond::Search(i),
            None => {
                return Err(SigmaError::new(
                    ErrorKind::UndefinedIdentifier,
                    *span,
                    format!("the condition names `{name}`, which the detection does not define"),
                ));
            }
        },
        CondExpr::Not(inner) => Cond::Not(Box::new(resolve(inner, names)?)),
        CondExpr::And(items) => Cond::And(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        CondExpr::Or(items) => Cond::Or(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        CondExpr::Quantified {
            quantifier,
            target,
            span,
        } => {
            let searches: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| target.matches(n))
                .map(|(i, _)| i)
                .collect();
            if searches.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::UndefinedIdentifier,
                    *span,
                    format!("`{target}` matches no search identifier of the detection"),
                ));
            }
            let word = match quantifier {
                Quantifier::Any => "1",
                Quantifier::All => "all",
            };
            Cond::Quantified {
                quantifier: *quantifier,
                label: format!("{word} of {target}"),
                searches,
            }
        }
    })
}

fn compile_item(
    item: &Item,
    options: &CompileOptions,
    errors: &mut Vec<SigmaError>,
) -> Option<CompiledItem> {
    let before = errors.len();
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let span_of = |m: Modifier| {
        item.modifiers
            .iter()
            .find(|(x, _)| *x == m)
            .map_or(item.key_span, |(_, s)| *s)
    };
    check_combinations(item, errors);
    if errors.len() > before {
        return None;
    }
    let cased = has(Modifier::Cased);
    let key = match &item.field {
        Some(field) => {
            let mods: Vec<&str> = item.modifiers.iter().map(|(m, _)| m.name()).collect();
            if mods.is_empty() {
                field.clone()
            } else {
                format!("{field}|{}", mods.join("|"))
            }
        }
        None => {
            let mods: Vec<&str> = item.modifiers.iter().map(|(m, _)| m.name()).collect();
            if mods.is_empty() {
                "keywords".to_owned()
            } else {
                format!("keywords|{}", mods.join("|"))
            }
        }
    };
    let mut values = Vec::new();
    for value in &item.values {
        let display = value.value.text();
        match compile_value(item, value, cased, options) {
            Ok(alternatives) => values.push(CompiledValue {
                display,
                alternatives,
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.len() > before {
        return None;
    }
    if has(Modifier::All) && item.field.is_none() && !item.is_list {
        errors.push(SigmaError::new(
            ErrorKind::InvalidModifier,
            span_of(Modifier::All),
            "`all` needs a list of values",
        ));
        return None;
    }
    Some(CompiledItem {
        field: item.field.as_deref().map(FieldPath::new),
        key,
        all: has(Modifier::All),
        negate: has(Modifier::Neq),
        values,
    })
}

/// Rejects modifier chains that have no meaning, pointing at the modifier that breaks them.
fn check_combinations(item: &Item, errors: &mut Vec<SigmaError>) {
    let mut seen: Vec<Modifier> = Vec::new();
    let mut error = |span: Span, message: String| {
        errors.push(SigmaError::new(ErrorKind::InvalidModifier, span, message));
    };
    let all: Vec<Modifier> = item.modifiers.iter().map(|(m, _)| *m).collect();
    let count = |pred: fn(Modifier) -> bool| all.iter().filter(|m| pred(**m)).count();
    for (modifier, span) in &item.modifiers {
        let modifier = *modifier;
        if seen.contains(&modifier) {
            error(*span, format!("`{modifier}` is given twice"));
            continue;
        }
        seen.push(modifier);
        let needs_field = matches!(
            modifier,
            Modifier::Exists
                | Modifier::FieldRef
                | Modifier::Cidr
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::Gt
                | Modifier::Gte
        ) || modifier.is_time_part();
        if needs_field && item.field.is_none() {
            error(*span, format!("`{modifier}` needs a field name before it"));
        }
        if modifier.is_position() && count(Modifier::is_position) > 1 {
            error(
                *span,
                "only one of `contains`, `startswith` and `endswith` can be used".to_owned(),
            );
        }
        if modifier.is_regex_flag() && !all.contains(&Modifier::Re) {
            error(
                *span,
                format!("the regular-expression flag `{modifier}` needs `re` before it"),
            );
        }
        if modifier == Modifier::Exists && all.len() > 1 {
            error(
                *span,
                "`exists` cannot be combined with other modifiers".to_owned(),
            );
        }
        if modifier == Modifier::Re {
            let conflicting = all.iter().find(|m| {
                !(m.is_regex_flag() || matches!(m, Modifier::Re | Modifier::All | Modifier::Neq))
            });
            if let Some(other) = conflicting {
                error(*span, format!("`re` cannot be combined with `{other}`"));
            }
        }
        if modifier == Modifier::Cidr {
            let conflicting = all
                .iter()
                .find(|m| !matches!(m, Modifier::Cidr | Modifier::All | Modifier::Neq));
            if let Some(other) = conflicting {
                error(*span, format!("`cidr` cannot be combined with `{other}`"));
            }
        }
        if modifier.is_numeric_comparison() {
            if count(Modifier::is_numeric_comparison) > 1 {
                error(
                    *span,
                    "only one of `lt`, `lte`, `gt` and `gte` can be used".to_owned(),
                );
            }
            let conflicting = all.iter().find(|m| {
                !(m.is_numeric_comparison() || m.is_time_part() || matches!(m, Modifier::All))
            });
            if let Some(other) = conflicting {
                error(
                    *span,
                    format!("`{modifier}` cannot be combined with `{other}`"),
                );
            }
        }
        if modifier.is_time_part() && count(Modifier::is_time_part) > 1 {
            error(
                *span,
                "only one time part (`minute`, `hour`…) can be used".to_owned(),
            );
        }
        if modifier == Modifier::Base64 && all.contains(&Modifier::Base64Offset) {
            error(
                *span,
                "`base64` and `base64offset` exclude each other".to_owned(),
            );
        }
        if modifier.is_encoding() && count(Modifier::is_encoding) > 1 {
            error(
                *span,
                "only one text encoding (`utf16le`, `wide`…) can be used".to_owned(),
            );
        }
        if modifier == Modifier::FieldRef {
            let conflicting = all.iter().find(|m| {
                !(m.is_position()
                    || matches!(
                        m,
                        Modifier::FieldRef | Modifier::Neq | Modifier::Cased | Modifier::All
                    ))
            });
            if let Some(other) = conflicting {
                error(
                    *span,
                    format!("`fieldref` cannot be combined with `{other}`"),
                );
            }
        }
        if modifier == Modifier::Cased && all.iter().any(|m| m.is_numeric_comparison()) {
            error(*span, "`cased` does not apply to numbers".to_owned());
        }
    }
}

fn compile_value(
    item: &Item,
    value: &RuleValue,
    cased: bool,
    options: &CompileOptions,
) -> Result<Vec<ValueMatcher>, SigmaError> {
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let invalid = |message: String| SigmaError::new(ErrorKind::InvalidValue, value.span, message);

    if has(Modifier::Exists) {
        return match value.value {
            Scalar::Bool(b) if item.values.len() == 1 => Ok(vec![ValueMatcher::Exists(b)]),
            _ => Err(invalid(
                "`exists` takes a single `true` or `false`".to_owned(),
            )),
        };
    }
    if has(Modifier::FieldRef) {
        let Scalar::String(other) = &value.value else {
            return Err(invalid(
                "`fieldref` takes the name of another field".to_owned(),
            ));
        };
        let position = if has(Modifier::Contains) {
            Position::Contains
        } else if has(Modifier::StartsWith) {
            Position::Prefix
        } else if has(Modifier::EndsWith) {
            Position::Suffix
        } else {
            Position::Exact
        };
        return Ok(vec![ValueMatcher::FieldRef {
            other: FieldPath::new(other),
            position,
            cased,
        }]);
    }
    if has(Modifier::Re) {
        let Scalar::String(text) = &value.value else {
            return Err(invalid("`re` takes a regular expression string".to_owned()));
        };
        let mut builder = regex::RegexBuilder::new(text);
        builder
            .case_insensitive(has(Modifier::ReInsensitive))
            .multi_line(has(Modifier::ReMultiline))
            .dot_matches_new_line(has(Modifier::ReDotAll))
            .size_limit(16 * 1024 * 1024);
        return builder
            .build()
            .map(|re| vec![ValueMatcher::Regex(re)])
            .map_err(|e| {
                SigmaError::new(
                    ErrorKind::InvalidRegex,
                    value.span,
                    format!(
                        "the regular expression does not compile: {}",
                        regex_reason(&e)
                    ),
                )
            });
    }
    if has(Modifier::Cidr) {
        let text = value.value.text();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| invalid(format!("`{text}` is not a CIDR range")))?;
        return Ok(vec![ValueMatcher::Cidr(net.trunc())]);
    }
    let time_part = item.modifiers.iter().find_map(|(m, _)| match m {
        Modifier::Minute => Some(TimePart::Minute),
        Modifier::Hour => Some(TimePart::Hour),
        Modifier::Day => Some(TimePart::Day),
        Modifier::Week => Some(TimePart::Week),
        Modifier::Month => Some(TimePart::Month),
        Modifier::Year => Some(TimePart::Year),
        _ => None,
    });
    let num_op = item.modifiers.iter().find_map(|(m, _)| match m {
        Modifier::Lt => Some(NumOp::Lt),
        Modifier::Lte => Some(NumOp::Lte),
        Modifier::Gt => Some(NumOp::Gt),
        Modifier::Gte => Some(NumOp::Gte),
        _ => None,
    });
    if time_part.is_some() || num_op.is_some() {
        let number = match &value.value {
            Scalar::Int(i) => *i as f64,
            Scalar::Float(f) => *f,
            Scalar::String(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(format!("`{s}` is not a number")))?,
            other => return Err(invalid(format!("`{}` is not a number", other.text()))),
        };
        let op = num_op.unwrap_or(NumOp::Eq);
        return Ok(vec![match time_part {
            Some(part) => ValueMatcher::TimePart(part, op, number),
            None => ValueMatcher::Number(op, number),
        }]);
    }

    let Some(alternatives) = value_patterns(item, value, options)? else {
        return Ok(vec![ValueMatcher::Null]);
    };
    let mut matchers = Vec::with_capacity(alternatives.len());
    for parts in alternatives {
        let build = |cased: bool| {
            StrMatcher::compile(&parts, cased).map_err(|e| {
                SigmaError::new(
                    ErrorKind::InvalidValue,
                    value.span,
                    format!("the value cannot be compiled: {}", regex_reason(&e)),
                )
            })
        };
        matchers.push(ValueMatcher::Str {
            matcher: build(cased)?,
            cased,
            folded_twin: if cased { Some(build(false)?) } else { None },
        });
    }
    Ok(matchers)
}

/// The string patterns a value stands for once its modifiers are applied: placeholders expanded,
/// then `windash`, the encodings and `contains`/`startswith`/`endswith` in the order written.
/// Several patterns are alternatives (ORed). `None` means the value is `null`. Shared by the
/// engine and by converters, so both read a rule the same way.
pub fn value_patterns(
    item: &Item,
    value: &RuleValue,
    options: &CompileOptions,
) -> Result<Option<Vec<Vec<Part>>>, SigmaError> {
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let invalid = |message: String| SigmaError::new(ErrorKind::InvalidValue, value.span, message);
    let string_modifiers = item
        .modifiers
        .iter()
        .filter(|(m, _)| {
            m.is_position()
                || m.is_encoding()
                || matches!(
                    m,
                    Modifier::Windash
                        | Modifier::Base64
                        | Modifier::Base64Offset
                        | Modifier::Expand
                )
        })
        .collect::<Vec<_>>();
    let text = match &value.value {
        Scalar::Null => {
            if let Some((m, span)) = string_modifiers.first() {
                return Err(SigmaError::new(
                    ErrorKind::InvalidModifier,
                    *span,
                    format!("`{m}` cannot be applied to null"),
                ));
            }
            return Ok(None);
        }
        Scalar::String(s) => s.clone(),
        // Numbers and booleans compare as the text they are written as, so `4688` matches the
        // event's `4688` and `"4688"` alike.
        other => other.text(),
    };
    let wildcards_allowed = matches!(value.value, Scalar::String(_));

    // Placeholders expand before anything else, into alternatives.
    let texts: Vec<String> = if has(Modifier::Expand) {
        expand_placeholders(&text, options)
            .map_err(|m| SigmaError::new(ErrorKind::Placeholder, value.span, m))?
    } else {
        vec![text]
    };

    let mut patterns = Vec::new();
    for text in texts {
        let parts = if wildcards_allowed {
            pattern::parse_sigma_string(&text)
        } else {
            pattern::literal_parts(&text)
        };
        let mut stages = vec![Stage::Parts(parts)];
        for (modifier, span) in &item.modifiers {
            stages = apply_transform(*modifier, *span, stages)?;
        }
        // Keywords are found anywhere in a value, as a full-text search finds them, unless a
        // position modifier says otherwise.
        if item.field.is_none() && !item.modifiers.iter().any(|(m, _)| m.is_position()) {
            stages = apply_transform(Modifier::Contains, item.key_span, stages)?;
        }
        for stage in stages {
            patterns.push(match stage {
                Stage::Parts(parts) => parts,
                Stage::Bytes(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => pattern::literal_parts(&s),
                    Err(_) => {
                        return Err(invalid(
                            "the encoded value is not text; follow the encoding with `base64` or `base64offset`"
                                .to_owned(),
                        ));
                    }
                },
            });
        }
    }
    Ok(Some(patterns))
}

/// A value on its way through the transforming modifiers.
enum Stage {
    Parts(Vec<Part>),
    Bytes(Vec<u8>),
}

fn apply_transform(
    modifier: Modifier,
    span: Span,
    stages: Vec<Stage>,
) -> Result<Vec<Stage>, SigmaError> {
    let no_wildcards = |parts: &[Part]| {
        if pattern::has_wildcards(parts) {
            Err(SigmaError::new(
                ErrorKind::InvalidModifier,
                span,
                format!("`{modifier}` cannot encode a value with wildcards"),
            ))
        } else {
            Ok(pattern::plain_text(parts).into_bytes())
        }
    };
    let mut out = Vec::with_capacity(stages.len());
    for stage in stages {
        match (modifier, stage) {
            (Modifier::Contains, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_contains(p)))
            }
            (Modifier::StartsWith, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_startswith(p)));
            }
            (Modifier::EndsWith, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_endswith(p)))
            }
            (Modifier::Windash, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::apply_windash(p)))
            }
            (Modifier::Base64 | Modifier::Base64Offset, stage) => {
                let bytes = match stage {
                    Stage::Parts(p) => no_wildcards(&p)?,
                    Stage::Bytes(b) => b,
                };
                if modifier == Modifier::Base64 {
                    out.push(Stage::Parts(pattern::literal_parts(&pattern::base64(
                        &bytes,
                    ))));
                } else {
                    out.extend(
                        pattern::base64_offsets(&bytes)
                            .iter()
                            .map(|s| Stage::Parts(pattern::literal_parts(s))),
                    );
                }
            }
            (
                Modifier::Utf16le | Modifier::Wide | Modifier::Utf16be | Modifier::Utf16,
                Stage::Parts(p),
            ) => {
                let text = String::from_utf8(no_wildcards(&p)?).unwrap_or_default();
                let mut bytes = Vec::with_capacity(text.len() * 2 + 2);
                if modifier == Modifier::Utf16 {
                    bytes.extend_from_slice(&[0xff, 0xfe]);
                }
                for unit in text.encode_utf16() {
                    let pair = if modifier == Modifier::Utf16be {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    };
                    bytes.extend_from_slice(&pair);
                }
                out.push(Stage::Bytes(bytes));
            }
            (m, Stage::Bytes(_))
                if m.is_position() || m == Modifier::Windash || m.is_encoding() =>
            {
                return Err(SigmaError::new(
                    ErrorKind::InvalidModifier,
                    span,
                    format!(
                        "`{m}` cannot follow a text encoding; put it before the encoding or after `base64`"
                    ),
                ));
            }
            (_, stage) => out.push(stage),
        }
    }
    Ok(out)
}

/// The most alternatives the placeholders of one value may expand to (the product of their
/// value counts); past it the rule is refused rather than compiled into a huge matcher.
pub const MAX_PLACEHOLDER_ALTERNATIVES: usize = 4096;

/// Expands `%name%` placeholders. A name is one or more characters other than `%` and
/// whitespace: the specification puts no limit on names, and pySigma accepts names such as
/// `%admin-accounts%` and `%jump.servers%`; a `%` whose next `%` is not preceded by such a name
/// (`100% %unit%`) is a plain percent sign. Escapes follow the value's own escape table: `\\`
/// is an escaped backslash that is kept for the wildcard parser (so `\\%name%` is a backslash
/// and then a placeholder), and `\%` is a plain percent sign (the backslash is dropped).
///
/// Every `%name%` must have values: a placeholder under `|expand` is never kept as literal
/// text.
fn expand_placeholders(text: &str, options: &CompileOptions) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    let mut pending = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\\', '%']) {
        pending.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if rest[at..].starts_with('\\') {
            match after.chars().next() {
                Some('\\') => {
                    pending.push_str("\\\\");
                    rest = &after[1..];
                }
                Some('%') => {
                    pending.push('%');
                    rest = &after[1..];
                }
                _ => {
                    pending.push('\\');
                    rest = after;
                }
            }
            continue;
        }
        let name_len = after
            .find(|c: char| c == '%' || c.is_whitespace())
            .filter(|&len| len > 0 && after[len..].starts_with('%'));
        let Some(name_len) = name_len else {
            pending.push('%');
            rest = after;
            continue;
        };
        let name = &after[..name_len];
        let Some(values) = options
            .placeholders
            .as_ref()
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_empty())
        else {
            return Err(format!(
                "the placeholder `%{name}%` has no values; supply them with a placeholder values file"
            ));
        };
        if results.len().saturating_mul(values.len()) > MAX_PLACEHOLDER_ALTERNATIVES {
            return Err(format!(
                "the placeholders expand to more than {MAX_PLACEHOLDER_ALTERNATIVES} values"
            ));
        }
        let prefix = pending.as_str();
        results = results
            .iter()
            .flat_map(|r| values.iter().map(move |v| format!("{r}{prefix}{v}")))
            .collect();
        pending.clear();
        rest = &after[name_len + 1..];
    }
    pending.push_str(rest);
    for r in &mut results {
        r.push_str(&pending);
    }
    Ok(results)
}

/// The regex crate's message without the pattern echo, and a hint for what it does not support.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map_or(text.as_str(), |l| l.trim_start_matches("error:").trim());
    if reason.contains("look-around") || reason.contains("backreferences") {
        format!("{reason} (the regex engine has no look-around or backreferences)")
    } else {
        reason.to_owned()
    }
}

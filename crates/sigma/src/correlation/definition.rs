//! The `correlation:` section of a correlation rule, read into typed values: the correlation
//! type, the timespan in seconds, the condition (one or several ANDed comparisons), the value
//! field, field name aliases and `generate`.
//!
//! Source: Sigma correlation rules specification 2.1, "Correlation section"; where it is silent,
//! pySigma's `sigma/correlations.py`.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{ErrorKind, SigmaError};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// The correlation types of the specification (section "Correlation Types"), and pySigma's
/// `value_median`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// `event_count`: the number of matching events per group.
    EventCount,
    /// `value_count`: the number of distinct values of `condition.field` per group.
    ValueCount,
    /// `temporal`: all referenced rules matched within the timespan, in any order.
    Temporal,
    /// `temporal_ordered`: all referenced rules matched within the timespan, in the order listed.
    TemporalOrdered,
    /// `value_sum`: the sum of `condition.field` over the group's events.
    ValueSum,
    /// `value_avg`: the mean of `condition.field` over the group's events.
    ValueAvg,
    /// `value_percentile`: a percentile of `condition.field` (see `percentile`).
    ValuePercentile,
    /// `value_median`: the median of `condition.field` (pySigma only; not in the specification).
    ValueMedian,
}

impl CorrelationType {
    /// Every type with the name the specification writes it with.
    pub const ALL: [(CorrelationType, &'static str); 8] = [
        (CorrelationType::EventCount, "event_count"),
        (CorrelationType::ValueCount, "value_count"),
        (CorrelationType::Temporal, "temporal"),
        (CorrelationType::TemporalOrdered, "temporal_ordered"),
        (CorrelationType::ValueSum, "value_sum"),
        (CorrelationType::ValueAvg, "value_avg"),
        (CorrelationType::ValuePercentile, "value_percentile"),
        (CorrelationType::ValueMedian, "value_median"),
    ];

    /// The type a name means, or `None` for a name the specification does not define.
    pub fn from_name(name: &str) -> Option<CorrelationType> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    /// The name as the specification writes it (`event_count`, …).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("event_count", |(_, n)| n)
    }

    /// Whether the type aggregates the values of `condition.field` (the `value_*` types).
    pub fn needs_field(self) -> bool {
        !matches!(
            self,
            CorrelationType::EventCount
                | CorrelationType::Temporal
                | CorrelationType::TemporalOrdered
        )
    }

    /// Whether the type counts distinct referenced rules (`temporal`, `temporal_ordered`).
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

impl fmt::Display for CorrelationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `timespan`: a number and one unit letter. The specification names `s`, `m`, `h` and `d`;
/// pySigma also accepts `w`, `M` (30.436875 days) and `y` (365.2425 days), and so do we.
/// Compound spans such as `1h30m` are refused: the specification says to write `90m`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timespan {
    /// As written, for messages and output.
    pub text: String,
    /// The span in seconds.
    pub seconds: u64,
}

impl Timespan {
    /// Parses `10m`, `1h`, …
    ///
    /// # Errors
    /// A message for a span that is not a positive number followed by one known unit letter.
    pub fn parse(text: &str) -> Result<Timespan, String> {
        let invalid = || {
            format!(
                "timespan `{text}` is invalid: write a positive number and one unit (s, m, h, d, w, M, y), e.g. `90m`"
            )
        };
        let unit = text.chars().last().ok_or_else(invalid)?;
        let number = &text[..text.len() - unit.len_utf8()];
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u64 = number.parse().map_err(|_| invalid())?;
        let unit_seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            'M' => 2_629_746,
            'y' => 31_556_952,
            _ => return Err(invalid()),
        };
        let seconds = count.checked_mul(unit_seconds).ok_or_else(invalid)?;
        if seconds == 0 {
            return Err(invalid());
        }
        Ok(Timespan {
            text: text.to_owned(),
            seconds,
        })
    }

    /// The span in milliseconds, the unit event timestamps are kept in.
    pub fn millis(&self) -> i64 {
        i64::try_from(self.seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// A comparison operator of a correlation condition (specification, "Condition").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionOp {
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `eq`: equal.
    Eq,
    /// `neq`: not equal.
    Neq,
}

impl ConditionOp {
    const ALL: [(ConditionOp, &'static str); 6] = [
        (ConditionOp::Gt, "gt"),
        (ConditionOp::Gte, "gte"),
        (ConditionOp::Lt, "lt"),
        (ConditionOp::Lte, "lte"),
        (ConditionOp::Eq, "eq"),
        (ConditionOp::Neq, "neq"),
    ];

    /// The operator's key as written in the condition (`gte`, …).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("eq", |(_, n)| n)
    }

    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            ConditionOp::Gt => value > threshold,
            ConditionOp::Gte => value >= threshold,
            ConditionOp::Lt => value < threshold,
            ConditionOp::Lte => value <= threshold,
            ConditionOp::Eq => value == threshold,
            ConditionOp::Neq => value != threshold,
        }
    }
}

/// `condition:` of a correlation: comparisons that must all hold (a range is `gt` and `lte`
/// together, as the specification's "101 to 200" example), the value field of the `value_*`
/// types, and pySigma's `percentile` for `value_percentile`.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationCondition {
    /// The comparisons, in the order written; all must hold.
    pub comparisons: Vec<(ConditionOp, f64)>,
    /// `field`: one or several field names (several are a tuple of values, linked by AND).
    pub fields: Vec<String>,
    /// `percentile` (0–100), pySigma's key for `value_percentile`.
    pub percentile: Option<f64>,
}

impl CorrelationCondition {
    /// Whether every comparison holds for an aggregated value.
    pub fn holds(&self, value: f64) -> bool {
        self.comparisons.iter().all(|(op, t)| op.holds(value, *t))
    }

    /// Whether adding events can only keep the condition true once it holds (only `gt`/`gte`).
    /// Coverage uses it to speak of "the threshold".
    pub fn threshold(&self) -> Option<f64> {
        match self.comparisons.as_slice() {
            [(ConditionOp::Gte, t)] => Some(*t),
            [(ConditionOp::Gt, t)] => Some(t.floor() + 1.0),
            _ => None,
        }
    }
}

impl fmt::Display for CorrelationCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .comparisons
            .iter()
            .map(|(op, t)| format!("{} {}", op.as_str(), number_text(*t)))
            .collect();
        f.write_str(&parts.join(" and "))
    }
}

/// A number as JSON would print it: integers without a fraction.
pub fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// `aliases:` — per alias name, the field it stands for in the events of each named rule
/// (specification, "Field Name Aliases").
pub type Aliases = BTreeMap<String, BTreeMap<String, String>>;

/// The `correlation:` section, read.
#[derive(Clone, Debug)]
pub(crate) struct CorrelationSection {
    pub correlation_type: CorrelationType,
    pub rules: Vec<(String, Span)>,
    pub group_by: Vec<String>,
    pub timespan: Timespan,
    pub condition: CorrelationCondition,
    pub aliases: Aliases,
    pub generate: bool,
}

/// Reads a `correlation:` mapping, pushing every error it finds.
pub(crate) fn read_section(
    correlation: &Node,
    errors: &mut Vec<SigmaError>,
) -> Option<CorrelationSection> {
    let before = errors.len();
    let at = |key: &str| correlation.get(key).map_or(correlation.span, |n| n.span);
    let correlation_type = match correlation.get("type") {
        None => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                correlation.span,
                "a correlation needs a `type`",
            ));
            None
        }
        Some(node) => {
            let name = node.scalar_text().unwrap_or_default();
            let found = CorrelationType::from_name(&name);
            if found.is_none() {
                let names: Vec<&str> = CorrelationType::ALL.iter().map(|(_, n)| *n).collect();
                errors.push(SigmaError::new(
                    ErrorKind::Structure,
                    node.span,
                    format!(
                        "unknown correlation type `{name}` (expected one of {})",
                        names.join(", ")
                    ),
                ));
            }
            found
        }
    };
    let rules = match correlation.get("rules") {
        Some(rules) => crate::document::string_list(rules, "correlation.rules", errors),
        None => Vec::new(),
    };
    if rules.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            at("rules"),
            "a correlation needs `rules`: the ids or names of the rules it correlates",
        ));
    }
    let group_by = correlation
        .get("group-by")
        .map(|g| crate::document::string_list(g, "group-by", errors))
        .unwrap_or_default()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let timespan_node = correlation
        .get("timespan")
        .or_else(|| correlation.get("timeframe"));
    let timespan = match timespan_node {
        None => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                correlation.span,
                "a correlation needs a `timespan`",
            ));
            None
        }
        Some(node) => match Timespan::parse(&node.scalar_text().unwrap_or_default()) {
            Ok(t) => Some(t),
            Err(message) => {
                errors.push(SigmaError::new(ErrorKind::InvalidValue, node.span, message));
                None
            }
        },
    };
    let condition = correlation_type.and_then(|t| {
        read_condition(
            correlation.get("condition"),
            correlation.span,
            t,
            rules.len(),
            errors,
        )
    });
    let aliases = correlation
        .get("aliases")
        .map(|n| read_aliases(n, errors))
        .unwrap_or_default();
    let generate = match correlation.get("generate") {
        None => false,
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => *b,
        Some(other) => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                other.span,
                format!("`generate` must be a boolean, not {}", other.kind_name()),
            ));
            false
        }
    };
    if errors.len() != before {
        return None;
    }
    Some(CorrelationSection {
        correlation_type: correlation_type?,
        rules,
        group_by,
        timespan: timespan?,
        condition: condition?,
        aliases,
        generate,
    })
}

fn read_condition(
    node: Option<&Node>,
    parent: Span,
    correlation_type: CorrelationType,
    rule_count: usize,
    errors: &mut Vec<SigmaError>,
) -> Option<CorrelationCondition> {
    let Some(node) = node else {
        if correlation_type.is_temporal() {
            // pySigma: a temporal correlation without a condition needs every rule to occur.
            return Some(CorrelationCondition {
                comparisons: vec![(ConditionOp::Gte, rule_count as f64)],
                fields: Vec::new(),
                percentile: None,
            });
        }
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            parent,
            format!("a `{correlation_type}` correlation needs a `condition`"),
        ));
        return None;
    };
    let Some(entries) = node.as_map() else {
        let message = if node.as_str().is_some() {
            "extended correlation conditions (a boolean expression over rule names) are not supported; \
             write the condition as a mapping such as `gte: 3`"
                .to_owned()
        } else {
            format!(
                "`condition` must be a mapping such as `gte: 3`, not {}",
                node.kind_name()
            )
        };
        errors.push(SigmaError::new(ErrorKind::Unsupported, node.span, message));
        return None;
    };
    let before = errors.len();
    let mut condition = CorrelationCondition {
        comparisons: Vec::new(),
        fields: Vec::new(),
        percentile: None,
    };
    for (key, value) in entries {
        let key_text = key.scalar_text().unwrap_or_default();
        if let Some((op, _)) = ConditionOp::ALL.iter().find(|(_, n)| *n == key_text) {
            match number(value) {
                Some(n) => condition.comparisons.push((*op, n)),
                None => errors.push(SigmaError::new(
                    ErrorKind::InvalidValue,
                    value.span,
                    format!("`{key_text}` needs a number, not {}", value.kind_name()),
                )),
            }
        } else if key_text == "field" {
            condition.fields = crate::document::string_list(value, "condition.field", errors)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
        } else if key_text == "percentile" {
            match number(value).filter(|p| (0.0..=100.0).contains(p)) {
                Some(p) => condition.percentile = Some(p),
                None => errors.push(SigmaError::new(
                    ErrorKind::InvalidValue,
                    value.span,
                    "`percentile` needs a number from 0 to 100",
                )),
            }
        } else {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                key.span,
                format!(
                    "unknown condition key `{key_text}` (expected gt, gte, lt, lte, eq, neq, field or percentile)"
                ),
            ));
        }
    }
    if condition.comparisons.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            "the condition needs at least one of gt, gte, lt, lte, eq, neq",
        ));
    }
    if correlation_type.needs_field() && condition.fields.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            format!("a `{correlation_type}` correlation needs `field` in its condition"),
        ));
    }
    if !correlation_type.needs_field() && !condition.fields.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            format!("`field` is only used by value_* correlations, not by `{correlation_type}`"),
        ));
    }
    if correlation_type != CorrelationType::ValueCount && condition.fields.len() > 1 {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            format!("a `{correlation_type}` correlation aggregates one numeric field, not a list"),
        ));
    }
    if condition.percentile.is_some() && correlation_type != CorrelationType::ValuePercentile {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            "`percentile` is only used by value_percentile correlations",
        ));
    }
    (errors.len() == before).then_some(condition)
}

fn number(node: &Node) -> Option<f64> {
    match &node.value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn read_aliases(node: &Node, errors: &mut Vec<SigmaError>) -> Aliases {
    let mut aliases = Aliases::new();
    let Some(entries) = node.as_map() else {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            format!(
                "`aliases` must map alias names to rule fields, not {}",
                node.kind_name()
            ),
        ));
        return aliases;
    };
    for (alias, per_rule) in entries {
        let alias = alias.scalar_text().unwrap_or_default();
        let Some(per_rule_entries) = per_rule.as_map() else {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                per_rule.span,
                format!("alias `{alias}` must map rule names to field names"),
            ));
            continue;
        };
        let fields = aliases.entry(alias).or_default();
        for (rule, field) in per_rule_entries {
            match field.as_str() {
                Some(f) => {
                    fields.insert(rule.scalar_text().unwrap_or_default(), f.to_owned());
                }
                None => errors.push(SigmaError::new(
                    ErrorKind::Structure,
                    field.span,
                    format!(
                        "an alias field must be a field name, not {}",
                        field.kind_name()
                    ),
                )),
            }
        }
    }
    aliases
}

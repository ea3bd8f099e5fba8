//! Evaluating compiled rules against events: the fast verdict, and the explained one.

use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value;

use crate::compile::{
    CompiledItem, CompiledRule, CompiledSearch, CompiledValue, Cond, NumOp, Position, TimePart,
    ValueMatcher,
};
use crate::condition::Quantifier;
use crate::event::{Event, as_number, preview, with_scalar_text};
use crate::explain::{
    CondExplain, Explanation, ItemExplain, MapExplain, SearchExplain, ValueExplain,
};
use crate::fold::{fold_case, with_folded};
use crate::joined::WithJoins;

impl CompiledRule {
    /// Whether the rule matches the event. Short-circuits; allocates nothing for plain matchers
    /// (a field two columns hold together is joined once per call, [`crate::joined`]).
    pub fn matches<E: Event + ?Sized>(&self, event: &E) -> bool {
        if self.joins.is_empty() {
            self.matches_read(event)
        } else {
            self.matches_read(&WithJoins::new(event, &self.joins))
        }
    }

    /// [`CompiledRule::matches`] on an event that reads the rule's joined fields itself.
    fn matches_read<E: Event + ?Sized>(&self, event: &E) -> bool {
        eval_cond(&self.condition, &self.searches, event)
    }

    /// The verdict with every condition node, search, item and value evaluated and explained.
    pub fn explain<E: Event + ?Sized>(&self, event: &E) -> Explanation {
        if self.joins.is_empty() {
            self.explain_read(event)
        } else {
            self.explain_read(&WithJoins::new(event, &self.joins))
        }
    }

    fn explain_read<E: Event + ?Sized>(&self, event: &E) -> Explanation {
        let searches: Vec<SearchExplain> = self
            .searches
            .iter()
            .map(|s| explain_search(s, event))
            .collect();
        let condition = explain_cond(&self.condition, &searches);
        Explanation {
            rule: self.meta.title.clone(),
            matched: condition.result(),
            filters: self.filters.clone(),
            condition,
            searches,
        }
    }
}

fn eval_cond<E: Event + ?Sized>(cond: &Cond, searches: &[CompiledSearch], event: &E) -> bool {
    match cond {
        Cond::Search(i) => search_matches(&searches[*i], event),
        Cond::Not(inner) => !eval_cond(inner, searches, event),
        Cond::And(items) => items.iter().all(|c| eval_cond(c, searches, event)),
        Cond::Or(items) => items.iter().any(|c| eval_cond(c, searches, event)),
        Cond::Quantified {
            quantifier: Quantifier::Any,
            searches: indices,
            ..
        } => indices.iter().any(|i| search_matches(&searches[*i], event)),
        Cond::Quantified {
            quantifier: Quantifier::All,
            searches: indices,
            ..
        } => indices.iter().all(|i| search_matches(&searches[*i], event)),
    }
}

fn search_matches<E: Event + ?Sized>(search: &CompiledSearch, event: &E) -> bool {
    search
        .maps
        .iter()
        .any(|map| map.items.iter().all(|item| item_matches(item, event)))
}

fn item_matches<E: Event + ?Sized>(item: &CompiledItem, event: &E) -> bool {
    item_hit(item, event) != item.negate
}

/// Whether the item's values match the event, before `neq` inverts it: the rule-set index
/// evaluates in full only the items its atoms do not decide.
pub(crate) fn item_hit<E: Event + ?Sized>(item: &CompiledItem, event: &E) -> bool {
    match &item.field {
        Some(path) if item.fold_once => match event.field(path) {
            None | Some(Value::Null) => false,
            Some(Value::Array(items)) => items
                .iter()
                .any(|v| any_matcher_folding_once(item, v, event)),
            Some(value) => any_matcher_folding_once(item, value, event),
        },
        None if item.fold_once => {
            event.any_scalar(&mut |scalar| any_matcher_folding_once(item, scalar, event))
        }
        Some(path) => {
            let value = event.field(path);
            let test = |v: &CompiledValue| value_matches(v, value, event);
            if item.all {
                item.values.iter().all(test)
            } else {
                item.values.iter().any(test)
            }
        }
        None => {
            let test = |v: &CompiledValue| keyword_matches(v, event);
            if item.all {
                item.values.iter().all(test)
            } else {
                item.values.iter().any(test)
            }
        }
    }
}

/// Whether any matcher of the item matches this one scalar, folding it at most once: the same
/// verdict as testing the values one by one (any value, any matcher, any scalar commute), for
/// items [`CompiledItem::fold_once`] marks.
fn any_matcher_folding_once<E: Event + ?Sized>(
    item: &CompiledItem,
    scalar: &Value,
    event: &E,
) -> bool {
    let mut matchers = item.values.iter().flat_map(|v| &v.alternatives);
    with_scalar_text(scalar, |text| {
        with_folded(text, |folded| {
            matchers.any(|m| match m {
                ValueMatcher::Str {
                    matcher,
                    cased: false,
                    ..
                } => matcher.is_match(folded),
                other => scalar_matches(other, scalar, event),
            })
        })
    })
    // Not text (an object or array inside a list): no string matcher matches it.
    .unwrap_or_else(|| {
        item.values
            .iter()
            .flat_map(|v| &v.alternatives)
            .any(|m| scalar_matches(m, scalar, event))
    })
}

fn keyword_matches<E: Event + ?Sized>(value: &CompiledValue, event: &E) -> bool {
    event.any_scalar(&mut |scalar| {
        value
            .alternatives
            .iter()
            .any(|m| scalar_matches(m, scalar, event))
    })
}

fn value_matches<E: Event + ?Sized>(
    value: &CompiledValue,
    field: Option<&Value>,
    event: &E,
) -> bool {
    value
        .alternatives
        .iter()
        .any(|m| matcher_matches(m, field, event))
}

fn matcher_matches<E: Event + ?Sized>(
    matcher: &ValueMatcher,
    field: Option<&Value>,
    event: &E,
) -> bool {
    match (matcher, field) {
        (ValueMatcher::Null, None | Some(Value::Null)) => true,
        (ValueMatcher::Null, Some(_)) => false,
        (ValueMatcher::Exists(expected), field) => field.is_some() == *expected,
        (_, None | Some(Value::Null)) => false,
        (_, Some(Value::Array(items))) => items.iter().any(|v| scalar_matches(matcher, v, event)),
        (_, Some(value)) => scalar_matches(matcher, value, event),
    }
}

/// Tests one scalar (an element of an array is tested on its own).
fn scalar_matches<E: Event + ?Sized>(matcher: &ValueMatcher, value: &Value, event: &E) -> bool {
    match matcher {
        ValueMatcher::Str { matcher, cased, .. } => with_scalar_text(value, |text| {
            if *cased {
                matcher.is_match(text)
            } else {
                matcher.is_match_folding(text)
            }
        })
        .unwrap_or(false),
        ValueMatcher::Regex(re) => {
            with_scalar_text(value, |text| re.is_match(text)).unwrap_or(false)
        }
        ValueMatcher::Number(op, expected) => {
            as_number(value).is_some_and(|n| compare(*op, n, *expected))
        }
        ValueMatcher::Cidr(net) => value
            .as_str()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
            .is_some_and(|ip| net.contains(&ip)),
        ValueMatcher::TimePart(part, op, expected) => {
            time_part(value, *part).is_some_and(|n| compare(*op, f64::from(n), *expected))
        }
        ValueMatcher::FieldRef {
            other,
            position,
            cased,
        } => {
            let Some(other) = event.field(other) else {
                return false;
            };
            let other_values: &[Value] = match other {
                Value::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            other_values.iter().any(|o| {
                with_scalar_text(value, |a| {
                    with_scalar_text(o, |b| compare_texts(a, b, *position, *cased)).unwrap_or(false)
                })
                .unwrap_or(false)
            })
        }
        ValueMatcher::Null | ValueMatcher::Exists(_) => false,
    }
}

fn compare(op: NumOp, actual: f64, expected: f64) -> bool {
    match op {
        NumOp::Eq => actual == expected,
        NumOp::Lt => actual < expected,
        NumOp::Lte => actual <= expected,
        NumOp::Gt => actual > expected,
        NumOp::Gte => actual >= expected,
    }
}

fn compare_texts(value: &str, reference: &str, position: Position, cased: bool) -> bool {
    let (value, reference) = if cased {
        (value.to_owned(), reference.to_owned())
    } else {
        (fold_case(value), fold_case(reference))
    };
    match position {
        Position::Exact => value == reference,
        Position::Prefix => value.starts_with(&reference),
        Position::Suffix => value.ends_with(&reference),
        Position::Contains => value.contains(&reference),
    }
}

/// A part of a timestamp: RFC 3339, or `YYYY-MM-DD[ T]HH:MM:SS[.fff]`, or a bare date.
fn time_part(value: &Value, part: TimePart) -> Option<u32> {
    let text = value.as_str()?.trim();
    let datetime: NaiveDateTime = DateTime::parse_from_rfc3339(text)
        .map(|d| d.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .ok()?;
    Some(match part {
        TimePart::Minute => datetime.minute(),
        TimePart::Hour => datetime.hour(),
        TimePart::Day => datetime.day(),
        TimePart::Week => datetime.iso_week().week(),
        TimePart::Month => datetime.month(),
        TimePart::Year => u32::try_from(datetime.year()).ok()?,
    })
}

fn explain_cond(cond: &Cond, searches: &[SearchExplain]) -> CondExplain {
    match cond {
        Cond::Search(i) => CondExplain::Search {
            index: *i,
            name: searches[*i].qualified_name(),
            result: searches[*i].result,
        },
        Cond::Not(inner) => {
            let inner = explain_cond(inner, searches);
            CondExplain::Not {
                result: !inner.result(),
                inner: Box::new(inner),
            }
        }
        Cond::And(items) => {
            let children: Vec<CondExplain> =
                items.iter().map(|c| explain_cond(c, searches)).collect();
            CondExplain::And {
                result: children.iter().all(CondExplain::result),
                children,
            }
        }
        Cond::Or(items) => {
            let children: Vec<CondExplain> =
                items.iter().map(|c| explain_cond(c, searches)).collect();
            CondExplain::Or {
                result: children.iter().any(CondExplain::result),
                children,
            }
        }
        Cond::Quantified {
            quantifier,
            label,
            searches: indices,
        } => {
            let children: Vec<CondExplain> = indices
                .iter()
                .map(|i| explain_cond(&Cond::Search(*i), searches))
                .collect();
            let result = match quantifier {
                Quantifier::Any => children.iter().any(CondExplain::result),
                Quantifier::All => children.iter().all(CondExplain::result),
            };
            CondExplain::Quantified {
                quantifier: *quantifier,
                label: label.clone(),
                result,
                children,
            }
        }
    }
}

fn explain_search<E: Event + ?Sized>(search: &CompiledSearch, event: &E) -> SearchExplain {
    let maps: Vec<MapExplain> = search
        .maps
        .iter()
        .map(|map| {
            let items: Vec<ItemExplain> =
                map.items.iter().map(|i| explain_item(i, event)).collect();
            MapExplain {
                result: items.iter().all(|i| i.result),
                items,
            }
        })
        .collect();
    SearchExplain {
        name: search.name.clone(),
        origin: search.origin.clone(),
        role: search.role,
        result: maps.iter().any(|m| m.result),
        keywords: search.keywords,
        maps,
    }
}

fn explain_item<E: Event + ?Sized>(item: &CompiledItem, event: &E) -> ItemExplain {
    let (actual, values): (Option<Vec<String>>, Vec<ValueExplain>) = match &item.field {
        Some(path) => {
            let field = event.field(path);
            let actual = field.map(|v| match v {
                Value::Array(items) => items.iter().map(preview).collect(),
                other => vec![preview(other)],
            });
            let values = item
                .values
                .iter()
                .map(|v| {
                    let matched = value_matches(v, field, event);
                    ValueExplain {
                        display: v.display.clone(),
                        matched,
                        note: if matched { None } else { miss_note(v, field) },
                    }
                })
                .collect();
            (actual, values)
        }
        None => {
            let values = item
                .values
                .iter()
                .map(|v| ValueExplain {
                    display: v.display.clone(),
                    matched: keyword_matches(v, event),
                    note: None,
                })
                .collect();
            (None, values)
        }
    };
    let hit = if item.all {
        values.iter().all(|v| v.matched)
    } else {
        values.iter().any(|v| v.matched)
    };
    ItemExplain {
        key: item.key.clone(),
        field: item.field.as_ref().map(|f| f.name().to_owned()),
        result: hit != item.negate,
        negated: item.negate,
        all: item.all,
        actual,
        values,
    }
}

/// Why a value did not match, when there is more to say than "different".
fn miss_note(value: &CompiledValue, field: Option<&Value>) -> Option<String> {
    let field = field?;
    let scalars: &[Value] = match field {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    };
    for matcher in &value.alternatives {
        match matcher {
            ValueMatcher::Str {
                cased: true,
                folded_twin: Some(twin),
                ..
            } => {
                let case_only = scalars.iter().any(|s| {
                    with_scalar_text(s, |t| with_folded(t, |f| twin.is_match(f))).unwrap_or(false)
                });
                if case_only {
                    return Some("differs only in case (the value is `cased`)".to_owned());
                }
            }
            ValueMatcher::Number(..) if scalars.iter().all(|s| as_number(s).is_none()) => {
                return Some("the event value is not a number".to_owned());
            }
            ValueMatcher::Cidr(_)
                if scalars.iter().all(|s| {
                    s.as_str()
                        .and_then(|t| t.trim().parse::<IpAddr>().ok())
                        .is_none()
                }) =>
            {
                return Some("the event value is not an IP address".to_owned());
            }
            ValueMatcher::TimePart(part, ..)
                if scalars.iter().all(|s| time_part(s, *part).is_none()) =>
            {
                return Some("the event value is not a timestamp".to_owned());
            }
            _ => {}
        }
    }
    if scalars
        .iter()
        .all(|s| matches!(s, Value::Object(_) | Value::Array(_)))
    {
        return Some("the event value is not a plain value".to_owned());
    }
    None
}

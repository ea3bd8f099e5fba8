//! The canonical form of a rule's detection, for proving two versions equivalent without
//! evaluating anything: the lowered form (condition resolved, modifiers turned into typed value
//! tests, placeholders expanded) with every search identifier replaced by what it tests, and
//! every commutative list (`or`/`and` operands, the maps of a search, the items of a map, the
//! values of an item) flattened, sorted and deduplicated. Equal forms match exactly the same
//! events, so a reordered list, a renamed identifier, YAML reformatting or `1 of sel*` written
//! out as `sel1 or sel2` is `equivalent` with `proof: exact`. Different forms prove nothing;
//! witnesses decide then.

use ruleproof_sigma::condition::Quantifier;
use ruleproof_sigma::{Cond, LoweredItem, LoweredRule, LoweredValue};

/// A detection in canonical form; two detections with equal forms are equivalent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Canonical {
    /// One value test of one item: the item's field and flags, and the test, as text.
    Test(String),
    /// `not`.
    Not(Box<Canonical>),
    /// Every operand holds; operands sorted, deduplicated, never nested `And`s.
    And(Vec<Canonical>),
    /// Some operand holds; operands sorted, deduplicated, never nested `Or`s.
    Or(Vec<Canonical>),
}

impl Canonical {
    /// The canonical form of a lowered detection (see the module documentation).
    pub fn of(rule: &LoweredRule) -> Canonical {
        cond(rule, &rule.condition)
    }
}

fn cond(rule: &LoweredRule, c: &Cond) -> Canonical {
    match c {
        Cond::Search(i) => search(rule, *i),
        Cond::Not(inner) => Canonical::Not(Box::new(cond(rule, inner))),
        Cond::And(parts) => and(parts.iter().map(|p| cond(rule, p)).collect()),
        Cond::Or(parts) => or(parts.iter().map(|p| cond(rule, p)).collect()),
        Cond::Quantified {
            quantifier,
            searches,
            ..
        } => {
            let parts = searches.iter().map(|i| search(rule, *i)).collect();
            match quantifier {
                Quantifier::All => and(parts),
                Quantifier::Any => or(parts),
            }
        }
    }
}

fn and(parts: Vec<Canonical>) -> Canonical {
    joined(parts, true)
}

fn or(parts: Vec<Canonical>) -> Canonical {
    joined(parts, false)
}

/// Flattens nested operands of the same operator, sorts and deduplicates; one operand is
/// itself.
fn joined(parts: Vec<Canonical>, conjunction: bool) -> Canonical {
    let mut flat = Vec::new();
    for part in parts {
        match part {
            Canonical::And(inner) if conjunction => flat.extend(inner),
            Canonical::Or(inner) if !conjunction => flat.extend(inner),
            other => flat.push(other),
        }
    }
    flat.sort();
    flat.dedup();
    if flat.len() == 1 {
        return flat.remove(0);
    }
    if conjunction {
        Canonical::And(flat)
    } else {
        Canonical::Or(flat)
    }
}

fn search(rule: &LoweredRule, index: usize) -> Canonical {
    let Some(search) = rule.searches.get(index) else {
        // The lowering resolves every reference; keep the index so a gap cannot compare equal.
        return Canonical::Test(format!("unresolved search {index}"));
    };
    or(search
        .maps
        .iter()
        .map(|map| and(map.iter().map(item).collect()))
        .collect())
}

/// An item: each value is the OR of its tests; the values are ORed, or ANDed under `all`; `neq`
/// negates the whole. The field and `cased` go into every test.
fn item(item: &LoweredItem) -> Canonical {
    let value = |v: &LoweredValue| {
        or(v.tests
            .iter()
            .map(|t| {
                Canonical::Test(format!(
                    "{:?}{} {t:?}",
                    item.field,
                    if item.cased { "|cased" } else { "" }
                ))
            })
            .collect())
    };
    let values: Vec<Canonical> = item.values.iter().map(value).collect();
    let joined = if item.all { and(values) } else { or(values) };
    if item.negated {
        Canonical::Not(Box::new(joined))
    } else {
        joined
    }
}

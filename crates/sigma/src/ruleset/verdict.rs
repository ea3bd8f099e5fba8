//! A candidate's verdict from the atoms the index already found: most detection items are
//! decided exactly by their atoms, so only the others are evaluated on the event.
//!
//! An atom is *exact* for a string test when it holds exactly when the test does, not only
//! whenever it does (the necessary conditions of [`super::atoms`] need only the latter). For an
//! item on a field, case-insensitive (not `cased`), each value one plain literal without a
//! wildcard and without a NUL byte:
//!
//! - a value the field must equal: the field's scalar values (an array's scalar elements; numbers
//!   and booleans as their text) are each looked up in the field's exact values, so
//!   `Equals(field, value)` holds exactly when one of them, folded, is the value;
//! - `startswith` / `endswith`: a match of the literal is kept only when it starts (ends) where
//!   one scalar value does, and without a NUL it cannot run into the next value;
//! - `contains`: the literal is found anywhere in the field's text, which is the field's scalar
//!   values joined by NUL, unless the field holds an array: then the keyword text of the objects
//!   and arrays nested in it sits between its scalars, and the item is evaluated in full;
//! - keyword `contains` (the default for keywords): the keyword text is every scalar that
//!   [`crate::Event::any_scalar`] visits, folded and joined by NUL;
//! - `exists`: the field's presence atom holds exactly when the event has the field, whatever
//!   its value (`null` included).
//!
//! An item's values then combine as the item does (any of them, or all with `|all`), and `neq`
//! and the condition's `not` invert exact results like any other. Absent and `null` fields have
//! no text, so no string atom of theirs holds, as no string test matches them. Everything else
//! (`cased`, wildcards inside a value, regexes, numbers compared as numbers, `null`, `cidr`,
//! `fieldref`, time parts, and keyword atoms taken to hold without a search) is evaluated on the
//! event, and only when the item's necessary condition holds.

use super::Resolved;
use super::atoms::{Need, all, any};
use crate::compile::{CompiledItem, CompiledRule};
use crate::eval::item_hit;
use crate::event::Event;

/// Where a detection item sits in its rule: its search, map and position in the map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ItemRef {
    pub search: u32,
    pub map: u32,
    pub item: u32,
}

impl ItemRef {
    /// The item in its rule.
    fn of(self, rule: &CompiledRule) -> &CompiledItem {
        &rule.searches[self.search as usize].maps[self.map as usize].items[self.item as usize]
    }
}

/// How far an item's atoms decide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Exactness {
    /// The atoms decide the item.
    Always,
    /// The atoms decide the item unless the field (this slot) holds an array.
    UnlessArray(u32),
    /// The atoms are only a necessary condition; the item is evaluated on the event.
    Never,
}

/// A rule's condition over its items, each decided by atoms where they are exact.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Verdict {
    /// One atom's truth (the presence of a field, for `exists`).
    Atom(u32),
    /// Whether a detection item's values match (before `neq`): `need` holds exactly when they
    /// do where the item is exact, else it is the item's necessary condition.
    Item {
        need: Need,
        item: ItemRef,
        exact: Exactness,
    },
    Not(Box<Verdict>),
    All(Vec<Verdict>),
    Any(Vec<Verdict>),
}

impl Verdict {
    /// The rule's verdict on the event whose atoms `seen` marks with `epoch`.
    pub(super) fn holds<E: Event + ?Sized>(
        &self,
        seen: &[u32],
        epoch: u32,
        rule: &CompiledRule,
        event: &Resolved<'_, E>,
    ) -> bool {
        match self {
            Verdict::Atom(atom) => seen[*atom as usize] == epoch,
            Verdict::Item { need, item, exact } => {
                need.holds(seen, epoch)
                    && match exact {
                        Exactness::Always => true,
                        Exactness::UnlessArray(slot) => {
                            !event.holds_array(*slot) || item_hit(item.of(rule), event)
                        }
                        Exactness::Never => item_hit(item.of(rule), event),
                    }
            }
            Verdict::Not(inner) => !inner.holds(seen, epoch, rule, event),
            // Most parts are atoms: read them here rather than in a call each.
            Verdict::All(items) => items.iter().all(|v| match v {
                Verdict::Atom(atom) => seen[*atom as usize] == epoch,
                v => v.holds(seen, epoch, rule, event),
            }),
            Verdict::Any(items) => items.iter().any(|v| match v {
                Verdict::Atom(atom) => seen[*atom as usize] == epoch,
                v => v.holds(seen, epoch, rule, event),
            }),
        }
    }

    /// The rule's necessary condition: what its positive parts need (an item's exact condition
    /// where it has one); a negated part can hold on an event that has none of its literals.
    pub(super) fn need(&self) -> Need {
        match self {
            Verdict::Atom(atom) => Need::Atom(*atom),
            Verdict::Item { need, .. } => need.clone(),
            Verdict::Not(_) => Need::True,
            Verdict::All(items) => all(items.iter().map(Verdict::need).collect()),
            Verdict::Any(items) => any(items.iter().map(Verdict::need).collect()),
        }
    }

    /// Turns every item whose need names one of the `assumed` atoms (atoms taken to hold, not
    /// searched for) into an item evaluated on the event.
    pub(super) fn demote(&mut self, assumed: &[bool]) {
        match self {
            Verdict::Item { need, exact, .. } => {
                if need.any_atom(&mut |a| assumed[a as usize]) {
                    *exact = Exactness::Never;
                }
            }
            Verdict::Not(inner) => inner.demote(assumed),
            Verdict::All(items) | Verdict::Any(items) => {
                items.iter_mut().for_each(|v| v.demote(assumed));
            }
            Verdict::Atom(_) => {}
        }
    }

    /// Calls `visit` on the need of every item, for folding long unions into one atom.
    pub(super) fn for_each_need_mut<'a>(&'a mut self, visit: &mut impl FnMut(&'a mut Need)) {
        match self {
            Verdict::Item { need, .. } => visit(need),
            Verdict::Not(inner) => inner.for_each_need_mut(visit),
            Verdict::All(items) | Verdict::Any(items) => {
                items.iter_mut().for_each(|v| v.for_each_need_mut(visit));
            }
            Verdict::Atom(_) => {}
        }
    }

    /// Replaces every item decided by its atoms alone with its condition over them, and
    /// flattens nested `All`s and `Any`s, so that evaluation visits fewer parts. Called last:
    /// afterwards no item of an atom can be demoted or folded.
    pub(super) fn simplify(self) -> Verdict {
        match self {
            Verdict::Item {
                need,
                exact: Exactness::Always,
                ..
            } => Verdict::from_need(need),
            Verdict::Not(inner) => match inner.simplify() {
                Verdict::Not(twice) => *twice,
                inner => Verdict::Not(Box::new(inner)),
            },
            Verdict::All(items) => Verdict::flatten(items, true),
            Verdict::Any(items) => Verdict::flatten(items, false),
            other => other,
        }
    }

    fn from_need(need: Need) -> Verdict {
        match need {
            Need::True => Verdict::All(Vec::new()),
            Need::Atom(atom) => Verdict::Atom(atom),
            Need::All(items) => {
                Verdict::flatten(items.into_iter().map(Verdict::from_need).collect(), true)
            }
            Need::Any(items) => {
                Verdict::flatten(items.into_iter().map(Verdict::from_need).collect(), false)
            }
        }
    }

    /// An `All` (`all`) or `Any` of the parts, simplified, with the parts of nested ones of the
    /// same kind spliced in their place and a single part standing alone.
    fn flatten(items: Vec<Verdict>, all: bool) -> Verdict {
        let mut kept = Vec::with_capacity(items.len());
        for item in items {
            match item.simplify() {
                Verdict::All(inner) if all => kept.extend(inner),
                Verdict::Any(inner) if !all => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match (kept.len(), all) {
            (1, _) => kept.pop().unwrap_or(Verdict::All(Vec::new())),
            (_, true) => Verdict::All(kept),
            (_, false) => Verdict::Any(kept),
        }
    }

    /// Orders the parts so that evaluation reads the cheapest first and stops as early as it
    /// can: atoms before items read on the event, and among atoms, in an `All` the least likely
    /// to hold first, in an `Any` the most likely. Evaluation has no side effects, so the order
    /// never changes the verdict.
    pub(super) fn order(&mut self, costs: &[f64]) {
        match self {
            Verdict::Item { need, .. } => need.order(costs),
            Verdict::Not(inner) => inner.order(costs),
            Verdict::All(items) => {
                items.iter_mut().for_each(|v| v.order(costs));
                items.sort_by_cached_key(|v| (v.reads(), v.likelihood(costs)));
            }
            Verdict::Any(items) => {
                items.iter_mut().for_each(|v| v.order(costs));
                items.sort_by_cached_key(|v| (v.reads(), std::cmp::Reverse(v.likelihood(costs))));
            }
            Verdict::Atom(_) => {}
        }
    }

    /// What evaluating the part may read besides atoms: nothing, whether a field is an array,
    /// or the event's values (the most expensive).
    pub(super) fn reads(&self) -> Exactness {
        match self {
            Verdict::Atom(_) => Exactness::Always,
            Verdict::Item { exact, .. } => *exact,
            Verdict::Not(inner) => inner.reads(),
            Verdict::All(items) | Verdict::Any(items) => items
                .iter()
                .map(Verdict::reads)
                .max()
                .unwrap_or(Exactness::Always),
        }
    }

    /// How often the part is expected to hold, as bits of a non-negative `f64` (which order
    /// like the numbers): negations and parts without an estimate hold most often.
    fn likelihood(&self, costs: &[f64]) -> u64 {
        let cost = match self {
            Verdict::Atom(atom) => Need::Atom(*atom).cost(costs),
            Verdict::Item { need, .. } => need.cost(costs),
            Verdict::All(items) => items
                .iter()
                .map(|v| v.likelihood(costs))
                .min()
                .filter(|l| *l != u64::MAX)
                .map(f64::from_bits),
            Verdict::Any(items) => items
                .iter()
                .map(|v| v.likelihood(costs))
                .try_fold(0.0, |sum, l| {
                    (l != u64::MAX).then(|| sum + f64::from_bits(l))
                }),
            Verdict::Not(_) => None,
        };
        cost.map_or(u64::MAX, f64::to_bits)
    }
}

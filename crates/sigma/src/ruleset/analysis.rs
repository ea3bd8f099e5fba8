//! Reducing a compiled rule to a necessary condition over atoms: taken only from positive
//! string tests, including the literal runs a regular expression's matches must contain.

use super::atoms::{Anchor, AtomKey, Need, all, any};
use super::fxhash::FastMap;
use super::verdict::{Exactness, ItemRef, Verdict};
use crate::compile::{CompiledItem, CompiledSearch, Cond, ValueMatcher};
use crate::condition::Quantifier;
use crate::event::FieldPath;
use crate::fold::{fold_case, fold_char};
use crate::joined::JoinedColumns;
use crate::pattern::StrMatcher;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Numbers atoms and field slots while rules are analysed.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) atoms: FastMap<AtomKey, u32>,
    pub(super) atom_keys: Vec<AtomKey>,
    pub(super) field_slots: FastMap<Box<str>, u32>,
    pub(super) field_names: Vec<Box<str>>,
    /// The fields two columns hold together, each with a slot of its own that no event field
    /// name resolves to.
    pub(super) joins: Vec<JoinSlot>,
}

/// A field two columns hold together: its slot and its columns' slots
/// ([`crate::joined`]); the index joins the columns into its value once per event.
#[derive(Debug)]
pub(super) struct JoinSlot {
    pub slot: u32,
    pub key: u32,
    pub value: u32,
    pub columns: JoinedColumns,
}

impl Builder {
    pub(super) fn field(&mut self, path: &FieldPath) -> u32 {
        if let Some(join) = path.join() {
            if let Some(known) = self.joins.iter().find(|j| j.columns == join.columns) {
                return known.slot;
            }
            let key = self.field(&join.key);
            let value = self.field(&join.value);
            let slot = self.field_names.len() as u32;
            self.field_names.push(path.name().into());
            self.joins.push(JoinSlot {
                slot,
                key,
                value,
                columns: join.columns.clone(),
            });
            return slot;
        }
        if let Some(slot) = self.field_slots.get(path.name()) {
            return *slot;
        }
        let slot = self.field_names.len() as u32;
        self.field_names.push(path.name().into());
        self.field_slots.insert(path.name().into(), slot);
        slot
    }

    pub(super) fn atom(&mut self, key: AtomKey) -> u32 {
        if let Some(id) = self.atoms.get(&key) {
            return *id;
        }
        let id = self.atom_keys.len() as u32;
        self.atom_keys.push(key.clone());
        self.atoms.insert(key, id);
        id
    }

    /// What an item's values need to match, before `neq` inverts it.
    pub(super) fn hit(&mut self, item: &CompiledItem) -> Need {
        let slot = item.field.as_ref().map(|f| self.field(f));
        // Every matcher but `null` and `exists: false` fails on a missing field.
        let needs_field = item.values.iter().all(|v| {
            v.alternatives
                .iter()
                .all(|m| !matches!(m, ValueMatcher::Null | ValueMatcher::Exists(false)))
        });
        let present = match slot {
            Some(slot) if needs_field && !item.values.is_empty() => {
                Need::Atom(self.atom(AtomKey::Present(slot)))
            }
            _ => Need::True,
        };
        let values = item
            .values
            .iter()
            .map(|value| {
                any(value
                    .alternatives
                    .iter()
                    .map(|m| self.matcher(slot, m))
                    .collect())
            })
            .collect();
        let values = if item.all { all(values) } else { any(values) };
        all(vec![present, values])
    }

    /// The rule's condition with every detection item decided by its atoms where they are
    /// exact ([`super::verdict`]).
    pub(super) fn verdict(&mut self, cond: &Cond, searches: &[CompiledSearch]) -> Verdict {
        match cond {
            Cond::Search(i) => self.search_verdict(*i, searches),
            Cond::Not(inner) => Verdict::Not(Box::new(self.verdict(inner, searches))),
            Cond::And(items) => {
                Verdict::All(items.iter().map(|c| self.verdict(c, searches)).collect())
            }
            Cond::Or(items) => {
                Verdict::Any(items.iter().map(|c| self.verdict(c, searches)).collect())
            }
            Cond::Quantified {
                quantifier,
                searches: indices,
                ..
            } => {
                let parts = indices
                    .iter()
                    .map(|i| self.search_verdict(*i, searches))
                    .collect();
                match quantifier {
                    Quantifier::Any => Verdict::Any(parts),
                    Quantifier::All => Verdict::All(parts),
                }
            }
        }
    }

    fn search_verdict(&mut self, index: usize, searches: &[CompiledSearch]) -> Verdict {
        let maps = searches[index].maps.iter().enumerate().map(|(m, map)| {
            let items = map.items.iter().enumerate().map(|(i, item)| {
                let at = ItemRef {
                    search: index as u32,
                    map: m as u32,
                    item: i as u32,
                };
                self.item_verdict(item, at)
            });
            Verdict::All(items.collect())
        });
        let maps: Vec<Verdict> = maps.collect();
        Verdict::Any(maps)
    }

    fn item_verdict(&mut self, item: &CompiledItem, at: ItemRef) -> Verdict {
        let slot = item.field.as_ref().map(|f| self.field(f));
        let hit = match (slot, item.values.as_slice()) {
            // `exists` has one value: the presence atom decides it.
            (Some(slot), [value])
                if matches!(value.alternatives[..], [ValueMatcher::Exists(_)]) =>
            {
                let present = Verdict::Atom(self.atom(AtomKey::Present(slot)));
                match value.alternatives[0] {
                    ValueMatcher::Exists(false) => Verdict::Not(Box::new(present)),
                    _ => present,
                }
            }
            _ => match self.exact_hit(item, slot) {
                Some((need, exact)) => Verdict::Item {
                    need,
                    item: at,
                    exact,
                },
                None => Verdict::Item {
                    need: self.hit(item),
                    item: at,
                    exact: Exactness::Never,
                },
            },
        };
        if item.negate {
            Verdict::Not(Box::new(hit))
        } else {
            hit
        }
    }

    /// The condition over atoms that decides whether the item's values match, when every
    /// matcher of the item has an exact atom, and how exact it is.
    fn exact_hit(&mut self, item: &CompiledItem, slot: Option<u32>) -> Option<(Need, Exactness)> {
        let mut exactness = Exactness::Always;
        let mut values = Vec::with_capacity(item.values.len());
        for value in &item.values {
            let mut alternatives = Vec::with_capacity(value.alternatives.len());
            for matcher in &value.alternatives {
                let ValueMatcher::Str { matcher, cased, .. } = matcher else {
                    return None;
                };
                let (key, exact) = str_atom(slot, matcher, *cased)?;
                match exact {
                    Exactness::Never => return None,
                    Exactness::UnlessArray(_) => exactness = exact,
                    Exactness::Always => {}
                }
                alternatives.push(Need::Atom(self.atom(key)));
            }
            values.push(any(alternatives));
        }
        let need = if item.all { all(values) } else { any(values) };
        Some((need, exactness))
    }

    pub(super) fn matcher(&mut self, slot: Option<u32>, matcher: &ValueMatcher) -> Need {
        match matcher {
            ValueMatcher::Str {
                matcher: StrMatcher::Regex(re),
                ..
            } => self.regex(slot, re.as_str()),
            ValueMatcher::Str { matcher, cased, .. } => match str_atom(slot, matcher, *cased) {
                Some((key, _)) => Need::Atom(self.atom(key)),
                None => Need::True,
            },
            ValueMatcher::Regex(re) => self.regex(slot, re.as_str()),
            ValueMatcher::FieldRef { other, .. } => {
                let other = self.field(other);
                Need::Atom(self.atom(AtomKey::Present(other)))
            }
            // Numbers, networks, time parts, null and existence tests have no
            // literal the event text must contain.
            _ => Need::True,
        }
    }

    /// What a regex needs: the runs of literal characters its matches must contain, found by
    /// walking its syntax tree. The pattern is parsed case-insensitively: that matches a superset
    /// of the rule's regex whatever its flags, so what it needs the rule's regex needs too.
    pub(super) fn regex(&mut self, slot: Option<u32>, pattern: &str) -> Need {
        match regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .build()
            .parse(pattern)
        {
            Ok(hir) => self.hir(slot, &hir, 0),
            Err(_) => Need::True,
        }
    }

    pub(super) fn hir(&mut self, slot: Option<u32>, hir: &Hir, depth: usize) -> Need {
        if depth > MAX_REGEX_DEPTH {
            return Need::True;
        }
        match hir.kind() {
            HirKind::Concat(items) => self.concat(slot, items, depth),
            HirKind::Literal(_) | HirKind::Class(_) => {
                self.concat(slot, std::slice::from_ref(hir), depth)
            }
            HirKind::Alternation(items) => {
                any(items.iter().map(|h| self.hir(slot, h, depth + 1)).collect())
            }
            HirKind::Repetition(r) if r.min >= 1 => self.hir(slot, &r.sub, depth + 1),
            HirKind::Capture(c) => self.hir(slot, &c.sub, depth + 1),
            // Empty matches, look-arounds and optional repetitions need nothing.
            _ => Need::True,
        }
    }

    /// A concatenation needs each of its runs of adjacent single characters (as folded text, in
    /// every combination of the forms each character can take) and whatever its other parts need.
    pub(super) fn concat(&mut self, slot: Option<u32>, items: &[Hir], depth: usize) -> Need {
        let mut needs = Vec::new();
        let mut run: Vec<String> = vec![String::new()];
        for item in items {
            match char_choices(item) {
                Some(positions) => {
                    for choices in positions {
                        if run.len() * choices.len() > MAX_RUN_VARIANTS {
                            needs.push(
                                self.run(slot, std::mem::replace(&mut run, vec![String::new()])),
                            );
                        }
                        run = run
                            .iter()
                            .flat_map(|prefix| choices.iter().map(move |c| format!("{prefix}{c}")))
                            .collect();
                    }
                }
                None => {
                    needs.push(self.run(slot, std::mem::replace(&mut run, vec![String::new()])));
                    needs.push(self.hir(slot, item, depth + 1));
                }
            }
        }
        needs.push(self.run(slot, run));
        all(needs)
    }

    /// A run of literal text in its variants; runs too short to be selective need nothing.
    pub(super) fn run(&mut self, slot: Option<u32>, variants: Vec<String>) -> Need {
        if variants.iter().any(|v| v.len() < MIN_REGEX_LITERAL) {
            return Need::True;
        }
        any(variants
            .into_iter()
            .map(|v| {
                let literal: Box<str> = v.into();
                Need::Atom(self.atom(match slot {
                    Some(slot) => AtomKey::Literal(slot, Anchor::Anywhere, literal),
                    None => AtomKey::Keyword(literal),
                }))
            })
            .collect())
    }
}

/// The atom a string test implies (`None` when it implies none: regexes, `*`, empty
/// literals under a position modifier), and how exactly it decides the test ([`super::verdict`]).
/// Literals are folded; a `cased` test implies its folded literal, which only a superset of its
/// matches contains.
pub(super) fn str_atom(
    slot: Option<u32>,
    matcher: &StrMatcher,
    cased: bool,
) -> Option<(AtomKey, Exactness)> {
    let (anchor, literal) = match matcher {
        StrMatcher::Exact(s) => (None, s.as_str()),
        StrMatcher::Prefix(s) => (Some(Anchor::Start), s.as_str()),
        StrMatcher::Suffix(s) => (Some(Anchor::End), s.as_str()),
        StrMatcher::Contains(f) => (
            Some(Anchor::Anywhere),
            std::str::from_utf8(f.needle()).ok()?,
        ),
        StrMatcher::Regex(_) | StrMatcher::Any => return None,
    };
    let literal: Box<str> = if cased {
        fold_case(literal).into()
    } else {
        literal.into()
    };
    // A NUL could join two values of the scanned text, which separates them with NUL.
    let plain = !cased && !literal.contains('\0');
    match (slot, anchor) {
        (Some(slot), None) => {
            let exact = if cased {
                Exactness::Never
            } else {
                Exactness::Always
            };
            Some((AtomKey::Equals(slot, literal), exact))
        }
        (_, Some(_)) if literal.is_empty() => None,
        (None, None) if literal.is_empty() => None,
        (Some(slot), Some(anchor)) => {
            let exact = match anchor {
                _ if !plain => Exactness::Never,
                Anchor::Anywhere => Exactness::UnlessArray(slot),
                Anchor::Start | Anchor::End => Exactness::Always,
            };
            Some((AtomKey::Literal(slot, anchor, literal), exact))
        }
        (None, anchor) => {
            let exact = if plain && anchor == Some(Anchor::Anywhere) {
                Exactness::Always
            } else {
                Exactness::Never
            };
            Some((AtomKey::Keyword(literal), exact))
        }
    }
}

/// Regex syntax trees deeper than this are not analysed (the rule is then always evaluated).
pub(super) const MAX_REGEX_DEPTH: usize = 32;

/// The most spellings of one literal run before it is split into shorter runs.
pub(super) const MAX_RUN_VARIANTS: usize = 16;

/// Regex literal runs shorter than this (in bytes) would match almost every event.
pub(super) const MIN_REGEX_LITERAL: usize = 3;

/// For a literal or a small class, the folded forms each of its characters can take, position
/// by position; `None` for anything that is not a fixed sequence of characters.
pub(super) fn char_choices(hir: &Hir) -> Option<Vec<Vec<String>>> {
    let folded = |c: char| fold_char(c).collect::<String>();
    match hir.kind() {
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            Some(text.chars().map(|c| vec![folded(c)]).collect())
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut choices: Vec<String> = Vec::new();
            for range in class.ranges() {
                if u32::from(range.end()) - u32::from(range.start()) > 8 {
                    return None;
                }
                for c in range.start()..=range.end() {
                    let folded = folded(c);
                    if !choices.contains(&folded) {
                        choices.push(folded);
                    }
                }
                if choices.len() > 5 {
                    return None;
                }
            }
            (!choices.is_empty()).then(|| vec![choices])
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut choices: Vec<String> = Vec::new();
            for range in class.ranges() {
                if !range.end().is_ascii() || range.end() - range.start() > 8 {
                    return None;
                }
                for b in range.start()..=range.end() {
                    let folded = folded(char::from(b));
                    if !choices.contains(&folded) {
                        choices.push(folded);
                    }
                }
                if choices.len() > 5 {
                    return None;
                }
            }
            (!choices.is_empty()).then(|| vec![choices])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_need_their_literal_runs_in_every_folded_spelling() {
        let mut builder = Builder::default();
        let need = builder.regex(Some(0), "Power.*(Shell|cmd)x?");
        let atoms: Vec<&AtomKey> = builder.atom_keys.iter().collect();
        let literal = |s: &str| AtomKey::Literal(0, Anchor::Anywhere, s.into());
        // `s` has a second lowercase spelling (`ſ`) that a case-insensitive regex accepts.
        assert_eq!(
            atoms,
            vec![
                &literal("power"),
                &literal("shell"),
                &literal("\u{17f}hell"),
                &literal("cmd")
            ]
        );
        assert_eq!(
            need,
            Need::All(vec![
                Need::Atom(0),
                Need::Any(vec![Need::Atom(1), Need::Atom(2), Need::Atom(3)])
            ])
        );
        assert_eq!(builder.regex(Some(0), ".*ab[0-9]+"), Need::True);
    }
}

//! Whole rule sets compiled into one index, so each event evaluates only the rules that can match it.
//!
//! Every rule is reduced to a *necessary condition* over cheap facts about the event, called atoms:
//! "the folded text of field F contains (starts with, ends with, equals) literal L", or "some value
//! of the event contains L" for keyword searches. An atom is only ever derived from a positive
//! string test (never under `not`, `neq`, `null` or `exists: false`), so a rule that matches an
//! event always has its necessary condition true on that event. Per event, one Aho-Corasick scan
//! per used field (plus one over all values when the set has keyword searches) and one hash lookup
//! per field value find every atom that holds; each rule is indexed under one atom per branch of its
//! condition (its *triggers*), so only rules with a triggered atom become candidates. Candidates
//! then have their whole necessary condition checked against the atoms found, and the survivors are
//! evaluated in full with [`CompiledRule::matches`]. Rules whose condition yields no atom (only
//! regexes without literals, numbers, negations…) are evaluated for every event.
//!
//! Case-insensitive comparisons fold case by mapping each character on its own, so a string test
//! that matches a text also finds its folded literal in the folded text; that is what makes
//! searching folded text for folded literals sound for cased values and regex literals too.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde_json::{Map, Value};

use crate::compile::{CompiledItem, CompiledRule, CompiledSearch, Cond, ValueMatcher};
use crate::condition::Quantifier;
use crate::document::LogSource;
use crate::event::{Event, FieldPath, with_scalar_text};
use crate::fold::{fold_case, fold_char, push_folded};
use crate::pattern::StrMatcher;
use regex_syntax::hir::{Class, Hir, HirKind};

/// An event whose top-level fields can be listed, which the index needs to look fields up by
/// name once per event rather than once per field the rule set uses.
pub trait FieldEntries: Event {
    /// Calls `visit` with the name and value of every top-level field: the values that
    /// [`Event::field`] finds by exact name and [`Event::any_scalar`] starts from.
    fn for_each_entry(&self, visit: &mut dyn FnMut(&str, &Value));
}

impl FieldEntries for Map<String, Value> {
    fn for_each_entry(&self, visit: &mut dyn FnMut(&str, &Value)) {
        for (name, value) in self {
            visit(name, value);
        }
    }
}

impl FieldEntries for Value {
    fn for_each_entry(&self, visit: &mut dyn FnMut(&str, &Value)) {
        if let Some(map) = self.as_object() {
            map.for_each_entry(visit);
        }
    }
}

/// A compiled rule set with its prefilter index. `Send + Sync`; share it between threads and give
/// each thread its own [`Scratch`].
#[derive(Debug)]
pub struct RuleSetIndex {
    rules: Vec<CompiledRule>,
    /// The fields the atoms test, by slot.
    fields: Vec<FieldIndex>,
    /// Field names without dots, found by listing the event's fields.
    top_level: FastMap<Box<str>, u32>,
    /// Field names with dots, which may name nested values and are looked up one by one.
    dotted: Vec<(FieldPath, u32)>,
    /// Literals of keyword searches, searched in every value of the event.
    keywords: Option<LiteralScanner>,
    atom_count: usize,
    /// The rules each atom triggers, as offsets into `trigger_rules` (CSR layout).
    trigger_offsets: Vec<u32>,
    trigger_rules: Vec<u32>,
    /// Rules with no atom on some branch: candidates for every event.
    always: Vec<u32>,
    needs: Vec<Need>,
}

/// Figures about an index, for reports and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    pub rules: usize,
    pub atoms: usize,
    pub fields: usize,
    pub keyword_literals: usize,
    /// Rules evaluated for every event because some branch of their condition has no atom.
    pub always_evaluated: usize,
}

/// Which rules a corpus can meet, from the log source it is known to come from.
#[derive(Clone, Debug)]
pub struct Route {
    allowed: Vec<bool>,
}

impl Route {
    /// Whether the rule at this index may run on the corpus.
    pub fn allows(&self, rule: usize) -> bool {
        self.allowed.get(rule).copied().unwrap_or(false)
    }

    /// How many rules the route lets through.
    pub fn count(&self) -> usize {
        self.allowed.iter().filter(|a| **a).count()
    }
}

/// Per-thread buffers reused from event to event, so matching allocates nothing after warm-up.
#[derive(Debug, Default)]
pub struct Scratch {
    epoch: u32,
    /// `atom_seen[a] == epoch` when atom `a` holds for the current event.
    atom_seen: Vec<u32>,
    rule_seen: Vec<u32>,
    candidates: Vec<u32>,
    text: String,
    /// Start and end of each scalar value of an indexed field in `text`.
    bounds: Vec<(usize, usize)>,
    /// Each indexed field found: its slot and its range of `bounds`.
    spans: Vec<(u32, usize, usize)>,
}

/// Where in a value a literal must be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Anchor {
    Anywhere,
    Start,
    End,
}

#[derive(Debug)]
struct FieldIndex {
    /// The atom that says the event has the field.
    present: Option<u32>,
    /// Values the field must equal, folded, to the atom that says so.
    exact: FastMap<Box<str>, u32>,
    scanner: Option<LiteralScanner>,
}

impl FieldIndex {
    /// Whether the field has values or literals to look for (presence needs no text).
    fn scans(&self) -> bool {
        !self.exact.is_empty() || self.scanner.is_some()
    }

    /// Finds the atoms the field's values prove: exact values by hashing, literals by scanning.
    fn scan(&self, text: &str, bounds: &[(usize, usize)], found: &mut Found<'_>) {
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return;
        };
        if !self.exact.is_empty() {
            for &(start, end) in bounds {
                if let Some(atom) = self.exact.get(&text[start..end]) {
                    found.hit(*atom);
                }
            }
        }
        if let Some(scanner) = &self.scanner {
            let base = first.0;
            for m in scanner
                .automaton
                .find_overlapping_iter(&text.as_bytes()[base..last.1])
            {
                let (start, end) = (base + m.start(), base + m.end());
                for &(anchor, atom) in &scanner.atoms[m.pattern().as_usize()] {
                    let holds = match anchor {
                        Anchor::Anywhere => true,
                        Anchor::Start => bounds.iter().any(|b| b.0 == start),
                        Anchor::End => bounds.iter().any(|b| b.1 == end),
                    };
                    if holds {
                        found.hit(atom);
                    }
                }
            }
        }
    }
}

/// One Aho-Corasick automaton over distinct literals, each mapped to the atoms it proves.
#[derive(Debug)]
struct LiteralScanner {
    automaton: AhoCorasick,
    atoms: Vec<Vec<(Anchor, u32)>>,
}

/// A rule's necessary condition over atoms.
#[derive(Clone, Debug, PartialEq)]
enum Need {
    True,
    Atom(u32),
    All(Vec<Need>),
    Any(Vec<Need>),
}

/// What an atom tests, before it is numbered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum AtomKey {
    /// The event has the field (a value that is not `null`, or for `exists`, any value).
    Present(u32),
    Equals(u32, Box<str>),
    Literal(u32, Anchor, Box<str>),
    Keyword(Box<str>),
}

/// Numbers atoms and field slots while rules are analysed.
#[derive(Default)]
struct Builder {
    atoms: HashMap<AtomKey, u32>,
    atom_keys: Vec<AtomKey>,
    field_slots: HashMap<Box<str>, u32>,
    field_names: Vec<Box<str>>,
}

impl Builder {
    fn field(&mut self, path: &FieldPath) -> u32 {
        if let Some(slot) = self.field_slots.get(path.name()) {
            return *slot;
        }
        let slot = self.field_names.len() as u32;
        self.field_names.push(path.name().into());
        self.field_slots.insert(path.name().into(), slot);
        slot
    }

    fn atom(&mut self, key: AtomKey) -> u32 {
        if let Some(id) = self.atoms.get(&key) {
            return *id;
        }
        let id = self.atom_keys.len() as u32;
        self.atom_keys.push(key.clone());
        self.atoms.insert(key, id);
        id
    }

    fn cond(&mut self, cond: &Cond, searches: &[CompiledSearch]) -> Need {
        match cond {
            Cond::Search(i) => self.search(&searches[*i]),
            // A negated subtree can hold on an event that has none of its literals.
            Cond::Not(_) => Need::True,
            Cond::And(items) => all(items.iter().map(|c| self.cond(c, searches)).collect()),
            Cond::Or(items) => any(items.iter().map(|c| self.cond(c, searches)).collect()),
            Cond::Quantified {
                quantifier,
                searches: indices,
                ..
            } => {
                let needs = indices.iter().map(|i| self.search(&searches[*i])).collect();
                match quantifier {
                    Quantifier::Any => any(needs),
                    Quantifier::All => all(needs),
                }
            }
        }
    }

    fn search(&mut self, search: &CompiledSearch) -> Need {
        any(search
            .maps
            .iter()
            .map(|map| all(map.items.iter().map(|item| self.item(item)).collect()))
            .collect())
    }

    fn item(&mut self, item: &CompiledItem) -> Need {
        // `neq` inverts the item, so it holds exactly when its values are absent.
        if item.negate {
            return Need::True;
        }
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

    fn matcher(&mut self, slot: Option<u32>, matcher: &ValueMatcher) -> Need {
        match matcher {
            ValueMatcher::Str { matcher, cased, .. } => {
                let fold = |s: &[u8]| -> Option<Box<str>> {
                    let s = std::str::from_utf8(s).ok()?;
                    Some(if *cased { fold_case(s) } else { s.to_owned() }.into())
                };
                let (anchor, literal) = match matcher {
                    StrMatcher::Exact(s) => (None, s.as_str()),
                    StrMatcher::Prefix(s) => (Some(Anchor::Start), s.as_str()),
                    StrMatcher::Suffix(s) => (Some(Anchor::End), s.as_str()),
                    StrMatcher::Contains(f) => match std::str::from_utf8(f.needle()) {
                        Ok(s) => (Some(Anchor::Anywhere), s),
                        Err(_) => return Need::True,
                    },
                    StrMatcher::Regex(re) => return self.regex(slot, re.as_str()),
                    StrMatcher::Any => return Need::True,
                };
                let Some(literal) = fold(literal.as_bytes()) else {
                    return Need::True;
                };
                match (slot, anchor) {
                    (Some(slot), None) => self.literal_or_equals(slot, None, literal),
                    (Some(slot), Some(anchor)) => {
                        self.literal_or_equals(slot, Some(anchor), literal)
                    }
                    (None, _) if literal.is_empty() => Need::True,
                    (None, _) => Need::Atom(self.atom(AtomKey::Keyword(literal))),
                }
            }
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

    fn literal_or_equals(&mut self, slot: u32, anchor: Option<Anchor>, literal: Box<str>) -> Need {
        match anchor {
            None => Need::Atom(self.atom(AtomKey::Equals(slot, literal))),
            Some(_) if literal.is_empty() => Need::True,
            Some(anchor) => Need::Atom(self.atom(AtomKey::Literal(slot, anchor, literal))),
        }
    }

    /// What a regex needs: the runs of literal characters its matches must contain, found by
    /// walking its syntax tree. The pattern is parsed case-insensitively: that matches a superset
    /// of the rule's regex whatever its flags, so what it needs the rule's regex needs too.
    fn regex(&mut self, slot: Option<u32>, pattern: &str) -> Need {
        match regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .build()
            .parse(pattern)
        {
            Ok(hir) => self.hir(slot, &hir, 0),
            Err(_) => Need::True,
        }
    }

    fn hir(&mut self, slot: Option<u32>, hir: &Hir, depth: usize) -> Need {
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
    fn concat(&mut self, slot: Option<u32>, items: &[Hir], depth: usize) -> Need {
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
    fn run(&mut self, slot: Option<u32>, variants: Vec<String>) -> Need {
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

/// The most literals one scanner compiles to a DFA.
const MAX_DFA_LITERALS: usize = 3000;
/// Regex syntax trees deeper than this are not analysed (the rule is then always evaluated).
const MAX_REGEX_DEPTH: usize = 32;
/// The most spellings of one literal run before it is split into shorter runs.
const MAX_RUN_VARIANTS: usize = 16;
/// Regex literal runs shorter than this (in bytes) would match almost every event.
const MIN_REGEX_LITERAL: usize = 3;

/// For a literal or a small class, the folded forms each of its characters can take, position
/// by position; `None` for anything that is not a fixed sequence of characters.
fn char_choices(hir: &Hir) -> Option<Vec<Vec<String>>> {
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

fn all(needs: Vec<Need>) -> Need {
    let mut kept: Vec<Need> = Vec::with_capacity(needs.len());
    for need in needs {
        match need {
            Need::True => {}
            Need::All(inner) => kept.extend(inner),
            other => kept.push(other),
        }
    }
    match kept.len() {
        0 => Need::True,
        1 => kept.pop().unwrap_or(Need::True),
        _ => Need::All(kept),
    }
}

fn any(needs: Vec<Need>) -> Need {
    let mut kept: Vec<Need> = Vec::with_capacity(needs.len());
    for need in needs {
        match need {
            Need::True => return Need::True,
            Need::Any(inner) => kept.extend(inner),
            other => kept.push(other),
        }
    }
    if kept.len() == 1 {
        kept.pop().unwrap_or(Need::True)
    } else {
        // An empty `Any` is false: the rule cannot match (an item with no values).
        Need::Any(kept)
    }
}

impl Need {
    fn holds(&self, seen: &[u32], epoch: u32) -> bool {
        match self {
            Need::True => true,
            Need::Atom(a) => seen[*a as usize] == epoch,
            Need::All(items) => items.iter().all(|n| n.holds(seen, epoch)),
            Need::Any(items) => items.iter().any(|n| n.holds(seen, epoch)),
        }
    }

    /// The atoms to index the rule under (one of them holds whenever the need does) and how
    /// often they are expected to hold; `None` when some branch has no atom.
    fn triggers(&self, keys: &[AtomKey]) -> Option<(Vec<u32>, f64)> {
        match self {
            Need::True => None,
            Need::Atom(a) => Some((vec![*a], atom_cost(&keys[*a as usize]))),
            Need::Any(items) => {
                let mut atoms = Vec::new();
                let mut cost = 0.0;
                for item in items {
                    let (a, c) = item.triggers(keys)?;
                    atoms.extend(a);
                    cost += c;
                }
                // However many literals a union has, it stays a better index than presence.
                Some((atoms, cost.min(PRESENT_COST - 1.0)))
            }
            Need::All(items) => items
                .iter()
                .filter_map(|n| n.triggers(keys))
                .min_by(|a, b| a.1.total_cmp(&b.1)),
        }
    }
}

/// What indexing a rule under a field's presence costs: more than any set of literals.
const PRESENT_COST: f64 = 40.0;

/// A guess at how often an atom holds: longer literals are rarer, anchored and exact tests rarer
/// still. It only decides which atom a rule is indexed under, never a verdict.
fn atom_cost(key: &AtomKey) -> f64 {
    let (weight, len) = match key {
        AtomKey::Equals(_, s) => (3.0, s.len()),
        AtomKey::Literal(_, Anchor::Anywhere, s) => (12.0, s.len()),
        AtomKey::Literal(_, _, s) => (6.0, s.len()),
        AtomKey::Keyword(s) => (16.0, s.len()),
        // Most events have the common fields; presence is the last resort of an index.
        AtomKey::Present(_) => return PRESENT_COST,
    };
    weight / (len as f64 + 1.0)
}

impl LiteralScanner {
    fn build(literals: Vec<(Box<str>, Anchor, u32)>) -> Option<LiteralScanner> {
        let mut ids: HashMap<Box<str>, usize> = HashMap::new();
        let mut patterns: Vec<Box<str>> = Vec::new();
        let mut atoms: Vec<Vec<(Anchor, u32)>> = Vec::new();
        for (literal, anchor, atom) in literals {
            let id = *ids.entry(literal.clone()).or_insert_with(|| {
                patterns.push(literal);
                atoms.push(Vec::new());
                patterns.len() - 1
            });
            atoms[id].push((anchor, atom));
        }
        if patterns.is_empty() {
            return None;
        }
        // A DFA is the fastest scanner; past a few thousand literals its memory and build time
        // grow too much, and the contiguous NFA is nearly as fast.
        let kind = if patterns.len() <= MAX_DFA_LITERALS {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(patterns.iter().map(|p| p.as_bytes()))
            .ok()?;
        Some(LiteralScanner { automaton, atoms })
    }
}

impl RuleSetIndex {
    /// Analyses and indexes the rules; their order is the order verdicts are reported in.
    pub fn new(rules: Vec<CompiledRule>) -> RuleSetIndex {
        let mut builder = Builder::default();
        let needs: Vec<Need> = rules
            .iter()
            .map(|r| builder.cond(&r.condition, &r.searches))
            .collect();

        let mut per_rule_triggers: Vec<Option<Vec<u32>>> = Vec::with_capacity(rules.len());
        for need in &needs {
            per_rule_triggers.push(need.triggers(&builder.atom_keys).map(|(mut atoms, _)| {
                atoms.sort_unstable();
                atoms.dedup();
                atoms
            }));
        }
        let atom_count = builder.atom_keys.len();
        let mut by_atom: Vec<Vec<u32>> = vec![Vec::new(); atom_count];
        let mut always = Vec::new();
        for (rule, triggers) in per_rule_triggers.iter().enumerate() {
            match triggers {
                Some(atoms) => {
                    for atom in atoms {
                        by_atom[*atom as usize].push(rule as u32);
                    }
                }
                None => always.push(rule as u32),
            }
        }
        let mut trigger_offsets = Vec::with_capacity(atom_count + 1);
        let mut trigger_rules = Vec::new();
        trigger_offsets.push(0);
        for rules in &by_atom {
            trigger_rules.extend_from_slice(rules);
            trigger_offsets.push(trigger_rules.len() as u32);
        }

        // Only atoms that trigger some rule or appear in a candidate's need are worth finding;
        // all are kept, since a need is checked against every atom it names.
        let field_count = builder.field_names.len();
        let mut exact: Vec<FastMap<Box<str>, u32>> =
            (0..field_count).map(|_| FastMap::default()).collect();
        let mut literals: Vec<Vec<(Box<str>, Anchor, u32)>> = vec![Vec::new(); field_count];
        let mut present: Vec<Option<u32>> = vec![None; field_count];
        let mut keyword_literals = Vec::new();
        for (id, key) in builder.atom_keys.iter().enumerate() {
            let id = id as u32;
            match key {
                AtomKey::Present(slot) => present[*slot as usize] = Some(id),
                AtomKey::Equals(slot, value) => {
                    exact[*slot as usize].insert(value.clone(), id);
                }
                AtomKey::Literal(slot, anchor, literal) => {
                    literals[*slot as usize].push((literal.clone(), *anchor, id));
                }
                AtomKey::Keyword(literal) => {
                    keyword_literals.push((literal.clone(), Anchor::Anywhere, id))
                }
            }
        }
        let fields: Vec<FieldIndex> = exact
            .into_iter()
            .zip(literals)
            .zip(present)
            .map(|((exact, literals), present)| FieldIndex {
                present,
                exact,
                scanner: LiteralScanner::build(literals),
            })
            .collect();
        let mut top_level = FastMap::default();
        let mut dotted = Vec::new();
        for (slot, name) in builder.field_names.iter().enumerate() {
            if name.contains('.') {
                dotted.push((FieldPath::new(name), slot as u32));
            } else {
                top_level.insert(name.clone(), slot as u32);
            }
        }
        RuleSetIndex {
            rules,
            fields,
            top_level,
            dotted,
            keywords: LiteralScanner::build(keyword_literals),
            atom_count,
            trigger_offsets,
            trigger_rules,
            always,
            needs,
        }
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn stats(&self) -> IndexStats {
        IndexStats {
            rules: self.rules.len(),
            atoms: self.atom_count,
            fields: self.fields.len(),
            keyword_literals: self.keywords.as_ref().map_or(0, |k| k.atoms.len()),
            always_evaluated: self.always.len(),
        }
    }

    /// Fresh buffers sized for this index.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            epoch: 0,
            atom_seen: vec![0; self.atom_count],
            rule_seen: vec![0; self.rules.len()],
            candidates: Vec::with_capacity(64),
            text: String::with_capacity(1024),
            bounds: Vec::with_capacity(32),
            spans: Vec::with_capacity(32),
        }
    }

    /// The rules that may run on events known to come from `logsource`: those whose log source
    /// agrees on every attribute both set (case-insensitively). An attribute the corpus leaves
    /// open rules nothing out.
    pub fn route(&self, logsource: &LogSource) -> Route {
        let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        Route {
            allowed: self
                .rules
                .iter()
                .map(|r| {
                    agree(&r.logsource.category, &logsource.category)
                        && agree(&r.logsource.product, &logsource.product)
                        && agree(&r.logsource.service, &logsource.service)
                })
                .collect(),
        }
    }

    /// The indices of the rules that match the event, in rule order. Allocates its buffers; use
    /// [`RuleSetIndex::matching_rules_into`] in loops.
    pub fn matching_rules<E: FieldEntries + ?Sized>(&self, event: &E) -> Vec<usize> {
        let mut scratch = self.scratch();
        let mut out = Vec::new();
        self.matching_rules_into(event, None, &mut scratch, &mut out);
        out
    }

    /// Replaces `out` with the indices of the rules that match the event, in rule order, looking
    /// only at the rules `route` allows when one is given.
    pub fn matching_rules_into<E: FieldEntries + ?Sized>(
        &self,
        event: &E,
        route: Option<&Route>,
        scratch: &mut Scratch,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        scratch.begin(self.atom_count, self.rules.len());
        let epoch = scratch.epoch;
        let mut found = Found {
            index: self,
            seen: &mut scratch.atom_seen,
            rule_seen: &mut scratch.rule_seen,
            candidates: &mut scratch.candidates,
            epoch,
        };
        let text = &mut scratch.text;
        let bounds = &mut scratch.bounds;
        let spans = &mut scratch.spans;
        text.clear();
        bounds.clear();
        spans.clear();
        // One pass folds every value once: the values of indexed fields are kept as spans for
        // their scanners, and with keyword searches all values form the text keywords scan.
        let keywords = self.keywords.is_some();
        event.for_each_entry(&mut |name, value| {
            if let Some(&slot) = self.top_level.get(name) {
                let field = &self.fields[slot as usize];
                if let Some(atom) = field.present {
                    found.hit(atom);
                }
                if field.scans() {
                    let first = bounds.len();
                    append_field(value, text, bounds, keywords);
                    spans.push((slot, first, bounds.len()));
                    return;
                }
            }
            if keywords {
                append_scalars(value, text, 0);
            }
        });
        let keyword_end = text.len();
        for (path, slot) in &self.dotted {
            if let Some(value) = event.field(path) {
                let field = &self.fields[*slot as usize];
                if let Some(atom) = field.present {
                    found.hit(atom);
                }
                if field.scans() {
                    let first = bounds.len();
                    append_field(value, text, bounds, false);
                    spans.push((*slot, first, bounds.len()));
                }
            }
        }
        for &(slot, first, last) in spans.iter() {
            self.fields[slot as usize].scan(text, &bounds[first..last], &mut found);
        }
        if let Some(keywords) = &self.keywords {
            for m in keywords
                .automaton
                .find_overlapping_iter(&text.as_bytes()[..keyword_end])
            {
                for (_, atom) in &keywords.atoms[m.pattern().as_usize()] {
                    found.hit(*atom);
                }
            }
        }
        for rule in &self.always {
            found.candidate(*rule);
        }
        scratch.candidates.sort_unstable();
        for &rule in &scratch.candidates {
            let rule = rule as usize;
            if route.is_some_and(|r| !r.allows(rule)) {
                continue;
            }
            if self.needs[rule].holds(&scratch.atom_seen, epoch) && self.rules[rule].matches(event)
            {
                out.push(rule);
            }
        }
    }

    fn triggered(&self, atom: u32) -> &[u32] {
        let start = self.trigger_offsets[atom as usize] as usize;
        let end = self.trigger_offsets[atom as usize + 1] as usize;
        &self.trigger_rules[start..end]
    }

    /// Matches many events over all cores, keeping input order: entry `i` holds the indices of
    /// the rules that match `events[i]`.
    pub fn par_matching_rules<E: FieldEntries + Sync>(
        &self,
        events: &[E],
        route: Option<&Route>,
    ) -> Vec<Vec<usize>> {
        use rayon::prelude::*;
        events
            .par_iter()
            .with_min_len(64)
            .map_init(
                || self.scratch(),
                |scratch, event| {
                    let mut out = Vec::new();
                    self.matching_rules_into(event, route, scratch, &mut out);
                    out
                },
            )
            .collect()
    }
}

/// The atoms and candidates found so far for one event.
struct Found<'a> {
    index: &'a RuleSetIndex,
    seen: &'a mut Vec<u32>,
    rule_seen: &'a mut Vec<u32>,
    candidates: &'a mut Vec<u32>,
    epoch: u32,
}

impl Found<'_> {
    fn hit(&mut self, atom: u32) {
        let slot = &mut self.seen[atom as usize];
        if *slot == self.epoch {
            return;
        }
        *slot = self.epoch;
        for &rule in self.index.triggered(atom) {
            self.candidate(rule);
        }
    }

    fn candidate(&mut self, rule: u32) {
        let slot = &mut self.rule_seen[rule as usize];
        if *slot != self.epoch {
            *slot = self.epoch;
            self.candidates.push(rule);
        }
    }
}

impl Scratch {
    /// Starts a new event: a new epoch marks every atom and rule as unseen without clearing.
    fn begin(&mut self, atoms: usize, rules: usize) {
        if self.atom_seen.len() != atoms || self.rule_seen.len() != rules {
            self.atom_seen = vec![0; atoms];
            self.rule_seen = vec![0; rules];
            self.epoch = 0;
        }
        if self.epoch == u32::MAX {
            self.atom_seen.fill(0);
            self.rule_seen.fill(0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.candidates.clear();
    }
}

/// Appends the scalar values a field matcher tests (the value, or an array's scalar elements)
/// as elements with bounds; with `keywords`, also the nested values only keyword searches see.
fn append_field(
    value: &Value,
    text: &mut String,
    bounds: &mut Vec<(usize, usize)>,
    keywords: bool,
) {
    let mut element = |v: &Value, text: &mut String| {
        let start = text.len();
        append_folded(v, text);
        bounds.push((start, text.len()));
        text.push('\0');
    };
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Array(_) | Value::Object(_) => {
                        if keywords {
                            append_scalars(item, text, 1);
                        }
                    }
                    Value::Null => {}
                    scalar => element(scalar, text),
                }
            }
        }
        Value::Object(_) => {
            if keywords {
                append_scalars(value, text, 0);
            }
        }
        Value::Null => {}
        scalar => element(scalar, text),
    }
}

/// Nesting beyond this is not searched by keywords, as in [`Event::any_scalar`].
const MAX_KEYWORD_DEPTH: usize = 64;

/// Appends every scalar under a value, as keyword searches visit them.
fn append_scalars(value: &Value, text: &mut String, depth: usize) {
    if depth > MAX_KEYWORD_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => items
            .iter()
            .for_each(|v| append_scalars(v, text, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|v| append_scalars(v, text, depth + 1)),
        scalar => {
            append_folded(scalar, text);
            text.push('\0');
        }
    }
}

/// Appends a scalar's text folded the way the matchers fold it ([`crate::fold`]).
fn append_folded(value: &Value, out: &mut String) {
    with_scalar_text(value, |text| push_folded(text, out));
}

/// FxHash: field names and values are short, and a cryptographic hasher would cost more than
/// the rest of the lookup.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, DocumentBody, Limits, SourceFile, load_source};

    fn compile(yaml: &str) -> CompiledRule {
        let loaded = load_source(
            SourceFile::new("t.yml", yaml.to_owned()),
            &Limits::default(),
        );
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let Some(DocumentBody::Rule(rule)) = loaded.documents.first().map(|d| &d.body) else {
            panic!("not a rule");
        };
        CompiledRule::compile(rule, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn rule(detection: &str) -> CompiledRule {
        compile(&format!(
            "title: t\nlogsource:\n  product: windows\ndetection:\n{detection}"
        ))
    }

    fn check(rules: &[CompiledRule], events: &[Value]) {
        let index = RuleSetIndex::new(rules.to_vec());
        let mut scratch = index.scratch();
        let mut out = Vec::new();
        for event in events {
            let naive: Vec<usize> = (0..rules.len())
                .filter(|i| rules[*i].matches(event))
                .collect();
            index.matching_rules_into(event, None, &mut scratch, &mut out);
            assert_eq!(out, naive, "event {event}");
        }
    }

    #[test]
    fn agrees_with_rules_alone_on_tricky_conditions() {
        let rules = vec![
            rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n"),
            rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: not sel\n"),
            rule(
                "  sel:\n    CommandLine|contains|all: ['-enc', 'IEX']\n  f:\n    User: SYSTEM\n  condition: sel and not f\n",
            ),
            rule("  sel:\n    EventID: 4688\n  condition: sel\n"),
            rule("  sel:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: sel\n"),
            rule("  sel:\n    Image|re: '(?i)\\\\power[s]hell\\.exe$'\n  condition: sel\n"),
            rule("  sel:\n    Image|cased: 'C:\\Windows\\X.exe'\n  condition: sel\n"),
            rule("  sel:\n    a.b|startswith: 'xy'\n  condition: sel\n"),
            rule("  sel:\n    User: null\n  condition: sel\n"),
            rule("  sel:\n    Image|startswith: 'c:'\n  condition: 1 of sel*\n"),
        ];
        let events: Vec<Value> = [
            r#"{"Image": "C:\\Windows\\System32\\CMD.EXE", "EventID": 4688}"#,
            r#"{"Image": ["x", "c:\\tools\\cmd.exe"], "User": "system"}"#,
            r#"{"CommandLine": "powershell -enc AAA iex", "User": "bob"}"#,
            r#"{"CommandLine": "powershell -enc AAA iex", "User": "SYSTEM"}"#,
            r#"{"nested": {"deep": ["Mimikatz here"]}, "EventID": "4688"}"#,
            r#"{"Image": "D:\\PowerShell.exe"}"#,
            r#"{"Image": "C:\\Windows\\X.exe"}"#,
            r#"{"Image": "c:\\windows\\x.exe"}"#,
            r#"{"a": {"b": "XYZ"}}"#,
            r#"{"a.b": "zxy"}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        check(&rules, &events);
    }

    #[test]
    fn routing_keeps_only_agreeing_log_sources() {
        let windows = rule("  sel:\n    EventID: 1\n  condition: sel\n");
        let linux = compile(
            "title: l\nlogsource:\n  product: linux\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n",
        );
        let index = RuleSetIndex::new(vec![windows, linux]);
        let route = index.route(&LogSource {
            product: Some("Windows".into()),
            category: Some("process_creation".into()),
            service: None,
        });
        assert!(route.allows(0) && !route.allows(1));
        let event: Value = serde_json::json!({"EventID": 1});
        let mut out = Vec::new();
        index.matching_rules_into(&event, Some(&route), &mut index.scratch(), &mut out);
        assert_eq!(out, vec![0]);
        assert_eq!(index.matching_rules(&event), vec![0, 1]);
    }

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

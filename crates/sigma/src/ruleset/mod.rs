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
//! evaluated: the detection items their atoms decide exactly are read from the atoms, the others
//! evaluated on the event as [`CompiledRule::matches`] does (`verdict.rs`). Rules whose condition
//! yields no atom (only regexes without literals, numbers, negations…) are evaluated for every
//! event.
//!
//! A string value a thread has scanned before, as the same field, is not scanned again: the atoms
//! it proved are remembered (`memo.rs`) and replayed.
//!
//! Every field the rules name is numbered (a *slot*) when the index is built, and each event's
//! fields are resolved to slots once, in the same pass that folds their values: the full
//! evaluation of the candidates then finds a field by its slot instead of searching the event's
//! map by name, which is what a match-heavy corpus spends its time on.
//!
//! Case-insensitive comparisons fold case by mapping each character on its own, so a string test
//! that matches a text also finds its folded literal in the folded text; that is what makes
//! searching folded text for folded literals sound for cased values and regex literals too.

mod analysis;
mod atoms;
mod event_text;
mod fxhash;
mod grams;
mod memo;
mod scanner;
mod verdict;

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::compile::{CompiledRule, for_each_field_mut};
use crate::document::LogSource;
use crate::event::{Event, FieldPath};
use crate::fold::push_folded_bytes;
use analysis::{Builder, JoinSlot};
use atoms::{Anchor, AtomKey, Need, atom_costs, fold_unions};
use event_text::{append_field, append_scalars};
use fxhash::FastMap;
use memo::{MAX_VALUE, NO_FIELD, ValueMemo};
use scanner::{FIELD_DFA_BYTES, FieldIndex, KEYWORD_DFA_BYTES, LiteralScanner};
use verdict::Verdict;

/// An event whose top-level fields can be listed, which the index needs to look fields up by
/// name once per event rather than once per field the rule set uses.
pub trait FieldEntries: Event {
    /// Calls `visit` with the name and value of every top-level field: the values that
    /// [`Event::field`] finds by exact name and [`Event::any_scalar`] starts from.
    fn for_each_entry<'e>(&'e self, visit: &mut dyn FnMut(&'e str, &'e Value));

    /// The event itself when it is not a map of fields (a JSON array or scalar): it has no
    /// fields, and keyword searches read its scalars ([`Event::any_scalar`]).
    fn loose_value(&self) -> Option<&Value> {
        None
    }
}

impl FieldEntries for Map<String, Value> {
    fn for_each_entry<'e>(&'e self, visit: &mut dyn FnMut(&'e str, &'e Value)) {
        for (name, value) in self {
            visit(name, value);
        }
    }
}

impl FieldEntries for Value {
    fn for_each_entry<'e>(&'e self, visit: &mut dyn FnMut(&'e str, &'e Value)) {
        if let Some(map) = self.as_object() {
            map.for_each_entry(visit);
        }
    }

    fn loose_value(&self) -> Option<&Value> {
        (!self.is_object()).then_some(self)
    }
}

/// A compiled rule set with its prefilter index. `Send + Sync`; share it between threads and give
/// each thread its own [`Scratch`].
#[derive(Debug)]
pub struct RuleSetIndex {
    /// Tells this index from any other, so a scratch's [`ValueMemo`] is never replayed against
    /// the atoms of another index.
    id: u64,
    rules: Vec<CompiledRule>,
    /// Every field the rules name, by slot, with the atoms that test it.
    fields: Vec<FieldIndex>,
    /// Every field name (dotted ones too) to its slot, for the keys of the event's top level.
    by_name: FastMap<Box<str>, u32>,
    /// Field names with dots, grouped by their first segment: when the event has no key with
    /// the whole name but an object under the first segment, they are looked up in it.
    dotted: Vec<(FieldPath, u32)>,
    /// A first segment to its range of `dotted`.
    dotted_roots: FastMap<Box<str>, (u32, u32)>,
    /// Literals of keyword searches, searched in every value of the event.
    keywords: Option<LiteralScanner>,
    /// The fields two columns hold together, joined once per event (none for most sets).
    joins: Vec<JoinSlot>,
    atom_count: usize,
    /// Atoms and the derived atoms of unions (see [`fold_unions`]): the size of a scratch's
    /// `atom_seen`.
    seen_count: usize,
    /// The derived atoms each atom makes hold, as offsets into `union_ids` (CSR layout).
    union_offsets: Vec<u32>,
    union_ids: Vec<u32>,
    /// The rules each atom triggers, as offsets into `trigger_rules` (CSR layout).
    trigger_offsets: Vec<u32>,
    trigger_rules: Vec<u32>,
    /// Rules with no atom on some branch: candidates for every event.
    always: Vec<u32>,
    /// Keyword atoms taken to hold for every event instead of searched (an atom that holds
    /// when it does not only lets a candidate through to its full evaluation, which decides),
    /// with the derived atoms they make hold: all marked seen at the start of each event. None
    /// of them indexes a rule, so marking them is all [`Found::hit`] would do.
    assumed: Vec<u32>,
    needs: Vec<Need>,
    /// Per rule, its condition with the items its atoms decide exactly read from them: what a
    /// candidate whose need holds is evaluated with.
    verdicts: Vec<Verdict>,
}

/// Figures about an index, for reports and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexStats {
    /// Rules in the index.
    pub rules: usize,
    /// Distinct atoms (field/literal facts) the index tests.
    pub atoms: usize,
    /// Distinct fields the atoms test.
    pub fields: usize,
    /// Distinct literals searched for in every value of the event, for keyword searches.
    pub keyword_literals: usize,
    /// Rules evaluated for every event because some branch of their condition has no atom.
    pub always_evaluated: usize,
    /// Heap bytes held by the literal scanners (Aho-Corasick automata) of the fields and the
    /// keyword searches, as the automata report it.
    pub scanner_bytes: usize,
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
    text: Vec<u8>,
    /// Start and end of each scalar value of an indexed field in `text`.
    bounds: Vec<(usize, usize)>,
    /// Each indexed field found: its slot, its range of `bounds`, and its position in the
    /// pending values if it is one (else [`NOT_PENDING`]).
    spans: Vec<(u32, usize, usize, u32)>,
    /// Per slot: the epoch it was last found in and its position in the event's values.
    field_at: Vec<(u32, u32)>,
    /// The buffer of the event's resolved values, kept empty between events (see [`recycle`]).
    values: Vec<&'static Value>,
    /// Ranges of `dotted` to look up in nested objects once the top level is listed.
    nested: Vec<(u32, u32)>,
    /// Per joined field of the index: its value on the current event (always a string, its
    /// allocation reused) and whether the event has it.
    joined: Vec<(Value, bool)>,
    /// The atoms string values were found to prove, by field and value.
    memo: ValueMemo,
    /// The values the memo has not seen, in the order their folded text was appended, kept
    /// empty between events (see [`recycle`]).
    pending: Vec<Pending<'static>>,
    /// Atoms found in new values by their fields' scanners and by the keyword scanner, each
    /// with the value's position in `pending` (so in its order), before they are remembered.
    field_atoms: Vec<(u32, u32)>,
    keyword_atoms: Vec<(u32, u32)>,
    /// One new value's atoms, as the memo takes them.
    value_atoms: Vec<u32>,
}

/// A string value the memo has not seen: what it is remembered under, and where its folded
/// text is.
#[derive(Debug)]
struct Pending<'e> {
    hash: u64,
    slot: u32,
    value: &'e str,
    start: usize,
    end: usize,
}

/// In `spans`, in place of a position in the pending values: the field's values are not new to
/// the memo (arrays, numbers, values it does not take, or any value while it pauses).
const NOT_PENDING: u32 = u32::MAX;

/// Reuses an empty vector's allocation for elements of another lifetime (`T` and `U` differ
/// only in it): collecting a vector's own `into_iter` reuses its buffer, so no event allocates
/// once buffers are warm.
fn recycle<T, U>(mut values: Vec<T>) -> Vec<U> {
    values.clear();
    values.into_iter().filter_map(|_| None).collect()
}

impl RuleSetIndex {
    /// Analyses and indexes the rules; their order is the order verdicts are reported in.
    pub fn new(mut rules: Vec<CompiledRule>) -> RuleSetIndex {
        let mut builder = Builder::default();
        for rule in &mut rules {
            for_each_field_mut(&mut rule.searches, &mut |path| {
                path.set_slot(builder.field(path))
            });
        }
        let mut verdicts: Vec<Verdict> = rules
            .iter()
            .map(|r| builder.verdict(&r.condition, &r.searches))
            .collect();
        let mut needs: Vec<Need> = verdicts.iter().map(Verdict::need).collect();

        let costs = atom_costs(&builder.atom_keys, &needs);
        let mut per_rule_triggers: Vec<Option<Vec<u32>>> = Vec::with_capacity(rules.len());
        for need in &needs {
            per_rule_triggers.push(need.triggers(&costs).map(|(mut atoms, _)| {
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
        // A one-byte keyword literal occurs in nearly every event, and a scan reports each of
        // its occurrences (about 30 per event of the synthetic mix for SigmaHQ's `0`, `6` and
        // `:`); when it indexes no rule, taking it to hold costs no candidate, but no item is
        // then decided by it.
        let assumed: Vec<bool> = builder
            .atom_keys
            .iter()
            .zip(&by_atom)
            .map(|(key, rules)| {
                matches!(key, AtomKey::Keyword(literal) if literal.len() == 1) && rules.is_empty()
            })
            .collect();
        for need in &mut needs {
            need.order_for_candidates(&costs);
        }
        for verdict in &mut verdicts {
            verdict.demote(&assumed);
            verdict.order(&costs);
        }
        // Triggers are chosen among the atoms themselves; the needs checked afterwards may use
        // derived atoms.
        let mut folded: Vec<&mut Need> = needs.iter_mut().collect();
        for verdict in &mut verdicts {
            verdict.for_each_need_mut(&mut |need| folded.push(need));
        }
        let (implied, seen_count) = fold_unions(folded, atom_count);
        let verdicts: Vec<Verdict> = verdicts.into_iter().map(Verdict::simplify).collect();
        let (union_offsets, union_ids) = compressed_rows(&implied);
        let (trigger_offsets, trigger_rules) = compressed_rows(&by_atom);

        // Only atoms that trigger some rule or appear in a candidate's need are worth finding;
        // all are kept, since a need is checked against every atom it names.
        let field_count = builder.field_names.len();
        let mut exact: Vec<FastMap<Box<[u8]>, u32>> =
            (0..field_count).map(|_| FastMap::default()).collect();
        let mut literals: Vec<Vec<(Box<str>, Anchor, u32)>> = vec![Vec::new(); field_count];
        let mut present: Vec<Option<u32>> = vec![None; field_count];
        let mut keyword_literals = Vec::new();
        for (id, key) in builder.atom_keys.iter().enumerate() {
            let id = id as u32;
            match key {
                AtomKey::Keyword(_) if assumed[id as usize] => {}
                AtomKey::Present(slot) => present[*slot as usize] = Some(id),
                AtomKey::Equals(slot, value) => {
                    exact[*slot as usize].insert(value.as_bytes().into(), id);
                }
                AtomKey::Literal(slot, anchor, literal) => {
                    literals[*slot as usize].push((literal.clone(), *anchor, id));
                }
                AtomKey::Keyword(literal) => {
                    keyword_literals.push((literal.clone(), Anchor::Anywhere, id))
                }
            }
        }
        // Assumed atoms index no rule, so marking them and the derived atoms they make hold is
        // all a hit would do.
        let mut assumed_marks: Vec<u32> = (0..atom_count as u32)
            .filter(|a| assumed[*a as usize])
            .flat_map(|atom| std::iter::once(atom).chain(implied[atom as usize].iter().copied()))
            .collect();
        assumed_marks.sort_unstable();
        assumed_marks.dedup();
        // Building the automata is most of the index's build time; fields and the keyword
        // scanner (one of the largest) build independently, on all cores.
        let (fields, keywords) = rayon::join(
            || {
                exact
                    .into_par_iter()
                    .zip(literals)
                    .zip(present)
                    .map(|((exact, literals), present)| FieldIndex {
                        present,
                        exact,
                        scanner: LiteralScanner::build(literals, FIELD_DFA_BYTES),
                    })
                    .collect::<Vec<FieldIndex>>()
            },
            || LiteralScanner::build(keyword_literals, KEYWORD_DFA_BYTES),
        );
        let mut by_name = FastMap::default();
        let mut dotted = Vec::new();
        for (slot, name) in builder.field_names.iter().enumerate() {
            // A joined field is read from its columns, never from a field of its name.
            if builder.joins.iter().any(|j| j.slot == slot as u32) {
                continue;
            }
            by_name.insert(name.clone(), slot as u32);
            let path = FieldPath::new(name);
            if path.root().is_some() {
                dotted.push((path, slot as u32));
            }
        }
        dotted.sort_by(|a, b| a.0.root().cmp(&b.0.root()));
        let mut dotted_roots: FastMap<Box<str>, (u32, u32)> = FastMap::default();
        for (i, (path, _)) in dotted.iter().enumerate() {
            let root: Box<str> = path.root().unwrap_or_default().into();
            let range = dotted_roots.entry(root).or_insert((i as u32, i as u32));
            range.1 = i as u32 + 1;
        }
        static INDEXES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        RuleSetIndex {
            id: INDEXES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            rules,
            fields,
            by_name,
            dotted,
            dotted_roots,
            keywords,
            joins: builder.joins,
            atom_count,
            seen_count,
            union_offsets,
            union_ids,
            trigger_offsets,
            trigger_rules,
            always,
            assumed: assumed_marks,
            needs,
            verdicts,
        }
    }

    /// The rules, in the order the index was built from; match results index into this.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the index holds no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Figures about the index, for reports and benchmarks.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            rules: self.rules.len(),
            atoms: self.atom_count,
            fields: self
                .fields
                .iter()
                .filter(|f| f.present.is_some() || f.scans())
                .count(),
            keyword_literals: self.keywords.as_ref().map_or(0, |k| k.atoms.len()),
            always_evaluated: self.always.len(),
            scanner_bytes: self
                .fields
                .iter()
                .filter_map(|f| f.scanner.as_ref())
                .chain(self.keywords.as_ref())
                .map(LiteralScanner::memory_usage)
                .sum(),
        }
    }

    /// Fresh buffers sized for this index.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            epoch: 0,
            atom_seen: vec![0; self.seen_count],
            rule_seen: vec![0; self.rules.len()],
            candidates: Vec::with_capacity(64),
            text: Vec::with_capacity(1024),
            bounds: Vec::with_capacity(32),
            spans: Vec::with_capacity(32),
            field_at: vec![(0, 0); self.fields.len()],
            values: Vec::with_capacity(64),
            nested: Vec::new(),
            joined: Vec::new(),
            memo: ValueMemo::default(),
            pending: Vec::new(),
            field_atoms: Vec::new(),
            keyword_atoms: Vec::new(),
            value_atoms: Vec::new(),
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
        scratch.begin(self.seen_count, self.rules.len(), self.fields.len());
        let epoch = scratch.epoch;
        scratch.text.clear();
        scratch.bounds.clear();
        scratch.spans.clear();
        scratch.nested.clear();
        let mut pass = Pass {
            index: self,
            found: Found {
                index: self,
                seen: &mut scratch.atom_seen,
                rule_seen: &mut scratch.rule_seen,
                candidates: &mut scratch.candidates,
                epoch,
            },
            text: &mut scratch.text,
            bounds: &mut scratch.bounds,
            spans: &mut scratch.spans,
            field_at: &mut scratch.field_at,
            values: recycle(std::mem::take(&mut scratch.values)),
            pending: recycle(std::mem::take(&mut scratch.pending)),
        };
        for &atom in &self.assumed {
            pass.found.seen[atom as usize] = epoch;
        }
        let nested = &mut scratch.nested;
        let joined = &mut scratch.joined;
        let memo = &mut scratch.memo;
        memo.use_for(self.id);
        let remembering = memo.remembering();
        // One pass resolves the fields the rules name and folds every value once: the values of
        // indexed fields are kept as spans for their scanners, and with keyword searches all
        // values form the text keywords scan. A string value the memo has seen as the same
        // field before is neither folded nor scanned: its atoms are replayed.
        let keywords = self.keywords.is_some();
        event.for_each_entry(&mut |name, value| {
            if value.is_object()
                && let Some(&range) = self.dotted_roots.get(name)
            {
                nested.push(range);
            }
            let slot = self.by_name.get(name).copied();
            if remembering
                && let Value::String(text) = value
                && text.len() <= MAX_VALUE
            {
                let scanned = match slot {
                    Some(slot) => {
                        pass.record(slot, value);
                        if self.fields[slot as usize].scans() {
                            slot
                        } else {
                            NO_FIELD
                        }
                    }
                    None => NO_FIELD,
                };
                if scanned != NO_FIELD || keywords {
                    let hash = ValueMemo::hash(scanned, text);
                    match memo.lookup(hash, scanned, text) {
                        Some(atoms) => atoms.iter().for_each(|atom| pass.found.hit(*atom)),
                        None => pass.fold_new(scanned, text, hash),
                    }
                }
                return;
            }
            let folded = match slot {
                Some(slot) => pass.resolve(slot, value, keywords),
                None => false,
            };
            if keywords && !folded {
                append_scalars(value, pass.text, 0);
            }
        });
        if keywords && let Some(value) = event.loose_value() {
            append_scalars(value, pass.text, 0);
        }
        // Nested values were folded with their top-level object for keywords; only their own
        // fields' scanners read them again.
        let keyword_end = pass.text.len();
        for &(start, end) in nested.iter() {
            for (path, slot) in &self.dotted[start as usize..end as usize] {
                if pass.field_at[*slot as usize].0 != epoch
                    && let Some(value) = event.field(path)
                {
                    pass.resolve(*slot, value, false);
                }
            }
        }
        // Joined fields, once their columns are resolved: built in the scratch's buffers, then
        // resolved and scanned like any field.
        if !self.joins.is_empty() {
            joined.resize_with(self.joins.len(), || (Value::String(String::new()), false));
            for (join, (value, present)) in self.joins.iter().zip(joined.iter_mut()) {
                if let Value::String(text) = value {
                    *present = join.columns.join_into(
                        text,
                        pass.resolved(join.key),
                        pass.resolved(join.value),
                    );
                }
            }
            for (join, (value, present)) in self.joins.iter().zip(joined.iter()) {
                if *present {
                    pass.resolve(join.slot, value, false);
                }
            }
        }
        let Pass {
            mut found,
            text,
            bounds,
            spans,
            values,
            pending,
            ..
        } = pass;
        // The atoms found in values the memo has not seen are also kept by value, to be
        // remembered. Spans come in text order, the order of `pending`, so the fields' list comes
        // out grouped by value; the keywords' list is sorted.
        let field_atoms = &mut scratch.field_atoms;
        let keyword_atoms = &mut scratch.keyword_atoms;
        field_atoms.clear();
        keyword_atoms.clear();
        for &(slot, first, last, at) in spans.iter() {
            let (field, bounds) = (&self.fields[slot as usize], &bounds[first..last]);
            if at == NOT_PENDING {
                field.scan(text, bounds, &mut |atom| found.hit(atom));
            } else {
                field.scan(text, bounds, &mut |atom| {
                    found.hit(atom);
                    field_atoms.push((at, atom));
                });
            }
        }
        if let Some(keywords) = &self.keywords
            && pending.is_empty()
        {
            // Without new values to attribute occurrences to, the scan keeps its tightest loop.
            keywords.for_each_match(&text[..keyword_end], |pattern, _| {
                for (_, atom) in &keywords.atoms[pattern] {
                    found.hit(*atom);
                }
            });
        } else if let Some(keywords) = &self.keywords {
            keywords.for_each_match(&text[..keyword_end], |pattern, end| {
                for (_, atom) in &keywords.atoms[pattern] {
                    found.hit(*atom);
                }
                // The new value the occurrence lies in, if it lies in one. Occurrences are not
                // reported in text order (sampled grams report them by sampled position), so
                // the value is looked up by where the occurrence starts.
                let start = end - keywords.length(pattern);
                let at = pending.partition_point(|value| value.start <= start);
                if let Some(at) = at.checked_sub(1)
                    && end <= pending[at].end
                {
                    for (_, atom) in &keywords.atoms[pattern] {
                        keyword_atoms.push((at as u32, *atom));
                    }
                }
            });
            // Grouped by value, as the memo takes them.
            keyword_atoms.sort_unstable();
        }
        let (mut in_fields, mut in_keywords) = (
            field_atoms.iter().peekable(),
            keyword_atoms.iter().peekable(),
        );
        for (at, value) in pending.iter().enumerate() {
            let atoms = &mut scratch.value_atoms;
            atoms.clear();
            let of_value = |(of, _): &&(u32, u32)| *of == at as u32;
            while let Some(&(_, atom)) = in_fields.next_if(of_value) {
                atoms.push(atom);
            }
            while let Some(&(_, atom)) = in_keywords.next_if(of_value) {
                atoms.push(atom);
            }
            atoms.sort_unstable();
            atoms.dedup();
            memo.insert(value.hash, value.slot, value.value, atoms);
        }
        for rule in &self.always {
            found.candidate(*rule);
        }
        found.candidates.sort_unstable();
        let resolved = Resolved {
            event,
            epoch,
            field_at: &scratch.field_at,
            values: &values,
        };
        let candidates = &scratch.candidates;
        for &rule in candidates {
            let rule = rule as usize;
            if route.is_some_and(|r| !r.allows(rule)) {
                continue;
            }
            if self.needs[rule].holds(&scratch.atom_seen, epoch)
                && self.verdicts[rule].holds(
                    &scratch.atom_seen,
                    epoch,
                    &self.rules[rule],
                    &resolved,
                )
            {
                out.push(rule);
            }
        }
        scratch.values = recycle(values);
        scratch.pending = recycle(pending);
    }

    fn unions_of(&self, atom: u32) -> &[u32] {
        let start = self.union_offsets[atom as usize] as usize;
        let end = self.union_offsets[atom as usize + 1] as usize;
        &self.union_ids[start..end]
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
        let scratches = self.scratch_pool();
        events
            .par_iter()
            .with_min_len(64)
            .map(|event| {
                scratches.with(|scratch| {
                    let mut out = Vec::new();
                    self.matching_rules_into(event, route, scratch, &mut out);
                    out
                })
            })
            .collect()
    }

    /// One [`Scratch`] per thread of the current rayon pool, for parallel callers to keep from
    /// batch to batch: a scratch's memo of values (`memo.rs`) pays off as it warms up, which a
    /// scratch made per rayon job (`map_init`) never does.
    pub fn scratch_pool(&self) -> ScratchPool {
        ScratchPool {
            scratches: (0..rayon::current_num_threads().max(1))
                .map(|_| Mutex::new(self.scratch()))
                .collect(),
        }
    }
}

/// Per-thread scratches of one index (see [`RuleSetIndex::scratch_pool`]). `Sync`: each rayon
/// worker takes its own, so the locks are never contended.
#[derive(Debug)]
pub struct ScratchPool {
    scratches: Vec<Mutex<Scratch>>,
}

impl ScratchPool {
    /// Runs `f` with the calling thread's scratch: the rayon worker's own, or for a thread
    /// outside the pool the first one. `f` must not run rayon jobs itself: a job the thread
    /// picked up meanwhile would wait for the scratch it holds.
    pub fn with<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let at = rayon::current_thread_index().unwrap_or(0) % self.scratches.len();
        let mut scratch = self.scratches[at]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut scratch)
    }
}

/// The buffers of the pass over one event's fields.
struct Pass<'s, 'e> {
    index: &'s RuleSetIndex,
    found: Found<'s>,
    text: &'s mut Vec<u8>,
    bounds: &'s mut Vec<(usize, usize)>,
    spans: &'s mut Vec<(u32, usize, usize, u32)>,
    field_at: &'s mut [(u32, u32)],
    values: Vec<&'e Value>,
    pending: Vec<Pending<'e>>,
}

impl<'e> Pass<'_, 'e> {
    /// The value of a field already resolved for this event.
    fn resolved(&self, slot: u32) -> Option<&'e Value> {
        match self.field_at[slot as usize] {
            (epoch, at) if epoch == self.found.epoch => Some(self.values[at as usize]),
            _ => None,
        }
    }

    /// Records the value of a field the rules name and marks its presence atom.
    fn record(&mut self, slot: u32, value: &'e Value) {
        self.field_at[slot as usize] = (self.found.epoch, self.values.len() as u32);
        self.values.push(value);
        if let Some(atom) = self.index.fields[slot as usize].present {
            self.found.hit(atom);
        }
    }

    /// Folds a string value the memo has not seen, to be scanned with the event's other values
    /// as the field at `slot` (or [`NO_FIELD`]) and by the keyword scanner, and remembered.
    fn fold_new(&mut self, slot: u32, value: &'e str, hash: u64) {
        let start = self.text.len();
        push_folded_bytes(value, self.text);
        let end = self.text.len();
        let at = self.pending.len() as u32;
        self.pending.push(Pending {
            hash,
            slot,
            value,
            start,
            end,
        });
        if slot != NO_FIELD {
            let first = self.bounds.len();
            self.bounds.push((start, end));
            self.spans.push((slot, first, first + 1, at));
        }
        self.text.push(0);
    }

    /// Records the value of a field the rules name, marks its presence atom and folds its
    /// values for its scanners; true when they were folded (with nested values for keywords
    /// when `keywords`).
    fn resolve(&mut self, slot: u32, value: &'e Value, keywords: bool) -> bool {
        self.record(slot, value);
        let field = &self.index.fields[slot as usize];
        if !field.scans() {
            return false;
        }
        let first = self.bounds.len();
        append_field(value, self.text, self.bounds, keywords);
        self.spans
            .push((slot, first, self.bounds.len(), NOT_PENDING));
        true
    }
}

/// An event with the fields the index's rules name already resolved to their values.
struct Resolved<'e, E: ?Sized> {
    event: &'e E,
    epoch: u32,
    field_at: &'e [(u32, u32)],
    values: &'e [&'e Value],
}

impl<E: ?Sized> Resolved<'_, E> {
    /// Whether the field at this slot holds an array on this event.
    fn holds_array(&self, slot: u32) -> bool {
        match self.field_at[slot as usize] {
            (epoch, at) if epoch == self.epoch => self.values[at as usize].is_array(),
            _ => false,
        }
    }
}

impl<E: Event + ?Sized> Event for Resolved<'_, E> {
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        // A path numbered by this index was resolved in the event's one pass; any other path
        // (none, when the index numbered its own rules) is looked up by name.
        match path
            .slot()
            .and_then(|slot| self.field_at.get(slot as usize))
        {
            Some(&(epoch, at)) if epoch == self.epoch => self.values.get(at as usize).copied(),
            Some(_) => None,
            None => self.event.field(path),
        }
    }

    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool {
        self.event.any_scalar(visit)
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
        for &union in self.index.unions_of(atom) {
            self.seen[union as usize] = self.epoch;
        }
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
    fn begin(&mut self, atoms: usize, rules: usize, fields: usize) {
        if self.atom_seen.len() != atoms
            || self.rule_seen.len() != rules
            || self.field_at.len() != fields
        {
            self.atom_seen = vec![0; atoms];
            self.rule_seen = vec![0; rules];
            self.field_at = vec![(0, 0); fields];
            self.epoch = 0;
        }
        if self.epoch == u32::MAX {
            self.atom_seen.fill(0);
            self.rule_seen.fill(0);
            self.field_at.fill((0, 0));
            self.epoch = 0;
        }
        self.epoch += 1;
        self.candidates.clear();
    }
}

/// Lists laid end to end (CSR layout): list `i` is `ids[offsets[i]..offsets[i + 1]]`, so the
/// per-event lookups read one contiguous array instead of chasing a `Vec` per atom.
fn compressed_rows(lists: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    let mut ids = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    offsets.push(0);
    for list in lists {
        ids.extend_from_slice(list);
        offsets.push(ids.len() as u32);
    }
    (offsets, ids)
}

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
            rule("  sel:\n    a.b|endswith: 'z'\n    a.c: 1\n  condition: sel\n"),
            rule("  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n"),
            rule("  sel:\n    x.y.z|contains: 'deep'\n  condition: sel\n"),
            // A one-byte keyword that indexes no rule is taken to hold, never searched.
            rule("  sel:\n    Image|endswith: '.exe'\n  kw:\n    - '0'\n  condition: sel and kw\n"),
            // Long literals only: found by sampled grams, an anchored one checked at the value's
            // end.
            rule(
                "  sel:\n    Hashes|contains:\n      - 'MD5=0A1B2C3D4E5F60718293A4B5C6D7E8F9'\n      - 'SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'\n  condition: sel\n",
            ),
            rule(
                "  sel:\n    Hashes|endswith: 'IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744'\n  condition: sel\n",
            ),
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
            r#"{"a.b": "xyq", "a": {"b": "xyz", "c": 1}}"#,
            r#"{"a": {"b": "xyz", "c": 1}}"#,
            r#"{"a": {"b": "xyz"}, "a.c": "1"}"#,
            r#"{"a": "xyz", "a.b": null}"#,
            r#"{"Image": "C:\\x.exe", "ParentImage": "c:\\X.EXE"}"#,
            r#"{"x": {"y": {"z": "so Deep"}}, "x.y": {"z": "shallow"}}"#,
            r#"{"x.y.z": ["a", "deep"], "x": {"y": {"z": "no"}}}"#,
            r#"{"Image": "C:\\a.exe", "ProcessId": 4080}"#,
            r#"{"Image": "C:\\a.exe", "ProcessId": 4}"#,
            r#"{"Hashes": "SHA1=AB,MD5=0a1b2c3d4e5f60718293a4b5c6d7e8f9,IMPHASH=00"}"#,
            r#"{"Hashes": "MD5=0A1B2C3D4E5F60718293A4B5C6D7E8F8,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"}"#,
            r#"{"Hashes": ["x", "sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}"#,
            r#"{"Hashes": "IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744,MD5=00"}"#,
            r#"{"Hashes": ["IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744", "MD5=00"]}"#,
            r#"{}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        check(&rules, &events);
    }

    #[test]
    fn items_of_plain_literals_are_decided_by_atoms_alone() {
        let exact = [
            "  sel:\n    Image|endswith: ['\\a.exe', '\\b.exe']\n    User: SYSTEM\n  condition: sel\n",
            "  sel:\n    CommandLine|contains|all: ['-enc', 'IEX']\n  f:\n    User|startswith: NT\n  condition: sel and not f\n",
            "  sel:\n    EventID: 4688\n    Enabled: true\n  condition: sel\n",
            "  sel:\n    - 'mimikatz'\n  condition: sel\n",
            "  sel:\n    User|exists: false\n    Domain|neq: x\n  condition: sel\n",
            "  sel:\n    CommandLine|base64offset|contains: '/bin/bash'\n  condition: sel\n",
        ];
        let evaluated = [
            "  sel:\n    Image|cased: 'C:\\X.exe'\n  condition: sel\n",
            "  sel:\n    Image: 'C:*x.exe'\n  condition: sel\n",
            "  sel:\n    Image|re: 'x\\.exe$'\n  condition: sel\n",
            "  sel:\n    User: null\n  condition: sel\n",
            "  sel:\n    Size|gt: 3\n  condition: sel\n",
            "  sel:\n    - 'mimikatz'\n  digit:\n    - '0'\n  condition: sel and not digit\n",
            "  sel:\n    Image|startswith: ''\n  condition: sel\n",
            "  sel:\n    CommandLine|contains: \"a\\0b\"\n  condition: sel\n",
        ];
        let rules: Vec<CompiledRule> = exact.iter().chain(&evaluated).map(|d| rule(d)).collect();
        let index = RuleSetIndex::new(rules);
        for (i, verdict) in index.verdicts.iter().enumerate() {
            let decided = verdict.reads() != verdict::Exactness::Never;
            assert_eq!(decided, i < exact.len(), "rule {i}: {verdict:?}");
        }
    }

    #[test]
    fn events_that_are_not_objects_are_searched_by_keywords() {
        // A JSON array or scalar has no fields, but keyword searches read its scalars, as the
        // rule alone does, to the same depth.
        let rules = vec![
            rule("  kw:\n    - 'mimikatz'\n  condition: kw\n"),
            rule("  sel:\n    Image|endswith: '.exe'\n  condition: sel\n"),
            rule("  kw:\n    - 'mimikatz'\n  sel:\n    Image: x\n  condition: kw or not sel\n"),
        ];
        let mut deep = Value::String("mimikatz".into());
        for _ in 0..70 {
            deep = Value::Array(vec![deep]);
        }
        let events: Vec<Value> = vec![
            serde_json::json!("run MIMIKATZ now"),
            serde_json::json!(["x", ["y", {"a": "mimikatz"}]]),
            serde_json::json!(["C:\\a.exe"]),
            serde_json::json!(5),
            serde_json::json!(null),
            deep,
        ];
        assert!(rules[0].matches(&events[0]));
        check(&rules, &events);
    }

    #[test]
    fn keywords_are_decided_to_the_depth_events_are_searched_to() {
        let nested = |depth: usize| {
            let mut value = Value::String("hay needle hay".into());
            for _ in 0..depth {
                value = Value::Array(vec![value]);
            }
            serde_json::json!({ "A": value })
        };
        let rules = vec![rule("  kw:\n    - 'needle'\n  condition: kw\n")];
        let events = [nested(64), nested(65)];
        assert!(rules[0].matches(&events[0]) && !rules[0].matches(&events[1]));
        check(&rules, &events);
        // The same event as a map is searched as deep as the value form.
        let maps: Vec<Map<String, Value>> = events
            .iter()
            .filter_map(|e| e.as_object().cloned())
            .collect();
        assert!(rules[0].matches(&maps[0]) && !rules[0].matches(&maps[1]));
    }

    #[test]
    fn one_byte_keywords_that_index_no_rule_are_assumed_not_searched() {
        let index = RuleSetIndex::new(vec![
            rule("  sel:\n    Image|endswith: '.exe'\n  kw:\n    - '0'\n  condition: sel and kw\n"),
            rule("  kw:\n    - '6'\n  condition: kw\n"),
        ]);
        // `0` is assumed; `6` indexes the second rule, so it is searched.
        assert_eq!(index.assumed.len(), 1);
        assert_eq!(index.stats().keyword_literals, 1);
        let event: Value = serde_json::json!({"Image": "C:\\a.exe", "ProcessId": 4});
        assert!(index.matching_rules(&event).is_empty());
    }

    #[test]
    fn assumed_keywords_make_their_unions_hold() {
        // Eight one-byte keywords index no rule, so all are assumed; the need checks them as one
        // derived atom, which must hold too, or the first event's match would be lost.
        let rules = vec![rule(
            "  sel:\n    Image|endswith: '.exe'\n  kw:\n    - '0'\n    - '1'\n    - '2'\n    - '3'\n    - '4'\n    - '5'\n    - '6'\n    - '7'\n  condition: sel and kw\n",
        )];
        let index = RuleSetIndex::new(rules.clone());
        assert_eq!(index.stats().keyword_literals, 0);
        assert!(index.assumed.len() > 8, "{:?}", index.assumed);
        let events: Vec<Value> = [
            r#"{"Image": "C:\\a.exe", "ProcessId": 4}"#,
            r#"{"Image": "C:\\a.exe", "ProcessId": 9}"#,
            r#"{"Image": "C:\\a.dll", "ProcessId": 4}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        assert_eq!(index.matching_rules(&events[0]), vec![0]);
        check(&rules, &events);
    }

    /// Rules whose atoms string values prove through a field scanner, an exact value and the
    /// keyword scanner, for the memo tests.
    fn memo_rules() -> Vec<CompiledRule> {
        vec![
            rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n"),
            rule("  sel:\n    User: SYSTEM\n  condition: sel\n"),
            rule("  kw:\n    - 'mimikatz'\n  condition: kw\n"),
            rule(
                "  sel:\n    CommandLine|contains: 'whoami'\n    Image|endswith: '.exe'\n  condition: sel\n",
            ),
        ]
    }

    #[test]
    fn remembered_values_give_the_atoms_scanning_them_gives() {
        // The same texts as scanned fields, as another field, as fields no rule names (keywords
        // only), in arrays, longer than the memo takes, and repeated across events, so every
        // later event replays what an earlier one found.
        let long = format!("{}mimikatz", "x".repeat(memo::MAX_VALUE));
        let events: Vec<Value> = [
            serde_json::json!({"Image": "C:\\Windows\\cmd.exe", "User": "system", "Note": "mimikatz"}),
            serde_json::json!({"Image": "mimikatz", "User": "C:\\Windows\\cmd.exe", "Note": "SYSTEM"}),
            serde_json::json!({"Image": "C:\\Windows\\cmd.exe", "CommandLine": "whoami /all", "Other": "C:\\Windows\\cmd.exe"}),
            serde_json::json!({"Image": ["C:\\Windows\\cmd.exe", "mimikatz"], "User": "SYSTEM "}),
            serde_json::json!({"Note": long, "Image": "C:\\x.exe", "CommandLine": "whoami"}),
            serde_json::json!({"Note": "MIMIKATZ", "Also": "mimikatz", "User": 5}),
        ]
        .into();
        let repeated: Vec<Value> = events
            .iter()
            .cycle()
            .take(events.len() * 3)
            .cloned()
            .collect();
        check(&memo_rules(), &repeated);
    }

    #[test]
    fn keyword_occurrences_reported_out_of_text_order_are_remembered_with_their_value() {
        // With only long keyword literals the keyword scanner samples grams, which reports
        // occurrences by sampled position: here the literal that runs over the NUL after the
        // value comes before the one inside it. Both events must match the second rule; the
        // second replays what the memo remembered from the first.
        let inside = "q7w8e9r0t1y2u3i4o5p6a7s8d9f0g1h2";
        let rules = vec![
            rule(&format!(
                "  kw:\n    - \"{}\\0\"\n  condition: kw\n",
                &inside[1..]
            )),
            rule(&format!("  kw:\n    - '{inside}'\n  condition: kw\n")),
        ];
        let event = serde_json::json!({ "A": inside });
        assert!(rules[1].matches(&event));
        check(&rules, &[event.clone(), event]);
    }

    #[test]
    fn a_scratch_never_replays_the_atoms_of_another_index() {
        // Two indexes of the same shape whose atom 0 means different literals: a scratch used
        // by both must not take the first index's remembered atoms for the second's.
        let first = RuleSetIndex::new(vec![rule(
            "  sel:\n    Image|endswith: '\\a.exe'\n  condition: sel\n",
        )]);
        let second = RuleSetIndex::new(vec![rule(
            "  sel:\n    Image|endswith: '\\b.exe'\n  condition: sel\n",
        )]);
        let event = serde_json::json!({"Image": "C:\\a.exe"});
        let mut scratch = first.scratch();
        let mut out = Vec::new();
        first.matching_rules_into(&event, None, &mut scratch, &mut out);
        assert_eq!(out, vec![0]);
        second.matching_rules_into(&event, None, &mut scratch, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn verdicts_hold_while_the_memo_pauses_fills_and_starts_again() {
        // Values that never repeat make the memo pause; then half of the values repeat (enough
        // to keep remembering) while new ones fill it past its bound, so it empties and fills
        // again. Every event is checked against the rules alone.
        let mut events: Vec<Value> = (0..5_000)
            .map(|i| serde_json::json!({"Image": format!("C:\\{i}\\cmd.exe"), "Note": format!("n{i}")}))
            .collect();
        events.extend((0..40_000).map(|i| {
            let user = if i % 3 == 0 { "SYSTEM" } else { "alice" };
            serde_json::json!({"User": user, "Image": "C:\\Windows\\cmd.exe", "Note": format!("mimikatz {i}")})
        }));
        check(&memo_rules(), &events);
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
}

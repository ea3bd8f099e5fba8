//! Finding the atoms that hold in an event's folded text: hash lookups for exact values and
//! one Aho-Corasick automaton per field for literals.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::Found;
use super::atoms::Anchor;
use super::fxhash::FastMap;

#[derive(Debug)]
pub(super) struct FieldIndex {
    /// The atom that says the event has the field.
    pub(super) present: Option<u32>,
    /// Values the field must equal, folded, to the atom that says so.
    pub(super) exact: FastMap<Box<str>, u32>,
    pub(super) scanner: Option<LiteralScanner>,
}

impl FieldIndex {
    /// Whether the field has values or literals to look for (presence needs no text).
    pub(super) fn scans(&self) -> bool {
        !self.exact.is_empty() || self.scanner.is_some()
    }

    /// Finds the atoms the field's values prove: exact values by hashing, literals by scanning.
    pub(super) fn scan(&self, text: &str, bounds: &[(usize, usize)], found: &mut Found<'_>) {
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
pub(super) struct LiteralScanner {
    pub(super) automaton: AhoCorasick,
    pub(super) atoms: Vec<Vec<(Anchor, u32)>>,
}

/// The most literals one scanner compiles to a DFA.
pub(super) const MAX_DFA_LITERALS: usize = 3000;

/// The most heap a field's DFA may hold; larger ones are replaced by a contiguous NFA.
pub(super) const FIELD_DFA_BYTES: usize = 1 << 20;

/// The most heap the keyword scanner's DFA may hold: it reads every value of every event, so
/// its speed is worth more memory than any one field's.
pub(super) const KEYWORD_DFA_BYTES: usize = 16 << 20;

impl LiteralScanner {
    /// A scanner for the literals: a DFA when it fits in `dfa_budget` bytes, else a contiguous
    /// NFA; `None` when there are no literals.
    pub(super) fn build(
        literals: Vec<(Box<str>, Anchor, u32)>,
        dfa_budget: usize,
    ) -> Option<LiteralScanner> {
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
        let build = |kind| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(kind))
                .build(patterns.iter().map(|p| p.as_bytes()))
                .ok()
        };
        // A DFA is the fastest scanner, but its table grows with states times byte classes: the
        // few fields with thousands of literals would hold most of a rule set's memory in them
        // (44 MB of DFAs for SigmaHQ's active rules). Past a budget, the contiguous NFA takes a
        // fraction of the memory for about twice the scanning time per byte.
        if patterns.len() <= MAX_DFA_LITERALS
            && let Some(dfa) = build(AhoCorasickKind::DFA)
            && dfa.memory_usage() <= dfa_budget
        {
            return Some(LiteralScanner {
                automaton: dfa,
                atoms,
            });
        }
        let automaton = build(AhoCorasickKind::ContiguousNFA)?;
        Some(LiteralScanner { automaton, atoms })
    }
}

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

impl LiteralScanner {
    pub(super) fn build(literals: Vec<(Box<str>, Anchor, u32)>) -> Option<LiteralScanner> {
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

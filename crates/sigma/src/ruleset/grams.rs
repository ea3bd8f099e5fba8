//! Finding long literals without walking every byte: sampled eight-byte grams.
//!
//! When every literal of a scanner is long (hash lists: `Hashes|contains: 'SHA256=…'`), an
//! occurrence of any of them spans many consecutive positions of the text, so reading the text
//! at every `STEP`-th position is enough to meet each one. Each literal is indexed under the
//! `STEP` grams that start at `STEP` consecutive offsets of it (its *window*); an occurrence
//! holds exactly one sampled position at one of those offsets, where the gram read leads back to
//! the literal, which is then compared in full. A field's value costs one hash lookup per 16
//! bytes instead of one automaton transition per byte, and the result is the same: every
//! occurrence of every literal, overlapping ones included (a unit test holds it to the
//! `aho-corasick` crate's own overlapping search).

use super::fxhash::FastMap;

/// Bytes in a gram: one `u64` read from the text.
const GRAM: usize = 8;

/// The distance between sampled positions: each literal is indexed under this many grams, so a
/// larger step costs memory for fewer lookups.
const STEP: usize = 16;

/// The shortest literal the sampled index takes: every occurrence of one must hold a sampled
/// position at which a whole gram of it starts, `STEP + GRAM - 1` bytes.
const MIN_GRAM_LITERAL: usize = STEP + GRAM - 1;

/// The most windows a gram may lead to. Past it, a sampled position holding that gram would
/// compare many literals in full, and the literals are better served by an automaton.
const MAX_SHARED: u32 = 4;

/// Literals found by sampling grams; every literal is at least [`MIN_GRAM_LITERAL`] bytes.
#[derive(Debug)]
pub(super) struct GramIndex {
    /// A gram to its range of `entries`.
    grams: FastMap<u64, (u32, u32)>,
    /// A literal and the offset, in it, of a gram of its window; grouped by gram.
    entries: Vec<(u32, u32)>,
    literals: Vec<Box<[u8]>>,
}

fn gram_at(bytes: &[u8], at: usize) -> Option<u64> {
    let gram: [u8; GRAM] = bytes.get(at..at + GRAM)?.try_into().ok()?;
    Some(u64::from_le_bytes(gram))
}

impl GramIndex {
    /// The index of distinct literals, or `None` when one is shorter than
    /// [`MIN_GRAM_LITERAL`] or the literals share grams too much for any choice of windows.
    pub(super) fn build(literals: &[Box<str>]) -> Option<GramIndex> {
        if literals.iter().any(|l| l.len() < MIN_GRAM_LITERAL) {
            return None;
        }
        // Each literal takes the window whose grams the literals before it use least, trying
        // the end of the literal first (where the hex digits of `SHA1=…` are, after the prefix
        // every such literal shares), so equal prefixes seldom share a gram.
        let mut uses: FastMap<u64, u32> = FastMap::default();
        let mut windows = Vec::with_capacity(literals.len());
        for literal in literals {
            let bytes = literal.as_bytes();
            let last = bytes.len() - GRAM - (STEP - 1);
            let mut best = (u32::MAX, last);
            let mut start = last;
            loop {
                let busiest = (start..start + STEP)
                    .filter_map(|at| gram_at(bytes, at))
                    .map(|gram| uses.get(&gram).copied().unwrap_or(0))
                    .max()
                    .unwrap_or(0);
                if busiest < best.0 {
                    best = (busiest, start);
                }
                if busiest == 0 || start == 0 {
                    break;
                }
                start = start.saturating_sub(STEP);
            }
            for at in best.1..best.1 + STEP {
                *uses.entry(gram_at(bytes, at)?).or_insert(0) += 1;
            }
            windows.push(best.1);
        }
        if uses.values().any(|&n| n > MAX_SHARED) {
            return None;
        }
        let mut keyed: Vec<(u64, u32, u32)> = Vec::with_capacity(literals.len() * STEP);
        for (id, (literal, &window)) in literals.iter().zip(&windows).enumerate() {
            for at in window..window + STEP {
                keyed.push((gram_at(literal.as_bytes(), at)?, id as u32, at as u32));
            }
        }
        keyed.sort_unstable();
        let mut grams: FastMap<u64, (u32, u32)> = FastMap::default();
        grams.reserve(uses.len());
        let mut entries = Vec::with_capacity(keyed.len());
        for (gram, id, at) in keyed {
            let range = grams
                .entry(gram)
                .or_insert((entries.len() as u32, entries.len() as u32));
            range.1 += 1;
            entries.push((id, at));
        }
        Some(GramIndex {
            grams,
            entries,
            literals: literals.iter().map(|l| Box::from(l.as_bytes())).collect(),
        })
    }

    /// Heap bytes held by the index (its table counted at capacity).
    pub(super) fn memory_usage(&self) -> usize {
        self.grams.capacity() * (std::mem::size_of::<(u64, (u32, u32))>() + 1)
            + self.entries.capacity() * std::mem::size_of::<(u32, u32)>()
            + self.literals.iter().map(|l| l.len()).sum::<usize>()
            + self.literals.capacity() * std::mem::size_of::<Box<[u8]>>()
    }

    /// Calls `visit(literal, end)` for every occurrence of a literal in `haystack`, overlapping
    /// ones included, with the offset just past its last byte. Never inlined: inlined into
    /// [`super::scanner::LiteralScanner::for_each_match`] beside the automata's loop, it cost
    /// that loop (the keyword scan's) a bounds check per byte.
    #[inline(never)]
    pub(super) fn for_each_match(&self, haystack: &[u8], mut visit: impl FnMut(usize, usize)) {
        let mut at = 0;
        while let Some(gram) = gram_at(haystack, at) {
            if let Some(&(first, last)) = self.grams.get(&gram) {
                for &(id, offset) in &self.entries[first as usize..last as usize] {
                    let literal = &self.literals[id as usize];
                    if let Some(start) = at.checked_sub(offset as usize)
                        && haystack.get(start..start + literal.len()) == Some(&literal[..])
                    {
                        visit(id as usize, start + literal.len());
                    }
                }
            }
            at += STEP;
        }
    }
}

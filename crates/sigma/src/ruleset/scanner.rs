//! Finding the atoms that hold in an event's folded text: hash lookups for exact values and
//! one Aho-Corasick automaton per field for literals (or, when all of them are long, sampled
//! grams, `grams.rs`).

use aho_corasick::automaton::{Automaton, Candidate};
use aho_corasick::{Anchored, MatchKind, Span, dfa, nfa};

use super::atoms::Anchor;
use super::fxhash::FastMap;
use super::grams::GramIndex;

#[derive(Debug)]
pub(super) struct FieldIndex {
    /// The atom that says the event has the field.
    pub(super) present: Option<u32>,
    /// Values the field must equal, folded, to the atom that says so.
    pub(super) exact: FastMap<Box<[u8]>, u32>,
    pub(super) scanner: Option<LiteralScanner>,
}

impl FieldIndex {
    /// Whether the field has values or literals to look for (presence needs no text).
    pub(super) fn scans(&self) -> bool {
        !self.exact.is_empty() || self.scanner.is_some()
    }

    /// Calls `hit` with the atoms the field's values prove (an atom may come more than once):
    /// exact values by hashing, literals by scanning.
    pub(super) fn scan(&self, text: &[u8], bounds: &[(usize, usize)], hit: &mut impl FnMut(u32)) {
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return;
        };
        if !self.exact.is_empty() {
            for &(start, end) in bounds {
                if let Some(atom) = self.exact.get(&text[start..end]) {
                    hit(*atom);
                }
            }
        }
        if let Some(scanner) = &self.scanner {
            let base = first.0;
            scanner.for_each_match(&text[base..last.1], |pattern, end| {
                let (start, end) = (base + end - scanner.lengths[pattern] as usize, base + end);
                for &(anchor, atom) in &scanner.atoms[pattern] {
                    let holds = match anchor {
                        Anchor::Anywhere => true,
                        Anchor::Start => bounds.iter().any(|b| b.0 == start),
                        Anchor::End => bounds.iter().any(|b| b.1 == end),
                    };
                    if holds {
                        hit(atom);
                    }
                }
            });
        }
    }
}

/// One searcher over distinct literals (an Aho-Corasick automaton, or sampled grams when all of
/// them are long), each literal mapped to the atoms it proves.
#[derive(Debug)]
pub(super) struct LiteralScanner {
    automaton: Table,
    /// Per literal, the atoms it proves and where it must sit in a value.
    pub(super) atoms: Vec<Vec<(Anchor, u32)>>,
    /// Per literal, its length in bytes.
    lengths: Vec<u32>,
}

/// The searcher behind a [`LiteralScanner`], held as its concrete kind so the scanning loop
/// (`overlapping`) is compiled for it.
#[derive(Debug)]
enum Table {
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
    Grams(GramIndex),
}

/// The most literals one scanner compiles to a DFA.
pub(super) const MAX_DFA_LITERALS: usize = 3000;

/// The most heap a field's DFA may hold; larger ones are replaced by a contiguous NFA.
///
/// A contiguous NFA walks failure links, so on SigmaHQ's active rules its fields cost about four
/// times a DFA's instructions per byte (`Image`: 43 against about 12). At 3 MiB the `Image`,
/// `ImageLoaded`, `Details`, `Payload` and `cs-uri-query` fields of those rules get DFAs
/// (10.3 MB more automata, 33.5 MB in all, for 4.3 % fewer instructions per event on the
/// synthetic mix; BENCHMARKS.md), while the fields with thousands of literals (`CommandLine`,
/// `Hashes`, `TargetFilename`: DFAs of 6 to 80 MB) keep their NFAs, within the 200 MB that
/// `match` may hold.
pub(super) const FIELD_DFA_BYTES: usize = 3 << 20;

/// The most heap the keyword scanner's DFA may hold: it reads every value of every event, so
/// its speed is worth more memory than any one field's.
pub(super) const KEYWORD_DFA_BYTES: usize = 16 << 20;

impl LiteralScanner {
    /// A scanner for the literals: sampled grams when every literal is long and the literals
    /// share few grams ([`GramIndex::build`]), else a DFA when it fits in `dfa_budget` bytes,
    /// else a contiguous NFA; `None` when there are no literals. Empty literals are never given
    /// (every atom needs at least one byte), so every match ends after the byte that completes
    /// it.
    pub(super) fn build(
        literals: Vec<(Box<str>, Anchor, u32)>,
        dfa_budget: usize,
    ) -> Option<LiteralScanner> {
        let mut ids: FastMap<Box<str>, usize> = FastMap::default();
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
        let lengths = patterns.iter().map(|p| p.len() as u32).collect();
        // Long literals (hash lists) are met by a hash lookup every few bytes, where an
        // automaton over thousands of them is an NFA that walks every byte.
        if let Some(grams) = GramIndex::build(&patterns) {
            return Some(LiteralScanner {
                automaton: Table::Grams(grams),
                atoms,
                lengths,
            });
        }
        // Both kinds of automaton are made from one trie, built once.
        let trie = nfa::noncontiguous::Builder::new()
            .match_kind(MatchKind::Standard)
            .build(patterns.iter().map(|p| p.as_bytes()))
            .ok()?;
        // A DFA is the fastest scanner, but its table grows with states times byte classes: the
        // few fields with thousands of literals would hold most of a rule set's memory in them
        // (44 MB of DFAs for SigmaHQ's active rules). Past a budget, the contiguous NFA takes a
        // fraction of the memory for about twice the scanning time per byte.
        // A DFA that would certainly be over budget is not built at all: building and
        // dropping them was a third of the index's build time on SigmaHQ's rules.
        let dfa = (patterns.len() <= MAX_DFA_LITERALS
            && dfa_table_lower_bound(&patterns) <= dfa_budget)
            .then(|| {
                dfa::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .build_from_noncontiguous(&trie)
                    .ok()
            })
            .flatten()
            .filter(|dfa| dfa.memory_usage() <= dfa_budget);
        let automaton = match dfa {
            Some(dfa) => Table::Dfa(dfa),
            None => Table::Nfa(
                nfa::contiguous::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .build_from_noncontiguous(&trie)
                    .ok()?,
            ),
        };
        Some(LiteralScanner {
            automaton,
            atoms,
            lengths,
        })
    }

    /// The length in bytes of the literal numbered `pattern`.
    pub(super) fn length(&self, pattern: usize) -> usize {
        self.lengths[pattern] as usize
    }

    /// Heap bytes held by the automaton, as it reports them.
    pub(super) fn memory_usage(&self) -> usize {
        match &self.automaton {
            Table::Dfa(dfa) => dfa.memory_usage(),
            Table::Nfa(nfa) => nfa.memory_usage(),
            Table::Grams(grams) => grams.memory_usage(),
        }
    }

    /// Calls `visit(literal, end)` for every occurrence of a literal in `haystack`, overlapping
    /// ones included, with the offset just past its last byte.
    pub(super) fn for_each_match(&self, haystack: &[u8], visit: impl FnMut(usize, usize)) {
        match &self.automaton {
            Table::Dfa(dfa) => overlapping(dfa, haystack, visit),
            Table::Nfa(nfa) => overlapping(nfa, haystack, visit),
            Table::Grams(grams) => grams.for_each_match(haystack, visit),
        }
    }
}

/// Fewest bytes the transition table of an Aho-Corasick DFA over `patterns` can take, so
/// a DFA known to be over budget is never built.
///
/// The `aho-corasick` crate's DFA (1.1, unanchored start) has one row per state of the trie
/// it is built from, and each row holds one 4-byte state ID per byte class, rounded up to a
/// power of two (`dfa.rs`, `build_from_noncontiguous`). The trie has a state per distinct
/// non-empty prefix of the patterns (and a few more), and the classes are those
/// `ByteClassSet::set_range(b, b)` makes for each byte of the trie: a boundary after `b - 1`
/// and after `b`. So distinct prefixes × that many classes (rounded up) × 4 never exceeds the
/// table's real size, which `DFA::memory_usage` includes; a unit test holds the bound to DFAs
/// the crate builds. `patterns` must be distinct.
fn dfa_table_lower_bound(patterns: &[Box<str>]) -> usize {
    let mut sorted: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    sorted.sort_unstable();
    let mut prefixes = 0;
    let mut used = [false; 256];
    let mut previous: &[u8] = &[];
    for pattern in sorted {
        // In sorted order, the prefixes a pattern adds are those longer than the longest
        // prefix it shares with the pattern before it.
        let shared = previous
            .iter()
            .zip(pattern)
            .take_while(|(a, b)| a == b)
            .count();
        prefixes += pattern.len() - shared;
        for &b in pattern {
            used[usize::from(b)] = true;
        }
        previous = pattern;
    }
    // A class ends after every byte that is used or precedes a used byte; the last class
    // ends at 255 whatever is used.
    let boundaries = (0..255).filter(|&b| used[b] || used[b + 1]).count();
    let classes = boundaries + 1;
    prefixes * classes.next_power_of_two() * std::mem::size_of::<u32>()
}

/// An overlapping search, as `AhoCorasick::find_overlapping_iter` does it but without its
/// per-byte bookkeeping for resumable iteration (the state of the search stays in registers),
/// which made the scans about a third of all the work of matching an event. The automaton
/// numbers its states so that one comparison (`is_special`) tells the common state (neither a
/// match nor, when there is a prefilter, the start state) from the rest, so a byte that
/// reaches neither costs one transition and one comparison. In the start state, the
/// automaton's prefilter (if it has one) skips to where a literal may begin.
fn overlapping<A: Automaton>(automaton: &A, haystack: &[u8], mut visit: impl FnMut(usize, usize)) {
    let Ok(start) = automaton.start_state(Anchored::No) else {
        return;
    };
    let prefilter = automaton.prefilter();
    let mut state = start;
    let mut at = 0;
    loop {
        if let Some(prefilter) = prefilter
            && state == start
        {
            at = match prefilter.find_in(
                haystack,
                Span {
                    start: at,
                    end: haystack.len(),
                },
            ) {
                Candidate::None => return,
                Candidate::Match(m) => m.start(),
                Candidate::PossibleStartOfMatch(i) => i,
            };
        }
        // The common states, until a special one or the end of the haystack.
        loop {
            let Some(&byte) = haystack.get(at) else {
                return;
            };
            state = automaton.next_state(Anchored::No, state, byte);
            at += 1;
            if automaton.is_special(state) {
                break;
            }
        }
        // No literal is empty, so no start state is a match state (and without a prefilter the
        // start state is not special).
        if automaton.is_match(state) {
            for i in 0..automaton.match_len(state) {
                visit(automaton.match_pattern(state, i).as_usize(), at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// Every (literal, end) the scanner reports, against the library's own overlapping search;
    /// returns the scanner, so a test can say which kind it is.
    fn check(literals: &[&str], haystack: &str, dfa_budget: usize) -> LiteralScanner {
        let scanner = LiteralScanner::build(
            literals
                .iter()
                .enumerate()
                .map(|(i, l)| (Box::from(*l), Anchor::Anywhere, i as u32))
                .collect(),
            dfa_budget,
        )
        .unwrap_or_else(|| panic!("no scanner for {literals:?}"));
        let mut ours = Vec::new();
        scanner.for_each_match(haystack.as_bytes(), |pattern, end| {
            ours.push((pattern, end))
        });
        let library = AhoCorasick::new(literals).unwrap_or_else(|e| panic!("{e}"));
        let theirs: Vec<(usize, usize)> = library
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_usize(), m.end()))
            .collect();
        ours.sort_unstable();
        let mut theirs = theirs;
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{literals:?} in {haystack:?}");
        scanner
    }

    /// `len` hexadecimal digits, the same for the same seed.
    fn hex(seed: u64, len: usize) -> String {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b"0123456789abcdef"[(state % 16) as usize])
            })
            .collect()
    }

    #[test]
    fn long_literals_are_found_by_sampled_grams_as_by_the_library() {
        // Hash literals sharing their prefixes, of several lengths; a literal that overlaps
        // itself (`0123…0123`) and one that overlaps another's end.
        let md5 = format!("md5={}", hex(1, 32));
        let sha1 = format!("sha1={}", hex(2, 40));
        let sha256 = format!("sha256={}", hex(3, 64));
        let imphash = format!("imphash={}", hex(4, 32));
        let bordered = "0123456789abcdefghij0123".to_owned();
        let tail = format!("{}{}", &imphash[20..], hex(5, 12));
        let other_md5 = format!("md5={}", hex(6, 32));
        let literals = [
            md5.as_str(),
            sha1.as_str(),
            sha256.as_str(),
            imphash.as_str(),
            bordered.as_str(),
            tail.as_str(),
            other_md5.as_str(),
        ];
        let overlapping = format!("{bordered}{}", &bordered[4..]);
        // Every alignment of the text against the sampling grid, the literals at the start and
        // at the end of the text, between values, and near misses (a digit changed).
        for shift in 0..20 {
            let haystack = format!(
                "{md5},{}{sha1}\0{}{sha256},{imphash}{}\0md5={},{overlapping}\0{}",
                "x".repeat(shift),
                "y".repeat(shift % 7),
                &tail[imphash.len() - 20..],
                hex(1, 32).replacen('a', "b", 1),
                &sha256[..sha256.len() - 1],
            );
            let scanner = check(&literals, &haystack, FIELD_DFA_BYTES);
            assert!(matches!(scanner.automaton, Table::Grams(_)));
            check(&literals, &haystack[shift..], FIELD_DFA_BYTES);
        }
        // One short literal, or literals that cannot avoid sharing a gram (six differing only
        // in their last byte, or one that repeats a byte), take an automaton.
        let short = check(&[md5.as_str(), "md5="], &md5, FIELD_DFA_BYTES);
        assert!(matches!(short.automaton, Table::Dfa(_)));
        let alike: Vec<String> = ('a'..='f')
            .map(|c| format!("{}{c}", "q".repeat(23)))
            .collect();
        let alike: Vec<&str> = alike.iter().map(String::as_str).collect();
        let shared = check(&alike, &format!("{}c", "q".repeat(40)), FIELD_DFA_BYTES);
        assert!(matches!(shared.automaton, Table::Dfa(_)));
        let zeros = format!("md5={}", "0".repeat(32));
        let repeated = check(&[zeros.as_str()], &format!("x{zeros}0"), FIELD_DFA_BYTES);
        assert!(matches!(repeated.automaton, Table::Dfa(_)));
    }

    #[test]
    fn the_dfa_lower_bound_never_exceeds_a_built_dfa() {
        // Shared prefixes, one long literal, many short ones over few bytes, many bytes, and
        // sets of generated paths like a field's literals.
        let generated: Vec<String> = (0..400)
            .map(|i| {
                format!(
                    "\\windows\\system32\\tool{}_{}.exe",
                    i % 37,
                    i * 7919 % 1000
                )
            })
            .collect();
        let sets: Vec<Vec<String>> = vec![
            vec!["a".into()],
            vec!["abc".into(), "abd".into(), "ab".into(), "b".into()],
            vec!["x".repeat(500)],
            (0..200).map(|i| format!("{i:b}")).collect(),
            (0u8..=126).map(|b| char::from(b).to_string()).collect(),
            generated,
        ];
        for set in sets {
            let patterns: Vec<Box<str>> = set.iter().map(|p| Box::from(p.as_str())).collect();
            let trie = nfa::noncontiguous::Builder::new()
                .match_kind(MatchKind::Standard)
                .build(set.iter().map(String::as_bytes))
                .unwrap_or_else(|e| panic!("{e}"));
            let built = dfa::Builder::new()
                .match_kind(MatchKind::Standard)
                .build_from_noncontiguous(&trie)
                .unwrap_or_else(|e| panic!("{e}"));
            let bound = dfa_table_lower_bound(&patterns);
            assert!(
                bound <= built.memory_usage(),
                "{bound} > {} for {} patterns",
                built.memory_usage(),
                set.len()
            );
            // Where the table is most of the DFA, the bound is close to its size: a DFA well
            // over budget is never built.
            if bound > 10_000 {
                assert!(bound * 10 >= built.memory_usage() * 8, "{bound}");
            }
        }
    }

    #[test]
    fn overlapping_scan_finds_what_the_library_finds() {
        let haystack = "c:\\windows\\system32\\cmd.exe\0/c whoami /all\0abcabcab\0";
        // One literal (a memchr prefilter), a few (another prefilter), nested and overlapping
        // literals, literals at the very start and end, and literals that never occur.
        for literals in [
            vec!["cmd"],
            vec!["\\cmd.exe", "whoami", "/all"],
            vec!["abc", "bca", "cab", "abcab", "b", "c:\\"],
            vec!["zzz", "exe\0", "\0/c"],
            vec!["system32\\cmd.exe", "32\\cmd", "\\windows\\"],
        ] {
            // Both kinds of automaton: a DFA, and the NFA a zero budget forces.
            check(&literals, haystack, FIELD_DFA_BYTES);
            check(&literals, haystack, 0);
        }
    }
}

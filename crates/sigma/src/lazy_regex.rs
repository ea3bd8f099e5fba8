//! Regular expressions built on their first use, decided at load time.
//!
//! Building a regex (forward and reverse Thompson NFAs, Unicode classes, case folding) was
//! a quarter of `validate`'s instructions over SigmaHQ, for regexes that `validate` never runs
//! and that a `match` run may never reach. Whether a rule loads must not depend on the command
//! (issue 14, fault 4), so the decision a build would make is taken when the rule compiles:
//!
//! - the pattern is parsed and translated with the `regex` crate's own parser settings; a
//!   pattern that does not parse is built at once, so its error is the `regex` crate's, word
//!   for word;
//! - the only other way a build fails is the NFA size limit. [`nfa_bytes_bound`] bounds the
//!   memory the NFA builder can reach from the pattern's syntax tree; a pattern whose bound is
//!   within half the limit is certain to build and is built on first use, any other is
//!   built at once, so the limit is decided by the `regex` crate itself.
//!
//! `docs/semantics.md` ("Regular expressions are built on first use") has the argument and an
//! example; `lazy_regex::tests` hold the bound to the `regex` crate's own size check.

use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};
use regex_syntax::utf8::Utf8Sequences;

/// The settings a regex is built with, besides its pattern.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegexFlags {
    /// `(?i)`: case-insensitive.
    pub insensitive: bool,
    /// `(?m)`: `^` and `$` match at line ends.
    pub multiline: bool,
    /// `(?s)`: `.` matches a line end.
    pub dot_all: bool,
}

/// A regex whose build is known to succeed, built the first time it is matched. Clones share
/// the built regex. `Send + Sync`: threads that meet it first wait for one build.
#[derive(Clone, Debug)]
pub struct LazyRegex(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    pattern: String,
    flags: RegexFlags,
    size_limit: usize,
    built: OnceLock<Regex>,
}

/// Bytes of the NFA builder's memory counted per unit of [`units`]: a builder state is 32
/// bytes (`regex-automata`'s `builder::State`, which its own test pins) and the transition
/// or union alternate a unit may add is at most 8 more. 64 leaves room for both.
const BYTES_PER_UNIT: usize = 64;

/// States every NFA has whatever the pattern: start states, the match state, the capture
/// states of group 0 and the unanchored prefix `(?s-u:.)*?`.
const FIXED_UNITS: usize = 32;

/// How far under the size limit the bound must be for the build to be left for later: the
/// bound is an over-count by construction, and halving the limit on top of it keeps any
/// borderline pattern on the `regex` crate's own check.
const SLACK: usize = 2;

impl LazyRegex {
    /// Decides whether `pattern` builds with `flags` and an NFA size limit of `size_limit`
    /// bytes, building it now unless it is certain to build.
    ///
    /// # Errors
    /// The `regex` crate's error for the pattern, exactly as building it gives it: a syntax
    /// error, or the compiled regex over `size_limit`.
    pub fn new(
        pattern: &str,
        flags: RegexFlags,
        size_limit: usize,
    ) -> Result<LazyRegex, regex::Error> {
        let inner = Inner {
            pattern: pattern.to_owned(),
            flags,
            size_limit,
            built: OnceLock::new(),
        };
        let certain = regex_syntax::ParserBuilder::new()
            .case_insensitive(flags.insensitive)
            .multi_line(flags.multiline)
            .dot_matches_new_line(flags.dot_all)
            .build()
            .parse(pattern)
            .is_ok_and(|hir| nfa_bytes_bound(&hir) <= size_limit / SLACK);
        if !certain {
            let regex = inner.builder(size_limit).build()?;
            let _ = inner.built.set(regex);
        }
        Ok(LazyRegex(Arc::new(inner)))
    }

    /// Whether the regex matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_match(text)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0.pattern
    }

    /// Whether the regex has been built (by [`LazyRegex::new`] or a match).
    pub fn is_built(&self) -> bool {
        self.0.built.get().is_some()
    }

    fn regex(&self) -> &Regex {
        self.0.built.get_or_init(|| {
            let inner = &self.0;
            // `new` found the pattern valid and its NFA within the limit, so this build
            // succeeds. Were the bound ever wrong, the regex is built without the limit (the
            // same language, more memory) rather than panicking or matching nothing.
            inner
                .builder(inner.size_limit)
                .build()
                .or_else(|_| inner.builder(usize::MAX).build())
                .unwrap_or_else(|_| unreachable_regex())
        })
    }
}

impl Inner {
    fn builder(&self, size_limit: usize) -> RegexBuilder {
        let mut builder = RegexBuilder::new(&self.pattern);
        builder
            .case_insensitive(self.flags.insensitive)
            .multi_line(self.flags.multiline)
            .dot_matches_new_line(self.flags.dot_all)
            .size_limit(size_limit)
            // The lazy DFA's cache: at the crate's default 2 MiB, a pattern with a large
            // Unicode class under a counted repetition (SigmaHQ's `-k\s\w{1,64}…`) gets no
            // lazy DFA and every search falls back to the bounded backtracker, which clears
            // a visited set of NFA states times haystack bytes per search: 10 % of all the
            // instructions of matching the benchmark's synthetic mix (BENCHMARKS.md). The
            // cache grows only as far as the events drive it, and it never makes a build fail.
            .dfa_size_limit(4 * 1024 * 1024);
        builder
    }
}

/// A regex for a pattern that parsed but would not build even without a size limit, which
/// `LazyRegex::new` rules out: it matches nothing.
fn unreachable_regex() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!("a constant pattern"))
}

/// At least the bytes `regex-automata`'s NFA builder holds (`Builder::memory_usage`, what the
/// size limit is checked against) while compiling `hir`, forward or in reverse.
///
/// Counted from `regex-automata` 0.4's Thompson compiler (`nfa/thompson/compiler.rs`), with
/// `shrink` off as the `regex` crate sets it: a literal byte is one state; a byte class is one
/// state with a transition per range; a repetition compiles its sub-expression once per copy
/// (`max`, or `min` when unbounded, at least once) with a union and an empty state per copy;
/// alternations, concatenations and captures add a few states and one alternate per branch.
/// A Unicode class is counted in bytes ([`unicode_class_bytes`]) and every other unit is at
/// most [`BYTES_PER_UNIT`] bytes.
pub fn nfa_bytes_bound(hir: &Hir) -> usize {
    units(hir)
        .saturating_add(FIXED_UNITS)
        .saturating_mul(BYTES_PER_UNIT)
}

/// Size of a builder state (`regex-automata`'s `builder::State`, pinned by its own test).
const STATE_BYTES: usize = 32;
/// Heap bytes of one transition of a sparse state (`Transition`: two bytes and a state id).
const TRANSITION_BYTES: usize = 8;
/// Heap bytes of one alternate of a union state (a state id).
const ALTERNATE_BYTES: usize = 4;

/// At least the bytes one copy of a non-ASCII Unicode class adds to the builder, whichever way
/// it is compiled:
///
/// - forward, the UTF-8 compiler turns the class's sorted UTF-8 sequences into a trie whose
///   nodes each become at most one sparse state with one transition per child: at most a
///   state and a transition per trie node (sequences share their common prefixes with the
///   sequence before them), plus the end state;
/// - in reverse (`c_unicode_class_reverse_with_suffix`), each byte range of each sequence is
///   at most one state (a lossy cache may share some), and each sequence one alternate of a
///   union, plus the union and its empty end state.
///
/// Counting the trie's nodes and the reverse states separately is what keeps a large class
/// under a counted repetition (`\w{1,64}`) within bounds that let it wait: the former bound
/// of one 64-byte unit per byte of every sequence was five times the builder's real use.
fn unicode_class_bytes(class: &regex_syntax::hir::ClassUnicode) -> usize {
    let mut sequences = 0usize;
    let mut sequence_bytes = 0usize;
    let mut trie_nodes = 0usize;
    let mut previous: Option<regex_syntax::utf8::Utf8Sequence> = None;
    for range in class.ranges() {
        for sequence in Utf8Sequences::new(range.start(), range.end()) {
            let shared = previous.as_ref().map_or(0, |p| {
                p.as_slice()
                    .iter()
                    .zip(sequence.as_slice())
                    .take_while(|(a, b)| a == b)
                    .count()
            });
            sequences += 1;
            sequence_bytes += sequence.len();
            trie_nodes += sequence.len() - shared;
            previous = Some(sequence);
        }
    }
    let forward = (trie_nodes + 1) * (STATE_BYTES + TRANSITION_BYTES) + STATE_BYTES;
    let reverse = sequence_bytes * STATE_BYTES + sequences * ALTERNATE_BYTES + 2 * STATE_BYTES;
    forward.max(reverse)
}

fn units(hir: &Hir) -> usize {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(literal) => literal.0.len() + 1,
        HirKind::Class(Class::Bytes(class)) => class.ranges().len() + 3,
        HirKind::Class(Class::Unicode(class)) if class.is_ascii() => class.ranges().len() + 3,
        HirKind::Class(Class::Unicode(class)) => unicode_class_bytes(class)
            .div_ceil(BYTES_PER_UNIT)
            .saturating_add(3),
        HirKind::Repetition(repetition) => {
            let copies = repetition.max.unwrap_or(repetition.min).max(1) as usize;
            copies
                .saturating_mul(units(&repetition.sub).saturating_add(3))
                .saturating_add(3)
        }
        HirKind::Capture(capture) => units(&capture.sub).saturating_add(3),
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            items.iter().fold(3, |sum: usize, item| {
                sum.saturating_add(units(item)).saturating_add(1)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 16 * 1024 * 1024;

    /// Patterns with what makes NFAs large: Unicode classes under case folding, bounded and
    /// nested repetitions, alternations, look-arounds, astral ranges; and patterns like
    /// SigmaHQ's `|re` values.
    const PATTERNS: &[&str] = &[
        "",
        "a",
        r"(?i)\w+",
        r"\p{L}{3,10}",
        r".{0,100}",
        r"[^a]{5}",
        r"(a|b|ß|ǅ){2,9}",
        r"\bfoo\b",
        r"(?s).*",
        r"[\x{10000}-\x{10FFFF}]{4}",
        r"((a{2,3}){2,3}){2,3}",
        r"()",
        r"(?:\s|\S){20,}",
        r"\w{30}",
        r"^(cmd|powershell|pwsh)\.exe\s+/c\s+.*$",
        r"(?i)\\(?:[a-z0-9_-]{1,16})\.(?:exe|dll|sys)$",
        r"[A-Za-z0-9+/]{40,}={0,2}",
        r"(?i)invoke-(?:expression|webrequest|restmethod)\s*\(",
        r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{2,5}",
        r"(?m)^\s*-e(?:nc(?:odedcommand)?)?\s+[a-z0-9+/=]{20,}",
        r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
        r"\w{1,64}",
        r"\W{1,40}",
        r"[^a]{1,30}",
        r"(?i)\p{Greek}{2,20}|\p{Cyrillic}+",
        r"[\x{80}-\x{10FFFF}]{1,50}",
    ];

    #[test]
    fn the_bound_holds_the_regex_crates_own_size_check() {
        // Every flag combination, since case folding and `.` change the classes.
        for &pattern in PATTERNS {
            for bits in 0..8u8 {
                let flags = RegexFlags {
                    insensitive: bits & 1 != 0,
                    multiline: bits & 2 != 0,
                    dot_all: bits & 4 != 0,
                };
                let hir = regex_syntax::ParserBuilder::new()
                    .case_insensitive(flags.insensitive)
                    .multi_line(flags.multiline)
                    .dot_matches_new_line(flags.dot_all)
                    .build()
                    .parse(pattern)
                    .unwrap_or_else(|e| panic!("{pattern}: {e}"));
                let bound = nfa_bytes_bound(&hir);
                // With the limit set to the bound, the `regex` crate's builds (forward and
                // reverse NFAs) never go over it.
                let inner = Inner {
                    pattern: pattern.to_owned(),
                    flags,
                    size_limit: bound,
                    built: OnceLock::new(),
                };
                if let Err(e) = inner.builder(bound).build() {
                    panic!("{pattern} with {flags:?}: bound {bound} too small: {e}");
                }
            }
        }
    }

    #[test]
    fn a_pattern_certain_to_build_is_built_on_first_use() {
        let lazy = LazyRegex::new(r"(?:cmd|pwsh)\.exe", RegexFlags::default(), LIMIT)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!lazy.is_built());
        let clone = lazy.clone();
        assert!(clone.is_match("c:\\pwsh.exe"));
        assert!(lazy.is_built(), "clones share the build");
        assert!(!lazy.is_match("cmd.com"));
        assert_eq!(lazy.as_str(), r"(?:cmd|pwsh)\.exe");
    }

    #[test]
    fn errors_are_the_regex_crates_own() {
        for (pattern, limit) in [
            ("(unclosed", LIMIT),
            ("a{5", LIMIT),
            (r"(?<=look)behind", LIMIT),
            (r"\w{1000}{1000}", LIMIT),
            // Over a tiny limit: the bound says "maybe", so the regex crate decides.
            (r"\w+", 100),
        ] {
            let ours = LazyRegex::new(pattern, RegexFlags::default(), limit)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let theirs = RegexBuilder::new(pattern)
                .size_limit(limit)
                .build()
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{pattern}");
            assert!(ours.is_err(), "{pattern}");
        }
        // A pattern over the limit that the bound cannot clear is built at once and refused
        // at load time, as before.
        assert!(LazyRegex::new(r"\w{50000}", RegexFlags::default(), LIMIT).is_err());
    }

    #[test]
    fn a_large_unicode_class_under_a_counted_repetition_waits() {
        // SigmaHQ's svchost rule: the last regex of the active corpus that was built at load.
        let lazy = LazyRegex::new(
            r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
            RegexFlags::default(),
            LIMIT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!lazy.is_built());
        assert!(lazy.is_match("svchost.exe -k netsvcs -p"));
    }

    #[test]
    fn a_pattern_near_the_limit_is_built_at_once() {
        // Within the limit but not within half of it by the bound: built now.
        let lazy = LazyRegex::new(r"\w{300}", RegexFlags::default(), LIMIT)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(lazy.is_built());
    }
}

//! Sigma strings: wildcards and escapes, the transforming modifiers, and fast compiled matchers.

use crate::lazy_regex::{LazyRegex, RegexFlags};
use memchr::memmem;

use crate::fold::{fold_case, with_folded};

/// The NFA size limit of a wildcard pattern's regex: the `regex` crate's default, which
/// `Regex::new` applied to them before they were built on first use.
const WILDCARD_SIZE_LIMIT: usize = 10 * (1 << 20);

/// One piece of a Sigma string after escapes are resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Characters matched literally (escapes already resolved).
    Literal(String),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: exactly one character.
    AnyChar,
    /// A dash position expanded by `windash`: any of `-`, `/`, `–`, `—`, `―`.
    Dash,
}

/// The characters that `windash` makes interchangeable.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Parses a rule's string value per the specification's escape table: `\*`, `\?` and `\\` are
/// literal characters; a backslash before any other character (or at the end) stays a backslash.
pub fn parse_sigma_string(text: &str) -> Vec<Part> {
    parse_wildcards(text, |c| matches!(c, '*' | '?' | '\\'))
}

/// Splits `text` into literals and the wildcards `*` and `?`. A backslash before a character
/// `escapable` accepts makes that character literal and is dropped; any other backslash is a
/// literal backslash: [`parse_sigma_string`] lets `*`, `?` and `\\` be escaped, pySigma's plain
/// strings (as a processing pipeline reads a replaced value back) only `*` and `?`.
pub fn parse_wildcards(text: &str, escapable: impl Fn(char) -> bool) -> Vec<Part> {
    // Runs between the three special characters are copied whole: every value of every rule
    // goes through here when it compiles, and most have no special character at all.
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = memchr::memchr3(b'\\', b'*', b'?', rest.as_bytes()) {
        literal.push_str(&rest[..at]);
        let special = rest.as_bytes()[at];
        rest = &rest[at + 1..];
        match special {
            b'\\' => match rest.chars().next() {
                Some(next) if escapable(next) => {
                    literal.push(next);
                    rest = &rest[next.len_utf8()..];
                }
                _ => literal.push('\\'),
            },
            _ => {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(if special == b'*' {
                    Part::AnyRun
                } else {
                    Part::AnyChar
                });
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    parts
}

/// A plain string (no wildcards) as parts.
pub fn literal_parts(text: &str) -> Vec<Part> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![Part::Literal(text.to_owned())]
    }
}

/// Whether the parts hold anything but literals (`*`, `?` or a `windash` dash).
pub fn has_wildcards(parts: &[Part]) -> bool {
    parts.iter().any(|p| !matches!(p, Part::Literal(_)))
}

/// The literal text of parts without wildcards.
pub fn plain_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Literal(s) => s.as_str(),
            _ => "",
        })
        .collect()
}

/// Writes parts back as a Sigma string, escaping what needs it (for display and KQL conversion).
pub fn display_parts(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => {
                for c in s.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyRun => out.push('*'),
            Part::AnyChar => out.push('?'),
            Part::Dash => out.push_str("[-/–—―]"),
        }
    }
    out
}

/// `contains`: wildcards on both sides (not doubled when the value already has them).
pub fn wrap_contains(mut parts: Vec<Part>) -> Vec<Part> {
    if parts.first() != Some(&Part::AnyRun) {
        parts.insert(0, Part::AnyRun);
    }
    if parts.last() != Some(&Part::AnyRun) {
        parts.push(Part::AnyRun);
    }
    parts
}

/// `startswith`: a wildcard at the end (not doubled when the value already has one).
pub fn wrap_startswith(mut parts: Vec<Part>) -> Vec<Part> {
    if parts.last() != Some(&Part::AnyRun) {
        parts.push(Part::AnyRun);
    }
    parts
}

/// `endswith`: a wildcard at the start (not doubled when the value already has one).
pub fn wrap_endswith(mut parts: Vec<Part>) -> Vec<Part> {
    if parts.first() != Some(&Part::AnyRun) {
        parts.insert(0, Part::AnyRun);
    }
    parts
}

/// `windash`, as pySigma does it: a `-` or `/` that starts a word (no word character before it,
/// one after it) may be written with any of the five dash characters.
pub fn apply_windash(parts: Vec<Part>) -> Vec<Part> {
    let mut out = Vec::new();
    for part in parts {
        let Part::Literal(text) = part else {
            out.push(part);
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut literal = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let before_is_word = i > 0 && is_word(chars[i - 1]);
            let after_is_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if matches!(c, '-' | '/') && !before_is_word && after_is_word {
                if !literal.is_empty() {
                    out.push(Part::Literal(std::mem::take(&mut literal)));
                }
                out.push(Part::Dash);
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            out.push(Part::Literal(literal));
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The patterns a string test needs no regex for, with their literal as written.
enum PlainShape<'a> {
    Empty,
    Any,
    Exact(&'a str),
    Prefix(&'a str),
    Suffix(&'a str),
    Contains(&'a str),
}

impl<'a> PlainShape<'a> {
    fn of(parts: &'a [Part]) -> Option<PlainShape<'a>> {
        Some(match parts {
            [] => PlainShape::Empty,
            [Part::AnyRun] => PlainShape::Any,
            [Part::Literal(s)] => PlainShape::Exact(s),
            [Part::Literal(s), Part::AnyRun] => PlainShape::Prefix(s),
            [Part::AnyRun, Part::Literal(s)] => PlainShape::Suffix(s),
            [Part::AnyRun, Part::Literal(s), Part::AnyRun] => PlainShape::Contains(s),
            _ => return None,
        })
    }
}

/// A compiled string test: the cheapest check that is equivalent to the pattern.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "matchers sit inline in compiled rules and are read per event; boxing the larger ones would add a pointer chase on the hot path"
)]
pub enum StrMatcher {
    /// The whole text equals the (possibly folded) literal.
    Exact(String),
    /// The text starts with the literal (`lit*`).
    Prefix(String),
    /// The text ends with the literal (`*lit`).
    Suffix(String),
    /// The text contains the literal (`*lit*`), with a precompiled substring searcher.
    Contains(memmem::Finder<'static>),
    /// Matches everything (`*`).
    Any,
    /// Any other pattern, as an anchored regex (`?` and inner `*` or `windash` dashes).
    Regex(LazyRegex),
}

impl StrMatcher {
    /// Compiles parts; with `cased == false` the literals are folded and the input must be too.
    pub fn compile(parts: &[Part], cased: bool) -> Result<StrMatcher, regex::Error> {
        let fold = |s: &str| if cased { s.to_owned() } else { fold_case(s) };
        if let Some(shape) = PlainShape::of(parts) {
            return Ok(match shape {
                PlainShape::Empty => StrMatcher::Exact(String::new()),
                PlainShape::Any => StrMatcher::Any,
                PlainShape::Exact(s) => StrMatcher::Exact(fold(s)),
                PlainShape::Prefix(s) => StrMatcher::Prefix(fold(s)),
                PlainShape::Suffix(s) => StrMatcher::Suffix(fold(s)),
                PlainShape::Contains(s) => {
                    StrMatcher::Contains(memmem::Finder::new(fold(s).as_bytes()).into_owned())
                }
            });
        }
        let mut pattern = String::from("(?s)\\A");
        for part in parts {
            match part {
                Part::Literal(s) => pattern.push_str(&regex::escape(&fold(s))),
                Part::AnyRun => pattern.push_str(".*"),
                Part::AnyChar => pattern.push('.'),
                Part::Dash => pattern.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
            }
        }
        pattern.push_str("\\z");
        LazyRegex::new(&pattern, RegexFlags::default(), WILDCARD_SIZE_LIMIT).map(StrMatcher::Regex)
    }

    /// Whether [`StrMatcher::compile`] can fail on `parts`: only a pattern that needs a regex
    /// can (its size limit); the plain shapes (a literal, `lit*`, `*lit`, `*lit*`, `*`) cannot.
    pub fn can_fail(parts: &[Part]) -> bool {
        PlainShape::of(parts).is_none()
    }

    /// Tests text that is already folded when the matcher is case-insensitive.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            StrMatcher::Exact(s) => text == s,
            StrMatcher::Prefix(s) => text.starts_with(s.as_str()),
            StrMatcher::Suffix(s) => text.ends_with(s.as_str()),
            StrMatcher::Contains(finder) => finder.find(text.as_bytes()).is_some(),
            StrMatcher::Any => true,
            StrMatcher::Regex(re) => re.is_match(text),
        }
    }

    /// Tests text that is not folded yet against a case-insensitive matcher. ASCII text is
    /// compared in place for the anchored forms, which covers most log values without copying;
    /// anything else is folded first. Both paths agree: folded ASCII text is ASCII, so it can
    /// only equal a needle whose bytes are ASCII too, and ASCII case-insensitive comparison of
    /// bytes is exactly that.
    pub fn is_match_folding(&self, text: &str) -> bool {
        if text.is_ascii() {
            let bytes = text.as_bytes();
            match self {
                StrMatcher::Exact(s) => return bytes.eq_ignore_ascii_case(s.as_bytes()),
                StrMatcher::Prefix(s) => {
                    return bytes.len() >= s.len()
                        && bytes[..s.len()].eq_ignore_ascii_case(s.as_bytes());
                }
                StrMatcher::Suffix(s) => {
                    return bytes.len() >= s.len()
                        && bytes[bytes.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes());
                }
                StrMatcher::Any => return true,
                StrMatcher::Contains(_) | StrMatcher::Regex(_) => {}
            }
        }
        with_folded(text, |folded| self.is_match(folded))
    }

    /// The literal this matcher needs to find, if it is one fixed string (for prefilters).
    pub fn required_literal(&self) -> Option<&[u8]> {
        match self {
            StrMatcher::Exact(s) | StrMatcher::Prefix(s) | StrMatcher::Suffix(s) => {
                Some(s.as_bytes())
            }
            StrMatcher::Contains(f) => Some(f.needle()),
            StrMatcher::Any | StrMatcher::Regex(_) => None,
        }
    }
}

/// Base64 of bytes, standard alphabet with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three fragments that `base64offset` produces, as pySigma computes them: the value is
/// encoded after 0, 1 and 2 leading bytes, and the characters that depend on the unknown
/// neighbouring bytes are cut from both ends.
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut shifted = vec![b' '; shift];
            shifted.extend_from_slice(bytes);
            let encoded = base64(&shifted);
            let end = encoded.len() - END_TRIM[(bytes.len() + shift) % 3];
            encoded
                .get(START[shift]..end.max(START[shift]))
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_patterns_that_need_a_regex_can_fail() {
        for text in [
            "", "*", "a", "a*", "*a", "*a*", "a*b", "a?", "*a*b*", "?", "**",
        ] {
            let parts = parse_sigma_string(text);
            let regex = matches!(StrMatcher::compile(&parts, false), Ok(StrMatcher::Regex(_)));
            assert_eq!(StrMatcher::can_fail(&parts), regex, "{text}");
        }
        assert!(StrMatcher::can_fail(&[
            Part::Literal("a".into()),
            Part::Dash
        ]));
    }

    #[test]
    fn sigma_strings_follow_the_escape_table() {
        let lit = |s: &str| Part::Literal(s.to_owned());
        for (text, parts) in [
            ("", vec![]),
            ("plain", vec![lit("plain")]),
            ("*", vec![Part::AnyRun]),
            (
                "a*b?c",
                vec![lit("a"), Part::AnyRun, lit("b"), Part::AnyChar, lit("c")],
            ),
            (r"\*\?\\", vec![lit(r"*?\")]),
            (r"C:\Windows\*.exe", vec![lit(r"C:\Windows*.exe")]),
            (r"C:\Windows\System32\*", vec![lit(r"C:\Windows\System32*")]),
            (r"C:\Windows\\*", vec![lit(r"C:\Windows\"), Part::AnyRun]),
            (r"end\", vec![lit(r"end\")]),
            (r"\\\*", vec![lit(r"\*")]),
            (
                "é*ü?",
                vec![lit("é"), Part::AnyRun, lit("ü"), Part::AnyChar],
            ),
            ("**", vec![Part::AnyRun, Part::AnyRun]),
        ] {
            assert_eq!(parse_sigma_string(text), parts, "{text}");
        }
        // pySigma's plain strings escape only `*` and `?`.
        let plain = |c: char| matches!(c, '*' | '?');
        assert_eq!(
            parse_wildcards(r"a\\b\*\é?", plain),
            vec![lit(r"a\\b*\é"), Part::AnyChar]
        );
    }

    #[test]
    fn base64_offsets_match_the_reference_values() {
        // The Sigma documentation's example: `/bin/bash` at the three possible offsets.
        assert_eq!(
            base64_offsets(b"/bin/bash"),
            vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]
        );
    }
}

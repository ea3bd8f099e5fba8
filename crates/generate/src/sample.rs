//! Values that satisfy one field's constraints: strings for compiled Sigma string patterns
//! (wildcards, position modifiers, `windash`, encodings already applied), strings a regular
//! expression accepts (walking the `regex-syntax` HIR), numbers inside bounds, addresses inside
//! a `cidr` range.

use std::net::IpAddr;

use ipnet::IpNet;
use regex_syntax::hir::{Class, Hir, HirKind};
use ruleproof_sigma::pattern::Part;

/// A string matching every pattern given (each a compiled Sigma string pattern), built from the
/// start-anchored head of one, the end-anchored tail of one and the inner pieces of all. `None`
/// when two patterns pin different whole values. The result is checked by the engine later; this
/// only has to be right for the patterns rules write.
pub fn string_for(field: &str, patterns: &[Vec<Part>], variant: usize) -> Option<String> {
    // A pattern without `*` pins the whole value.
    let exact: Vec<String> = patterns
        .iter()
        .filter(|p| !p.contains(&Part::AnyRun))
        .map(|p| fill_parts(p))
        .collect();
    if let Some(first) = exact.first() {
        return exact
            .iter()
            .all(|e| e.eq_ignore_ascii_case(first))
            .then(|| first.clone());
    }
    let mut head = String::new();
    let mut tail = String::new();
    let mut inner: Vec<String> = Vec::new();
    for pattern in patterns {
        let runs: Vec<&[Part]> = pattern.split(|p| *p == Part::AnyRun).collect();
        let (first, rest) = runs.split_first()?;
        let (last, middle) = rest.split_last()?;
        let first = fill_parts(first);
        if first.len() > head.len() {
            head = first;
        }
        let last = fill_parts(last);
        if last.len() > tail.len() {
            tail = last;
        }
        inner.extend(
            middle
                .iter()
                .map(|m| fill_parts(m))
                .filter(|m| !m.is_empty()),
        );
    }
    let separator = separator(field);
    let mut value = head.clone();
    if value.is_empty() {
        value.push_str(&lead_in(field, inner.first().unwrap_or(&tail), variant));
    }
    for piece in &inner {
        if !value.is_empty() && !value.ends_with(separator) {
            value.push_str(separator);
        }
        value.push_str(piece);
    }
    if !tail.is_empty() {
        if !value.is_empty() && !inner.is_empty() {
            value.push_str(separator);
        }
        value.push_str(&tail);
    }
    Some(value)
}

/// What stands between pieces of a value: a space in command lines, nothing elsewhere.
fn separator(field: &str) -> &'static str {
    let lower = field.to_ascii_lowercase();
    if lower.contains("commandline") || lower.contains("scriptblock") || lower.contains("payload") {
        " "
    } else {
        ""
    }
}

/// A plausible start for a value that only has to end in (or contain) `next`: a Windows or Unix
/// directory before a path, an executable before command-line arguments. Variant 1 is another
/// directory, for rules whose filters exclude the usual one.
fn lead_in(field: &str, next: &str, variant: usize) -> String {
    let lower = field.to_ascii_lowercase();
    if next.starts_with('\\') && lower.contains("user") {
        "CORP".to_owned()
    } else if next.starts_with('\\') {
        if variant == 0 {
            "C:\\Windows\\System32".to_owned()
        } else {
            "C:\\Users\\Public\\Downloads".to_owned()
        }
    } else if next.starts_with('/') {
        if variant == 0 { "/usr/bin" } else { "/tmp" }.to_owned()
    } else if lower.contains("commandline") {
        "cmd.exe /c ".to_owned()
    } else {
        String::new()
    }
}

/// A string for a run of parts without `*`: literals as written, `?` as `x`, a `windash` dash as
/// `-`.
fn fill_parts(parts: &[Part]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::AnyChar => out.push('x'),
            Part::Dash => out.push('-'),
            Part::AnyRun => {}
        }
    }
    out
}

/// A string the regular expression matches, or `None` when the HIR has no match (an empty
/// class) or the pattern does not parse. Flags (`(?i)`) are part of the HIR; anchors and word
/// boundaries add nothing, so the sample is checked by the engine afterwards.
pub fn regex_sample(pattern: &str, case_insensitive: bool, dot_all: bool) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    sample_hir(&hir, &mut out, 0)?;
    Some(out)
}

/// The most repetitions a sample writes; `.{1000,}` in a length check still fits.
const MAX_REPEAT: u32 = 4096;

/// The longest sample built; nested repetitions could otherwise ask for gigabytes.
const MAX_SAMPLE_BYTES: usize = 1 << 20;

fn sample_hir(hir: &Hir, out: &mut String, depth: usize) -> Option<()> {
    if depth > 200 || out.len() > MAX_SAMPLE_BYTES {
        return None;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(&String::from_utf8_lossy(&literal.0)),
        HirKind::Class(Class::Unicode(class)) => {
            let range = class.ranges().first()?;
            out.push(pick_char(range.start(), range.end()));
        }
        HirKind::Class(Class::Bytes(class)) => {
            let range = class.ranges().first()?;
            let c = pick_char(char::from(range.start()), char::from(range.end()));
            out.push(c);
        }
        HirKind::Repetition(repetition) => {
            // At least once where allowed, so optional pieces still show up as written.
            let times = repetition
                .min
                .max(u32::from(repetition.max != Some(0)))
                .min(MAX_REPEAT);
            for _ in 0..times {
                sample_hir(&repetition.sub, out, depth + 1)?;
            }
        }
        HirKind::Capture(capture) => sample_hir(&capture.sub, out, depth + 1)?,
        HirKind::Concat(items) => {
            for item in items {
                sample_hir(item, out, depth + 1)?;
            }
        }
        HirKind::Alternation(items) => sample_hir(items.first()?, out, depth + 1)?,
    }
    Some(())
}

/// A readable character in a range: a lower-case letter or digit when the range has one.
fn pick_char(start: char, end: char) -> char {
    for preferred in ['a', 'x', '0', 'A', ' '] {
        if (start..=end).contains(&preferred) {
            return preferred;
        }
    }
    if start == '\n' && end > '\n' {
        return char::from_u32(u32::from(start) + 1).unwrap_or(start);
    }
    start
}

/// An address inside a range (the first host after the network address when there is one), and
/// one just outside it (the address after the broadcast address, or before the network).
pub fn cidr_sample(range: &str) -> Option<(String, Option<String>)> {
    let net = range
        .parse::<IpNet>()
        .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
        .ok()?
        .trunc();
    let inside = net.hosts().next().unwrap_or(net.network());
    let outside = match net.broadcast() {
        IpAddr::V4(b) => u32::from(b)
            .checked_add(1)
            .map(|n| IpAddr::V4(n.into()))
            .or_else(|| match net.network() {
                IpAddr::V4(n) => u32::from(n).checked_sub(1).map(|n| IpAddr::V4(n.into())),
                IpAddr::V6(_) => None,
            }),
        IpAddr::V6(b) => u128::from(b)
            .checked_add(1)
            .map(|n| IpAddr::V6(n.into()))
            .or_else(|| match net.network() {
                IpAddr::V6(n) => u128::from(n).checked_sub(1).map(|n| IpAddr::V6(n.into())),
                IpAddr::V4(_) => None,
            }),
    };
    Some((inside.to_string(), outside.map(|o| o.to_string())))
}

/// Bounds on a number, from `gt`/`gte`/`lt`/`lte` and plain equality.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// The lower bound and whether it is included (`gte`) or not (`gt`).
    pub low: Option<(f64, bool)>,
    /// The upper bound and whether it is included (`lte`) or not (`lt`).
    pub high: Option<(f64, bool)>,
    /// A number the value must equal.
    pub equal: Option<f64>,
}

impl Bounds {
    /// A number inside the bounds, an integer when one fits; `None` when they contradict.
    pub fn sample(&self) -> Option<f64> {
        if let Some(e) = self.equal {
            return self.contains(e).then_some(e);
        }
        let candidate = match (self.low, self.high) {
            (Some((l, inclusive)), _) => {
                if inclusive {
                    l
                } else {
                    l.floor() + 1.0
                }
            }
            (None, Some((h, inclusive))) => {
                if inclusive {
                    h
                } else {
                    h.ceil() - 1.0
                }
            }
            (None, None) => 1.0,
        };
        if self.contains(candidate) {
            return Some(candidate);
        }
        // Between two close bounds an integer may not fit; the midpoint does.
        match (self.low, self.high) {
            (Some((l, _)), Some((h, _))) => Some((l + h) / 2.0).filter(|m| self.contains(*m)),
            _ => None,
        }
    }

    /// Whether a number satisfies every bound.
    pub fn contains(&self, n: f64) -> bool {
        let low_ok = self
            .low
            .is_none_or(|(l, inclusive)| if inclusive { n >= l } else { n > l });
        let high_ok = self
            .high
            .is_none_or(|(h, inclusive)| if inclusive { n <= h } else { n < h });
        low_ok && high_ok && self.equal.is_none_or(|e| e == n)
    }

    /// A number just outside: at an exclusive bound, or one past an inclusive one.
    pub fn outside(&self) -> Option<f64> {
        if let Some((l, inclusive)) = self.low {
            return Some(if inclusive { l - 1.0 } else { l });
        }
        if let Some((h, inclusive)) = self.high {
            return Some(if inclusive { h + 1.0 } else { h });
        }
        self.equal.map(|e| e + 1.0)
    }
}

/// A plausible value for a field that only has to be present (to keep a `null` filter from
/// matching an absent field, or for `exists: true`).
pub fn plausible(field: &str) -> &'static str {
    let lower = field.to_ascii_lowercase();
    if lower.ends_with("image") || lower.ends_with("path") {
        "C:\\Program Files\\Example\\app.exe"
    } else if lower.contains("commandline") {
        "app.exe --run"
    } else if lower.contains("user") {
        "CORP\\user"
    } else if lower.contains("filename") {
        "C:\\Users\\Public\\document.txt"
    } else {
        "value"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_repetitions_stop_at_the_sample_limit() {
        assert_eq!(regex_sample("((a{1000}){1000}){1000}", false, false), None);
        assert_eq!(regex_sample("a{3}b", false, false).as_deref(), Some("aaab"));
    }

    #[test]
    fn bounds_pick_a_number_inside_and_one_outside() {
        let bounds = Bounds {
            low: Some((10.0, false)),
            high: Some((12.0, true)),
            equal: None,
        };
        assert_eq!(bounds.sample(), Some(11.0));
        assert_eq!(bounds.outside(), Some(10.0));
        let empty = Bounds {
            low: Some((5.0, false)),
            high: Some((5.0, false)),
            equal: None,
        };
        assert_eq!(empty.sample(), None);
    }
}

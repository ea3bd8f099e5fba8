//! The one case folding of the product: every case-insensitive comparison (the matchers, the
//! rule-set index, the KQL evaluator, lints that compare values) folds both sides with these
//! functions, so no two parts of the product can disagree on whether two texts are equal.
//!
//! Folding lowercases each character on its own (`char::to_lowercase`) and maps the final sigma
//! `ς` to `σ`, as Unicode simple case folding and the regex crate's `(?i)` have it; lowercasing
//! alone would keep `ΣΟΣ` and `σος` apart. Because each character folds on its own, a literal
//! that occurs in a text occurs, folded, in the folded text: the rule-set index relies on it.

use std::cell::RefCell;

/// The folded form of one character (usually one character; a few, like `İ`, give two).
pub fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|c| if c == 'ς' { 'σ' } else { c })
}

/// Appends the folded text to `out`, keeping what `out` already holds.
pub fn push_folded(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(text.chars().flat_map(fold_char));
    }
}

/// Appends the UTF-8 bytes of the folded text to `out`: the bytes [`push_folded`] appends.
///
/// The rule-set index folds every value of every event into one buffer of bytes (its scanners
/// read bytes), so this is on the per-event path: ASCII text, nearly all of it, is lowercased
/// eight bytes at a time while it is copied, with one pass over the text.
pub fn push_folded_bytes(text: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(text.as_bytes());
    let mut chunks = out[start..].chunks_exact_mut(8);
    let mut ascii = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if word & HIGH_BITS != 0 {
            break;
        }
        chunk.copy_from_slice(&lowercase_ascii_word(word).to_le_bytes());
        ascii += 8;
    }
    let rest = &mut out[start + ascii..];
    if rest.is_ascii() {
        rest.make_ascii_lowercase();
        return;
    }
    // Past the first word holding a non-ASCII byte, character by character; the ASCII before
    // it is already folded, and folding never joins characters, so the rest folds on its own.
    out.truncate(start + ascii);
    let mut buffer = [0; 4];
    for c in text[ascii..].chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase() as u8);
        } else {
            for folded in fold_char(c) {
                out.extend_from_slice(folded.encode_utf8(&mut buffer).as_bytes());
            }
        }
    }
}

/// The high bit of each byte of a word: set in a byte that is not ASCII.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Eight ASCII bytes with `A`–`Z` lowercased. Adding `0x3f` to a byte sets its high bit when it
/// is `A` (0x41) or above, adding `0x25` when it is above `Z` (0x5a); neither addition carries
/// into the next byte, since no byte is above 0x7f. An uppercase byte gets 0x20 added.
fn lowercase_ascii_word(word: u64) -> u64 {
    let at_least_a = word.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let above_z = word.wrapping_add(0x2525_2525_2525_2525);
    let upper = at_least_a & !above_z & HIGH_BITS;
    word | (upper >> 2)
}

/// Replaces `out` with the folded text.
pub fn fold_case_into(text: &str, out: &mut String) {
    out.clear();
    push_folded(text, out);
}

/// The folded text.
pub fn fold_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_folded(text, &mut out);
    out
}

/// Whether the text is already folded, so it can be compared without copying.
pub fn is_folded(text: &str) -> bool {
    if text.is_ascii() {
        !text.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        text.chars().all(|c| {
            let mut folded = fold_char(c);
            folded.next() == Some(c) && folded.next().is_none()
        })
    }
}

thread_local! {
    /// Reused folding buffer, so case-insensitive matching does not allocate per event.
    static FOLD_BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on the folded text, borrowing the text itself when folding would not change it.
pub fn with_folded<R>(text: &str, f: impl FnOnce(&str) -> R) -> R {
    if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(text);
    }
    FOLD_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => {
            fold_case_into(text, &mut buffer);
            f(&buffer)
        }
        // Only a re-entrant call (which matching never makes) would find the buffer taken.
        Err(_) => f(&fold_case(text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_bytes_are_the_folded_text() {
        // Every ASCII byte at every position of a word and of the remainder, every letter
        // boundary (`@`, `A`, `Z`, `[`, `` ` ``, `a`, `z`, `{`), and text that turns non-ASCII in
        // a word or in the remainder after ASCII was appended.
        let ascii: String = (0u8..=127).map(char::from).collect();
        let texts = [
            ascii.as_str(),
            "@AZ[`az{",
            "C:\\WINDOWS\\System32\\CMD.EXE",
            "",
            "x",
            "ABCDEFGHİJ",
            "ABCDEFGH ΣΟΣ",
            "ABCDEFGHIJK ς",
            "Straße ǅ",
        ];
        for text in texts {
            for skip in 0..text.len().min(9) {
                let Some(text) = text.get(skip..) else {
                    continue;
                };
                let mut bytes = b"kept".to_vec();
                push_folded_bytes(text, &mut bytes);
                assert_eq!(
                    bytes,
                    format!("kept{}", fold_case(text)).into_bytes(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn final_sigma_folds_like_sigma() {
        assert_eq!(fold_case("ΣΟΣ"), fold_case("σος"));
        assert_eq!(fold_case("ΣΟΣ"), "σοσ");
        assert!(is_folded("σοσ") && !is_folded("σος") && !is_folded("Abc"));
        let mut out = String::from("x");
        push_folded("ÄB", &mut out);
        assert_eq!(out, "xäb");
    }
}

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
    fn final_sigma_folds_like_sigma() {
        assert_eq!(fold_case("ΣΟΣ"), fold_case("σος"));
        assert_eq!(fold_case("ΣΟΣ"), "σοσ");
        assert!(is_folded("σοσ") && !is_folded("σος") && !is_folded("Abc"));
        let mut out = String::from("x");
        push_folded("ÄB", &mut out);
        assert_eq!(out, "xäb");
    }
}

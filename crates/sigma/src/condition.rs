//! The condition language: `and`, `or`, `not`, parentheses and `1 of` / `all of` quantifiers.

use crate::error::{ErrorKind, SigmaError};
use crate::pattern::{Part, StrMatcher};
use crate::source::Span;

/// A parsed condition, naming identifiers (resolved to searches when the rule compiles).
#[derive(Clone, Debug, PartialEq)]
pub enum CondExpr {
    /// A search identifier such as `selection`.
    Ident {
        /// The identifier as written.
        name: String,
        /// Its position inside the condition text.
        span: Span,
    },
    /// `not` applied to its operand.
    Not(Box<CondExpr>),
    /// `and` over two or more operands (a chain such as `a and b and c` is one node).
    And(Vec<CondExpr>),
    /// `or` over two or more operands (a chain such as `a and b and c` is one node).
    Or(Vec<CondExpr>),
    /// `1 of <target>` or `all of <target>`.
    Quantified {
        /// Whether any one or every selected search must be true.
        quantifier: Quantifier,
        /// A name pattern with `*` wildcards, or `them`.
        target: IdentifierPattern,
        /// The whole quantified expression inside the condition text.
        span: Span,
    },
}

/// The target of `1 of` / `all of`: `them`, or a pattern of search identifiers where `*`
/// stands for any run of characters and `?` for one character (`selection_*`).
///
/// The pattern is compiled once, when the condition is parsed, into the string matcher that
/// rule values use ([`StrMatcher`]): the common `selection_*` is a prefix test, and only a
/// pattern with an inner `*` or a `?` becomes a regular expression, which the regex crate
/// matches in time linear in the name, so a hostile pattern such as
/// `*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b` cannot make matching backtrack. Building an automaton for
/// every `1 of selection_*` took about a tenth of `validate`'s time on the SigmaHQ corpus.
#[derive(Clone, Debug)]
pub struct IdentifierPattern {
    text: String,
    /// `None` for `them`; boxed, since a substring matcher is large and conditions are not.
    matcher: Option<Box<StrMatcher>>,
}

/// The longest identifier pattern accepted, in bytes; longer ones are refused with an error.
pub const MAX_IDENTIFIER_PATTERN: usize = 1024;

impl IdentifierPattern {
    /// `them`: every search identifier whose name does not start with `_` (pySigma's rule).
    pub fn them() -> IdentifierPattern {
        IdentifierPattern {
            text: "them".to_owned(),
            matcher: None,
        }
    }

    /// Compiles a pattern of identifiers.
    ///
    /// # Errors
    ///
    /// The message to report when the pattern is longer than [`MAX_IDENTIFIER_PATTERN`].
    pub fn new(pattern: &str) -> Result<IdentifierPattern, String> {
        if pattern.len() > MAX_IDENTIFIER_PATTERN {
            return Err(format!(
                "the identifier pattern is longer than {MAX_IDENTIFIER_PATTERN} bytes"
            ));
        }
        let mut parts = Vec::new();
        for c in pattern.chars() {
            match c {
                '*' => parts.push(Part::AnyRun),
                '?' => parts.push(Part::AnyChar),
                c => match parts.last_mut() {
                    Some(Part::Literal(literal)) => literal.push(c),
                    _ => parts.push(Part::Literal(c.to_string())),
                },
            }
        }
        let matcher = StrMatcher::compile(&parts, true)
            .map_err(|e| format!("the identifier pattern does not compile: {e}"))?;
        Ok(IdentifierPattern {
            text: pattern.to_owned(),
            matcher: Some(Box::new(matcher)),
        })
    }

    /// Whether this is `them`.
    pub fn is_them(&self) -> bool {
        self.matcher.is_none()
    }

    /// The pattern as written (`them` for `them`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a search identifier is one the quantifier ranges over.
    pub fn matches(&self, name: &str) -> bool {
        match &self.matcher {
            None => !name.starts_with('_'),
            Some(matcher) => matcher.is_match(name),
        }
    }
}

impl PartialEq for IdentifierPattern {
    fn eq(&self, other: &IdentifierPattern) -> bool {
        self.text == other.text
    }
}

impl std::fmt::Display for IdentifierPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// How many of the searches an `… of …` condition selects must match (Sigma spec, condition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quantifier {
    /// `1 of` and `any of`.
    Any,
    /// `all of`.
    All,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    And,
    Or,
    Not,
    Of,
    One,
    Any,
    All,
    Them,
    Open,
    Close,
    Word(String),
}

/// Deepest nesting of parentheses and `not` accepted, so hostile conditions cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Parses a condition. `span` is where the condition string sits in the file; offsets inside a
/// plain scalar map one to one, so token positions are reported within it.
pub fn parse_condition(text: &str, span: Span) -> Result<CondExpr, SigmaError> {
    if let Some(pipe) = text.find('|') {
        let start = span.start as usize + pipe;
        return Err(SigmaError::new(
            ErrorKind::Unsupported,
            Span::new(start, start + 1),
            "aggregations in the condition (`| count() by …`) were removed from Sigma 2; \
             write a correlation rule instead",
        ));
    }
    if let Some(removed) = removed_construct(text, span) {
        return Err(removed);
    }
    let tokens = tokenize(text, span)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        span,
        depth: 0,
    };
    let expr = parser.parse_or()?;
    if let Some((token, token_span)) = parser.tokens.get(parser.pos) {
        return Err(SigmaError::new(
            ErrorKind::ConditionSyntax,
            *token_span,
            format!("unexpected {} in the condition", describe(token)),
        ));
    }
    Ok(expr)
}

/// Constructs of Sigma 1 conditions that Sigma 2 moved into correlation rules.
fn removed_construct(text: &str, span: Span) -> Option<SigmaError> {
    let lower = text.to_ascii_lowercase();
    let aggregation = ["count(", "min(", "max(", "sum(", "avg(", " near "]
        .iter()
        .filter_map(|f| lower.find(f))
        .chain(text.find(['<', '>']))
        .min();
    let (at, message) = if let Some(at) = aggregation {
        (
            at,
            "aggregations in the condition (`count() … > n`, `near`) were removed from Sigma 2; \
             write a correlation rule instead",
        )
    } else if let Some(at) = text.find([';', '%']) {
        (
            at,
            "statements in the condition (`write … to %var%; then …`) are not Sigma; \
             express event sequences with a correlation rule",
        )
    } else {
        return None;
    };
    let start = span.start as usize + at;
    Some(SigmaError::new(
        ErrorKind::Unsupported,
        Span::new(start, start + 1),
        message,
    ))
}

fn describe(token: &Token) -> String {
    match token {
        Token::And => "`and`".into(),
        Token::Or => "`or`".into(),
        Token::Not => "`not`".into(),
        Token::Of => "`of`".into(),
        Token::One => "`1`".into(),
        Token::Any => "`any`".into(),
        Token::All => "`all`".into(),
        Token::Them => "`them`".into(),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Word(w) => format!("`{w}`"),
    }
}

fn tokenize(text: &str, span: Span) -> Result<Vec<(Token, Span)>, SigmaError> {
    // When the condition is a quoted scalar its text starts one byte into the span.
    let base = span.start as usize;
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            _ => None,
        };
        if let Some(token) = single {
            chars.next();
            tokens.push((token, Span::new(base + start, base + start + 1)));
            continue;
        }
        if !is_word_char(c) {
            return Err(SigmaError::new(
                ErrorKind::ConditionSyntax,
                Span::new(base + start, base + start + c.len_utf8()),
                format!("unexpected character `{c}` in the condition"),
            ));
        }
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if !is_word_char(c) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let word = &text[start..end];
        // Operators are matched without regard to case, as pySigma's grammar does.
        let token = match word.to_ascii_lowercase().as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "of" => Token::Of,
            "1" => Token::One,
            "any" => Token::Any,
            "all" => Token::All,
            "them" => Token::Them,
            _ => Token::Word(word.to_owned()),
        };
        tokens.push((token, Span::new(base + start, base + end)));
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '?')
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    pos: usize,
    span: Span,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn next_span(&self) -> Span {
        self.tokens.get(self.pos).map_or(
            Span::new(self.span.end as usize, self.span.end as usize),
            |(_, s)| *s,
        )
    }

    fn error(&self, message: impl Into<String>) -> SigmaError {
        SigmaError::new(ErrorKind::ConditionSyntax, self.next_span(), message)
    }

    fn parse_or(&mut self) -> Result<CondExpr, SigmaError> {
        let mut items = vec![self.parse_and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.parse_and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            CondExpr::Or(items)
        })
    }

    fn parse_and(&mut self) -> Result<CondExpr, SigmaError> {
        let mut items = vec![self.parse_not()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            items.push(self.parse_not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            CondExpr::And(items)
        })
    }

    fn parse_not(&mut self) -> Result<CondExpr, SigmaError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            self.enter()?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(CondExpr::Not(Box::new(inner)));
        }
        self.parse_primary()
    }

    fn enter(&mut self) -> Result<(), SigmaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "the condition nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn parse_primary(&mut self) -> Result<CondExpr, SigmaError> {
        let Some((token, span)) = self.tokens.get(self.pos).cloned() else {
            return Err(self.error("the condition ends where an identifier was expected"));
        };
        match token {
            Token::Open => {
                self.pos += 1;
                self.enter()?;
                let inner = self.parse_or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error("expected `)` to close the parenthesis"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Token::One | Token::Any | Token::All => {
                self.pos += 1;
                if self.peek() != Some(&Token::Of) {
                    return Err(self.error(format!("expected `of` after {}", describe(&token))));
                }
                self.pos += 1;
                let quantifier = if token == Token::All {
                    Quantifier::All
                } else {
                    Quantifier::Any
                };
                let Some((target_token, target_span)) = self.tokens.get(self.pos).cloned() else {
                    return Err(self.error("expected an identifier pattern or `them` after `of`"));
                };
                let target = match target_token {
                    Token::Them => IdentifierPattern::them(),
                    Token::Word(w) => IdentifierPattern::new(&w).map_err(|message| {
                        SigmaError::new(ErrorKind::ConditionSyntax, target_span, message)
                    })?,
                    other => {
                        return Err(self.error(format!(
                            "expected an identifier pattern or `them` after `of`, found {}",
                            describe(&other)
                        )));
                    }
                };
                self.pos += 1;
                Ok(CondExpr::Quantified {
                    quantifier,
                    target,
                    span: Span::new(span.start as usize, target_span.end as usize),
                })
            }
            Token::Word(name) => {
                self.pos += 1;
                Ok(CondExpr::Ident { name, span })
            }
            other => Err(SigmaError::new(
                ErrorKind::ConditionSyntax,
                span,
                format!(
                    "unexpected {} where an identifier was expected",
                    describe(&other)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_patterns_match_whole_names() {
        let p = IdentifierPattern::new("sel*_?").unwrap();
        assert!(p.matches("selection_a") && p.matches("sel_b"));
        assert!(!p.matches("selection_ab") && !p.matches("xsel_a"));
        let dots = IdentifierPattern::new("a.b").unwrap();
        assert!(dots.matches("a.b") && !dots.matches("axb"));
        let them = IdentifierPattern::them();
        assert!(them.matches("selection") && !them.matches("_hidden"));
    }
}

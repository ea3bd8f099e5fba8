//! The tokenizer: turns query text into tokens with byte spans, decoding every string literal form.
//!
//! String literal forms follow Microsoft's "The string data type" page: `"…"` and `'…'` with
//! backslash escapes, verbatim `@"…"` and `@'…'` where a doubled quote stands for one quote,
//! multi-line ```` ```…``` ````, and the obfuscated `h`/`H` prefix on any of them, which only
//! affects logging in Kusto and so is decoded like the plain form. Adjacent string literals are
//! joined into one token, as Kusto concatenates them.

use std::ops::Range;

use crate::error::KqlError;

/// One lexical element of a query.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or an operator word. Negated operators keep their `!` (`!has`) and the
    /// case-insensitive `in~` keeps its `~`, so that the parser sees each operator as one word.
    Word(String),
    /// A decoded string literal.
    Str(String),
    Int(i64),
    Real(f64),
    /// A timespan literal (`10m`, `1h`, `30s`, `2d`, `500ms`) in milliseconds; only lexed for
    /// tabular scripts ([`tokenize_script`]), the filtering subset refuses it as before.
    Timespan(i64),
    /// Punctuation and symbolic operators: `( ) [ ] , | . .. - ; * == != =~ !~ < <= > >= =`.
    Punct(&'static str),
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

/// Symbolic tokens, longest first so that `==` wins over `=` and `..` over `.`.
const PUNCTS: &[&str] = &[
    "==", "!=", "=~", "!~", "<=", ">=", "..", "(", ")", "[", "]", ",", "|", ".", "-", ";", "<",
    ">", "=", "*", "+", "/",
];

/// Splits `text` into tokens, always ending with one [`Tok::Eof`].
///
/// On a lexical error the tokens read so far are still returned, ending with an `Eof` placed
/// where the error starts, so that the parser can report an earlier syntax error first and
/// errors come out in source order.
pub(crate) fn tokenize(text: &str) -> (Vec<Token>, Option<KqlError>) {
    tokenize_with(text, false)
}

/// [`tokenize`] for tabular scripts, which also read timespan literals
/// (<https://learn.microsoft.com/kusto/query/scalar-data-types/timespan>).
pub(crate) fn tokenize_script(text: &str) -> (Vec<Token>, Option<KqlError>) {
    tokenize_with(text, true)
}

fn tokenize_with(text: &str, timespans: bool) -> (Vec<Token>, Option<KqlError>) {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        timespans,
    };
    let error = lexer.run().err();
    if let Some(error) = &error {
        lexer.tokens.push(Token {
            tok: Tok::Eof,
            span: error.span.start..error.span.start,
        });
    }
    (lexer.tokens, error)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    /// Whether a number glued to a unit is a timespan literal rather than an error.
    timespans: bool,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<(), KqlError> {
        loop {
            self.skip_trivia();
            let start = self.pos;
            let Some(&b) = self.bytes.get(start) else {
                self.tokens.push(Token {
                    tok: Tok::Eof,
                    span: start..start,
                });
                return Ok(());
            };
            if let Some(quote) = self.string_start() {
                let value = self.string(quote, start)?;
                self.push_string(value, start);
            } else if b.is_ascii_alphabetic() || b == b'_' {
                self.word(start, false);
            } else if b == b'!' && self.peek(1).is_some_and(|c| c.is_ascii_alphabetic()) {
                self.word(start, true);
            } else if b.is_ascii_digit() {
                self.number(start)?;
            } else if let Some(p) = PUNCTS.iter().find(|p| self.rest().starts_with(**p)) {
                self.pos += p.len();
                self.tokens.push(Token {
                    tok: Tok::Punct(p),
                    span: start..self.pos,
                });
            } else {
                let c = self.text[start..].chars().next().unwrap_or('\u{FFFD}');
                return Err(KqlError::new(
                    start..start + c.len_utf8(),
                    format!("unexpected character '{c}'"),
                ));
            }
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Skips whitespace and `//` comments.
    fn skip_trivia(&mut self) {
        loop {
            while self.peek(0).is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            if self.rest().starts_with("//") {
                self.pos = memchr::memchr(b'\n', &self.bytes[self.pos..])
                    .map_or(self.bytes.len(), |i| self.pos + i);
            } else {
                return;
            }
        }
    }

    /// Recognises the opening of a string literal at the current position and consumes its
    /// prefix (`h`, `@`), returning which form follows without consuming the quote itself.
    fn string_start(&mut self) -> Option<Quote> {
        let mut skip = 0;
        if matches!(self.peek(0), Some(b'h' | b'H')) {
            skip = 1;
        }
        let quote = match (self.peek(skip), self.peek(skip + 1)) {
            (Some(b'@'), Some(q @ (b'"' | b'\''))) => {
                skip += 1;
                Quote::Verbatim(q)
            }
            (Some(q @ (b'"' | b'\'')), _) => Quote::Escaped(q),
            (Some(b'`'), _) if self.text[self.pos + skip..].starts_with("```") => Quote::MultiLine,
            _ => return None,
        };
        self.pos += skip;
        Some(quote)
    }

    /// Decodes one string literal whose opening quote is at the current position; `open` is
    /// where the literal starts, prefix included, for error spans.
    fn string(&mut self, quote: Quote, open: usize) -> Result<String, KqlError> {
        let mut value = String::new();
        match quote {
            Quote::MultiLine => {
                let body = self.pos + 3;
                let Some(len) = self.text[body..].find("```") else {
                    return Err(KqlError::new(
                        open..self.text.len(),
                        "unterminated multi-line string literal",
                    ));
                };
                value.push_str(&self.text[body..body + len]);
                self.pos = body + len + 3;
            }
            Quote::Verbatim(q) | Quote::Escaped(q) => {
                self.pos += 1;
                let verbatim = matches!(quote, Quote::Verbatim(_));
                loop {
                    let Some(c) = self.rest().chars().next() else {
                        return Err(self.unterminated(open));
                    };
                    if c == '\n' {
                        return Err(self.unterminated(open));
                    }
                    self.pos += c.len_utf8();
                    if c as u32 == u32::from(q) {
                        // In a verbatim literal a doubled quote stands for one quote character.
                        if verbatim && self.peek(0) == Some(q) {
                            self.pos += 1;
                            value.push(c);
                            continue;
                        }
                        break;
                    }
                    if c == '\\' && !verbatim {
                        value.push(self.escape()?);
                    } else {
                        value.push(c);
                    }
                }
            }
        }
        Ok(value)
    }

    fn unterminated(&self, open: usize) -> KqlError {
        let end = memchr::memchr(b'\n', &self.bytes[open..]).map_or(self.bytes.len(), |i| open + i);
        KqlError::new(open..end, "unterminated string literal")
    }

    /// Decodes the escape sequence after a backslash that has just been consumed.
    fn escape(&mut self) -> Result<char, KqlError> {
        let start = self.pos - 1;
        let Some(c) = self.rest().chars().next() else {
            return Err(KqlError::new(
                start..self.pos,
                "unterminated string literal",
            ));
        };
        self.pos += c.len_utf8();
        let decoded = match c {
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'u' => {
                let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
                let code = (hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32);
                let Some(decoded) = code else {
                    let end = (self.pos + hex.len()).min(self.text.len());
                    return Err(KqlError::new(
                        start..end,
                        "invalid \\u escape: expected four hexadecimal digits naming a character",
                    ));
                };
                self.pos += 4;
                decoded
            }
            other => {
                return Err(KqlError::new(
                    start..self.pos,
                    format!("unknown escape sequence '\\{other}'"),
                ));
            }
        };
        Ok(decoded)
    }

    /// Adds a string token, joining it to a string token right before it.
    fn push_string(&mut self, value: String, start: usize) {
        if let Some(Token {
            tok: Tok::Str(previous),
            span,
        }) = self.tokens.last_mut()
        {
            previous.push_str(&value);
            span.end = self.pos;
        } else {
            self.tokens.push(Token {
                tok: Tok::Str(value),
                span: start..self.pos,
            });
        }
    }

    fn word(&mut self, start: usize, negated: bool) {
        self.pos += usize::from(negated);
        while self
            .peek(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        if self.peek(0) == Some(b'~') {
            self.pos += 1;
        }
        self.tokens.push(Token {
            tok: Tok::Word(self.text[start..self.pos].to_owned()),
            span: start..self.pos,
        });
    }

    fn number(&mut self, start: usize) -> Result<(), KqlError> {
        let digits = |lexer: &mut Lexer<'_>, hex: bool| {
            while lexer.peek(0).is_some_and(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            }) {
                lexer.pos += 1;
            }
        };
        let tok = if self.rest().starts_with("0x") || self.rest().starts_with("0X") {
            self.pos += 2;
            digits(self, true);
            i64::from_str_radix(&self.text[start + 2..self.pos], 16)
                .ok()
                .map(Tok::Int)
        } else {
            digits(self, false);
            let mut real = false;
            // A dot starts a fraction only before a digit, so that `1..10` stays a range.
            if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
                real = true;
                self.pos += 1;
                digits(self, false);
            }
            if matches!(self.peek(0), Some(b'e' | b'E')) {
                let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
                if self.peek(1 + sign).is_some_and(|b| b.is_ascii_digit()) {
                    real = true;
                    self.pos += 1 + sign;
                    digits(self, false);
                }
            }
            let text = &self.text[start..self.pos];
            if real {
                text.parse().ok().map(Tok::Real)
            } else {
                text.parse().ok().map(Tok::Int)
            }
        };
        // A number glued to letters is a timespan (`1d`, `30m`) or a typo; neither is evaluable.
        if self
            .peek(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            while self
                .peek(0)
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                self.pos += 1;
            }
            let unit = self.text[start..self.pos].trim_start_matches(|c: char| c.is_ascii_digit());
            let unit_ms = match unit {
                _ if !self.timespans || tok.is_none() => None,
                "d" => Some(86_400_000),
                "h" => Some(3_600_000),
                "m" => Some(60_000),
                "s" => Some(1_000),
                "ms" => Some(1),
                _ => None,
            };
            if let (Some(unit_ms), Some(Tok::Int(count))) = (unit_ms, &tok) {
                let Some(ms) = count.checked_mul(unit_ms) else {
                    return Err(KqlError::new(start..self.pos, "timespan out of range"));
                };
                self.tokens.push(Token {
                    tok: Tok::Timespan(ms),
                    span: start..self.pos,
                });
                return Ok(());
            }
            return Err(KqlError::unsupported(
                start..self.pos,
                &self.text[start..self.pos],
            ));
        }
        let Some(tok) = tok else {
            return Err(KqlError::new(start..self.pos, "number out of range"));
        };
        self.tokens.push(Token {
            tok,
            span: start..self.pos,
        });
        Ok(())
    }
}

/// The kind of string literal being read, with its quote byte.
#[derive(Clone, Copy)]
enum Quote {
    Escaped(u8),
    Verbatim(u8),
    MultiLine,
}

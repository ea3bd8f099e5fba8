//! The recursive-descent parser: a table name, `| where` stages, and their predicates, compiled
//! into the tree of [`crate::ast`] with regexes built and needles lowercased once.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::Range;

use ipnet::{IpNet, Ipv6Net};
use regex::RegexBuilder;

use crate::ast::{Expr, InSet, Number, Operand, Pred, Test, TextKind, TextTest};
use crate::error::KqlError;
use crate::lexer::{Tok, Token};

/// The deepest nesting of parentheses and `not(...)` accepted, so that hostile input cannot
/// exhaust the stack during parsing, evaluation or dropping of the tree.
const MAX_DEPTH: usize = 256;

/// The largest compiled regex accepted, in bytes, so that one predicate cannot eat the memory.
const REGEX_SIZE_LIMIT: usize = 1 << 22;

/// Words that start a query but are not tables or functions we can read from.
const STATEMENTS: &[&str] = &[
    "let",
    "union",
    "search",
    "find",
    "print",
    "range",
    "datatable",
    "externaldata",
    "evaluate",
    "set",
    "declare",
    "materialize",
    "alias",
    "pattern",
];

/// A parsed query: the table it reads and one expression per `| where` stage.
pub(crate) struct Parsed {
    pub table: String,
    pub stages: Vec<Expr>,
}

pub(crate) fn parse(tokens: Vec<Token>) -> Result<Parsed, KqlError> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        last_end: 0,
    };
    parser.query()
}

/// Parses the tokens of one `where` predicate (ending with `Eof`) in the filtering subset, for
/// the `where` stages of tabular scripts that are no scalar expression.
pub(crate) fn parse_predicate(tokens: Vec<Token>) -> Result<Expr, KqlError> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        last_end: 0,
    };
    let expr = parser.or_expr()?;
    let next = parser.bump();
    if next.tok != Tok::Eof {
        return Err(KqlError::new(
            next.span,
            format!(
                "expected 'and', 'or' or the end of the predicate, found {}",
                describe(&next.tok)
            ),
        ));
    }
    Ok(expr)
}

/// A literal on the right-hand side of an operator.
enum Lit {
    Str(String),
    Num(Number),
    Bool(bool),
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// The end of the last consumed token, which is where the current construct's span ends.
    last_end: usize,
}

impl Parser {
    fn query(&mut self) -> Result<Parsed, KqlError> {
        let first = self.bump();
        let table = match first.tok {
            Tok::Word(name) if STATEMENTS.contains(&name.as_str()) => {
                return Err(KqlError::unsupported(first.span, &name));
            }
            Tok::Word(name) if is_identifier(&name) => name,
            other => {
                return Err(KqlError::new(
                    first.span,
                    format!(
                        "expected a table or function name, found {}",
                        describe(&other)
                    ),
                ));
            }
        };
        if self.eat_punct("(") {
            let next = self.peek().clone();
            if next.tok != Tok::Punct(")") {
                return Err(KqlError::unsupported(next.span, "function arguments"));
            }
            self.bump();
        }
        let mut stages = Vec::new();
        loop {
            let next = self.bump();
            match next.tok {
                Tok::Eof => break,
                Tok::Punct("|") => stages.push(self.stage()?),
                Tok::Punct(";") => return Err(KqlError::unsupported(next.span, ";")),
                other => {
                    let message = if stages.is_empty() {
                        format!(
                            "expected '|' or the end of the query, found {}",
                            describe(&other)
                        )
                    } else {
                        format!(
                            "expected 'and', 'or', '|' or the end of the query, found {}",
                            describe(&other)
                        )
                    };
                    return Err(KqlError::new(next.span, message));
                }
            }
        }
        Ok(Parsed { table, stages })
    }

    /// One tabular operator after `|`; only `where` and its synonym `filter` can be evaluated.
    fn stage(&mut self) -> Result<Expr, KqlError> {
        let op = self.bump();
        match op.tok {
            Tok::Word(w) if w == "where" || w == "filter" => self.or_expr(),
            Tok::Word(w) => Err(KqlError::unsupported(op.span, &w)),
            other => Err(KqlError::new(
                op.span,
                format!(
                    "expected a tabular operator after '|', found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, KqlError> {
        let first = self.and_expr()?;
        if !self.is_word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_word("or") {
            items.push(self.and_expr()?);
        }
        Ok(Expr::Or {
            span: span_of_items(&items),
            items,
        })
    }

    fn and_expr(&mut self) -> Result<Expr, KqlError> {
        let first = self.primary()?;
        if !self.is_word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_word("and") {
            items.push(self.primary()?);
        }
        Ok(Expr::And {
            span: span_of_items(&items),
            items,
        })
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let token = self.peek().clone();
        match &token.tok {
            Tok::Punct("(") => {
                self.enter(&token.span)?;
                self.bump();
                let mut inner = self.or_expr()?;
                self.expect_punct(")")?;
                self.depth -= 1;
                inner.set_span(token.span.start..self.last_end);
                Ok(inner)
            }
            Tok::Word(name) if self.peek_at(1).tok == Tok::Punct("(") => {
                self.call(name, token.span)
            }
            Tok::Word(w) if w == "and" || w == "or" => Err(KqlError::new(
                token.span,
                format!("expected a predicate, found '{w}'"),
            )),
            Tok::Word(_) | Tok::Punct("[" | "*") => self.field_predicate(),
            other => Err(KqlError::new(
                token.span,
                format!("expected a predicate, found {}", describe(other)),
            )),
        }
    }

    /// Counts one level of nesting, refusing to go past [`MAX_DEPTH`].
    fn enter(&mut self, span: &Range<usize>) -> Result<(), KqlError> {
        if self.depth >= MAX_DEPTH {
            return Err(KqlError::new(
                span.clone(),
                format!("the expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// A function call in predicate position: `not(...)` or one of the field tests.
    fn call(&mut self, name: &str, name_span: Range<usize>) -> Result<Expr, KqlError> {
        let start = name_span.start;
        match name {
            "not" => {
                self.bump();
                let open = self.bump();
                self.enter(&open.span)?;
                let inner = self.or_expr()?;
                self.expect_punct(")")?;
                self.depth -= 1;
                Ok(Expr::Not {
                    span: start..self.last_end,
                    inner: Box::new(inner),
                })
            }
            // A predicate made two-valued: only a boolean literal as the default.
            "coalesce" => {
                self.bump();
                let open = self.bump();
                self.enter(&open.span)?;
                let inner = self.or_expr()?;
                self.expect_punct(",")?;
                let token = self.bump();
                let default = match &token.tok {
                    Tok::Word(w) if w == "true" => true,
                    Tok::Word(w) if w == "false" => false,
                    other => {
                        return Err(KqlError::new(
                            token.span,
                            format!(
                                "not supported for local evaluation: a 'coalesce' default other than true or false, found {}",
                                describe(other)
                            ),
                        ));
                    }
                };
                self.expect_punct(")")?;
                self.depth -= 1;
                Ok(Expr::Coalesce {
                    span: start..self.last_end,
                    inner: Box::new(inner),
                    default,
                })
            }
            "isempty" | "isnotempty" | "isnull" | "isnotnull" => {
                self.bump();
                self.bump();
                let (field, _) = self.field()?;
                self.expect_punct(")")?;
                let test = if name.ends_with("empty") {
                    Test::Empty
                } else {
                    Test::Null
                };
                Ok(Expr::Pred(Box::new(Pred {
                    span: start..self.last_end,
                    field,
                    any_column: false,
                    negated: name.starts_with("isnot"),
                    test,
                })))
            }
            "ipv4_is_in_range" | "ipv6_is_in_range" => {
                self.bump();
                self.bump();
                let (field, _) = self.field()?;
                self.expect_punct(",")?;
                let (range, range_span) = self.string_literal()?;
                self.expect_punct(")")?;
                let net = parse_range(&range, name == "ipv6_is_in_range")
                    .ok_or_else(|| KqlError::new(range_span, invalid_range_message(name)))?;
                Ok(Expr::Pred(Box::new(Pred {
                    span: start..self.last_end,
                    field,
                    any_column: false,
                    negated: false,
                    test: Test::IpRange(net),
                })))
            }
            "todouble" | "toreal" => {
                self.bump();
                self.bump();
                let (field, _) = self.field()?;
                self.expect_punct(")")?;
                // Only a numeric comparison reads the converted value the way it is evaluated.
                let next = self.peek().clone();
                let numeric = match &next.tok {
                    Tok::Punct(p) => matches!(*p, "==" | "!=" | "<" | "<=" | ">" | ">="),
                    Tok::Word(w) => matches!(w.as_str(), "between" | "!between"),
                    _ => false,
                };
                if !numeric {
                    return Err(KqlError::new(
                        next.span,
                        format!(
                            "not supported for local evaluation: '{name}(...)' other than in a numeric comparison"
                        ),
                    ));
                }
                self.predicate_on(field, start..self.last_end, false)
            }
            // The joined columns of a Sigma field, tested like a column.
            "iff" => {
                let (field, span) = self.field()?;
                self.predicate_on(field, span, false)
            }
            other => Err(KqlError::unsupported(name_span, other)),
        }
    }

    /// A column (bare or `["…"]`), or the joined columns the converter writes for a Sigma field
    /// two columns hold together ([`Operand::Joined`]).
    fn field(&mut self) -> Result<(Operand, Range<usize>), KqlError> {
        let token = self.bump();
        match token.tok {
            Tok::Word(w) if w == "iff" && self.peek().tok == Tok::Punct("(") => {
                let operand = self.joined()?;
                Ok((operand, token.span.start..self.last_end))
            }
            Tok::Word(w) if is_identifier(&w) && !matches!(w.as_str(), "and" | "or") => {
                if w == "true" || w == "false" {
                    return Err(KqlError::new(
                        token.span,
                        format!("expected a field name, found '{w}'"),
                    ));
                }
                Ok((Operand::Column(w), token.span))
            }
            Tok::Punct("[") => {
                let (name, _) = self.string_literal()?;
                self.expect_punct("]")?;
                Ok((Operand::Column(name), token.span.start..self.last_end))
            }
            other => Err(KqlError::new(
                token.span,
                format!("expected a field name, found {}", describe(&other)),
            )),
        }
    }

    /// The rest of `iff(isempty(V), K, strcat(K, "sep", V))` after `iff`: the one `iff` shape
    /// the converter writes; any other is refused.
    fn joined(&mut self) -> Result<Operand, KqlError> {
        let open = self.bump();
        self.enter(&open.span)?;
        let start = open.span.start;
        let refuse = |span: Range<usize>| {
            KqlError::new(
                span,
                "not supported for local evaluation: an 'iff' other than \
                 iff(isempty(V), K, strcat(K, \"separator\", V))",
            )
        };
        let word = |parser: &mut Parser, word: &str| {
            let token = parser.bump();
            if token.tok == Tok::Word(word.to_owned()) && parser.eat_punct("(") {
                Ok(())
            } else {
                Err(refuse(token.span))
            }
        };
        let column = |parser: &mut Parser| match parser.field()? {
            (Operand::Column(name), _) => Ok(name),
            (Operand::Joined { .. }, span) => Err(refuse(span)),
        };
        word(self, "isempty")?;
        let value = column(self)?;
        self.expect_punct(")")?;
        self.expect_punct(",")?;
        let key = column(self)?;
        self.expect_punct(",")?;
        word(self, "strcat")?;
        let key_again = column(self)?;
        self.expect_punct(",")?;
        let (separator, _) = self.string_literal()?;
        self.expect_punct(",")?;
        let value_again = column(self)?;
        self.expect_punct(")")?;
        self.expect_punct(")")?;
        self.depth -= 1;
        if key != key_again || value != value_again {
            return Err(refuse(start..self.last_end));
        }
        Ok(Operand::Joined {
            key,
            value,
            separator,
        })
    }

    fn field_predicate(&mut self) -> Result<Expr, KqlError> {
        if self.eat_punct("*") {
            let span = self.tokens[self.pos - 1].span.clone();
            return self.predicate_on(Operand::Column("*".to_owned()), span, true);
        }
        let (field, field_span) = self.field()?;
        self.predicate_on(field, field_span, false)
    }

    /// The operator and right-hand side after a field (or `*`, when `any_column` is set).
    fn predicate_on(
        &mut self,
        field: Operand,
        field_span: Range<usize>,
        any_column: bool,
    ) -> Result<Expr, KqlError> {
        let start = field_span.start;
        let token = self.peek().clone();
        let op = match &token.tok {
            // A field on its own is a boolean column tested for true.
            Tok::Word(w) if w == "and" || w == "or" => None,
            Tok::Punct("|" | ")") | Tok::Eof => None,
            Tok::Punct("." | "[") => {
                return Err(KqlError::unsupported(token.span, "dynamic property access"));
            }
            Tok::Punct(p @ ("==" | "!=" | "=~" | "!~" | "<" | "<=" | ">" | ">=")) => {
                Some((*p).to_owned())
            }
            Tok::Word(w) if w == "matches" => {
                self.bump();
                let next = self.peek().clone();
                if next.tok != Tok::Word("regex".to_owned()) {
                    return Err(KqlError::new(
                        next.span,
                        format!(
                            "expected 'regex' after 'matches', found {}",
                            describe(&next.tok)
                        ),
                    ));
                }
                Some("matches regex".to_owned())
            }
            Tok::Word(w) => Some(w.clone()),
            Tok::Punct("=") => {
                return Err(KqlError::new(
                    token.span,
                    "unknown operator '='; use '==' to compare",
                ));
            }
            other => {
                return Err(KqlError::new(
                    token.span,
                    format!(
                        "expected an operator after the field '{}', found {}",
                        field.name(),
                        describe(other)
                    ),
                ));
            }
        };
        let Some(op) = op else {
            if any_column {
                return Err(KqlError::new(
                    token.span,
                    format!(
                        "expected an operator after '*', found {}",
                        describe(&token.tok)
                    ),
                ));
            }
            return Ok(Expr::Pred(Box::new(Pred {
                span: field_span,
                field,
                any_column,
                negated: false,
                test: Test::Bool(true),
            })));
        };
        let op_span = self.peek().span.clone();
        let negated = op.starts_with('!');
        let positive = op.strip_prefix('!').unwrap_or(&op);
        let test = match positive {
            "=" | "==" => {
                self.bump();
                match self.literal()? {
                    (Lit::Str(s), _) => {
                        Test::Text(Box::new(TextTest::new(TextKind::Equals, true, &s)))
                    }
                    (Lit::Num(n), _) => Test::Compare(Ordering::Equal, false, n),
                    (Lit::Bool(b), _) => Test::Bool(b),
                }
            }
            "~" | "=~" => {
                self.bump();
                let (s, _) = self.string_literal()?;
                Test::Text(Box::new(TextTest::new(TextKind::Equals, false, &s)))
            }
            "<" | "<=" | ">" | ">=" => {
                self.bump();
                let (n, _) = self.number_literal()?;
                let ordering = if positive.starts_with('<') {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                Test::Compare(ordering, positive.ends_with('='), n)
            }
            "in" | "in~" => {
                self.bump();
                Test::In(self.in_set(positive == "in")?)
            }
            "has_any" | "has_all" if !negated => {
                self.bump();
                let mut needles = Vec::new();
                for (lit, span) in self.list()? {
                    let Lit::Str(s) = lit else {
                        return Err(KqlError::new(span, "expected a string literal"));
                    };
                    needles.push(TextTest::new(TextKind::Has, false, &s));
                }
                Test::Terms {
                    needles,
                    all: positive == "has_all",
                }
            }
            "between" => {
                self.bump();
                self.expect_punct("(")?;
                let (low, _) = self.number_literal()?;
                self.expect_punct("..")?;
                let (high, _) = self.number_literal()?;
                self.expect_punct(")")?;
                Test::Between(low, high)
            }
            "matches regex" if !negated => {
                self.bump();
                let (pattern, span) = self.string_literal()?;
                let regex = RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| KqlError::new(span, format!("invalid regular expression: {e}")))?;
                Test::Regex(regex)
            }
            other => {
                let Some((kind, case_sensitive)) = text_operator(other) else {
                    return Err(KqlError::new(op_span, format!("unknown operator '{op}'")));
                };
                self.bump();
                let (s, _) = self.string_literal()?;
                Test::Text(Box::new(TextTest::new(kind, case_sensitive, &s)))
            }
        };
        Ok(Expr::Pred(Box::new(Pred {
            span: start..self.last_end,
            field,
            any_column,
            negated,
            test,
        })))
    }

    fn in_set(&mut self, case_sensitive: bool) -> Result<InSet, KqlError> {
        let mut set = InSet {
            case_sensitive,
            strings: HashSet::new(),
            numbers: Vec::new(),
            bools: Vec::new(),
        };
        for (lit, _) in self.list()? {
            match lit {
                Lit::Str(s) if case_sensitive => {
                    set.strings.insert(s);
                }
                Lit::Str(s) => {
                    set.strings.insert(ruleproof_sigma::fold::fold_case(&s));
                }
                Lit::Num(n) => set.numbers.push(n),
                Lit::Bool(b) => set.bools.push(b),
            }
        }
        Ok(set)
    }

    /// A parenthesised list of literals, where `dynamic([...])` items are spliced in; a bare
    /// `dynamic([...])` is accepted too.
    fn list(&mut self) -> Result<Vec<(Lit, Range<usize>)>, KqlError> {
        let mut items = Vec::new();
        if self.is_word("dynamic") {
            self.dynamic(&mut items)?;
            return Ok(items);
        }
        self.expect_punct("(")?;
        if self.eat_punct(")") {
            return Ok(items);
        }
        loop {
            if self.is_word("dynamic") {
                self.dynamic(&mut items)?;
            } else {
                items.push(self.literal()?);
            }
            if !self.eat_punct(",") {
                self.expect_punct(")")?;
                return Ok(items);
            }
        }
    }

    fn dynamic(&mut self, items: &mut Vec<(Lit, Range<usize>)>) -> Result<(), KqlError> {
        self.bump();
        self.expect_punct("(")?;
        self.expect_punct("[")?;
        if !self.eat_punct("]") {
            loop {
                items.push(self.literal()?);
                if !self.eat_punct(",") {
                    self.expect_punct("]")?;
                    break;
                }
            }
        }
        self.expect_punct(")")?;
        Ok(())
    }

    fn literal(&mut self) -> Result<(Lit, Range<usize>), KqlError> {
        let token = self.bump();
        let span = token.span.clone();
        let lit = match token.tok {
            Tok::Str(s) => Lit::Str(s),
            Tok::Int(i) => Lit::Num(Number::Int(i)),
            Tok::Real(r) => Lit::Num(Number::Real(r)),
            Tok::Punct("-") => {
                let number = self.bump();
                let negated = match number.tok {
                    Tok::Int(i) => i.checked_neg().map(Number::Int),
                    Tok::Real(r) => Some(Number::Real(-r)),
                    other => {
                        return Err(KqlError::new(
                            number.span,
                            format!("expected a number after '-', found {}", describe(&other)),
                        ));
                    }
                };
                let span = span.start..number.span.end;
                let Some(n) = negated else {
                    return Err(KqlError::new(span, "number out of range"));
                };
                return Ok((Lit::Num(n), span));
            }
            Tok::Word(w) if w == "true" => Lit::Bool(true),
            Tok::Word(w) if w == "false" => Lit::Bool(false),
            Tok::Word(w) if self.peek().tok == Tok::Punct("(") => {
                return Err(KqlError::unsupported(span, &w));
            }
            Tok::Word(w) if is_identifier(&w) => {
                return Err(KqlError::new(
                    span,
                    format!(
                        "not supported for local evaluation: '{w}' (only literals can be compared)"
                    ),
                ));
            }
            other => {
                return Err(KqlError::new(
                    span,
                    format!("expected a literal, found {}", describe(&other)),
                ));
            }
        };
        Ok((lit, span))
    }

    fn string_literal(&mut self) -> Result<(String, Range<usize>), KqlError> {
        let token = self.peek().clone();
        if let Tok::Str(_) = token.tok {
            if let (Lit::Str(s), span) = self.literal()? {
                return Ok((s, span));
            }
        } else if let Tok::Word(_) = token.tok {
            // Let `literal` explain an unsupported function call or field reference.
            self.literal()?;
        }
        Err(KqlError::new(
            token.span,
            format!("expected a string literal, found {}", describe(&token.tok)),
        ))
    }

    fn number_literal(&mut self) -> Result<(Number, Range<usize>), KqlError> {
        let start = self.peek().clone();
        match self.literal()? {
            (Lit::Num(n), span) => Ok((n, span)),
            (_, span) => Err(KqlError::new(
                span,
                format!("expected a number, found {}", describe(&start.tok)),
            )),
        }
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `ahead` places on; the stream always ends with `Eof`, which repeats forever.
    fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::Eof {
            self.pos += 1;
            self.last_end = token.span.end;
        }
        token
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.is_word(word);
        if found {
            self.bump();
        }
        found
    }

    fn eat_punct(&mut self, punct: &str) -> bool {
        let found = matches!(self.peek().tok, Tok::Punct(p) if p == punct);
        if found {
            self.bump();
        }
        found
    }

    fn expect_punct(&mut self, punct: &str) -> Result<(), KqlError> {
        if self.eat_punct(punct) {
            return Ok(());
        }
        let token = self.peek();
        Err(KqlError::new(
            token.span.clone(),
            format!("expected '{punct}', found {}", describe(&token.tok)),
        ))
    }
}

fn span_of_items(items: &[Expr]) -> Range<usize> {
    let start = items.first().map_or(0, |e| e.span().start);
    let end = items.last().map_or(start, |e| e.span().end);
    start..end
}

/// The string operators that take one string needle, by their positive spelling.
fn text_operator(op: &str) -> Option<(TextKind, bool)> {
    let (base, case_sensitive) = match op.strip_suffix("_cs") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let kind = match base {
        "has" => TextKind::Has,
        "hasprefix" => TextKind::HasPrefix,
        "hassuffix" => TextKind::HasSuffix,
        "contains" => TextKind::Contains,
        "startswith" => TextKind::StartsWith,
        "endswith" => TextKind::EndsWith,
        _ => return None,
    };
    Some((kind, case_sensitive))
}

/// A plain identifier, as opposed to an operator word carrying `!` or `~`.
fn is_identifier(word: &str) -> bool {
    word.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a CIDR block or a single address. For IPv6 ranges an IPv4 block becomes its
/// IPv4-mapped IPv6 block, so that one comparison serves both address families.
fn parse_range(text: &str, v6: bool) -> Option<IpNet> {
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    match (net, v6) {
        (IpNet::V4(_), false) | (IpNet::V6(_), true) => Some(net),
        (IpNet::V6(_), false) => None,
        (IpNet::V4(v4), true) => Ipv6Net::new(v4.addr().to_ipv6_mapped(), v4.prefix_len() + 96)
            .ok()
            .map(IpNet::V6),
    }
}

fn invalid_range_message(function: &str) -> String {
    if function == "ipv6_is_in_range" {
        "invalid IP range: expected an address or a CIDR block such as \"fe80::/10\"".to_owned()
    } else {
        "invalid IPv4 range: expected an address or a CIDR block such as \"10.0.0.0/8\"".to_owned()
    }
}

pub(crate) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(_) => "a string literal".to_owned(),
        Tok::Int(_) | Tok::Real(_) => "a number".to_owned(),
        Tok::Timespan(_) => "a timespan".to_owned(),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "the end of the query".to_owned(),
    }
}

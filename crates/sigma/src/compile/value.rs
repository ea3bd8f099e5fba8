//! One value of an item lowered into the typed tests its modifiers make of it, then compiled
//! into the matchers that evaluate those tests.

use ipnet::IpNet;

use super::{
    Build, CompileOptions, NumOp, Position, TimePart, ValueMatcher, ValueTest, is_string_modifier,
    value_patterns,
};
use crate::detection::{Item, RuleValue, Scalar};
use crate::error::{ErrorKind, SigmaError};
use crate::event::FieldPath;
use crate::lazy_regex::{LazyRegex, RegexFlags};
use crate::modifier::Modifier;
use crate::pattern::{self, StrMatcher};
use crate::source::Span;

/// The NFA size limit of a `|re` value's regex (the `regex` crate's `size_limit`): larger
/// than the crate's default of 10 MiB, so long SigmaHQ alternations build.
const RE_SIZE_LIMIT: usize = 16 * 1024 * 1024;

/// The typed test (or, for expansions, the alternative tests) one value of an item stands for.
pub(super) fn lower_value(
    item: &Item,
    value: &RuleValue,
    cased: bool,
    options: &CompileOptions,
) -> Result<Vec<ValueTest>, SigmaError> {
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let invalid = |message: String| SigmaError::new(ErrorKind::InvalidValue, value.span, message);

    if has(Modifier::Exists) {
        return match value.value {
            Scalar::Bool(b) if item.values.len() == 1 => Ok(vec![ValueTest::Exists(b)]),
            _ => Err(invalid(
                "`exists` takes a single `true` or `false`".to_owned(),
            )),
        };
    }
    if has(Modifier::FieldRef) {
        let Scalar::String(other) = &value.value else {
            return Err(invalid(
                "`fieldref` takes the name of another field".to_owned(),
            ));
        };
        let position = if has(Modifier::Contains) {
            Position::Contains
        } else if has(Modifier::StartsWith) {
            Position::Prefix
        } else if has(Modifier::EndsWith) {
            Position::Suffix
        } else {
            Position::Exact
        };
        return Ok(vec![ValueTest::FieldRef {
            other: other.clone(),
            position,
            cased,
        }]);
    }
    if has(Modifier::Re) {
        let Scalar::String(text) = &value.value else {
            return Err(invalid("`re` takes a regular expression string".to_owned()));
        };
        return Ok(vec![ValueTest::Regex {
            pattern: text.clone(),
            insensitive: has(Modifier::ReInsensitive),
            multiline: has(Modifier::ReMultiline),
            dot_all: has(Modifier::ReDotAll),
        }]);
    }
    if has(Modifier::Cidr) {
        let text = value.value.text();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| invalid(format!("`{text}` is not a CIDR range")))?;
        return Ok(vec![ValueTest::Cidr(net.trunc())]);
    }
    let time_part = item.modifiers.iter().find_map(|(m, _)| match m {
        Modifier::Minute => Some(TimePart::Minute),
        Modifier::Hour => Some(TimePart::Hour),
        Modifier::Day => Some(TimePart::Day),
        Modifier::Week => Some(TimePart::Week),
        Modifier::Month => Some(TimePart::Month),
        Modifier::Year => Some(TimePart::Year),
        _ => None,
    });
    let num_op = item.modifiers.iter().find_map(|(m, _)| match m {
        Modifier::Lt => Some(NumOp::Lt),
        Modifier::Lte => Some(NumOp::Lte),
        Modifier::Gt => Some(NumOp::Gt),
        Modifier::Gte => Some(NumOp::Gte),
        _ => None,
    });
    if time_part.is_some() || num_op.is_some() {
        let number = match &value.value {
            Scalar::Int(i) => *i as f64,
            Scalar::Float(f) => *f,
            Scalar::String(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(format!("`{s}` is not a number")))?,
            other => return Err(invalid(format!("`{}` is not a number", other.text()))),
        };
        let op = num_op.unwrap_or(NumOp::Eq);
        return Ok(vec![match time_part {
            Some(part) => ValueTest::TimePart(part, op, number),
            None => ValueTest::Number(op, number),
        }]);
    }
    // A number or boolean on a field, with no modifier that reads it as text, stays typed so
    // that a converter can write it as a number; the engine compares its text all the same.
    let untransformed = !item.modifiers.iter().any(|(m, _)| is_string_modifier(*m));
    if item.field.is_some()
        && untransformed
        && matches!(
            value.value,
            Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_)
        )
    {
        return Ok(vec![ValueTest::Equals(value.value.clone())]);
    }
    Ok(match value_patterns(item, value, options)? {
        None => vec![ValueTest::Null],
        Some(alternatives) => alternatives.into_iter().map(ValueTest::Pattern).collect(),
    })
}

/// The matchers that evaluate a value's lowered tests: regular expressions and string patterns
/// are compiled here, once. With [`Build::ErrorsOnly`] the string tests that cannot fail (plain
/// literals, prefixes, suffixes, substrings) are left out.
pub(super) fn compile_tests(
    tests: &[ValueTest],
    cased: bool,
    span: Span,
    build: Build,
) -> Result<Vec<ValueMatcher>, SigmaError> {
    let string = |parts: &[pattern::Part]| {
        let build = |cased: bool| {
            StrMatcher::compile(parts, cased).map_err(|e| {
                SigmaError::new(
                    ErrorKind::InvalidValue,
                    span,
                    format!("the value cannot be compiled: {}", regex_reason(&e)),
                )
            })
        };
        Ok::<_, SigmaError>(ValueMatcher::Str {
            matcher: build(cased)?,
            cased,
            folded_twin: if cased {
                Some(Box::new(build(false)?))
            } else {
                None
            },
        })
    };
    let mut matchers = Vec::with_capacity(tests.len());
    for test in tests {
        matchers.push(match test {
            ValueTest::Exists(b) => ValueMatcher::Exists(*b),
            ValueTest::FieldRef {
                other,
                position,
                cased,
            } => ValueMatcher::FieldRef {
                other: FieldPath::new(other),
                position: *position,
                cased: *cased,
            },
            ValueTest::Regex {
                pattern,
                insensitive,
                multiline,
                dot_all,
            } => {
                let flags = RegexFlags {
                    insensitive: *insensitive,
                    multiline: *multiline,
                    dot_all: *dot_all,
                };
                ValueMatcher::Regex(LazyRegex::new(pattern, flags, RE_SIZE_LIMIT).map_err(|e| {
                    SigmaError::new(
                        ErrorKind::InvalidRegex,
                        span,
                        format!(
                            "the regular expression does not compile: {}",
                            regex_reason(&e)
                        ),
                    )
                })?)
            }
            ValueTest::Cidr(net) => ValueMatcher::Cidr(*net),
            ValueTest::Number(op, n) => ValueMatcher::Number(*op, *n),
            ValueTest::TimePart(part, op, n) => ValueMatcher::TimePart(*part, *op, *n),
            // A literal compiles to a plain matcher, which cannot fail.
            ValueTest::Equals(_) if build == Build::ErrorsOnly => continue,
            ValueTest::Equals(scalar) => string(&pattern::literal_parts(&scalar.text()))?,
            ValueTest::Null => ValueMatcher::Null,
            ValueTest::Pattern(parts)
                if build == Build::ErrorsOnly && !StrMatcher::can_fail(parts) =>
            {
                continue;
            }
            ValueTest::Pattern(parts) => string(parts)?,
        });
    }
    Ok(matchers)
}

/// The regex crate's message without the pattern echo, and a hint for what it does not support.
pub(super) fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map_or(text.as_str(), |l| l.trim_start_matches("error:").trim());
    if reason.contains("look-around") || reason.contains("backreferences") {
        format!("{reason} (the regex engine has no look-around or backreferences)")
    } else {
        reason.to_owned()
    }
}

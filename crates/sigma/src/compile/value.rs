//! One value of an item compiled into the typed test its modifiers make of it.

use ipnet::IpNet;

use super::{CompileOptions, NumOp, Position, TimePart, ValueMatcher, value_patterns};
use crate::detection::{Item, RuleValue, Scalar};
use crate::error::{ErrorKind, SigmaError};
use crate::event::FieldPath;
use crate::modifier::Modifier;
use crate::pattern::StrMatcher;

/// The typed test (or, for expansions, the alternative tests) one value of an item stands for.
pub(super) fn compile_value(
    item: &Item,
    value: &RuleValue,
    cased: bool,
    options: &CompileOptions,
) -> Result<Vec<ValueMatcher>, SigmaError> {
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let invalid = |message: String| SigmaError::new(ErrorKind::InvalidValue, value.span, message);

    if has(Modifier::Exists) {
        return match value.value {
            Scalar::Bool(b) if item.values.len() == 1 => Ok(vec![ValueMatcher::Exists(b)]),
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
        return Ok(vec![ValueMatcher::FieldRef {
            other: FieldPath::new(other),
            position,
            cased,
        }]);
    }
    if has(Modifier::Re) {
        let Scalar::String(text) = &value.value else {
            return Err(invalid("`re` takes a regular expression string".to_owned()));
        };
        let mut builder = regex::RegexBuilder::new(text);
        builder
            .case_insensitive(has(Modifier::ReInsensitive))
            .multi_line(has(Modifier::ReMultiline))
            .dot_matches_new_line(has(Modifier::ReDotAll))
            .size_limit(16 * 1024 * 1024);
        return builder
            .build()
            .map(|re| vec![ValueMatcher::Regex(re)])
            .map_err(|e| {
                SigmaError::new(
                    ErrorKind::InvalidRegex,
                    value.span,
                    format!(
                        "the regular expression does not compile: {}",
                        regex_reason(&e)
                    ),
                )
            });
    }
    if has(Modifier::Cidr) {
        let text = value.value.text();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| invalid(format!("`{text}` is not a CIDR range")))?;
        return Ok(vec![ValueMatcher::Cidr(net.trunc())]);
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
            Some(part) => ValueMatcher::TimePart(part, op, number),
            None => ValueMatcher::Number(op, number),
        }]);
    }

    let Some(alternatives) = value_patterns(item, value, options)? else {
        return Ok(vec![ValueMatcher::Null]);
    };
    let mut matchers = Vec::with_capacity(alternatives.len());
    for parts in alternatives {
        let build = |cased: bool| {
            StrMatcher::compile(&parts, cased).map_err(|e| {
                SigmaError::new(
                    ErrorKind::InvalidValue,
                    value.span,
                    format!("the value cannot be compiled: {}", regex_reason(&e)),
                )
            })
        };
        matchers.push(ValueMatcher::Str {
            matcher: build(cased)?,
            cased,
            folded_twin: if cased { Some(build(false)?) } else { None },
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

//! The string patterns a value stands for once its transforming modifiers are applied, read by
//! the lowering of a value (`value.rs`) and by the crates that change or generate from a rule's
//! written form (mutation testing, event generation).

use super::{CompileOptions, expand_placeholders};
use crate::detection::{Item, RuleValue, Scalar};
use crate::error::{ErrorKind, SigmaError};
use crate::modifier::Modifier;
use crate::pattern::{self, Part};
use crate::source::Span;

/// The string patterns a value stands for once its modifiers are applied: placeholders expanded,
/// then `windash`, the encodings and `contains`/`startswith`/`endswith` in the order written.
/// Several patterns are alternatives (ORed). `None` means the value is `null`.
///
/// The lowering of a value reads it (see [`LoweredRule`](crate::LoweredRule), which renderers
/// such as the KQL converter consume); mutation testing and event generation still call it on
/// the written form.
///
/// # Errors
///
/// A placeholder without values, an encoding of a value with wildcards, or a modifier that
/// cannot follow a text encoding, at the value's or the modifier's span.
pub fn value_patterns(
    item: &Item,
    value: &RuleValue,
    options: &CompileOptions,
) -> Result<Option<Vec<Vec<Part>>>, SigmaError> {
    let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let invalid = |message: String| SigmaError::new(ErrorKind::InvalidValue, value.span, message);
    let string_modifiers = item
        .modifiers
        .iter()
        .filter(|(m, _)| is_string_modifier(*m))
        .collect::<Vec<_>>();
    let text = match &value.value {
        Scalar::Null => {
            if let Some((m, span)) = string_modifiers.first() {
                return Err(SigmaError::new(
                    ErrorKind::InvalidModifier,
                    *span,
                    format!("`{m}` cannot be applied to null"),
                ));
            }
            return Ok(None);
        }
        Scalar::String(s) => s.clone(),
        // Numbers and booleans compare as the text they are written as, so `4688` matches the
        // event's `4688` and `"4688"` alike.
        other => other.text(),
    };
    let wildcards_allowed = matches!(value.value, Scalar::String(_));

    // Placeholders expand before anything else, into alternatives.
    let texts: Vec<String> = if has(Modifier::Expand) {
        expand_placeholders(&text, options)
            .map_err(|m| SigmaError::new(ErrorKind::Placeholder, value.span, m))?
    } else {
        vec![text]
    };

    let mut patterns = Vec::new();
    for text in texts {
        let parts = if wildcards_allowed {
            pattern::parse_sigma_string(&text)
        } else {
            pattern::literal_parts(&text)
        };
        let mut stages = vec![Stage::Parts(parts)];
        for (modifier, span) in &item.modifiers {
            stages = apply_transform(*modifier, *span, stages)?;
        }
        // Keywords are found anywhere in a value, as a full-text search finds them, unless a
        // position modifier says otherwise.
        if item.field.is_none() && !item.modifiers.iter().any(|(m, _)| m.is_position()) {
            stages = apply_transform(Modifier::Contains, item.key_span, stages)?;
        }
        for stage in stages {
            patterns.push(match stage {
                Stage::Parts(parts) => parts,
                Stage::Bytes(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => pattern::literal_parts(&s),
                    Err(_) => {
                        return Err(invalid(
                            "the encoded value is not text; follow the encoding with `base64` or `base64offset`"
                                .to_owned(),
                        ));
                    }
                },
            });
        }
    }
    Ok(Some(patterns))
}

/// Whether a modifier reads the value as text and transforms it: a position, `windash`, an
/// encoding or `expand`.
pub(super) fn is_string_modifier(m: Modifier) -> bool {
    m.is_position()
        || m.is_encoding()
        || matches!(
            m,
            Modifier::Windash | Modifier::Base64 | Modifier::Base64Offset | Modifier::Expand
        )
}

/// A value on its way through the transforming modifiers.
enum Stage {
    Parts(Vec<Part>),
    Bytes(Vec<u8>),
}

fn apply_transform(
    modifier: Modifier,
    span: Span,
    stages: Vec<Stage>,
) -> Result<Vec<Stage>, SigmaError> {
    let no_wildcards = |parts: &[Part]| {
        if pattern::has_wildcards(parts) {
            Err(SigmaError::new(
                ErrorKind::InvalidModifier,
                span,
                format!("`{modifier}` cannot encode a value with wildcards"),
            ))
        } else {
            Ok(pattern::plain_text(parts).into_bytes())
        }
    };
    let mut out = Vec::with_capacity(stages.len());
    for stage in stages {
        match (modifier, stage) {
            (Modifier::Contains, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_contains(p)))
            }
            (Modifier::StartsWith, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_startswith(p)));
            }
            (Modifier::EndsWith, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::wrap_endswith(p)))
            }
            (Modifier::Windash, Stage::Parts(p)) => {
                out.push(Stage::Parts(pattern::apply_windash(p)))
            }
            (Modifier::Base64 | Modifier::Base64Offset, stage) => {
                let bytes = match stage {
                    Stage::Parts(p) => no_wildcards(&p)?,
                    Stage::Bytes(b) => b,
                };
                if modifier == Modifier::Base64 {
                    out.push(Stage::Parts(pattern::literal_parts(&pattern::base64(
                        &bytes,
                    ))));
                } else {
                    out.extend(
                        pattern::base64_offsets(&bytes)
                            .iter()
                            .map(|s| Stage::Parts(pattern::literal_parts(s))),
                    );
                }
            }
            (
                Modifier::Utf16le | Modifier::Wide | Modifier::Utf16be | Modifier::Utf16,
                Stage::Parts(p),
            ) => {
                let text = String::from_utf8(no_wildcards(&p)?).unwrap_or_default();
                let mut bytes = Vec::with_capacity(text.len() * 2 + 2);
                if modifier == Modifier::Utf16 {
                    bytes.extend_from_slice(&[0xff, 0xfe]);
                }
                for unit in text.encode_utf16() {
                    let pair = if modifier == Modifier::Utf16be {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    };
                    bytes.extend_from_slice(&pair);
                }
                out.push(Stage::Bytes(bytes));
            }
            (m, Stage::Bytes(_))
                if m.is_position() || m == Modifier::Windash || m.is_encoding() =>
            {
                return Err(SigmaError::new(
                    ErrorKind::InvalidModifier,
                    span,
                    format!(
                        "`{m}` cannot follow a text encoding; put it before the encoding or after `base64`"
                    ),
                ));
            }
            (_, stage) => out.push(stage),
        }
    }
    Ok(out)
}

//! The transformations of a processing item, read from their parameters. Each variant names
//! the pySigma class it follows (`sigma/processing/transformations/*.py`); `apply.rs` applies
//! them to a rule.

use regex::Regex;
use ruleproof_sigma::LogSource;
use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::yaml::{Node, Value};
use ruleproof_sigma::{JoinedColumns, SourceFile, Span};

use crate::read::{Params, PipelineError};
use crate::value::pysigma_regex;

/// What a processing item does.
#[derive(Clone, Debug)]
pub(crate) enum Transformation {
    /// `field_name_mapping`, `field_name_prefix_mapping`, `field_name_prefix`,
    /// `field_name_suffix` (`fields.py`, `FieldMappingTransformationBase` in `base.py`).
    FieldNames(FieldNames),
    /// `drop_detection_item` (`detection_item.py`).
    DropDetectionItem,
    /// `add_condition` (`condition.py`).
    AddCondition(AddCondition),
    /// `change_logsource` (`rule.py`): the whole log source replaced.
    ChangeLogsource(LogSource),
    /// The value transformations (`values.py`, `placeholder.py`).
    Values(ValueChange),
    /// `add_field`, `remove_field`, `set_field` (`fields.py`): the rule's `fields` list.
    Fields(FieldsChange, Vec<String>),
    /// `set_state` (`state.py`).
    SetState { key: String, val: Scalar },
    /// `rule_failure` (`failure.py`).
    RuleFailure(String),
    /// `detection_item_failure` (`failure.py`).
    DetectionItemFailure(String),
    /// `hashes_fields` (`values.py`, `HashesFieldsDetectionItemTransformation`).
    HashesFields {
        algorithms: Vec<String>,
        prefix: String,
        drop_algo_prefix: bool,
        fields: Vec<String>,
    },
    /// `ruleproof_joined_columns`, a ruleproof extension pySigma has no counterpart for
    /// (`docs/pipelines.md`): one Sigma field held by two columns joined with a separator.
    JoinedColumns(Join),
}

/// `ruleproof_joined_columns`'s parameters.
#[derive(Clone, Debug)]
pub(crate) struct Join {
    /// The Sigma field (`TargetObject`).
    pub field: String,
    pub columns: JoinedColumns,
    /// The rule's detection items are renamed from `field` to [`JoinedColumns::name`].
    pub rename: FieldNames,
    /// A fixture event is split into the two columns when this field of it holds one of these
    /// values (compared ignoring ASCII case); without it, always.
    pub split_when: Option<(String, Vec<String>)>,
}

/// A `mapping:` parameter: each key (`None` for a `null` key, the keyword search) with the one
/// or several names it maps to.
pub(crate) type Mapping = Vec<(Option<String>, Vec<String>)>;

/// How field names change.
#[derive(Clone, Debug)]
pub(crate) enum FieldNames {
    /// Field (or `null` for keywords) → one or several fields.
    Mapping(Mapping),
    /// Prefix → one or several prefixes; the first matching prefix wins.
    PrefixMapping(Vec<(String, Vec<String>)>),
    /// A prefix added to every field.
    Prefix(String),
    /// A suffix added to every field.
    Suffix(String),
}

impl FieldNames {
    /// pySigma `apply_field_name`: the new names, or `None` to leave the field alone.
    pub fn map(&self, field: Option<&str>) -> Option<Vec<String>> {
        match self {
            FieldNames::Mapping(mapping) => mapping
                .iter()
                .find(|(from, _)| from.as_deref() == field)
                .map(|(_, to)| to.clone()),
            FieldNames::PrefixMapping(mapping) => {
                let field = field?;
                mapping.iter().find_map(|(from, to)| {
                    field
                        .strip_prefix(from.as_str())
                        .map(|rest| to.iter().map(|t| format!("{t}{rest}")).collect())
                })
            }
            FieldNames::Prefix(prefix) => field.map(|f| vec![format!("{prefix}{f}")]),
            FieldNames::Suffix(suffix) => field.map(|f| vec![format!("{f}{suffix}")]),
        }
    }
}

/// `add_field`, `remove_field` or `set_field`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FieldsChange {
    Add,
    Remove,
    Set,
}

/// How values change.
#[derive(Clone, Debug)]
pub(crate) enum ValueChange {
    /// `replace_string`.
    ReplaceString {
        regex: Regex,
        /// In the `regex` crate's syntax (`${1}`), translated from Python's (`\1`).
        replacement: String,
        skip_special: bool,
        interpret_special: bool,
    },
    /// `map_string`: the whole string → one or several strings.
    MapString(Vec<(String, Vec<String>)>),
    /// `set_value`.
    SetValue(Scalar),
    /// `convert_type` to `num` (true) or `str` (false).
    ConvertType { to_number: bool },
    /// `case`.
    Case(CaseMethod),
    /// `regex`.
    Regex(RegexMethod),
    /// `ruleproof_hex_to_decimal`, a ruleproof extension (`docs/pipelines.md`): a whole value
    /// `regex` matches (as pySigma prints it, wildcards as `*`) becomes the decimal text of the
    /// hexadecimal digits of its one capture group (Sysmon's `DWORD (0x00000001)` is
    /// Defender's `1`).
    HexToDecimal(Regex),
    /// `value_placeholders` (`wildcard: false`) or `wildcard_placeholders`.
    Placeholders {
        wildcard: bool,
        include: Option<Vec<String>>,
        exclude: Option<Vec<String>>,
    },
}

/// `case`'s `method`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CaseMethod {
    Lower,
    Upper,
    SnakeCase,
}

/// `regex`'s `method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegexMethod {
    Plain,
    IgnoreCaseFlag,
    IgnoreCaseBrackets,
}

/// Transformations pySigma has that ruleproof refuses, and why.
const REFUSED: [(&str, &str); 9] = [
    (
        "query_expression_placeholders",
        "it replaces a placeholder with backend query text, which has no meaning when rules are evaluated",
    ),
    ("field_name_transform", "it calls a Python function"),
    ("extract_fields", "it is not supported yet"),
    ("file_placeholders", "it reads external files"),
    ("http_placeholders", "it fetches from the network"),
    ("command_placeholders", "it runs commands"),
    ("nest", "it is not supported yet"),
    ("strict_field_mapping_failure", "it is not supported yet"),
    ("set_custom_attribute", "it only passes data to backends"),
];

impl Transformation {
    pub fn read(
        kind: &str,
        span: Span,
        params: &mut Params,
    ) -> Result<Transformation, PipelineError> {
        if let Some((_, why)) = REFUSED.iter().find(|(name, _)| *name == kind) {
            return Err(params.error(
                span,
                format!("the transformation `{kind}` is not supported: {why}"),
            ));
        }
        let what = format!("`{kind}`");
        Ok(match kind {
            "field_name_mapping" => {
                Transformation::FieldNames(FieldNames::Mapping(read_mapping(params, &what)?))
            }
            "field_name_prefix_mapping" => {
                let mut mapping = Vec::new();
                for (from, to) in read_mapping(params, &what)? {
                    let Some(from) = from else {
                        return Err(params.error(span, "a prefix cannot be null"));
                    };
                    mapping.push((from, to));
                }
                Transformation::FieldNames(FieldNames::PrefixMapping(mapping))
            }
            "field_name_prefix" => Transformation::FieldNames(FieldNames::Prefix(
                params.required_string("prefix", &what)?,
            )),
            "field_name_suffix" => Transformation::FieldNames(FieldNames::Suffix(
                params.required_string("suffix", &what)?,
            )),
            "drop_detection_item" => Transformation::DropDetectionItem,
            "add_condition" => {
                let conditions = params.required("conditions", &what)?.clone();
                if conditions.as_map().is_none() {
                    return Err(params.error(
                        conditions.span,
                        "`conditions` must be a mapping of fields to values",
                    ));
                }
                let name = match params.get("name") {
                    Some(node) => Some(search_name(params, node)?),
                    None => None,
                };
                Transformation::AddCondition(AddCondition {
                    name,
                    conditions,
                    source: params.source.clone(),
                    template: params.bool("template", false)?,
                    negated: params.bool("negated", false)?,
                })
            }
            "change_logsource" => Transformation::ChangeLogsource(LogSource {
                category: params.string("category")?,
                product: params.string("product")?,
                service: params.string("service")?,
            }),
            "replace_string" => {
                let pattern = params.required_string("regex", &what)?;
                let regex = pysigma_regex(&pattern, false).map_err(|e| {
                    params.error(
                        span,
                        format!("regular expression `{pattern}` is invalid: {e}"),
                    )
                })?;
                let replacement =
                    python_replacement(&params.required_string("replacement", &what)?);
                Transformation::Values(ValueChange::ReplaceString {
                    regex,
                    replacement,
                    skip_special: params.bool("skip_special", false)?,
                    interpret_special: params.bool("interpret_special", false)?,
                })
            }
            "map_string" => {
                let mut mapping = Vec::new();
                for (from, to) in read_mapping(params, &what)? {
                    mapping.push((from.unwrap_or_else(|| "null".to_owned()), to));
                }
                Transformation::Values(ValueChange::MapString(mapping))
            }
            "set_value" => {
                let value = params
                    .scalar("value")?
                    .ok_or_else(|| params.error(span, "`set_value` needs `value`"))?;
                let value = match params.choice("force_type", &["str", "num"], "")? {
                    "str" => match value {
                        Scalar::Bool(_) | Scalar::Null => {
                            return Err(params.error(
                                span,
                                "`force_type` is only allowed for string and numeric values",
                            ));
                        }
                        other => Scalar::String(other.text()),
                    },
                    "num" => match &value {
                        Scalar::Int(_) | Scalar::Float(_) => value,
                        Scalar::String(s) => parse_number(s).ok_or_else(|| {
                            params
                                .error(span, format!("value `{s}` can't be converted to a number"))
                        })?,
                        _ => {
                            return Err(params.error(
                                span,
                                "`force_type` is only allowed for string and numeric values",
                            ));
                        }
                    },
                    _ => value,
                };
                Transformation::Values(ValueChange::SetValue(value))
            }
            "convert_type" => {
                let target = params.choice("target_type", &["str", "num"], "")?;
                if target.is_empty() {
                    return Err(
                        params.error(span, "`convert_type` needs `target_type: str` or `num`")
                    );
                }
                Transformation::Values(ValueChange::ConvertType {
                    to_number: target == "num",
                })
            }
            "value_placeholders" | "wildcard_placeholders" => {
                let include = params.strings("include")?;
                let exclude = params.strings("exclude")?;
                if include.is_some() && exclude.is_some() {
                    return Err(params.error(span, "placeholder transformation include and exclude lists can only be used exclusively"));
                }
                Transformation::Values(ValueChange::Placeholders {
                    wildcard: kind == "wildcard_placeholders",
                    include,
                    exclude,
                })
            }
            "add_field" | "remove_field" => {
                let change = if kind == "add_field" {
                    FieldsChange::Add
                } else {
                    FieldsChange::Remove
                };
                let fields = params
                    .strings("field")?
                    .ok_or_else(|| params.error(span, format!("{what} needs `field`")))?;
                Transformation::Fields(change, fields)
            }
            "set_field" => {
                let fields = params
                    .strings("fields")?
                    .ok_or_else(|| params.error(span, "`set_field` needs `fields`"))?;
                Transformation::Fields(FieldsChange::Set, fields)
            }
            "set_state" => Transformation::SetState {
                key: params.required_string("key", &what)?,
                val: params
                    .scalar("val")?
                    .ok_or_else(|| params.error(span, "`set_state` needs `val`"))?,
            },
            "rule_failure" => {
                Transformation::RuleFailure(params.required_string("message", &what)?)
            }
            "detection_item_failure" => {
                Transformation::DetectionItemFailure(params.required_string("message", &what)?)
            }
            "case" => Transformation::Values(ValueChange::Case(
                match params.choice("method", &["lower", "upper", "snake_case"], "lower")? {
                    "upper" => CaseMethod::Upper,
                    "snake_case" => CaseMethod::SnakeCase,
                    _ => CaseMethod::Lower,
                },
            )),
            "regex" => Transformation::Values(ValueChange::Regex(
                match params.choice(
                    "method",
                    &["plain", "ignore_case_flag", "ignore_case_brackets"],
                    "ignore_case_brackets",
                )? {
                    "plain" => RegexMethod::Plain,
                    "ignore_case_flag" => RegexMethod::IgnoreCaseFlag,
                    _ => RegexMethod::IgnoreCaseBrackets,
                },
            )),
            "hashes_fields" => Transformation::HashesFields {
                algorithms: params.strings("valid_hash_algos")?.ok_or_else(|| {
                    params.error(span, "`hashes_fields` needs `valid_hash_algos`")
                })?,
                prefix: params.string("field_prefix")?.unwrap_or_default(),
                drop_algo_prefix: params.bool("drop_algo_prefix", false)?,
                fields: params
                    .strings("field_to_parse")?
                    .unwrap_or_else(|| vec!["Hashes".to_owned(), "Hash".to_owned()]),
            },
            "ruleproof_joined_columns" => Transformation::JoinedColumns(read_join(span, params)?),
            "ruleproof_hex_to_decimal" => {
                let at = params.get("regex").map_or(span, |n| n.span);
                let pattern = params.required_string("regex", &what)?;
                let regex = pysigma_regex(&pattern, false).map_err(|e| {
                    params.error(
                        at,
                        format!("regular expression `{pattern}` is invalid: {e}"),
                    )
                })?;
                // Group 0 is the whole match; exactly one more holds the digits.
                if regex.captures_len() != 2 {
                    return Err(params.error(
                        at,
                        format!(
                            "`regex` must have exactly one capture group (the hexadecimal digits), not {}",
                            regex.captures_len() - 1
                        ),
                    ));
                }
                Transformation::Values(ValueChange::HexToDecimal(regex))
            }
            other => {
                return Err(params.error(span, format!("unknown transformation `{other}`")));
            }
        })
    }
}

/// `ruleproof_joined_columns`: `field`, `columns` (exactly two), a non-empty `separator`, and
/// `split_when_field` with `split_when_values` (both or neither).
fn read_join(span: Span, params: &mut Params) -> Result<Join, PipelineError> {
    let what = "`ruleproof_joined_columns`";
    let field = params.required_string("field", what)?;
    let columns_span = params.get("columns").map_or(span, |n| n.span);
    let columns = params
        .strings("columns")?
        .ok_or_else(|| params.error(span, format!("{what} needs `columns`")))?;
    let [key, value] = <[String; 2]>::try_from(columns).map_err(|columns| {
        params.error(
            columns_span,
            format!(
                "`columns` must name exactly two columns (the key, then the value), not {}",
                columns.len()
            ),
        )
    })?;
    let separator_span = params.get("separator").map_or(span, |n| n.span);
    let separator = params.required_string("separator", what)?;
    if separator.is_empty() {
        return Err(params.error(separator_span, "`separator` must not be empty"));
    }
    let split_field = params.string("split_when_field")?;
    let split_values = params.strings("split_when_values")?;
    let split_when = match (split_field, split_values) {
        (Some(field), Some(values)) => Some((field, values)),
        (None, None) => None,
        _ => {
            return Err(params.error(
                span,
                "`split_when_field` and `split_when_values` go together",
            ));
        }
    };
    let columns = JoinedColumns {
        key,
        value,
        separator,
    };
    Ok(Join {
        rename: FieldNames::Mapping(vec![(Some(field.clone()), vec![columns.name()])]),
        field,
        columns,
        split_when,
    })
}

/// `mapping:` of a mapping transformation: keys (a `null` key is the keyword search) to a
/// string or a list of strings.
fn read_mapping(params: &mut Params, what: &str) -> Result<Mapping, PipelineError> {
    let node = params.required("mapping", what)?;
    let Some(entries) = node.as_map() else {
        return Err(params.error(node.span, "`mapping` must be a mapping"));
    };
    let mut mapping = Vec::new();
    for (key, value) in entries {
        let from = match &key.value {
            Value::Null => None,
            _ => Some(
                key.scalar_text()
                    .ok_or_else(|| params.error(key.span, "a mapping key must be a string"))?,
            ),
        };
        let items: &[Node] = match &value.value {
            Value::Seq(items) => items,
            _ => std::slice::from_ref(value),
        };
        let mut to = Vec::new();
        for item in items {
            match &item.value {
                Value::Seq(_) | Value::Map(_) | Value::Null => {
                    return Err(params.error(item.span, "a mapping's targets must be strings"));
                }
                _ => to.push(item.scalar_text().unwrap_or_default()),
            }
        }
        mapping.push((from, to));
    }
    Ok(mapping)
}

/// pySigma `SigmaNumber(str)`: an integer, else a float.
pub(crate) fn parse_number(text: &str) -> Option<Scalar> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(Scalar::Int(i));
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Scalar::Float)
}

/// A Python `re.sub` replacement in the `regex` crate's syntax: `\1` and `\g<name>` become
/// `${1}` and `${name}`, `\\` a backslash, and a literal `$` is doubled.
fn python_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `add_condition` (pySigma `AddConditionTransformation`, `condition.py`).
#[derive(Clone, Debug)]
pub(crate) struct AddCondition {
    /// `name:`, the new search's identifier; pySigma draws `_cond_` and ten random letters
    /// without it, ruleproof numbers them (`_cond_1`, `_cond_2`, … per rule).
    pub name: Option<String>,
    /// `conditions:`, the new search's detection items.
    pub conditions: Node,
    /// The pipeline file, for positions in the conditions.
    pub source: SourceFile,
    /// `template:`: `$category`, `$product`, `$service` replaced in the values.
    pub template: bool,
    /// `negated:`: the rule's conditions become `not name and (…)`.
    pub negated: bool,
}

/// `add_condition`'s `name:`: a search identifier pySigma's condition grammar reads as one
/// word (`identifier = Word(alphanums + "_-")` in `sigma/conditions.py`; not `and`, `or`,
/// `not`, `of`, `all`, `any`, `them`), since the rule's conditions become `name and (…)`.
/// pySigma takes any string and would write a condition it cannot parse again.
fn search_name(params: &Params, node: &Node) -> Result<String, PipelineError> {
    let Value::String(name) = &node.value else {
        return Err(params.error(
            node.span,
            format!("`name` must be a string, not {}", node.kind_name()),
        ));
    };
    let word = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    let keyword = matches!(
        name.to_ascii_lowercase().as_str(),
        "and" | "or" | "not" | "of" | "all" | "any" | "them"
    );
    if !word || keyword {
        return Err(params.error(
            node.span,
            format!(
                "`name: {name}` is not a search identifier (ASCII letters, digits, `_` and \
                 `-`, not a condition keyword)"
            ),
        ));
    }
    Ok(name.clone())
}

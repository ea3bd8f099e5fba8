//! Processing conditions: which rules, detection items and field names a processing item
//! applies to. Source: pySigma `sigma/processing/conditions/` (`rule.py`, `values.py`,
//! `fields.py`, `state.py`) and `ProcessingItem.match_*` in `pipeline.py`.

use regex::Regex;
use ruleproof_sigma::LogSource;
use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::yaml::{Node, Value};
use ruleproof_sigma::{Rule, SourceFile};

use crate::apply::{ItemState, RuleState};
use crate::read::{Params, PipelineError, invalid};
use crate::value::{PyValue, py_plain, pysigma_regex};

/// A list of conditions, linked by `*_cond_op` (`and` by default, or `or`) and negated by
/// `*_cond_not`. No conditions always match, negated or not (pySigma's
/// `not self.rule_conditions or cond_result`).
#[derive(Clone, Debug)]
pub(crate) struct Conditions<C> {
    pub list: Vec<C>,
    pub any: bool,
    pub negate: bool,
}

impl<C> Conditions<C> {
    pub fn read(
        item: &Node,
        prefix: &str,
        source: &SourceFile,
        read_one: fn(&str, &mut Params) -> Result<C, PipelineError>,
    ) -> Result<Conditions<C>, PipelineError> {
        let any = match item.get(&format!("{prefix}_cond_op")) {
            None => false,
            Some(n) => match n.as_str() {
                Some("and") => false,
                Some("or") => true,
                _ => {
                    return Err(invalid(
                        source,
                        n.span,
                        format!("`{prefix}_cond_op` must be `and` or `or`"),
                    ));
                }
            },
        };
        let negate = match item.get(&format!("{prefix}_cond_not")) {
            None => false,
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(n) => {
                return Err(invalid(
                    source,
                    n.span,
                    format!("`{prefix}_cond_not` must be true or false"),
                ));
            }
        };
        let key = format!("{prefix}_conditions");
        let mut list = Vec::new();
        if let Some(node) = item.get(&key) {
            // A list, or a mapping from identifiers to conditions (pySigma takes its values when
            // no condition expression names them).
            let entries: Vec<&Node> = match &node.value {
                Value::Seq(items) => items.iter().collect(),
                Value::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
                Value::Null => Vec::new(),
                _ => {
                    return Err(invalid(
                        source,
                        node.span,
                        format!("`{key}` must be a list or a mapping"),
                    ));
                }
            };
            for entry in entries {
                if entry.as_map().is_none() {
                    return Err(invalid(
                        source,
                        entry.span,
                        "a condition must be a mapping with a `type`",
                    ));
                }
                let mut params = Params::new(entry, source);
                let kind = params.required_string("type", "a condition")?;
                let condition = read_one(&kind, &mut params)
                    .map_err(|error| params.misspelled(&kind).unwrap_or(error))?;
                params.finish(&kind)?;
                list.push(condition);
            }
        }
        Ok(Conditions { list, any, negate })
    }

    /// Whether the conditions hold, each decided by `test`.
    pub fn hold(&self, mut test: impl FnMut(&C) -> bool) -> bool {
        if self.list.is_empty() {
            return true;
        }
        let result = if self.any {
            self.list.iter().any(&mut test)
        } else {
            self.list.iter().all(&mut test)
        };
        result != self.negate
    }
}

/// `op:` of `processing_state` conditions.
#[derive(Clone, Debug)]
pub(crate) struct StateCondition {
    key: String,
    val: Scalar,
    op: &'static str,
}

impl StateCondition {
    fn read(params: &mut Params) -> Result<StateCondition, PipelineError> {
        let span = params.span();
        Ok(StateCondition {
            key: params.required_string("key", "`processing_state`")?,
            val: params
                .scalar("val")?
                .ok_or_else(|| params.error(span, "`processing_state` needs `val`"))?,
            op: params.choice("op", &["eq", "ne", "gte", "gt", "lte", "lt"], "eq")?,
        })
    }

    /// pySigma `ProcessingStateConditionBase.match_state`: a missing key is false; values of
    /// different types are unequal and not ordered (where Python would raise, this is false).
    pub fn holds(&self, state: &RuleState) -> bool {
        let Some(actual) = state.state.get(&self.key) else {
            return false;
        };
        let ordering = compare(actual, &self.val);
        match self.op {
            "eq" => ordering == Some(std::cmp::Ordering::Equal),
            "ne" => ordering != Some(std::cmp::Ordering::Equal),
            "gte" => ordering.is_some_and(|o| o.is_ge()),
            "gt" => ordering.is_some_and(|o| o.is_gt()),
            "lte" => ordering.is_some_and(|o| o.is_le()),
            _ => ordering.is_some_and(|o| o.is_lt()),
        }
    }
}

fn number(s: &Scalar) -> Option<f64> {
    match s {
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        _ => None,
    }
}

fn compare(a: &Scalar, b: &Scalar) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Scalar::String(x), Scalar::String(y)) => Some(x.cmp(y)),
        (Scalar::Bool(x), Scalar::Bool(y)) => Some(x.cmp(y)),
        (Scalar::Null, Scalar::Null) => Some(std::cmp::Ordering::Equal),
        _ => number(a)?.partial_cmp(&number(b)?),
    }
}

/// Conditions on the rule as a whole (`rule_conditions`).
#[derive(Clone, Debug)]
pub(crate) enum RuleCondition {
    /// `logsource`: each given field equal (case-sensitively, as pySigma's `SigmaLogSource`
    /// containment compares).
    Logsource {
        category: Option<String>,
        product: Option<String>,
        service: Option<String>,
    },
    /// `contains_detection_item`: some item has this field and this value.
    ContainsDetectionItem { field: String, value: Scalar },
    /// `contains_field`: some item has this field.
    ContainsField(String),
    /// `processing_item_applied`: the rule was processed by this item id.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateCondition),
    /// `is_sigma_rule` (true: only detection rules and meta-filters are processed).
    IsSigmaRule,
    /// `is_sigma_correlation_rule` (false, for the same reason).
    IsSigmaCorrelationRule,
    /// `rule_attribute`.
    RuleAttribute {
        attribute: String,
        value: Scalar,
        op: &'static str,
    },
    /// `tag`.
    Tag(String),
}

impl RuleCondition {
    pub fn read(kind: &str, params: &mut Params) -> Result<RuleCondition, PipelineError> {
        let span = params.span();
        Ok(match kind {
            "logsource" => RuleCondition::Logsource {
                category: params.string("category")?,
                product: params.string("product")?,
                service: params.string("service")?,
            },
            "contains_detection_item" => RuleCondition::ContainsDetectionItem {
                field: params.required_string("field", "`contains_detection_item`")?,
                value: params
                    .scalar("value")?
                    .ok_or_else(|| params.error(span, "`contains_detection_item` needs `value`"))?,
            },
            "contains_field" => {
                RuleCondition::ContainsField(params.required_string("field", "`contains_field`")?)
            }
            "processing_item_applied" => RuleCondition::ProcessingItemApplied(
                params.required_string("processing_item_id", "`processing_item_applied`")?,
            ),
            "processing_state" => RuleCondition::ProcessingState(StateCondition::read(params)?),
            "is_sigma_rule" => RuleCondition::IsSigmaRule,
            "is_sigma_correlation_rule" => RuleCondition::IsSigmaCorrelationRule,
            "rule_attribute" => RuleCondition::RuleAttribute {
                attribute: params.required_string("attribute", "`rule_attribute`")?,
                value: params
                    .scalar("value")?
                    .ok_or_else(|| params.error(span, "`rule_attribute` needs `value`"))?,
                op: params.choice(
                    "op",
                    &["eq", "ne", "gte", "gt", "lte", "lt", "in", "not_in"],
                    "eq",
                )?,
            },
            "tag" => RuleCondition::Tag(params.required_string("tag", "`tag`")?),
            other => return Err(unknown(params, "rule", other)),
        })
    }

    pub fn holds(&self, rule: &Rule, node: &Node, state: &RuleState) -> bool {
        match self {
            RuleCondition::Logsource {
                category,
                product,
                service,
            } => {
                let same =
                    |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
                let matches = |logsource: &LogSource| {
                    same(category, &logsource.category)
                        && same(product, &logsource.product)
                        && same(service, &logsource.service)
                };
                // pySigma `LogsourceCondition`: a correlation rule matches when any rule it
                // references does.
                match &state.correlation {
                    Some(referenced) => referenced.iter().any(matches),
                    None => matches(&rule.logsource),
                }
            }
            RuleCondition::ContainsDetectionItem { field, value } => {
                let wanted = PyValue::from_condition(value);
                state.items().any(|(item, _)| {
                    item.field.as_deref() == Some(field.as_str())
                        && PyValue::of_item(item)
                            .iter()
                            .any(|v| v.same_type_eq(&wanted))
                })
            }
            RuleCondition::ContainsField(field) => state
                .items()
                .any(|(item, _)| item.field.as_deref() == Some(field.as_str())),
            RuleCondition::ProcessingItemApplied(id) => state.rule_applied.contains(id),
            RuleCondition::ProcessingState(condition) => condition.holds(state),
            RuleCondition::IsSigmaRule => state.correlation.is_none(),
            RuleCondition::IsSigmaCorrelationRule => state.correlation.is_some(),
            RuleCondition::RuleAttribute {
                attribute,
                value,
                op,
            } => rule_attribute(rule, node, attribute, value, op),
            RuleCondition::Tag(tag) => rule.meta.tags.iter().any(|t| t == tag),
        }
    }
}

/// pySigma `RuleAttributeCondition.match`: lists test membership (`in`, `not_in`; `ne` is
/// true and the rest false), strings compare with `eq`/`ne` only, numbers numerically, and
/// `level`/`status` by their order. An attribute the rule lacks is false.
fn rule_attribute(rule: &Rule, node: &Node, attribute: &str, value: &Scalar, op: &str) -> bool {
    const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
    const STATUSES: [&str; 6] = [
        "unsupported",
        "deprecated",
        "experimental",
        "test",
        "stable",
        "",
    ];
    let want = value.text();
    let ordered = |order: &[&str], have: &str| {
        let rank = |s: &str| order.iter().position(|o| o.eq_ignore_ascii_case(s));
        match (rank(have), rank(&want)) {
            (Some(a), Some(b)) => ordering_holds(a.cmp(&b), op),
            _ => false,
        }
    };
    match attribute {
        "tags" => list_attribute(&rule.meta.tags, &want, op),
        "fields" => list_attribute(&rule.meta.fields, &want, op),
        "level" => rule
            .meta
            .level
            .as_deref()
            .is_some_and(|l| ordered(&LEVELS, l)),
        "status" => rule
            .meta
            .status
            .as_deref()
            .is_some_and(|s| ordered(&STATUSES, s)),
        _ => {
            let Some(found) = node.get(attribute) else {
                return false;
            };
            match &found.value {
                Value::Seq(items) => {
                    let texts: Vec<String> = items.iter().filter_map(Node::scalar_text).collect();
                    list_attribute(&texts, &want, op)
                }
                Value::Int(_) | Value::Float(_) => {
                    let have = found.scalar_text().and_then(|t| t.parse::<f64>().ok());
                    match (have, want.parse::<f64>().ok()) {
                        (Some(a), Some(b)) => {
                            a.partial_cmp(&b).is_some_and(|o| ordering_holds(o, op))
                        }
                        _ => false,
                    }
                }
                Value::String(s) if attribute == "date" || attribute == "modified" => {
                    // ISO dates compare as text in calendar order.
                    ordering_holds(s.as_str().cmp(want.as_str()), op)
                }
                Value::String(s) => match op {
                    "eq" => *s == want,
                    "ne" => *s != want,
                    _ => false,
                },
                _ => false,
            }
        }
    }
}

fn list_attribute(list: &[String], want: &str, op: &str) -> bool {
    match op {
        "in" => list.iter().any(|x| x == want),
        "not_in" => !list.iter().any(|x| x == want),
        "ne" => true,
        _ => false,
    }
}

fn ordering_holds(ordering: std::cmp::Ordering, op: &str) -> bool {
    match op {
        "eq" => ordering.is_eq(),
        "ne" => ordering.is_ne(),
        "gte" => ordering.is_ge(),
        "gt" => ordering.is_gt(),
        "lte" => ordering.is_le(),
        "lt" => ordering.is_lt(),
        _ => false,
    }
}

/// Conditions on one detection item (`detection_item_conditions`).
#[derive(Clone, Debug)]
pub(crate) enum ItemCondition {
    /// `match_string`: `pattern` matches at the start of string values (Python's `re.match`).
    MatchString {
        regex: Regex,
        negate: bool,
        all: bool,
    },
    /// `match_value`: a value equal to this one.
    MatchValue { value: Scalar, all: bool },
    /// `contains_wildcard`: a string value with `*` or `?`.
    ContainsWildcard { all: bool },
    /// `is_null`: a null value.
    IsNull { all: bool },
    /// `processing_item_applied`: the item was changed by this item id.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateCondition),
}

fn read_cond(params: &mut Params) -> Result<bool, PipelineError> {
    let span = params.span();
    match params.string("cond")?.as_deref() {
        Some("any") => Ok(false),
        Some("all") => Ok(true),
        Some(other) => Err(params.error(
            span,
            format!("`cond` must be `any` or `all`, not `{other}`"),
        )),
        None => Err(params.error(span, "a value condition needs `cond: any` or `cond: all`")),
    }
}

impl ItemCondition {
    pub fn read(kind: &str, params: &mut Params) -> Result<ItemCondition, PipelineError> {
        let span = params.span();
        Ok(match kind {
            "match_string" => {
                let pattern = params.required_string("pattern", "`match_string`")?;
                ItemCondition::MatchString {
                    regex: pysigma_regex(&pattern, true).map_err(|e| {
                        params.error(
                            span,
                            format!(
                                "the pattern `{pattern}` is not a valid regular expression: {e}"
                            ),
                        )
                    })?,
                    negate: params.bool("negate", false)?,
                    all: read_cond(params)?,
                }
            }
            "match_value" => ItemCondition::MatchValue {
                value: params
                    .scalar("value")?
                    .ok_or_else(|| params.error(span, "`match_value` needs `value`"))?,
                all: read_cond(params)?,
            },
            "contains_wildcard" => ItemCondition::ContainsWildcard {
                all: read_cond(params)?,
            },
            "is_null" => ItemCondition::IsNull {
                all: read_cond(params)?,
            },
            "processing_item_applied" => ItemCondition::ProcessingItemApplied(
                params.required_string("processing_item_id", "`processing_item_applied`")?,
            ),
            "processing_state" => ItemCondition::ProcessingState(StateCondition::read(params)?),
            other => return Err(unknown(params, "detection item", other)),
        })
    }

    pub fn holds(
        &self,
        item: &ruleproof_sigma::detection::Item,
        applied: &ItemState,
        state: &RuleState,
    ) -> bool {
        let values = PyValue::of_item(item);
        let quantify = |all: bool, test: &dyn Fn(&PyValue) -> bool| {
            if all {
                values.iter().all(test)
            } else {
                values.iter().any(test)
            }
        };
        match self {
            ItemCondition::MatchString { regex, negate, all } => quantify(*all, &|v| {
                let matched = match v {
                    PyValue::Str(parts) => regex.is_match(&py_plain(parts)),
                    _ => false,
                };
                matched != *negate
            }),
            ItemCondition::MatchValue { value, all } => {
                let wanted = PyValue::from_condition(value);
                quantify(*all, &|v| v.loose_eq(&wanted))
            }
            ItemCondition::ContainsWildcard { all } => quantify(*all, &|v| match v {
                PyValue::Str(parts) => ruleproof_sigma::pattern::has_wildcards(parts),
                _ => false,
            }),
            ItemCondition::IsNull { all } => quantify(*all, &|v| matches!(v, PyValue::Null)),
            ItemCondition::ProcessingItemApplied(id) => applied.applied.contains(id),
            ItemCondition::ProcessingState(condition) => condition.holds(state),
        }
    }
}

/// Conditions on field names (`field_name_conditions`).
#[derive(Clone, Debug)]
pub(crate) enum FieldCondition {
    /// `include_fields` (`exclude: false`) or `exclude_fields` (`exclude: true`).
    Fields {
        fields: Vec<String>,
        regexes: Option<Vec<Regex>>,
        exclude: bool,
    },
    /// `processing_item_applied`: the field name was produced by this item id.
    ProcessingItemApplied(String),
    /// `processing_state`.
    ProcessingState(StateCondition),
}

impl FieldCondition {
    pub fn read(kind: &str, params: &mut Params) -> Result<FieldCondition, PipelineError> {
        let span = params.span();
        Ok(match kind {
            "include_fields" | "exclude_fields" => {
                let fields = params
                    .strings("fields")?
                    .ok_or_else(|| params.error(span, format!("`{kind}` needs `fields`")))?;
                let regexes = match params.choice("mode", &["plain", "re"], "plain")? {
                    "re" => Some(
                        fields
                            .iter()
                            .map(|f| {
                                pysigma_regex(f, true).map_err(|e| {
                                    params.error(span, format!("the field pattern `{f}` is not a valid regular expression: {e}"))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    _ => None,
                };
                FieldCondition::Fields {
                    fields,
                    regexes,
                    exclude: kind == "exclude_fields",
                }
            }
            "processing_item_applied" => FieldCondition::ProcessingItemApplied(
                params.required_string("processing_item_id", "`processing_item_applied`")?,
            ),
            "processing_state" => FieldCondition::ProcessingState(StateCondition::read(params)?),
            other => return Err(unknown(params, "field name", other)),
        })
    }

    /// pySigma `match_field_name`; a keyword item (no field) is never included.
    pub fn holds_for_name(&self, field: Option<&str>, state: &RuleState) -> bool {
        match self {
            FieldCondition::Fields {
                fields,
                regexes,
                exclude,
            } => {
                let included = field.is_some_and(|f| match regexes {
                    Some(regexes) => regexes.iter().any(|r| r.is_match(f)),
                    None => fields.iter().any(|x| x == f),
                });
                included != *exclude
            }
            FieldCondition::ProcessingItemApplied(id) => field.is_some_and(|f| {
                state
                    .field_applied
                    .get(f)
                    .is_some_and(|ids| ids.contains(id))
            }),
            FieldCondition::ProcessingState(condition) => condition.holds(state),
        }
    }

    /// pySigma `match_detection_item`: the item's field, or a field it references
    /// (`fieldref`); `processing_item_applied` asks whether the item itself was processed.
    pub fn holds_for_item(
        &self,
        item: &ruleproof_sigma::detection::Item,
        applied: &ItemState,
        state: &RuleState,
    ) -> bool {
        if let FieldCondition::ProcessingItemApplied(id) = self {
            return applied.applied.contains(id);
        }
        self.holds_for_name(item.field.as_deref(), state)
            || crate::value::field_references(item)
                .iter()
                .any(|f| self.holds_for_name(Some(f), state))
    }
}

fn unknown(params: &Params, level: &str, kind: &str) -> PipelineError {
    params.error(
        params.span(),
        format!("unknown or unsupported {level} condition `{kind}`"),
    )
}

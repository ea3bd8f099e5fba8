//! Applying pipelines to a rule, as pySigma's `ProcessingPipeline.apply` does: every processing
//! item in order, each gated by its rule conditions, then (for item transformations) by its
//! detection item and field name conditions; a state and the ids of applied items are kept per
//! rule. Source: pySigma `sigma/processing/pipeline.py`, `resolver.py` (priorities) and
//! `transformations/base.py` (how item transformations walk and replace detection items).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use ruleproof_sigma::condition::CondExpr;
use ruleproof_sigma::detection::{Detection, Item, ItemMap, RuleValue, Scalar, Search, SearchBody};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::pattern::{Part, parse_sigma_string, wrap_contains};
use ruleproof_sigma::yaml::{Node, Value};
use ruleproof_sigma::{
    Correlation, ErrorKind, LogSource, PlaceholderPart, ProcessingNote, Rule, RuleProcessing,
    SigmaError, Span, placeholder_parts,
};

use crate::read::{Pipeline, PipelineError, ProcessingItem};
use crate::transformation::{
    AddCondition, CaseMethod, FieldNames, FieldsChange, RegexMethod, Transformation, ValueChange,
    parse_number,
};
use crate::value::{PyValue, field_references, is_plain, parse_py_plain, py_plain, write_values};

/// The most item maps one search may grow to when one-to-many mappings are spread out, and the
/// most alternatives placeholders may expand one value to.
const MAX_ALTERNATIVES: usize = 4096;

/// Several pipelines resolved into one chain: ordered by priority (lowest first, file order
/// among equals), processing items concatenated, `vars` merged (a later pipeline's value wins).
#[derive(Clone, Debug, Default)]
pub struct Pipelines {
    pipelines: Vec<Pipeline>,
    vars: HashMap<String, Vec<String>>,
}

impl Pipelines {
    /// Orders pipelines as pySigma's `ProcessingPipelineResolver` does.
    pub fn resolve(mut pipelines: Vec<Pipeline>) -> Pipelines {
        pipelines.sort_by_key(|p| p.priority);
        let mut vars = HashMap::new();
        for pipeline in &pipelines {
            for (name, values) in &pipeline.vars {
                vars.insert(name.clone(), values.clone());
            }
        }
        Pipelines { pipelines, vars }
    }

    /// Reads pipeline files and resolves them.
    ///
    /// # Errors
    /// The first file that cannot be read or is not a pipeline ruleproof can apply.
    pub fn load(paths: &[PathBuf]) -> Result<Pipelines, PipelineError> {
        let pipelines = paths
            .iter()
            .map(|p| Pipeline::load(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pipelines::resolve(pipelines))
    }

    /// Whether there are no pipelines.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// The pipelines, in the order they apply.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// `path:line:col` of the first `postprocessing:` or `finalizers:` entry of any pipeline:
    /// they change a backend's query text, which only a converter could apply.
    pub fn query_stage(&self) -> Option<String> {
        self.pipelines.iter().find_map(Pipeline::query_stage)
    }
}

/// A detection item being processed, with the ids of the processing items that changed it.
#[derive(Clone, Debug)]
pub(crate) struct WorkItem {
    pub item: Item,
    pub state: ItemState,
}

/// The ids of the processing items applied to a detection item.
#[derive(Clone, Debug, Default)]
pub(crate) struct ItemState {
    pub applied: BTreeSet<String>,
}

#[derive(Clone, Debug)]
struct WorkMap {
    items: Vec<WorkItem>,
    span: Span,
}

#[derive(Clone, Debug)]
struct WorkSearch {
    name: String,
    name_span: Span,
    /// Item maps ORed together; a keyword search is one map of its one item.
    maps: Vec<WorkMap>,
    keywords: bool,
}

/// What the processing of one rule keeps between processing items.
#[derive(Debug, Default)]
pub(crate) struct RuleState {
    /// `set_state` values.
    pub state: HashMap<String, Scalar>,
    /// Ids of the processing items applied to the rule.
    pub rule_applied: HashSet<String>,
    /// Field name → ids of the processing items that produced it.
    pub field_applied: HashMap<String, BTreeSet<String>>,
    /// For a correlation rule, the log sources of the detection rules it references (a
    /// correlation has no detection items).
    pub correlation: Option<Vec<LogSource>>,
    searches: Vec<WorkSearch>,
}

impl RuleState {
    /// Every detection item of the rule.
    pub fn items(&self) -> impl Iterator<Item = (&Item, &ItemState)> {
        self.searches
            .iter()
            .flat_map(|s| s.maps.iter())
            .flat_map(|m| m.items.iter())
            .map(|w| (&w.item, &w.state))
    }
}

/// What a processing item does to one detection item.
pub(crate) enum Replacement {
    Keep,
    Drop,
    /// ORed alternatives, spread over copies of the item's map.
    Any(Vec<WorkItem>),
}

struct Run<'a> {
    pipelines: &'a Pipelines,
    rule: &'a mut Rule,
    node: &'a Node,
    state: RuleState,
    notes: Vec<ProcessingNote>,
    added: usize,
}

/// What processing one rule leaves besides the changed rule: the notes for explanations, the
/// pipeline state (`set_state`, where pySigma's Kusto backends keep the table as `query_table`)
/// and which processing items applied to the rule, so fixture events can follow the same items
/// ([`Pipelines::map_event`]).
#[derive(Clone, Debug, Default)]
pub struct Processed {
    /// What was done, for explanations.
    pub notes: Vec<ProcessingNote>,
    pub(crate) state: HashMap<String, Scalar>,
    /// (pipeline index, item index) of each processing item whose rule conditions held.
    pub(crate) applied: Vec<(usize, usize)>,
}

impl Processed {
    /// The value `set_state` left under `key` once every processing item ran.
    pub fn state(&self, key: &str) -> Option<&Scalar> {
        self.state.get(key)
    }
}

impl RuleProcessing for Pipelines {
    fn process(
        &self,
        rule: &mut Rule,
        node: &Node,
    ) -> Result<Vec<ProcessingNote>, Vec<SigmaError>> {
        self.process_rule(rule, node).map(|p| p.notes)
    }

    fn process_correlation(
        &self,
        correlation: &mut Correlation,
        node: &Node,
        referenced: &[LogSource],
    ) -> Result<Vec<ProcessingNote>, Vec<SigmaError>> {
        self.correlation(correlation, node, referenced)
            .map_err(|e| vec![e])
    }
}

impl Pipelines {
    /// Applies the pipelines to a correlation rule as pySigma does
    /// (`FieldMappingTransformationBase.apply`): rule conditions see the correlation (a
    /// `logsource` condition holds when a referenced rule's log source matches); field name
    /// transformations map the `fields` list, the fields of `aliases` (one field each), the
    /// `group-by` names that are not aliases and the condition's `field`; `set_state`,
    /// `rule_failure` and the `fields` transformations apply; the others change detection
    /// items, which a correlation has none of.
    fn correlation(
        &self,
        correlation: &mut Correlation,
        node: &Node,
        referenced: &[LogSource],
    ) -> Result<Vec<ProcessingNote>, SigmaError> {
        // The rule conditions read the metadata through a rule with no detection.
        let subject = Rule {
            meta: correlation.meta.clone(),
            logsource: LogSource::default(),
            detection: Detection {
                searches: Vec::new(),
                conditions: Vec::new(),
                span: node.span,
                joined: Vec::new(),
            },
        };
        let mut state = RuleState {
            correlation: Some(referenced.to_vec()),
            ..RuleState::default()
        };
        let mut notes = Vec::new();
        for pipeline in &self.pipelines {
            for item in &pipeline.items {
                if !item
                    .rule_conditions
                    .hold(|c| c.holds(&subject, node, &state))
                {
                    continue;
                }
                state.rule_applied.insert(item.id.clone());
                let fail = |message: String| {
                    SigmaError::new(
                        ErrorKind::InvalidValue,
                        node.span,
                        format!(
                            "{message} (processing item `{}` at {})",
                            item.id, item.location
                        ),
                    )
                };
                let mut changed = Vec::new();
                match &item.transformation {
                    Transformation::FieldNames(names) => {
                        let mut map = |field: &str, state: &mut RuleState| -> Option<Vec<String>> {
                            let to = names.map(Some(field)).filter(|_| {
                                item.field_name_conditions
                                    .hold(|c| c.holds_for_name(Some(field), state))
                            })?;
                            track(&mut state.field_applied, field, &to, &item.id);
                            changed.push(format!("`{field}` → `{}`", to.join("` or `")));
                            Some(to)
                        };
                        let one = |to: Option<Vec<String>>, field: &str, what: &str| match to {
                            None => Ok(field.to_owned()),
                            Some(to) if to.len() == 1 => Ok(to[0].clone()),
                            Some(_) => Err(fail(format!(
                                "a field name mapping cannot map {what} `{field}` to several fields"
                            ))),
                        };
                        let fields = std::mem::take(&mut correlation.meta.fields);
                        for field in fields {
                            let to = map(&field, &mut state).unwrap_or_else(|| vec![field]);
                            correlation.meta.fields.extend(to);
                        }
                        for (alias, per_rule) in &mut correlation.aliases {
                            for field in per_rule.values_mut() {
                                let to = map(field, &mut state);
                                *field = one(to, field, &format!("the field of alias `{alias}`"))?;
                            }
                        }
                        let group_by = std::mem::take(&mut correlation.group_by);
                        for field in group_by {
                            if correlation.aliases.contains_key(&field) {
                                correlation.group_by.push(field);
                                continue;
                            }
                            let to = map(&field, &mut state).unwrap_or_else(|| vec![field]);
                            correlation.group_by.extend(to);
                        }
                        let condition_fields = std::mem::take(&mut correlation.condition.fields);
                        for field in condition_fields {
                            let to = map(&field, &mut state);
                            let mapped = one(to, &field, "the condition's field")?;
                            correlation.condition.fields.push(mapped);
                        }
                    }
                    Transformation::SetState { key, val } => {
                        state.state.insert(key.clone(), val.clone());
                        changed.push(format!("state `{key}` = {}", val.text()));
                    }
                    Transformation::RuleFailure(message) => return Err(fail(message.clone())),
                    Transformation::Fields(change, fields) => {
                        let list = &mut correlation.meta.fields;
                        match change {
                            FieldsChange::Add => list.extend(fields.iter().cloned()),
                            FieldsChange::Remove => list.retain(|f| !fields.contains(f)),
                            FieldsChange::Set => *list = fields.clone(),
                        }
                        changed.push(format!("fields: {}", list.join(", ")));
                    }
                    Transformation::DropDetectionItem
                    | Transformation::AddCondition { .. }
                    | Transformation::ChangeLogsource(_)
                    | Transformation::Values(_)
                    | Transformation::DetectionItemFailure(_)
                    | Transformation::HashesFields { .. }
                    // A correlation's field names one column; two joined ones are no column,
                    // so the field is left as written (and a converter refuses it).
                    | Transformation::JoinedColumns(_) => {}
                }
                notes.extend(changed.into_iter().map(|text| ProcessingNote {
                    span: None,
                    text: format!("{text} ({}: {})", pipeline.name, item.kind),
                }));
            }
        }
        Ok(notes)
    }
}

impl Pipelines {
    /// Applies every processing item to `rule` in place, as [`RuleProcessing::process`] does,
    /// and keeps the state and the items that applied.
    ///
    /// # Errors
    /// Why the rule cannot be processed (a `rule_failure`, a `detection_item_failure` that
    /// selected an item, a value a transformation cannot convert), with spans into the rule's
    /// file.
    pub fn process_rule(&self, rule: &mut Rule, node: &Node) -> Result<Processed, Vec<SigmaError>> {
        let searches = rule
            .detection
            .searches
            .iter()
            .map(|s| match &s.body {
                SearchBody::Maps(maps) => WorkSearch {
                    name: s.name.clone(),
                    name_span: s.name_span,
                    maps: maps
                        .iter()
                        .map(|m| WorkMap {
                            items: m.items.iter().map(work).collect(),
                            span: m.span,
                        })
                        .collect(),
                    keywords: false,
                },
                SearchBody::Keywords(item) => WorkSearch {
                    name: s.name.clone(),
                    name_span: s.name_span,
                    maps: vec![WorkMap {
                        items: vec![work(item)],
                        span: item.key_span,
                    }],
                    keywords: true,
                },
            })
            .collect();
        let mut run = Run {
            pipelines: self,
            rule,
            node,
            state: RuleState {
                searches,
                ..RuleState::default()
            },
            notes: Vec::new(),
            added: 0,
        };
        let mut applied = Vec::new();
        for (p, pipeline) in self.pipelines.iter().enumerate() {
            for (i, item) in pipeline.items.iter().enumerate() {
                if run.apply(pipeline, item).map_err(|e| vec![e])? {
                    applied.push((p, i));
                }
            }
        }
        run.drop_empty_searches().map_err(|e| vec![e])?;
        let state = std::mem::take(&mut run.state.state);
        Ok(Processed {
            notes: run.finish(),
            state,
            applied,
        })
    }

    /// The merged `vars` of the pipelines.
    pub(crate) fn vars(&self) -> &HashMap<String, Vec<String>> {
        &self.vars
    }
}

pub(crate) fn work(item: &Item) -> WorkItem {
    WorkItem {
        item: item.clone(),
        state: ItemState::default(),
    }
}

impl Run<'_> {
    fn note(
        &mut self,
        span: Option<Span>,
        pipeline: &Pipeline,
        item: &ProcessingItem,
        text: String,
    ) {
        self.notes.push(ProcessingNote {
            span,
            text: format!("{text} ({}: {})", pipeline.name, item.kind),
        });
    }

    fn fail(&self, span: Span, item: &ProcessingItem, message: &str) -> SigmaError {
        SigmaError::new(
            ErrorKind::InvalidValue,
            span,
            format!(
                "{message} (processing item `{}` at {})",
                item.id, item.location
            ),
        )
    }

    /// Applies one processing item; whether its rule conditions held.
    fn apply(&mut self, pipeline: &Pipeline, item: &ProcessingItem) -> Result<bool, SigmaError> {
        let holds = item
            .rule_conditions
            .hold(|c| c.holds(self.rule, self.node, &self.state));
        if !holds {
            return Ok(false);
        }
        // pySigma marks the rule as processed for every transformation whose rule conditions
        // hold (`PreprocessingTransformation.apply`), whether or not it changed anything.
        self.state.rule_applied.insert(item.id.clone());
        self.transform(pipeline, item).map(|()| true)
    }

    /// What one processing item whose rule conditions hold does to the rule.
    fn transform(&mut self, pipeline: &Pipeline, item: &ProcessingItem) -> Result<(), SigmaError> {
        match &item.transformation {
            Transformation::FieldNames(names) => self.map_fields(pipeline, item, names),
            // The rule's items are renamed to the joined name, and the detection records what
            // the name stands for: the engine reads the columns joined, the converter writes
            // the join.
            Transformation::JoinedColumns(join) => {
                self.map_fields(pipeline, item, &join.rename)?;
                let name = join.columns.name();
                let named = self.state.items().any(|(item, _)| {
                    item.field.as_deref() == Some(name.as_str())
                        || field_references(item).contains(&name)
                });
                let joined = &mut self.rule.detection.joined;
                if named && !joined.contains(&join.columns) {
                    joined.push(join.columns.clone());
                }
                Ok(())
            }
            Transformation::DropDetectionItem => self.each_item(pipeline, item, |_, w, _| {
                Ok((
                    Replacement::Drop,
                    Some(format!("dropped `{}`", w.item.key_text())),
                ))
            }),
            Transformation::AddCondition(add) => self.add_condition(pipeline, item, add),
            Transformation::ChangeLogsource(logsource) => {
                self.rule.logsource = logsource.clone();
                let text = format!(
                    "log source changed to {}",
                    [
                        ("category", &logsource.category),
                        ("product", &logsource.product),
                        ("service", &logsource.service)
                    ]
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
                    .collect::<Vec<_>>()
                    .join(", ")
                );
                self.note(None, pipeline, item, text);
                Ok(())
            }
            Transformation::Values(change) => {
                let vars = &self.pipelines.vars;
                self.each_item(pipeline, item, |run, w, item| {
                    change_values(w, change, vars)
                        .map_err(|m| run.fail(w.item.value_span, item, &m))
                })
            }
            Transformation::Fields(change, fields) => {
                let list = &mut self.rule.meta.fields;
                match change {
                    FieldsChange::Add => list.extend(fields.iter().cloned()),
                    FieldsChange::Remove => list.retain(|f| !fields.contains(f)),
                    FieldsChange::Set => *list = fields.clone(),
                }
                let text = format!("fields: {}", self.rule.meta.fields.join(", "));
                self.note(None, pipeline, item, text);
                Ok(())
            }
            Transformation::SetState { key, val } => {
                self.state.state.insert(key.clone(), val.clone());
                self.note(
                    None,
                    pipeline,
                    item,
                    format!("state `{key}` = {}", val.text()),
                );
                Ok(())
            }
            Transformation::RuleFailure(message) => Err(self.fail(self.node.span, item, message)),
            Transformation::DetectionItemFailure(message) => {
                self.each_item(pipeline, item, |run, w, item| {
                    Err(run.fail(w.item.key_span, item, message))
                })
            }
            Transformation::HashesFields {
                algorithms,
                prefix,
                drop_algo_prefix,
                fields,
            } => self.each_item(pipeline, item, |run, w, item| {
                hashes(w, algorithms, prefix, *drop_algo_prefix, fields)
                    .map_err(|m| run.fail(w.item.value_span, item, &m))
            }),
        }
    }

    /// pySigma `ProcessingItem.match_detection_item`.
    fn matches_item(&self, item: &ProcessingItem, w: &WorkItem) -> bool {
        item.detection_item_conditions
            .hold(|c| c.holds(&w.item, &w.state, &self.state))
            && item
                .field_name_conditions
                .hold(|c| c.holds_for_item(&w.item, &w.state, &self.state))
    }

    /// pySigma `ProcessingItem.match_field_name`.
    fn matches_field(&self, item: &ProcessingItem, field: Option<&str>) -> bool {
        item.field_name_conditions
            .hold(|c| c.holds_for_name(field, &self.state))
    }

    /// Calls `change` on every detection item the processing item's conditions select, and
    /// puts its replacement in place; a changed item is marked as processed by the item.
    fn each_item(
        &mut self,
        pipeline: &Pipeline,
        item: &ProcessingItem,
        mut change: impl FnMut(
            &Self,
            &WorkItem,
            &ProcessingItem,
        ) -> Result<(Replacement, Option<String>), SigmaError>,
    ) -> Result<(), SigmaError> {
        let mut searches = std::mem::take(&mut self.state.searches);
        let mut notes = Vec::new();
        for search in &mut searches {
            let mut maps = Vec::new();
            for map in search.maps.drain(..) {
                // Each item's alternatives; the map is spread into one copy per combination.
                let mut alternatives: Vec<Vec<WorkItem>> = Vec::new();
                for w in map.items {
                    if !self.matches_item(item, &w) {
                        alternatives.push(vec![w]);
                        continue;
                    }
                    let (replacement, note) = change(self, &w, item)?;
                    if let Some(note) = note {
                        notes.push((w.item.key_span, note));
                    }
                    match replacement {
                        Replacement::Keep => alternatives.push(vec![w]),
                        Replacement::Drop => {}
                        Replacement::Any(mut new) => {
                            for n in &mut new {
                                n.state.applied.insert(item.id.clone());
                            }
                            alternatives.push(new);
                        }
                    }
                }
                let mut combinations: Vec<Vec<WorkItem>> = vec![Vec::new()];
                for choices in alternatives {
                    if combinations.len().saturating_mul(choices.len()) > MAX_ALTERNATIVES {
                        return Err(self.fail(
                            map.span,
                            item,
                            &format!("one-to-many mappings spread this search over more than {MAX_ALTERNATIVES} item maps"),
                        ));
                    }
                    combinations = combinations
                        .iter()
                        .flat_map(|c| {
                            choices.iter().map(move |choice| {
                                let mut c = c.clone();
                                c.push(choice.clone());
                                c
                            })
                        })
                        .collect();
                }
                maps.extend(combinations.into_iter().map(|items| WorkMap {
                    items,
                    span: map.span,
                }));
            }
            search.maps = maps;
        }
        self.state.searches = searches;
        for (span, text) in notes {
            self.note(Some(span), pipeline, item, text);
        }
        Ok(())
    }

    /// pySigma `FieldMappingTransformationBase`: the rule's `fields`, field references in
    /// values, and item fields, each name gated by the field name conditions; a keyword item
    /// mapped to a field gets wildcards around its strings to keep its substring semantics.
    fn map_fields(
        &mut self,
        pipeline: &Pipeline,
        item: &ProcessingItem,
        names: &FieldNames,
    ) -> Result<(), SigmaError> {
        let fields = std::mem::take(&mut self.rule.meta.fields);
        let mut mapped_fields = Vec::new();
        for field in fields {
            mapped_fields.extend(
                self.map_name(item, names, &field)
                    .unwrap_or_else(|| vec![field]),
            );
        }
        self.rule.meta.fields = mapped_fields;
        let mut tracks: Vec<(String, Vec<String>)> = Vec::new();
        self.each_item(pipeline, item, |run, w, item| {
            let mut new = w.item.clone();
            let mut changed = Vec::new();
            if !field_references(&w.item).is_empty() {
                let mut values = Vec::new();
                for value in &w.item.values {
                    let name = value.value.text();
                    let holds = run.matches_field(item, Some(&name));
                    match names.map(Some(&name)).filter(|_| holds) {
                        Some(to) => {
                            changed.push(format!(
                                "field reference `{name}` → `{}`",
                                to.join("` or `")
                            ));
                            values.extend(to.into_iter().map(|t| RuleValue {
                                value: Scalar::String(t),
                                span: value.span,
                            }));
                        }
                        None => values.push(value.clone()),
                    }
                }
                new.values = values;
            }
            let field = w.item.field.as_deref();
            let Some(to) = names.map(field).filter(|_| run.matches_field(item, field)) else {
                if changed.is_empty() {
                    return Ok((Replacement::Keep, None));
                }
                return Ok((
                    Replacement::Any(vec![WorkItem {
                        item: new,
                        state: w.state.clone(),
                    }]),
                    Some(changed.join("; ")),
                ));
            };
            if field.is_none() {
                let values: Vec<(PyValue, Span)> = PyValue::of_item(&new)
                    .into_iter()
                    .zip(new.values.iter().map(|v| v.span))
                    .map(|(v, span)| match v {
                        PyValue::Str(parts) => (PyValue::Str(wrap_contains(parts)), span),
                        other => (other, span),
                    })
                    .collect();
                write_values(&mut new, values);
            }
            let from = field.unwrap_or("keywords");
            changed.push(format!("`{from}` → `{}`", to.join("` or `")));
            let alternatives = to
                .iter()
                .map(|f| {
                    let mut copy = new.clone();
                    copy.field = Some(f.clone());
                    WorkItem {
                        item: copy,
                        state: w.state.clone(),
                    }
                })
                .collect();
            if let Some(field) = field {
                tracks.push((field.to_owned(), to.clone()));
            }
            Ok((Replacement::Any(alternatives), Some(changed.join("; "))))
        })?;
        // Field names are tracked after the walk, which only reads the state.
        for (field, to) in tracks {
            track(&mut self.state.field_applied, &field, &to, &item.id);
        }
        Ok(())
    }

    /// A field name of the rule's `fields` list mapped, if the conditions allow it.
    fn map_name(
        &mut self,
        item: &ProcessingItem,
        names: &FieldNames,
        field: &str,
    ) -> Option<Vec<String>> {
        let to = names
            .map(Some(field))
            .filter(|_| self.matches_field(item, Some(field)))?;
        track(&mut self.state.field_applied, field, &to, &item.id);
        Some(to)
    }

    /// pySigma `AddConditionTransformation`: a new search identifier (`name`, else
    /// `_cond_<n>`, the rule's n-th unnamed one) with the given items, and every condition `C`
    /// becomes `name and (C)` (`not name and (C)` when negated). The new items' positions are
    /// the rule's detection section. A name the rule already has is refused: pySigma would
    /// silently replace that search, changing what the rule's own condition means.
    fn add_condition(
        &mut self,
        pipeline: &Pipeline,
        item: &ProcessingItem,
        add: &AddCondition,
    ) -> Result<(), SigmaError> {
        let AddCondition {
            name,
            conditions,
            source,
            template,
            negated,
        } = add;
        let (template, negated) = (*template, *negated);
        let name = match name {
            Some(name) => name.clone(),
            None => {
                self.added += 1;
                format!("_cond_{}", self.added)
            }
        };
        if self.state.searches.iter().any(|s| s.name == name) {
            return Err(self.fail(
                self.rule.detection.span,
                item,
                &format!(
                    "`add_condition` names its search `{name}`, which the rule already has \
                     (pySigma would replace the rule's own search)"
                ),
            ));
        }
        let conditions = if template {
            substitute_template(conditions, &self.rule.logsource)
        } else {
            conditions.clone()
        };
        let wrapper = Node {
            value: Value::Map(vec![
                (string_node(&name), conditions),
                (string_node("condition"), string_node(&name)),
            ]),
            span: Span::default(),
        };
        let mut errors = Vec::new();
        let parsed = Detection::parse(&wrapper, source, &mut errors);
        let body = match (parsed, errors.first()) {
            (Some(mut detection), None) if !detection.searches.is_empty() => {
                detection.searches.remove(0).body
            }
            (_, error) => {
                let message = error.map_or_else(
                    || "the conditions are not a valid search".to_owned(),
                    |e| format!("{}: {}", source.location(e.span), e.message),
                );
                return Err(self.fail(self.rule.detection.span, item, &message));
            }
        };
        let at = self.rule.detection.span;
        let mut maps: Vec<WorkMap> = match body {
            SearchBody::Maps(maps) => maps
                .into_iter()
                .map(|m| WorkMap {
                    items: m
                        .items
                        .into_iter()
                        .map(|i| work(&relocate(i, at)))
                        .collect(),
                    span: at,
                })
                .collect(),
            SearchBody::Keywords(i) => vec![WorkMap {
                items: vec![work(&relocate(i, at))],
                span: at,
            }],
        };
        let described: Vec<String> = maps
            .iter()
            .flat_map(|m| m.items.iter())
            .map(|w| describe(&w.item))
            .collect();
        for map in &mut maps {
            for w in &mut map.items {
                w.state.applied.insert(item.id.clone());
            }
        }
        self.state.searches.push(WorkSearch {
            name: name.clone(),
            name_span: at,
            maps,
            keywords: false,
        });
        let not = if negated { "not " } else { "" };
        for condition in &mut self.rule.detection.conditions {
            condition.text = format!("{not}{name} and ({})", condition.text);
            if let Ok(expr) = &condition.parsed {
                let ident = CondExpr::Ident {
                    name: name.clone(),
                    span: condition.span,
                };
                let ident = if negated {
                    CondExpr::Not(Box::new(ident))
                } else {
                    ident
                };
                condition.parsed = Ok(CondExpr::And(vec![ident, expr.clone()]));
            }
        }
        let text = format!("added condition {not}{name}: {}", described.join(" and "));
        self.note(None, pipeline, item, text);
        Ok(())
    }

    /// pySigma converts a detection whose items were all dropped to nothing, and the operator
    /// above it leaves it out (`a and not f` becomes `a` when `f` is empty). The same reading
    /// here: an emptied item map leaves its search, and a search with none left leaves the
    /// detection and every condition, with the `not` applied to it; a condition left with
    /// nothing is an error.
    fn drop_empty_searches(&mut self) -> Result<(), SigmaError> {
        // An item map left empty leaves its search's OR the same way.
        for search in &mut self.state.searches {
            search.maps.retain(|m| !m.items.is_empty());
        }
        let empty: Vec<String> = self
            .state
            .searches
            .iter()
            .filter(|s| s.maps.is_empty())
            .map(|s| s.name.clone())
            .collect();
        if empty.is_empty() {
            return Ok(());
        }
        self.state.searches.retain(|s| !empty.contains(&s.name));
        for condition in &mut self.rule.detection.conditions {
            let Ok(expr) = &condition.parsed else {
                continue;
            };
            let Some(pruned) = prune(expr, &empty) else {
                return Err(SigmaError::new(
                    ErrorKind::InvalidValue,
                    condition.span,
                    format!(
                        "the pipelines dropped every detection item this condition uses ({})",
                        empty.join(", ")
                    ),
                ));
            };
            condition.text = condition_text(&pruned);
            condition.parsed = Ok(pruned);
        }
        self.notes.push(ProcessingNote {
            span: None,
            text: format!(
                "left out of the condition, every item dropped: {}",
                empty.join(", ")
            ),
        });
        Ok(())
    }

    /// Writes the processed searches back into the rule; returns the notes.
    fn finish(self) -> Vec<ProcessingNote> {
        let Run {
            rule, state, notes, ..
        } = self;
        rule.detection.searches = state
            .searches
            .into_iter()
            .map(|s| {
                let keyword = s.keywords
                    && s.maps.len() == 1
                    && s.maps[0].items.len() == 1
                    && s.maps[0].items[0].item.field.is_none();
                let body = if keyword {
                    SearchBody::Keywords(s.maps[0].items[0].item.clone())
                } else {
                    SearchBody::Maps(
                        s.maps
                            .into_iter()
                            .map(|m| ItemMap {
                                items: m.items.into_iter().map(|w| w.item).collect(),
                                span: m.span,
                            })
                            .collect(),
                    )
                };
                Search {
                    name: s.name,
                    name_span: s.name_span,
                    body,
                }
            })
            .collect();
        notes
    }
}

/// pySigma `track_field_processing_items`: the ids that produced `field`, plus this one, move
/// to each new name.
fn track(applied: &mut HashMap<String, BTreeSet<String>>, field: &str, to: &[String], id: &str) {
    if to.len() == 1 && to[0] == field {
        return;
    }
    let mut ids = applied.remove(field).unwrap_or_default();
    ids.insert(id.to_owned());
    for name in to {
        applied.insert(name.clone(), ids.clone());
    }
}

fn string_node(text: &str) -> Node {
    Node {
        value: Value::String(text.to_owned()),
        span: Span::default(),
    }
}

/// An item from a pipeline file, placed at `at` in the rule's file (its own positions are in
/// another file).
fn relocate(mut item: Item, at: Span) -> Item {
    item.key_span = at;
    item.value_span = at;
    for (_, span) in &mut item.modifiers {
        *span = at;
    }
    for value in &mut item.values {
        value.span = at;
    }
    item
}

/// `Field|mods = 'value'` or `Field|mods in ('a', 2)`, for notes: strings quoted, so a
/// number and the string of its digits differ.
pub(crate) fn describe(item: &Item) -> String {
    let values: Vec<String> = item.values.iter().map(|v| quoted(&v.value)).collect();
    match values.as_slice() {
        [one] => format!("{} = {one}", item.key_text()),
        _ => format!("{} in ({})", item.key_text(), values.join(", ")),
    }
}

/// `template: true`: `$category`, `$product` and `$service` (Python's `string.Template`,
/// `safe_substitute`: unknown names stay; a missing log source field is `None`, as Python
/// prints it).
fn substitute_template(node: &Node, logsource: &LogSource) -> Node {
    let value = match &node.value {
        Value::String(s) => {
            let get = |f: &Option<String>| f.clone().unwrap_or_else(|| "None".to_owned());
            let mut out = s.replace("$$", "\u{0}");
            for (name, value) in [
                ("category", get(&logsource.category)),
                ("product", get(&logsource.product)),
                ("service", get(&logsource.service)),
            ] {
                out = out
                    .replace(&format!("${{{name}}}"), &value)
                    .replace(&format!("${name}"), &value);
            }
            Value::String(out.replace('\u{0}', "$"))
        }
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|i| substitute_template(i, logsource))
                .collect(),
        ),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), substitute_template(v, logsource)))
                .collect(),
        ),
        other => other.clone(),
    };
    Node {
        value,
        span: node.span,
    }
}

/// The value transformations on one item: `Keep` when nothing changed.
pub(crate) fn change_values(
    w: &WorkItem,
    change: &ValueChange,
    vars: &HashMap<String, Vec<String>>,
) -> Result<(Replacement, Option<String>), String> {
    let mut item = w.item.clone();
    let before = describe(&item);
    let changed = match change {
        ValueChange::Placeholders {
            wildcard,
            include,
            exclude,
        } => placeholders(
            &mut item,
            *wildcard,
            include.as_deref(),
            exclude.as_deref(),
            vars,
        )?,
        ValueChange::SetValue(value) => {
            // `set_value` replaces values of every type, so the modifiers that typed them go;
            // `all` is how the values link, not a type, and stays.
            item.modifiers.retain(|(m, _)| *m == Modifier::All);
            for v in &mut item.values {
                v.value = value.clone();
            }
            true
        }
        ValueChange::Regex(method) => to_regex(&mut item, *method)?,
        _ if !is_plain(&item) => false,
        other => {
            let mut modified = false;
            let mut values = Vec::new();
            for (v, value) in PyValue::of_item(&item).into_iter().zip(&item.values) {
                match string_change(other, &v)? {
                    Some(new) => {
                        modified = true;
                        values.extend(new.into_iter().map(|n| (n, value.span)));
                    }
                    None => values.push((v, value.span)),
                }
            }
            if modified {
                write_values(&mut item, values);
            }
            modified
        }
    };
    if !changed {
        return Ok((Replacement::Keep, None));
    }
    // pySigma counts a value transformation that returned an equal value as applied (the item
    // is marked), but nothing changed: the item stays as written.
    if is_plain(&w.item) && is_plain(&item) && PyValue::of_item(&w.item) == PyValue::of_item(&item)
    {
        return Ok((
            Replacement::Any(vec![WorkItem {
                item: w.item.clone(),
                state: w.state.clone(),
            }]),
            None,
        ));
    }
    let note = format!("{before} → {}", describe(&item));
    Ok((
        Replacement::Any(vec![WorkItem {
            item,
            state: w.state.clone(),
        }]),
        Some(note),
    ))
}

/// One value through `replace_string`, `map_string`, `convert_type` or `case`: `None` when
/// the transformation leaves it alone.
fn string_change(change: &ValueChange, value: &PyValue) -> Result<Option<Vec<PyValue>>, String> {
    Ok(match (change, value) {
        (
            ValueChange::ReplaceString {
                regex,
                replacement,
                skip_special,
                interpret_special,
            },
            PyValue::Str(_) | PyValue::Num(_),
        ) => {
            let parts = match value {
                PyValue::Str(parts) => parts.clone(),
                other => vec![Part::Literal(other.display())],
            };
            let new = if *skip_special {
                let mut out = Vec::new();
                for part in parts {
                    match part {
                        Part::Literal(s) => {
                            let replaced = regex.replace_all(&s, replacement.as_str()).into_owned();
                            if *interpret_special {
                                out.extend(parse_sigma_string(&replaced));
                            } else if !replaced.is_empty() {
                                out.push(Part::Literal(replaced));
                            }
                        }
                        other => out.push(other),
                    }
                }
                out
            } else {
                parse_py_plain(&regex.replace_all(&py_plain(&parts), replacement.as_str()))
            };
            Some(vec![PyValue::Str(new)])
        }
        (ValueChange::MapString(mapping), PyValue::Str(parts)) => {
            let plain = py_plain(parts);
            mapping
                .iter()
                .find(|(from, _)| *from == plain)
                .map(|(_, to)| {
                    to.iter()
                        .map(|t| PyValue::Str(parse_sigma_string(t)))
                        .collect()
                })
        }
        (ValueChange::HexToDecimal(regex), PyValue::Str(parts)) => {
            let plain = py_plain(parts);
            match regex.captures(&plain) {
                // The whole value must match: a partial match would keep text around a number
                // that no longer means what it did.
                Some(found) if found.get(0).is_some_and(|m| m.as_str() == plain) => {
                    let digits = found.get(1).map_or("", |m| m.as_str());
                    let number = u64::from_str_radix(digits, 16).map_err(|_| {
                        format!("`{digits}` in `{plain}` is not a hexadecimal number of 64 bits")
                    })?;
                    Some(vec![PyValue::Str(vec![Part::Literal(number.to_string())])])
                }
                _ => None,
            }
        }
        (ValueChange::ConvertType { to_number: false }, PyValue::Num(n)) => {
            Some(vec![PyValue::Str(vec![Part::Literal(n.text())])])
        }
        (ValueChange::ConvertType { to_number: true }, PyValue::Str(parts)) => {
            let plain = py_plain(parts);
            let number = parse_number(&plain)
                .ok_or_else(|| format!("value `{plain}` can't be converted to a number"))?;
            Some(vec![PyValue::Num(number)])
        }
        (ValueChange::Case(method), PyValue::Str(parts)) => Some(vec![PyValue::Str(
            parts
                .iter()
                .map(|p| match p {
                    Part::Literal(s) => Part::Literal(match method {
                        CaseMethod::Lower => s.to_lowercase(),
                        CaseMethod::Upper => s.to_uppercase(),
                        CaseMethod::SnakeCase => snake_case(s),
                    }),
                    other => other.clone(),
                })
                .collect(),
        )]),
        _ => None,
    })
}

/// pySigma `SigmaString.snake_case`: `_` before every ASCII capital that does not start the
/// string part, then lower case.
fn snake_case(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Python's `re.escape` (3.7+): only the characters special in a pattern are escaped.
fn python_re_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// pySigma `RegexTransformation`: each string value becomes a regular expression (`*` → `.*`,
/// `?` → `.`, literals escaped, or `[aA]` brackets); the item becomes a `re` item (with `i`
/// for `ignore_case_flag`). An empty string stays a string, as in pySigma.
fn to_regex(item: &mut Item, method: RegexMethod) -> Result<bool, String> {
    if !is_plain(item) {
        return Ok(false);
    }
    let views = PyValue::of_item(item);
    if !views
        .iter()
        .any(|v| matches!(v, PyValue::Str(p) if !p.is_empty()))
    {
        return Ok(false);
    }
    if item.modifiers.iter().any(|(m, _)| *m == Modifier::Expand) {
        for value in &item.values {
            if let Scalar::String(s) = &value.value
                && placeholder_parts(s)
                    .iter()
                    .any(|p| matches!(p, PlaceholderPart::Placeholder(_)))
            {
                return Err("a placeholder can't be converted to a regular expression; resolve it with a placeholder transformation first".to_owned());
            }
        }
    }
    for (view, value) in views.into_iter().zip(&mut item.values) {
        let PyValue::Str(parts) = view else {
            continue;
        };
        let mut regex = String::new();
        for part in &parts {
            match part {
                Part::Literal(s) if method == RegexMethod::IgnoreCaseBrackets => {
                    for c in s.chars() {
                        if c.is_alphabetic() {
                            regex.push('[');
                            regex.extend(c.to_lowercase());
                            regex.extend(c.to_uppercase());
                            regex.push(']');
                        } else {
                            regex.push_str(&python_re_escape(&c.to_string()));
                        }
                    }
                }
                Part::Literal(s) => regex.push_str(&python_re_escape(s)),
                Part::AnyRun => regex.push_str(".*"),
                Part::AnyChar | Part::Dash => regex.push('.'),
            }
        }
        value.value = Scalar::String(regex);
    }
    let at = item.key_span;
    item.modifiers.retain(|(m, _)| {
        !matches!(
            m,
            Modifier::Contains
                | Modifier::StartsWith
                | Modifier::EndsWith
                | Modifier::Cased
                | Modifier::Expand
        )
    });
    item.modifiers.push((Modifier::Re, at));
    if method == RegexMethod::IgnoreCaseFlag {
        item.modifiers.push((Modifier::ReInsensitive, at));
    }
    Ok(true)
}

/// pySigma `ValueListPlaceholderTransformation` / `WildcardPlaceholderTransformation` on the
/// `%name%` placeholders of an `expand` item: each handled placeholder becomes each of its
/// variable's values (every combination, as separate values) or `*`; others stay. The item
/// keeps `expand`, so a `%` that is now plain text is written `\%`.
fn placeholders(
    item: &mut Item,
    wildcard: bool,
    include: Option<&[String]>,
    exclude: Option<&[String]>,
    vars: &HashMap<String, Vec<String>>,
) -> Result<bool, String> {
    if !item.modifiers.iter().any(|(m, _)| *m == Modifier::Expand) {
        return Ok(false);
    }
    let handled = |name: &str| match (include, exclude) {
        (Some(include), _) => include.iter().any(|i| i == name),
        (_, Some(exclude)) => !exclude.iter().any(|e| e == name),
        _ => true,
    };
    let escape = |s: &str| s.replace('%', "\\%");
    let mut changed = false;
    let mut values = Vec::new();
    for value in &item.values {
        let Scalar::String(text) = &value.value else {
            values.push(value.clone());
            continue;
        };
        let parts = placeholder_parts(text);
        if !parts
            .iter()
            .any(|p| matches!(p, PlaceholderPart::Placeholder(n) if handled(n)))
        {
            values.push(value.clone());
            continue;
        }
        changed = true;
        let mut results = vec![String::new()];
        for part in parts {
            let choices: Vec<String> = match part {
                PlaceholderPart::Text(t) => vec![escape(&t)],
                PlaceholderPart::Placeholder(name) if !handled(&name) => {
                    vec![format!("%{name}%")]
                }
                PlaceholderPart::Placeholder(_) if wildcard => vec!["*".to_owned()],
                PlaceholderPart::Placeholder(name) => vars
                    .get(&name)
                    .ok_or_else(|| {
                        format!("placeholder replacement variable `{name}` doesn't exist")
                    })?
                    .iter()
                    .map(|v| escape(v))
                    .collect(),
            };
            if results.len().saturating_mul(choices.len()) > MAX_ALTERNATIVES {
                return Err(format!(
                    "the placeholders expand to more than {MAX_ALTERNATIVES} values"
                ));
            }
            results = results
                .iter()
                .flat_map(|r| choices.iter().map(move |c| format!("{r}{c}")))
                .collect();
        }
        values.extend(results.into_iter().map(|r| RuleValue {
            value: Scalar::String(r),
            span: value.span,
        }));
    }
    if changed {
        item.is_list = item.is_list || values.len() > 1;
        item.values = values;
    }
    Ok(changed)
}

/// pySigma `HashesFieldsDetectionItemTransformation`: `Hashes: 'SHA256=…'` values become one
/// item per algorithm (`<prefix><ALGO>`), ORed; a value without `ALGO=` is typed by its length.
pub(crate) fn hashes(
    w: &WorkItem,
    algorithms: &[String],
    prefix: &str,
    drop_algo_prefix: bool,
    fields: &[String],
) -> Result<(Replacement, Option<String>), String> {
    let item = &w.item;
    if !item.field.as_ref().is_some_and(|f| fields.contains(f)) {
        return Ok((Replacement::Keep, None));
    }
    let views = PyValue::of_item(item);
    if !views.iter().all(|v| matches!(v, PyValue::Str(_))) {
        return Ok((Replacement::Keep, None));
    }
    let mut by_field: Vec<(String, Vec<RuleValue>)> = Vec::new();
    for (view, value) in views.iter().zip(&item.values) {
        let PyValue::Str(parts) = view else { continue };
        let plain = py_plain(parts);
        let pieces: Vec<&str> = if plain.contains('|') {
            plain.split('|').collect()
        } else {
            plain.split('=').collect()
        };
        let (algorithm, hash) = match pieces.as_slice() {
            [algorithm, hash] => (
                algorithm.trim_start_matches('*').to_uppercase(),
                hash.trim_matches(['*', '?']).to_owned(),
            ),
            _ => {
                let hash = pieces[0].trim_matches(['*', '?']).to_owned();
                let algorithm = match hash.chars().count() {
                    32 => "MD5",
                    40 => "SHA1",
                    64 => "SHA256",
                    128 => "SHA512",
                    _ => "",
                };
                (algorithm.to_owned(), hash)
            }
        };
        if !algorithms.contains(&algorithm) {
            continue;
        }
        let suffix = if drop_algo_prefix {
            ""
        } else {
            algorithm.as_str()
        };
        let field = format!("{prefix}{suffix}");
        let value = RuleValue {
            value: Scalar::String(hash),
            span: value.span,
        };
        match by_field.iter_mut().find(|(f, _)| *f == field) {
            Some((_, values)) => values.push(value),
            None => by_field.push((field, vec![value])),
        }
    }
    if by_field.is_empty() {
        return Err(format!(
            "no valid hash algorithm found in the hashes field; use one of: {}",
            algorithms.join(", ")
        ));
    }
    let note = format!(
        "`{}` → {}",
        item.key_text(),
        by_field
            .iter()
            .map(|(f, _)| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(" or ")
    );
    let alternatives = by_field
        .into_iter()
        .map(|(field, values)| WorkItem {
            item: Item {
                field: Some(field),
                key_span: item.key_span,
                modifiers: Vec::new(),
                is_list: values.len() > 1,
                values,
                value_span: item.value_span,
            },
            state: w.state.clone(),
        })
        .collect();
    Ok((Replacement::Any(alternatives), Some(note)))
}

/// A value as a note shows it: strings in single quotes.
pub(crate) fn quoted(value: &Scalar) -> String {
    match value {
        Scalar::String(s) => format!("'{s}'"),
        other => other.text(),
    }
}

/// A condition without the named searches: an operand that is one of them is left out of its
/// `and` / `or` (and a `not` of it with it); `None` when nothing is left.
fn prune(expr: &CondExpr, gone: &[String]) -> Option<CondExpr> {
    match expr {
        CondExpr::Ident { name, .. } => (!gone.contains(name)).then(|| expr.clone()),
        CondExpr::Not(inner) => prune(inner, gone).map(|i| CondExpr::Not(Box::new(i))),
        CondExpr::And(items) | CondExpr::Or(items) => {
            let mut kept: Vec<CondExpr> = items.iter().filter_map(|i| prune(i, gone)).collect();
            match kept.len() {
                0 => None,
                1 => kept.pop(),
                _ if matches!(expr, CondExpr::And(_)) => Some(CondExpr::And(kept)),
                _ => Some(CondExpr::Or(kept)),
            }
        }
        // A pattern selects among the searches that are left when the rule compiles.
        CondExpr::Quantified { .. } => Some(expr.clone()),
    }
}

/// A condition written back as text, parenthesized wherever an operand is an operator.
fn condition_text(expr: &CondExpr) -> String {
    let operand = |e: &CondExpr| match e {
        CondExpr::And(_) | CondExpr::Or(_) => format!("({})", condition_text(e)),
        _ => condition_text(e),
    };
    match expr {
        CondExpr::Ident { name, .. } => name.clone(),
        CondExpr::Not(inner) => format!("not {}", operand(inner)),
        CondExpr::And(items) => items.iter().map(operand).collect::<Vec<_>>().join(" and "),
        CondExpr::Or(items) => items.iter().map(operand).collect::<Vec<_>>().join(" or "),
        CondExpr::Quantified {
            quantifier, target, ..
        } => format!(
            "{} of {}",
            match quantifier {
                ruleproof_sigma::condition::Quantifier::Any => "1",
                ruleproof_sigma::condition::Quantifier::All => "all",
            },
            target.as_str()
        ),
    }
}

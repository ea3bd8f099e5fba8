//! Events for a rule: one positive per way its condition can be true (and per further value of a
//! list, where coverage needs it), near misses one step outside each, every one confirmed by the
//! engine before it is returned.

use serde_json::{Map, Value};

use ruleproof_sigma::detection::{Item, Scalar, SearchBody};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::{CompileOptions, CompiledRule, Rule, value_patterns};

use crate::branch::{Literal, Way, ways};
use crate::sample::{Bounds, cidr_sample, plausible, regex_sample, string_for};

/// Why an event was generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The rule must match it: one way the condition is true.
    Positive,
    /// The rule must not match it: one step outside a positive.
    NearMiss,
    /// It tells the rule from one of its mutants (`cases suggest`).
    KillsMutant,
}

impl Kind {
    /// The name in output: `positive`, `near-miss`, `kills-mutant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Positive => "positive",
            Kind::NearMiss => "near-miss",
            Kind::KillsMutant => "kills-mutant",
        }
    }
}

/// A generated event with its expected verdict, confirmed by the engine.
#[derive(Clone, Debug)]
pub struct GeneratedEvent {
    /// Whether the rule must match it.
    pub expect_match: bool,
    /// Why it was generated.
    pub kind: Kind,
    /// Which branch, value or mutant it is for, e.g. `selection: Image|endswith '\cmd.exe'`.
    pub target: String,
    /// A flat JSON object, field names as the rule writes them.
    pub event: Value,
}

/// A branch no event could be generated for, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsatisfied {
    /// The branch: its searches, `not` before those that must be false.
    pub target: String,
    /// Why no event was built.
    pub reason: String,
    /// Whether the branch is provably contradictory (no event can satisfy it), as opposed to
    /// beyond what the generator can build.
    pub contradictory: bool,
}

/// Everything generated for one rule.
#[derive(Clone, Debug, Default)]
pub struct RuleEvents {
    /// Positives first, then near misses; each confirmed by the engine.
    pub events: Vec<GeneratedEvent>,
    /// The ways of the condition no positive was built for.
    pub unsatisfied: Vec<Unsatisfied>,
}

impl RuleEvents {
    /// Whether at least one positive was confirmed.
    pub fn has_positive(&self) -> bool {
        self.events.iter().any(|e| e.kind == Kind::Positive)
    }
}

/// How many events of each kind one rule gets at most, so a rule listing hundreds of values
/// stays readable.
pub const MAX_EVENTS_PER_KIND: usize = 200;

/// Which map of each positive search, and which value of each item, an event takes.
#[derive(Clone, Debug, Default)]
struct Choice {
    /// (search, map) pairs; searches not listed take map 0.
    maps: Vec<(usize, usize)>,
    /// (search, map, item, value) picks; items not listed take value 0.
    values: Vec<(usize, usize, usize, usize)>,
}

impl Choice {
    fn map(&self, search: usize) -> usize {
        self.maps
            .iter()
            .find(|(s, _)| *s == search)
            .map_or(0, |(_, m)| *m)
    }

    fn value(&self, search: usize, map: usize, item: usize) -> usize {
        self.values
            .iter()
            .find(|(s, m, i, _)| (*s, *m, *i) == (search, map, item))
            .map_or(0, |(.., v)| *v)
    }
}

/// Generates and confirms events for one rule.
pub fn generate(rule: &Rule, compiled: &CompiledRule, options: &CompileOptions) -> RuleEvents {
    let mut out = RuleEvents::default();
    // A condition that does not parse leaves the rule uncompiled; there is nothing to generate.
    let Ok(conditions) = rule
        .detection
        .conditions
        .iter()
        .map(|c| c.parsed.clone())
        .collect::<Result<Vec<_>, _>>()
    else {
        return out;
    };
    let generator = Generator {
        rule,
        compiled,
        options,
    };
    let names = generator.search_names();
    let mut positives = Vec::new();
    let mut near_misses = Vec::new();
    for condition in &conditions {
        for way in ways(condition, &names, false) {
            generator.way(&way, &mut positives, &mut near_misses, &mut out.unsatisfied);
        }
    }
    positives.truncate(MAX_EVENTS_PER_KIND);
    near_misses.truncate(MAX_EVENTS_PER_KIND);
    dedup(&mut positives);
    dedup(&mut near_misses);
    out.events = positives;
    out.events.extend(near_misses);
    out
}

/// Where a value sits in a rule's detection: search, map (0 for a plain map), item, value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueAt {
    /// The search identifier, by index in the detection.
    pub search: usize,
    /// The map of a search that is a list of maps (0 otherwise).
    pub map: usize,
    /// The item within the map.
    pub item: usize,
    /// The value within the item's list.
    pub value: usize,
}

/// An engine-confirmed event that a given value decides: for a search the condition needs true,
/// a positive built on that value (expect match); for a search the condition needs false (a
/// filter), a positive of the rest with the filter satisfied on that value (expect no-match).
/// `None` when no such event could be built.
pub fn event_for_value(
    rule: &Rule,
    compiled: &CompiledRule,
    options: &CompileOptions,
    at: ValueAt,
) -> Option<GeneratedEvent> {
    let generator = Generator {
        rule,
        compiled,
        options,
    };
    let names = generator.search_names();
    let choice = Choice {
        maps: vec![(at.search, at.map)],
        values: vec![(at.search, at.map, at.item, at.value)],
    };
    let search = &rule.detection.searches[at.search];
    let item = match &search.body {
        SearchBody::Maps(maps) => maps.get(at.map)?.items.get(at.item)?,
        SearchBody::Keywords(item) => item,
    };
    let target = format!(
        "{}: {} {}",
        search.name,
        item.key_text(),
        value_text(&item.values.get(at.value)?.value)
    );
    for condition in rule
        .detection
        .conditions
        .iter()
        .filter_map(|c| c.parsed.as_ref().ok())
    {
        for way in ways(condition, &names, false) {
            let Some(literal) = way.iter().find(|l| l.search == at.search) else {
                continue;
            };
            if literal.positive {
                if let Ok(event) = generator.event_for(&way, &choice)
                    && compiled.matches(&event)
                {
                    return Some(GeneratedEvent {
                        expect_match: true,
                        kind: Kind::Positive,
                        target,
                        event,
                    });
                }
                continue;
            }
            let Ok(Value::Object(mut fields)) = generator.event_for(&way, &Choice::default())
            else {
                continue;
            };
            let mut needs = Vec::new();
            let positive = Literal {
                search: at.search,
                positive: true,
            };
            if generator.add_search(positive, &choice, &mut needs).is_err() {
                continue;
            }
            let Ok(Value::Object(extra)) = build_event(&needs, 0) else {
                continue;
            };
            fields.extend(extra);
            let event = Value::Object(fields);
            if !compiled.matches(&event) {
                return Some(GeneratedEvent {
                    expect_match: false,
                    kind: Kind::NearMiss,
                    target: format!("{target} rejects it"),
                    event,
                });
            }
        }
    }
    None
}

fn dedup(events: &mut Vec<GeneratedEvent>) {
    let mut seen: Vec<Value> = Vec::new();
    events.retain(|e| {
        if seen.contains(&e.event) {
            false
        } else {
            seen.push(e.event.clone());
            true
        }
    });
}

struct Generator<'a> {
    rule: &'a Rule,
    compiled: &'a CompiledRule,
    options: &'a CompileOptions,
}

impl<'a> Generator<'a> {
    /// The rule's search identifiers in detection order, which its conditions name.
    fn search_names(&self) -> Vec<&'a str> {
        let rule: &'a Rule = self.rule;
        rule.detection
            .searches
            .iter()
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// What one field must satisfy, gathered from every item on it.
#[derive(Clone, Debug, Default)]
struct FieldNeeds {
    patterns: Vec<Vec<ruleproof_sigma::pattern::Part>>,
    regexes: Vec<(String, bool, bool)>,
    bounds: Option<Bounds>,
    cidr: Option<String>,
    exists: Option<bool>,
    null: bool,
    /// Another field whose value this one must equal (or contain, start or end with).
    fieldref: Option<(String, Modifier)>,
    /// Values it must not equal (`neq`).
    not_equal: bool,
    boolean: Option<bool>,
}

impl Generator<'_> {
    fn describe(&self, way: &Way) -> String {
        way.iter()
            .map(|l| {
                let name = &self.rule.detection.searches[l.search].name;
                if l.positive {
                    name.clone()
                } else {
                    format!("not {name}")
                }
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn way(
        &self,
        way: &Way,
        positives: &mut Vec<GeneratedEvent>,
        near_misses: &mut Vec<GeneratedEvent>,
        unsatisfied: &mut Vec<Unsatisfied>,
    ) {
        let target = self.describe(way);
        // The way itself (map 0 and value 0 everywhere), then each further map of a search
        // that is a list of maps, then each further value of a list.
        let mut choices = vec![(target.clone(), Choice::default())];
        for literal in way.iter().filter(|l| l.positive) {
            let search = &self.rule.detection.searches[literal.search];
            let SearchBody::Maps(maps) = &search.body else {
                continue;
            };
            for m in 1..maps.len() {
                choices.push((
                    format!("{target} (map {} of {})", m + 1, maps.len()),
                    Choice {
                        maps: vec![(literal.search, m)],
                        values: Vec::new(),
                    },
                ));
            }
            for (m, map) in maps.iter().enumerate() {
                for (i, item) in map.items.iter().enumerate() {
                    if has(item, Modifier::All) {
                        continue;
                    }
                    for v in 1..item.values.len() {
                        choices.push((
                            format!(
                                "{}: {} {}",
                                search.name,
                                item.key_text(),
                                value_text(&item.values[v].value)
                            ),
                            Choice {
                                maps: vec![(literal.search, m)],
                                values: vec![(literal.search, m, i, v)],
                            },
                        ));
                    }
                }
            }
        }
        let mut first = true;
        for (label, choice) in choices {
            if positives.len() >= MAX_EVENTS_PER_KIND {
                break;
            }
            match self.event_for(way, &choice) {
                Ok(event) if self.compiled.matches(&event) => {
                    if first {
                        self.near_misses(way, &choice, &event, &label, near_misses);
                    }
                    positives.push(GeneratedEvent {
                        expect_match: true,
                        kind: Kind::Positive,
                        target: label,
                        event,
                    });
                }
                Ok(_) if first => unsatisfied.push(Unsatisfied {
                    target: label,
                    reason: "the generated event does not match (a filter or another item \
                             rejects it)"
                        .to_owned(),
                    contradictory: false,
                }),
                Err((reason, contradictory)) if first => unsatisfied.push(Unsatisfied {
                    target: label,
                    reason,
                    contradictory,
                }),
                _ => {}
            }
            first = false;
        }
    }

    /// The event for a way under a choice of maps and values; `Err((reason, contradictory))`
    /// when the fields' requirements cannot be met.
    fn event_for(&self, way: &Way, choice: &Choice) -> Result<Value, (String, bool)> {
        let mut needs: Vec<(String, FieldNeeds)> = Vec::new();
        for literal in way.iter().filter(|l| l.positive) {
            self.add_search(*literal, choice, &mut needs)?;
        }
        // A filter on `Field: null` (or `exists: false`) matches an event without the field:
        // such fields get a value, so the filter does not reject the positive.
        for literal in way.iter().filter(|l| !l.positive) {
            let SearchBody::Maps(maps) = &self.rule.detection.searches[literal.search].body else {
                continue;
            };
            for item in maps.iter().flat_map(|m| &m.items) {
                let Some(field) = &item.field else { continue };
                let matches_absence = item.values.iter().any(|v| v.value == Scalar::Null)
                    || (has(item, Modifier::Exists)
                        && item.values.iter().any(|v| v.value == Scalar::Bool(false)));
                if matches_absence && !needs.iter().any(|(f, _)| f == field) {
                    needs.push((
                        field.clone(),
                        FieldNeeds {
                            exists: Some(true),
                            ..FieldNeeds::default()
                        },
                    ));
                }
            }
        }
        // Variants place the pieces differently (another directory before a path, a regular
        // expression's sample before the other values) for rules whose filters or anchors
        // reject the first attempt.
        let mut last = None;
        for variant in 0..VARIANTS {
            let event = build_event(&needs, variant)?;
            if self.compiled.matches(&event) {
                return Ok(event);
            }
            last = Some(event);
        }
        last.ok_or_else(|| ("no event was built".to_owned(), false))
    }

    fn add_search(
        &self,
        literal: Literal,
        choice: &Choice,
        needs: &mut Vec<(String, FieldNeeds)>,
    ) -> Result<(), (String, bool)> {
        let search = &self.rule.detection.searches[literal.search];
        match &search.body {
            SearchBody::Maps(maps) => {
                let m = choice.map(literal.search).min(maps.len() - 1);
                for (i, item) in maps[m].items.iter().enumerate() {
                    let v = choice.value(literal.search, m, i);
                    self.add_item(item, v, needs)?;
                }
            }
            SearchBody::Keywords(item) => self.add_item(item, 0, needs)?,
        }
        Ok(())
    }

    fn add_item(
        &self,
        item: &Item,
        pick: usize,
        needs: &mut Vec<(String, FieldNeeds)>,
    ) -> Result<(), (String, bool)> {
        // Keywords are found in any value; they go in a `Message` field, as in many log sources.
        let field = item
            .field
            .clone()
            .unwrap_or_else(|| KEYWORD_FIELD.to_owned());
        let index = match needs.iter().position(|(f, _)| *f == field) {
            Some(i) => i,
            None => {
                needs.push((field.clone(), FieldNeeds::default()));
                needs.len() - 1
            }
        };
        let need = &mut needs[index].1;
        let values: Vec<_> = if has(item, Modifier::All) {
            item.values.iter().collect()
        } else {
            item.values.get(pick).into_iter().collect()
        };
        let unsupported = |what: &str| {
            Err((
                format!("`{field}` uses {what}, which the generator does not build"),
                false,
            ))
        };
        if item.modifiers.iter().any(|(m, _)| m.is_time_part()) {
            return unsupported("a time part");
        }
        if has(item, Modifier::Neq) {
            need.not_equal = true;
            return Ok(());
        }
        for value in values {
            if has(item, Modifier::Exists) {
                let wanted = value.value == Scalar::Bool(true);
                if need.exists.is_some_and(|e| e != wanted) {
                    return Err((format!("`{field}` must both exist and not exist"), true));
                }
                need.exists = Some(wanted);
            } else if has(item, Modifier::FieldRef) {
                let position = item
                    .modifiers
                    .iter()
                    .map(|(m, _)| *m)
                    .find(|m| m.is_position())
                    .unwrap_or(Modifier::FieldRef);
                need.fieldref = Some((value.value.text(), position));
            } else if has(item, Modifier::Re) {
                need.regexes.push((
                    value.value.text(),
                    has(item, Modifier::ReInsensitive),
                    has(item, Modifier::ReDotAll),
                ));
            } else if has(item, Modifier::Cidr) {
                need.cidr = Some(value.value.text());
            } else if let Some(op) = item
                .modifiers
                .iter()
                .map(|(m, _)| *m)
                .find(|m| m.is_numeric_comparison())
            {
                let number = match &value.value {
                    Scalar::Int(i) => *i as f64,
                    Scalar::Float(f) => *f,
                    other => other
                        .text()
                        .trim()
                        .parse()
                        .map_err(|_| (format!("`{field}` compares with a non-number"), true))?,
                };
                let bounds = need.bounds.get_or_insert_with(Bounds::default);
                match op {
                    Modifier::Gt => bounds.low = tighter_low(bounds.low, (number, false)),
                    Modifier::Gte => bounds.low = tighter_low(bounds.low, (number, true)),
                    Modifier::Lt => bounds.high = tighter_high(bounds.high, (number, false)),
                    _ => bounds.high = tighter_high(bounds.high, (number, true)),
                }
            } else if value.value == Scalar::Null {
                need.null = true;
            } else if item.modifiers.is_empty()
                && matches!(value.value, Scalar::Int(_) | Scalar::Float(_))
            {
                let number = match value.value {
                    Scalar::Int(i) => i as f64,
                    Scalar::Float(f) => f,
                    _ => unreachable!("matched above"),
                };
                let bounds = need.bounds.get_or_insert_with(Bounds::default);
                if bounds.equal.is_some_and(|e| e != number) {
                    return Err((format!("`{field}` must equal two different numbers"), true));
                }
                bounds.equal = Some(number);
            } else if item.modifiers.is_empty() && matches!(value.value, Scalar::Bool(_)) {
                need.boolean = Some(value.value == Scalar::Bool(true));
            } else {
                let patterns = value_patterns(item, value, self.options)
                    .map_err(|e| (e.message, false))?
                    .unwrap_or_default();
                if let Some(first) = patterns.into_iter().next() {
                    need.patterns.push(first);
                }
            }
        }
        Ok(())
    }

    /// Events one step outside a confirmed positive: each string value one character off, the
    /// other case under `cased`, the address just outside a range, the number at the bound, and
    /// each filter of the way satisfied so that it rejects the event.
    fn near_misses(
        &self,
        way: &Way,
        choice: &Choice,
        positive: &Value,
        label: &str,
        out: &mut Vec<GeneratedEvent>,
    ) {
        let mut push = |target: String, event: Value| {
            if !self.compiled.matches(&event) && out.len() < MAX_EVENTS_PER_KIND {
                out.push(GeneratedEvent {
                    expect_match: false,
                    kind: Kind::NearMiss,
                    target,
                    event,
                });
            }
        };
        for literal in way.iter() {
            let search = &self.rule.detection.searches[literal.search];
            if !literal.positive {
                // The filter satisfied on top of the positive.
                let mut needs = Vec::new();
                if self
                    .add_search(
                        Literal {
                            search: literal.search,
                            positive: true,
                        },
                        choice,
                        &mut needs,
                    )
                    .is_ok()
                    && let Ok(Value::Object(extra)) = build_event(&needs, 0)
                {
                    let mut event = positive.clone();
                    if let Value::Object(fields) = &mut event {
                        fields.extend(extra);
                    }
                    push(format!("{label}: {} rejects it", search.name), event);
                }
                continue;
            }
            let SearchBody::Maps(maps) = &search.body else {
                continue;
            };
            let m = choice.map(literal.search).min(maps.len() - 1);
            for (i, item) in maps[m].items.iter().enumerate() {
                let Some(field) = &item.field else { continue };
                let Some(Value::Object(fields)) = Some(positive) else {
                    continue;
                };
                let Some(current) = fields.get(field) else {
                    continue;
                };
                let pick = choice.value(literal.search, m, i);
                let Some(value) = item.values.get(pick) else {
                    continue;
                };
                let key = item.key_text();
                let mut variants: Vec<(String, Value)> = Vec::new();
                if has(item, Modifier::Cidr) {
                    if let Some((_, Some(outside))) = cidr_sample(&value.value.text()) {
                        variants.push((
                            format!("{key}: the address just outside"),
                            Value::String(outside),
                        ));
                    }
                } else if item
                    .modifiers
                    .iter()
                    .any(|(m, _)| m.is_numeric_comparison())
                {
                    if let Some(bounds) = numeric_bounds(item, pick)
                        && let Some(outside) = bounds.outside()
                    {
                        variants.push((format!("{key}: the number at the bound"), number(outside)));
                    }
                } else if let Value::String(text) = current {
                    let literal = longest_literal(&value.value.text());
                    if let Some(off) = one_off(text, &literal) {
                        variants.push((format!("{key}: one character off"), Value::String(off)));
                    }
                    if has(item, Modifier::Cased)
                        && let Some(swapped) = swap_case(text, &literal)
                    {
                        variants.push((
                            format!("{key}: the other case under cased"),
                            Value::String(swapped),
                        ));
                    }
                }
                for (what, replacement) in variants {
                    let mut event = positive.clone();
                    if let Value::Object(fields) = &mut event {
                        fields.insert(field.clone(), replacement);
                    }
                    push(format!("{}: {what}", search.name), event);
                }
            }
        }
    }
}

/// How many ways of placing values [`build_event`] tries.
const VARIANTS: usize = 4;

/// The field keyword searches are written to.
const KEYWORD_FIELD: &str = "Message";

fn has(item: &Item, modifier: Modifier) -> bool {
    item.modifiers.iter().any(|(m, _)| *m == modifier)
}

fn value_text(value: &Scalar) -> String {
    match value {
        Scalar::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => other.text(),
    }
}

fn tighter_low(current: Option<(f64, bool)>, new: (f64, bool)) -> Option<(f64, bool)> {
    match current {
        Some(c) if c.0 > new.0 || (c.0 == new.0 && !c.1) => Some(c),
        _ => Some(new),
    }
}

fn tighter_high(current: Option<(f64, bool)>, new: (f64, bool)) -> Option<(f64, bool)> {
    match current {
        Some(c) if c.0 < new.0 || (c.0 == new.0 && !c.1) => Some(c),
        _ => Some(new),
    }
}

fn numeric_bounds(item: &Item, pick: usize) -> Option<Bounds> {
    let value = item.values.get(pick)?;
    let n: f64 = match &value.value {
        Scalar::Int(i) => *i as f64,
        Scalar::Float(f) => *f,
        other => other.text().trim().parse().ok()?,
    };
    let mut bounds = Bounds::default();
    for (m, _) in &item.modifiers {
        match m {
            Modifier::Gt => bounds.low = Some((n, false)),
            Modifier::Gte => bounds.low = Some((n, true)),
            Modifier::Lt => bounds.high = Some((n, false)),
            Modifier::Lte => bounds.high = Some((n, true)),
            _ => {}
        }
    }
    Some(bounds)
}

/// A number as JSON: an integer when it is one.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// The longest run of a rule value without wildcards: the part an event must contain.
fn longest_literal(text: &str) -> String {
    text.split(['*', '?'])
        .max_by_key(|s| s.len())
        .unwrap_or_default()
        .to_owned()
}

/// The text with the last character of the literal's occurrence changed (a letter to the next
/// letter, a digit to the next digit, anything else to `x`).
fn one_off(text: &str, literal: &str) -> Option<String> {
    let lower_text = text.to_lowercase();
    let lower_literal = literal.to_lowercase();
    if lower_literal.is_empty() || lower_text.len() != text.len() {
        return None;
    }
    let at = lower_text.find(&lower_literal)?;
    let end = at + lower_literal.len();
    let (index, c) = text[at..end].char_indices().last()?;
    let replacement = match c {
        'z' => 'a',
        'Z' => 'A',
        '9' => '0',
        c if c.is_ascii_alphanumeric() => char::from(c as u8 + 1),
        'x' => 'y',
        _ => 'x',
    };
    let mut out = text.to_owned();
    out.replace_range(
        at + index..at + index + c.len_utf8(),
        &replacement.to_string(),
    );
    Some(out)
}

/// The text with the literal's occurrence in the other case.
fn swap_case(text: &str, literal: &str) -> Option<String> {
    let at = text.find(literal)?;
    let swapped: String = literal
        .chars()
        .map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                c.to_uppercase().next().unwrap_or(c)
            }
        })
        .collect();
    if swapped == literal {
        return None;
    }
    let mut out = text.to_owned();
    out.replace_range(at..at + literal.len(), &swapped);
    Some(out)
}

/// The event for gathered field requirements: fields in the order first required.
fn build_event(needs: &[(String, FieldNeeds)], variant: usize) -> Result<Value, (String, bool)> {
    let mut fields = Map::new();
    let mut references: Vec<(&str, &str, Modifier)> = Vec::new();
    for (field, need) in needs {
        if need.exists == Some(false) {
            let needs_value = !need.patterns.is_empty()
                || !need.regexes.is_empty()
                || need.bounds.is_some()
                || need.cidr.is_some()
                || need.fieldref.is_some();
            if needs_value {
                return Err((format!("`{field}` must be absent and hold a value"), true));
            }
            continue;
        }
        if let Some((other, position)) = &need.fieldref {
            references.push((field, other, *position));
            continue;
        }
        let value = if need.null {
            Value::Null
        } else if let Some(range) = &need.cidr {
            let (inside, _) = cidr_sample(range)
                .ok_or_else(|| (format!("`{range}` is not a CIDR range"), false))?;
            Value::String(inside)
        } else if let Some(bounds) = &need.bounds {
            let n = bounds
                .sample()
                .ok_or_else(|| (format!("the bounds on `{field}` leave no number"), true))?;
            number(n)
        } else if let Some(b) = need.boolean {
            Value::Bool(b)
        } else if !need.patterns.is_empty() || !need.regexes.is_empty() {
            let text = if need.patterns.is_empty() {
                String::new()
            } else {
                string_for(field, &need.patterns, variant % 2)
                    .ok_or_else(|| (format!("`{field}` must equal two different values"), true))?
            };
            let mut samples = String::new();
            for (pattern, insensitive, dot_all) in &need.regexes {
                let sample = regex_sample(pattern, *insensitive, *dot_all).ok_or_else(|| {
                    (
                        format!("no string matches the regular expression on `{field}`"),
                        false,
                    )
                })?;
                samples.push_str(&sample);
            }
            Value::String(if variant / 2 == 0 {
                text + &samples
            } else {
                samples + &text
            })
        } else if need.not_equal {
            Value::String("ruleproof-other-value".to_owned())
        } else {
            // Only `exists: true`.
            Value::String(plausible(field).to_owned())
        };
        fields.insert(field.clone(), value);
    }
    for (field, other, position) in references {
        let base = fields
            .entry(other.to_owned())
            .or_insert_with(|| Value::String("ruleproof-shared-value".to_owned()))
            .clone();
        let text = match &base {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let value = match position {
            Modifier::Contains => format!("x{text}x"),
            Modifier::StartsWith => format!("{text}x"),
            Modifier::EndsWith => format!("x{text}"),
            _ => text,
        };
        fields.insert(field.to_owned(), Value::String(value));
    }
    Ok(Value::Object(fields))
}

//! The mutants of one rule: every operator applied at every place it applies, on the parsed
//! detection (search identifiers, items, values, modifiers) and the parsed condition, never on
//! YAML text. Mutants that can be proven to match exactly the events the rule matches are marked
//! equivalent, with the reason.

use ruleproof_sigma::condition::{CondExpr, Quantifier};
use ruleproof_sigma::detection::{Item, RuleValue, Scalar, Search, SearchBody};
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::pattern::Part;
use ruleproof_sigma::{CompileOptions, Rule, Span, value_patterns};

use crate::operator::Operator;

/// One changed version of a rule.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// What was changed.
    pub operator: Operator,
    /// Where the change is, in the rule's file.
    pub span: Span,
    /// The change as a one-line diff: `selection: Image: 'a' → '*a'`.
    pub description: String,
    /// The rule with the change made, to its detection or to a parsed condition.
    pub rule: Rule,
    /// Why the mutant provably matches the same events as the rule, when it does.
    pub equivalent: Option<String>,
}

/// An item being mutated: its search identifier's name, where it sits, and the item as written.
#[derive(Clone, Copy)]
struct Place<'a> {
    search: &'a str,
    at: ItemAt,
    item: &'a Item,
}

/// Where an item sits in a detection.
#[derive(Clone, Copy, Debug)]
enum ItemAt {
    Map {
        search: usize,
        map: usize,
        item: usize,
    },
    Keywords {
        search: usize,
    },
}

impl ItemAt {
    fn search(self) -> usize {
        match self {
            ItemAt::Map { search, .. } | ItemAt::Keywords { search } => search,
        }
    }
}

fn item_mut(rule: &mut Rule, at: ItemAt) -> &mut Item {
    let search = &mut rule.detection.searches[at.search()];
    match (&mut search.body, at) {
        (SearchBody::Maps(maps), ItemAt::Map { map, item, .. }) => &mut maps[map].items[item],
        (SearchBody::Keywords(item), _) => item,
        (SearchBody::Maps(_), ItemAt::Keywords { .. }) => {
            unreachable!("keyword positions are only made for keyword searches")
        }
    }
}

/// Every mutant of a rule. `options` are those the rule was compiled with, used to prove
/// equivalence by comparing the patterns values compile to. Conditions that do not parse (the
/// rule would not compile) get no mutants.
pub fn mutants(rule: &Rule, options: &CompileOptions) -> Vec<Mutant> {
    let mut generator = Generator {
        rule,
        options,
        out: Vec::new(),
    };
    generator.detection();
    generator.conditions();
    generator.out
}

struct Generator<'a> {
    rule: &'a Rule,
    options: &'a CompileOptions,
    out: Vec<Mutant>,
}

impl Generator<'_> {
    fn push(
        &mut self,
        operator: Operator,
        span: Span,
        description: String,
        rule: Rule,
        equivalent: Option<String>,
    ) {
        self.out.push(Mutant {
            operator,
            span,
            description,
            rule,
            equivalent,
        });
    }

    fn detection(&mut self) {
        for (s, search) in self.rule.detection.searches.iter().enumerate() {
            match &search.body {
                SearchBody::Maps(maps) => {
                    if maps.len() > 1 {
                        for m in 0..maps.len() {
                            let mut rule = self.rule.clone();
                            if let SearchBody::Maps(maps) = &mut rule.detection.searches[s].body {
                                maps.remove(m);
                            }
                            self.push(
                                Operator::DropMap,
                                maps[m].span,
                                format!("{}: drop map {} of {}", search.name, m + 1, maps.len()),
                                rule,
                                None,
                            );
                        }
                    }
                    for (m, map) in maps.iter().enumerate() {
                        for (i, item) in map.items.iter().enumerate() {
                            if map.items.len() > 1 {
                                let mut rule = self.rule.clone();
                                if let SearchBody::Maps(maps) = &mut rule.detection.searches[s].body
                                {
                                    maps[m].items.remove(i);
                                }
                                self.push(
                                    Operator::DropItem,
                                    item.key_span,
                                    format!("{}: drop item {}", search.name, item_text(item)),
                                    rule,
                                    None,
                                );
                            }
                            let at = ItemAt::Map {
                                search: s,
                                map: m,
                                item: i,
                            };
                            self.item(&search.name, at, item);
                        }
                    }
                }
                SearchBody::Keywords(item) => {
                    self.item(&search.name, ItemAt::Keywords { search: s }, item);
                }
            }
        }
    }

    /// A mutant that changes one item: made, described, and checked for equivalence.
    fn item_mutant(
        &mut self,
        place: Place,
        operator: Operator,
        span: Span,
        describe: impl FnOnce(&Item) -> String,
        change: impl FnOnce(&mut Item),
    ) {
        let Place {
            search,
            at,
            item: original,
        } = place;
        let mut rule = self.rule.clone();
        let item = item_mut(&mut rule, at);
        change(item);
        let mutated = item.clone();
        let equivalent = same_matches(original, &mutated, self.options);
        let description = format!("{search}: {}", describe(&mutated));
        self.push(operator, span, description, rule, equivalent);
    }

    fn item(&mut self, search: &str, at: ItemAt, item: &Item) {
        let place = Place { search, at, item };
        let key = item.key_text();
        let has = |m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
        let modifier_span = |pred: &dyn Fn(Modifier) -> bool| {
            item.modifiers
                .iter()
                .find(|(m, _)| pred(*m))
                .map_or(item.key_span, |(_, s)| *s)
        };

        if item.values.len() > 1 {
            for (v, value) in item.values.iter().enumerate() {
                let mut rule = self.rule.clone();
                item_mut(&mut rule, at).values.remove(v);
                let equivalent = item
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(w, _)| *w != v)
                    .find(|(_, other)| same_value_matches(item, value, item, other, self.options))
                    .map(|(_, other)| {
                        format!(
                            "{} matches what {} matches",
                            value_text(&other.value),
                            value_text(&value.value)
                        )
                    });
                self.push(
                    Operator::DropValue,
                    value.span,
                    format!("{search}: {key}: drop {}", value_text(&value.value)),
                    rule,
                    equivalent,
                );
            }
        }

        let kind = ItemKind::of(item);
        if kind == ItemKind::String || kind == ItemKind::FieldRef {
            let current = item.modifiers.iter().position(|(m, _)| m.is_position());
            let targets = [
                None,
                Some(Modifier::Contains),
                Some(Modifier::StartsWith),
                Some(Modifier::EndsWith),
            ];
            for target in targets {
                if target == current.map(|k| item.modifiers[k].0) {
                    continue;
                }
                let span = modifier_span(&|m: Modifier| m.is_position());
                self.item_mutant(
                    place,
                    Operator::ChangeStringModifier,
                    span,
                    |m| format!("{key} → {}", m.key_text()),
                    |m| match (current, target) {
                        (Some(k), Some(t)) => m.modifiers[k].0 = t,
                        (Some(k), None) => {
                            m.modifiers.remove(k);
                        }
                        (None, Some(t)) => m.modifiers.push((t, Span::default())),
                        (None, None) => {}
                    },
                );
            }
            if has(Modifier::Cased) {
                self.item_mutant(
                    place,
                    Operator::DropCased,
                    modifier_span(&|m| m == Modifier::Cased),
                    |m| format!("{key} → {}", m.key_text()),
                    |m| m.modifiers.retain(|(x, _)| *x != Modifier::Cased),
                );
            } else if kind == ItemKind::String {
                self.item_mutant(
                    place,
                    Operator::AddCased,
                    item.key_span,
                    |m| format!("{key} → {}", m.key_text()),
                    |m| m.modifiers.push((Modifier::Cased, Span::default())),
                );
            }
        }
        if has(Modifier::All) {
            self.item_mutant(
                place,
                Operator::DropAll,
                modifier_span(&|m| m == Modifier::All),
                |m| format!("{key} → {}", m.key_text()),
                |m| m.modifiers.retain(|(x, _)| *x != Modifier::All),
            );
        }

        for (v, value) in item.values.iter().enumerate() {
            match kind {
                ItemKind::String if !is_encoded(item) => {
                    let Scalar::String(text) = &value.value else {
                        continue;
                    };
                    for (operator, changed) in [
                        (Operator::WidenValue, widen_leading(text)),
                        (Operator::WidenValue, widen_trailing(text)),
                        (Operator::NarrowValue, narrow_leading(text)),
                        (Operator::NarrowValue, narrow_trailing(text)),
                    ] {
                        let Some(changed) = changed else { continue };
                        let before = value_text(&value.value);
                        let after = value_text(&Scalar::String(changed.clone()));
                        self.item_mutant(
                            place,
                            operator,
                            value.span,
                            |_| format!("{key}: {before} → {after}"),
                            |m| m.values[v].value = Scalar::String(changed),
                        );
                    }
                }
                ItemKind::Numeric => {
                    for delta in [1.0, -1.0] {
                        let Some(changed) = shifted(&value.value, delta) else {
                            continue;
                        };
                        let before = value_text(&value.value);
                        let after = value_text(&changed);
                        self.item_mutant(
                            place,
                            Operator::ShiftBound,
                            value.span,
                            |_| format!("{key}: {before} → {after}"),
                            |m| m.values[v].value = changed,
                        );
                    }
                }
                ItemKind::Cidr => {
                    let Some(changed) = wider_cidr(&value.value.text()) else {
                        continue;
                    };
                    let before = value_text(&value.value);
                    let after = value_text(&Scalar::String(changed.clone()));
                    self.item_mutant(
                        place,
                        Operator::DropCidrBit,
                        value.span,
                        |_| format!("{key}: {before} → {after}"),
                        |m| m.values[v].value = Scalar::String(changed),
                    );
                }
                _ => {}
            }
        }
    }

    fn conditions(&mut self) {
        let names: Vec<&str> = self
            .rule
            .detection
            .searches
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (k, written) in self.rule.detection.conditions.iter().enumerate() {
            let Ok(condition) = &written.parsed else {
                continue;
            };
            for index in 0..count_nodes(condition) {
                let node = nth(condition, index);
                for (operator, replacement, span, equivalent) in
                    node_mutants(node, &names, &self.rule.detection.searches)
                {
                    let changed = replace_nth(condition, index, &replacement);
                    let before = render(condition);
                    let after = render(&changed);
                    let mut rule = self.rule.clone();
                    let target = &mut rule.detection.conditions[k];
                    target.text = after.clone();
                    target.parsed = Ok(changed);
                    self.out.push(Mutant {
                        operator,
                        span,
                        description: format!("condition: {before} → {after}"),
                        rule,
                        equivalent,
                    });
                }
            }
        }
    }
}

/// What an item matches on, which decides the operators that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemKind {
    /// Plain, wildcard, positional and encoded strings.
    String,
    FieldRef,
    Numeric,
    Cidr,
    /// `re`, `exists`, time parts, placeholders: left alone by value operators.
    Other,
}

impl ItemKind {
    fn of(item: &Item) -> ItemKind {
        let has = |pred: fn(Modifier) -> bool| item.modifiers.iter().any(|(m, _)| pred(*m));
        if has(|m| m == Modifier::FieldRef) {
            ItemKind::FieldRef
        } else if has(|m| m == Modifier::Cidr) {
            ItemKind::Cidr
        } else if has(Modifier::is_time_part) {
            ItemKind::Other
        } else if has(Modifier::is_numeric_comparison) {
            ItemKind::Numeric
        } else if has(|m| {
            matches!(m, Modifier::Re | Modifier::Exists | Modifier::Expand) || m.is_regex_flag()
        }) || item.values.iter().all(|v| v.value == Scalar::Null)
        {
            ItemKind::Other
        } else {
            ItemKind::String
        }
    }
}

/// Values under an encoding cannot hold wildcards, so widening and narrowing do not apply.
fn is_encoded(item: &Item) -> bool {
    item.modifiers
        .iter()
        .any(|(m, _)| m.is_encoding() || matches!(m, Modifier::Base64 | Modifier::Base64Offset))
}

/// `Field|mod: 'value'` or `Field|mod: [2 values]`.
fn item_text(item: &Item) -> String {
    match item.values.as_slice() {
        [one] => format!("{}: {}", item.key_text(), value_text(&one.value)),
        values => format!("{}: [{} values]", item.key_text(), values.len()),
    }
}

/// A value as a rule would quote it.
fn value_text(value: &Scalar) -> String {
    match value {
        Scalar::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => other.text(),
    }
}

fn widen_leading(text: &str) -> Option<String> {
    (!text.starts_with('*')).then(|| format!("*{text}"))
}

fn widen_trailing(text: &str) -> Option<String> {
    if ends_with_wildcard(text) {
        return None;
    }
    // A single trailing backslash would escape the new `*`; written doubled it stays a backslash.
    let backslashes = text.len() - text.trim_end_matches('\\').len();
    Some(if backslashes % 2 == 1 {
        format!("{text}\\*")
    } else {
        format!("{text}*")
    })
}

fn narrow_leading(text: &str) -> Option<String> {
    text.strip_prefix('*').map(str::to_owned)
}

fn narrow_trailing(text: &str) -> Option<String> {
    ends_with_wildcard(text).then(|| text[..text.len() - 1].to_owned())
}

/// Whether the text ends with an unescaped `*`.
fn ends_with_wildcard(text: &str) -> bool {
    let Some(before) = text.strip_suffix('*') else {
        return false;
    };
    let backslashes = before.len() - before.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

fn shifted(value: &Scalar, delta: f64) -> Option<Scalar> {
    match value {
        Scalar::Int(i) => i.checked_add(delta as i64).map(Scalar::Int),
        Scalar::Float(f) => Some(Scalar::Float(f + delta)),
        Scalar::String(s) => {
            let trimmed = s.trim();
            if let Ok(i) = trimmed.parse::<i64>() {
                i.checked_add(delta as i64)
                    .map(|i| Scalar::String(i.to_string()))
            } else {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .map(|f| Scalar::String((f + delta).to_string()))
            }
        }
        Scalar::Null | Scalar::Bool(_) => None,
    }
}

/// The range one prefix bit wider: `10.0.0.0/8` → `10.0.0.0/7`; a lone address becomes a /31
/// (or /127). A /0 cannot widen.
fn wider_cidr(text: &str) -> Option<String> {
    match text.split_once('/') {
        Some((address, bits)) => {
            let bits: u8 = bits.trim().parse().ok()?;
            (bits > 0).then(|| format!("{address}/{}", bits - 1))
        }
        None if text.contains(':') => Some(format!("{text}/127")),
        None => Some(format!("{text}/31")),
    }
}

/// Why two versions of an item provably match the same events, or `None` when that cannot be
/// shown. Shown only for string items: the same field, `all` and `neq`, and value by value the
/// same compiled patterns (compared without case unless `cased`).
fn same_matches(original: &Item, mutated: &Item, options: &CompileOptions) -> Option<String> {
    let flag = |item: &Item, m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    if original.field != mutated.field
        || ItemKind::of(original) != ItemKind::String
        || ItemKind::of(mutated) != ItemKind::String
        || flag(original, Modifier::Neq) != flag(mutated, Modifier::Neq)
        || original.values.len() != mutated.values.len()
    {
        return None;
    }
    // With one value, `all` and any value are the same test.
    if flag(original, Modifier::All) != flag(mutated, Modifier::All) && original.values.len() > 1 {
        return None;
    }
    let same = original
        .values
        .iter()
        .zip(&mutated.values)
        .all(|(a, b)| same_value_matches(original, a, mutated, b, options));
    same.then(|| "every value compiles to the same patterns".to_owned())
}

/// Whether two values (each under its item's modifiers) compile to the same string patterns.
fn same_value_matches(
    item_a: &Item,
    a: &RuleValue,
    item_b: &Item,
    b: &RuleValue,
    options: &CompileOptions,
) -> bool {
    if ItemKind::of(item_a) != ItemKind::String || ItemKind::of(item_b) != ItemKind::String {
        return a.value == b.value && item_a.key_text() == item_b.key_text();
    }
    let cased = |item: &Item| item.modifiers.iter().any(|(m, _)| *m == Modifier::Cased);
    let (Ok(Some(pa)), Ok(Some(pb))) = (
        value_patterns(item_a, a, options),
        value_patterns(item_b, b, options),
    ) else {
        return false;
    };
    let (ca, cb) = (cased(item_a), cased(item_b));
    if ca != cb {
        // One side ignores case: the same only when no letter has another case.
        let invariant = |p: &[Vec<Part>]| {
            p.iter().flatten().all(|part| match part {
                Part::Literal(s) => s.to_lowercase() == s.to_uppercase(),
                _ => true,
            })
        };
        if !invariant(&pa) || !invariant(&pb) {
            return false;
        }
    }
    let fold = !(ca && cb);
    let mut na: Vec<Vec<Part>> = pa.into_iter().map(|p| normalize(p, fold)).collect();
    let mut nb: Vec<Vec<Part>> = pb.into_iter().map(|p| normalize(p, fold)).collect();
    let key = |p: &Vec<Part>| format!("{p:?}");
    na.sort_by_key(key);
    nb.sort_by_key(key);
    na.dedup();
    nb.dedup();
    na == nb
}

/// A pattern in a canonical form: adjacent literals joined, runs of `*` collapsed, literals
/// lower-cased when matching ignores case.
fn normalize(parts: Vec<Part>, fold: bool) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        match (out.last_mut(), part) {
            (Some(Part::AnyRun), Part::AnyRun) => {}
            (Some(Part::Literal(prev)), Part::Literal(s)) => prev.push_str(&s),
            (_, part) => out.push(part),
        }
    }
    if fold {
        for part in &mut out {
            if let Part::Literal(s) = part {
                *s = s.to_lowercase();
            }
        }
    }
    out
}

/// Why a search can never match any event, when that is provable from its items alone: every
/// map requires a field to be absent and to hold a value, or to equal two different strings.
fn never_matches(search: &Search) -> Option<String> {
    let SearchBody::Maps(maps) = &search.body else {
        return None;
    };
    let reasons: Vec<String> = maps
        .iter()
        .map(|map| {
            map.items
                .iter()
                .find_map(|item| contradiction(item, &map.items))
        })
        .collect::<Option<_>>()?;
    reasons.into_iter().next()
}

fn contradiction(item: &Item, siblings: &[Item]) -> Option<String> {
    let has = |item: &Item, m: Modifier| item.modifiers.iter().any(|(x, _)| *x == m);
    let field = item.field.as_deref()?;
    if has(item, Modifier::Neq) {
        return None;
    }
    // `Field|all: [a, b]` without wildcards or position: one value cannot equal both.
    if has(item, Modifier::All) && item.modifiers.len() == 1 {
        let mut texts: Vec<String> = Vec::new();
        for value in &item.values {
            let Scalar::String(s) = &value.value else {
                return None;
            };
            if s.contains(['*', '?']) {
                return None;
            }
            texts.push(s.to_lowercase());
        }
        texts.sort();
        texts.dedup();
        if texts.len() > 1 {
            return Some(format!(
                "`{field}` cannot equal {} values at once",
                texts.len()
            ));
        }
    }
    // `Field|exists: false` beside an item that needs a value in `Field`.
    let absent = has(item, Modifier::Exists)
        && item.values.first().map(|v| &v.value) == Some(&Scalar::Bool(false));
    if absent {
        let needs_value = siblings.iter().any(|other| {
            other.field.as_deref() == Some(field)
                && !has(other, Modifier::Neq)
                && if has(other, Modifier::Exists) {
                    other.values.first().map(|v| &v.value) == Some(&Scalar::Bool(true))
                } else {
                    other.values.iter().all(|v| v.value != Scalar::Null)
                }
        });
        if needs_value {
            return Some(format!("`{field}` must be absent and hold a value"));
        }
    }
    None
}

// ---- conditions

fn count_nodes(expr: &CondExpr) -> usize {
    1 + match expr {
        CondExpr::Not(inner) => count_nodes(inner),
        CondExpr::And(items) | CondExpr::Or(items) => items.iter().map(count_nodes).sum(),
        CondExpr::Ident { .. } | CondExpr::Quantified { .. } => 0,
    }
}

/// The node at a pre-order index.
fn nth(expr: &CondExpr, mut index: usize) -> &CondExpr {
    fn walk<'a>(expr: &'a CondExpr, index: &mut usize) -> Option<&'a CondExpr> {
        if *index == 0 {
            return Some(expr);
        }
        *index -= 1;
        match expr {
            CondExpr::Not(inner) => walk(inner, index),
            CondExpr::And(items) | CondExpr::Or(items) => {
                items.iter().find_map(|item| walk(item, index))
            }
            CondExpr::Ident { .. } | CondExpr::Quantified { .. } => None,
        }
    }
    walk(expr, &mut index).unwrap_or(expr)
}

/// The expression with the node at a pre-order index replaced.
fn replace_nth(expr: &CondExpr, index: usize, replacement: &CondExpr) -> CondExpr {
    fn walk(expr: &CondExpr, index: &mut Option<usize>, replacement: &CondExpr) -> CondExpr {
        match index {
            Some(0) => {
                *index = None;
                return replacement.clone();
            }
            Some(i) => *i -= 1,
            None => return expr.clone(),
        }
        match expr {
            CondExpr::Not(inner) => CondExpr::Not(Box::new(walk(inner, index, replacement))),
            CondExpr::And(items) => CondExpr::And(
                items
                    .iter()
                    .map(|item| walk(item, index, replacement))
                    .collect(),
            ),
            CondExpr::Or(items) => CondExpr::Or(
                items
                    .iter()
                    .map(|item| walk(item, index, replacement))
                    .collect(),
            ),
            leaf => leaf.clone(),
        }
    }
    walk(expr, &mut Some(index), replacement)
}

/// The first identifier's position inside an expression: where a condition mutant is reported.
fn first_span(expr: &CondExpr) -> Span {
    match expr {
        CondExpr::Ident { span, .. } | CondExpr::Quantified { span, .. } => *span,
        CondExpr::Not(inner) => first_span(inner),
        CondExpr::And(items) | CondExpr::Or(items) => {
            items.first().map(first_span).unwrap_or_default()
        }
    }
}

/// The condition as text, parenthesised where precedence needs it.
pub fn render(expr: &CondExpr) -> String {
    // Groups inside a group are parenthesised even where precedence would not need it (an
    // `and` inside an `or`), as authors write them.
    fn operand(expr: &CondExpr) -> String {
        match expr {
            CondExpr::And(_) | CondExpr::Or(_) => format!("({})", render(expr)),
            _ => render(expr),
        }
    }
    match expr {
        CondExpr::Ident { name, .. } => name.clone(),
        CondExpr::Quantified {
            quantifier, target, ..
        } => match quantifier {
            Quantifier::Any => format!("1 of {target}"),
            Quantifier::All => format!("all of {target}"),
        },
        CondExpr::Not(inner) => match inner.as_ref() {
            CondExpr::And(_) | CondExpr::Or(_) => format!("not ({})", render(inner)),
            _ => format!("not {}", render(inner)),
        },
        CondExpr::And(items) => items.iter().map(operand).collect::<Vec<_>>().join(" and "),
        CondExpr::Or(items) => items.iter().map(operand).collect::<Vec<_>>().join(" or "),
    }
}

/// Equality of conditions regardless of positions.
fn same_expr(a: &CondExpr, b: &CondExpr) -> bool {
    render(a) == render(b)
}

/// A replacement of one condition node: the operator, the new node, where to report it, and why
/// it is equivalent when it provably is.
type NodeMutant = (Operator, CondExpr, Span, Option<String>);

/// The local replacements of one condition node.
fn node_mutants(node: &CondExpr, names: &[&str], searches: &[Search]) -> Vec<NodeMutant> {
    let search_named = |name: &str| searches.iter().find(|s| s.name == name);
    let never = |expr: &CondExpr| match expr {
        CondExpr::Ident { name, .. } => search_named(name).and_then(never_matches),
        _ => None,
    };
    let mut out = Vec::new();
    match node {
        CondExpr::And(items) | CondExpr::Or(items) => {
            let is_and = matches!(node, CondExpr::And(_));
            let all_same = items.iter().all(|i| same_expr(i, &items[0]));
            let same_reason = all_same.then(|| "every operand is the same".to_owned());
            if is_and {
                out.push((
                    Operator::AndToOr,
                    CondExpr::Or(items.clone()),
                    first_span(node),
                    same_reason,
                ));
            } else {
                out.push((
                    Operator::OrToAnd,
                    CondExpr::And(items.clone()),
                    first_span(node),
                    same_reason,
                ));
            }
            for (j, dropped) in items.iter().enumerate() {
                let mut rest = items.clone();
                rest.remove(j);
                let duplicate = rest
                    .iter()
                    .any(|other| same_expr(other, dropped))
                    .then(|| format!("`{}` appears twice", render(dropped)));
                // Dropping a search that never matches from an `or`, or the negation of one from
                // an `and`, changes nothing.
                let vacuous = if is_and {
                    match dropped {
                        CondExpr::Not(inner) => never(inner)
                            .map(|why| format!("`{}` can never match: {why}", render(inner))),
                        _ => None,
                    }
                } else {
                    never(dropped)
                        .map(|why| format!("`{}` can never match: {why}", render(dropped)))
                };
                let replacement = if rest.len() == 1 {
                    rest.remove(0)
                } else if is_and {
                    CondExpr::And(rest)
                } else {
                    CondExpr::Or(rest)
                };
                out.push((
                    Operator::DropSearch,
                    replacement,
                    first_span(dropped),
                    duplicate.or(vacuous),
                ));
            }
        }
        CondExpr::Not(inner) => {
            out.push((
                Operator::RemoveNot,
                inner.as_ref().clone(),
                first_span(node),
                None,
            ));
        }
        CondExpr::Quantified {
            quantifier,
            target,
            span,
        } => {
            let selected = names.iter().filter(|n| target.matches(n)).count();
            let single = (selected == 1).then(|| format!("`{target}` names one search identifier"));
            let (operator, flipped) = match quantifier {
                Quantifier::Any => (Operator::OneOfToAllOf, Quantifier::All),
                Quantifier::All => (Operator::AllOfToOneOf, Quantifier::Any),
            };
            out.push((
                operator,
                CondExpr::Quantified {
                    quantifier: flipped,
                    target: target.clone(),
                    span: *span,
                },
                *span,
                single,
            ));
        }
        CondExpr::Ident { .. } => {}
    }
    out
}

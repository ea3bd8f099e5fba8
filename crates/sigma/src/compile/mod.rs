//! Compiling a rule once into matchers that evaluate events without parsing or per-event allocation.
//!
//! This module holds the compiled form and its entry points; its submodules each do one job:
//! resolving the condition (`condition`), checking modifier chains (`modifiers`), the lowered form
//! every consumer reads (`lower`), lowering and compiling items (`item`) and values (`value`),
//! reading a value's string patterns (`patterns`) and expanding placeholders (`placeholders`).

mod condition;
mod item;
mod lower;
mod modifiers;
mod patterns;
mod placeholders;
mod value;

pub use lower::{LoweredItem, LoweredRule, LoweredSearch, LoweredValue, ValueTest};
pub use patterns::value_patterns;
pub use placeholders::{PlaceholderPart, placeholder_parts};

use condition::{mark_filters, resolve};
use item::compile_item;
use modifiers::check_combinations;
use patterns::is_string_modifier;
use placeholders::expand_placeholders;
use value::{compile_tests, lower_value};

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;

use crate::condition::Quantifier;
use crate::detection::{Detection, SearchBody};
use crate::document::{Filter, LogSource, Metadata, Rule};
use crate::error::SigmaError;
use crate::event::FieldPath;
use crate::explain::SearchRole;
use crate::lazy_regex::LazyRegex;
use crate::pattern::StrMatcher;

/// Inputs to compilation that do not come from the rule itself.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Values for `|expand` placeholders (`%name%` → values). Without them such rules are rejected.
    pub placeholders: Option<HashMap<String, Vec<String>>>,
}

/// A rule (with any meta-filters applied) ready to evaluate events. `Send + Sync`.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// The rule's metadata (title, id, status, level, …), shared with its explanations.
    pub meta: Arc<Metadata>,
    /// The rule's log source, which meta-filters and backtest routing compare.
    pub logsource: LogSource,
    pub(crate) searches: Vec<CompiledSearch>,
    pub(crate) condition: Cond,
    /// The references of the meta-filters applied, in order.
    pub(crate) filters: Vec<String>,
    /// One path of each field two columns hold together that the searches name
    /// ([`crate::joined`]): evaluating the rule joins them once per event. Empty for almost
    /// every rule, which then reads events as they are.
    pub(crate) joins: Vec<FieldPath>,
}

/// A search identifier's structure without a verdict, from [`CompiledRule::outline`].
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOutline {
    /// The search identifier as written.
    pub name: String,
    /// The meta-filter the search came from, if it is not the rule's own.
    pub origin: Option<String>,
    /// What the search does in its condition.
    pub role: SearchRole,
    /// Whether it is a keyword search.
    pub keywords: bool,
    /// Its maps (ORed), each a list of items (ANDed).
    pub maps: Vec<Vec<ItemOutline>>,
}

/// A detection item's structure without a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemOutline {
    /// The key as written, with modifiers (`keywords` for keyword searches).
    pub key: String,
    /// Whether the item is `neq`.
    pub negated: bool,
    /// Each value as written.
    pub values: Vec<String>,
}

/// A meta-filter compiled on its own, to be applied to the rules it names.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    /// The meta-filter's metadata.
    pub meta: Arc<Metadata>,
    /// The log source of the rules the filter applies to when it names none.
    pub logsource: LogSource,
    /// The rules the filter names, by id or name; empty means every rule of its log source.
    pub rules: Vec<String>,
    pub(crate) searches: Vec<CompiledSearch>,
    pub(crate) condition: Cond,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledSearch {
    pub name: String,
    /// The filter this search came from, when it was added by a meta-filter.
    pub origin: Option<String>,
    /// What the search does in the condition it was written for.
    pub role: SearchRole,
    pub keywords: bool,
    pub maps: Vec<CompiledMap>,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledMap {
    pub items: Vec<CompiledItem>,
}

#[derive(Clone, Debug)]
pub(crate) struct CompiledItem {
    pub field: Option<FieldPath>,
    /// The key as written, modifiers included, for explanations.
    pub key: String,
    pub all: bool,
    pub negate: bool,
    pub values: Vec<CompiledValue>,
    /// Whether evaluation folds each value of the event once and tests every matcher on it,
    /// instead of letting each case-insensitive matcher fold it again: for items that match
    /// when any value does (not `all`), with only matchers of scalars (no `null`, no `exists`)
    /// and at least two case-insensitive string matchers.
    pub fold_once: bool,
}

/// One value of an item; alternatives come from expansions (`base64offset`, placeholders) and are ORed.
#[derive(Clone, Debug)]
pub(crate) struct CompiledValue {
    pub display: String,
    pub alternatives: Vec<ValueMatcher>,
}

#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "matchers sit inline in compiled rules and are read per event; boxing the larger ones would add a pointer chase on the hot path"
)]
pub(crate) enum ValueMatcher {
    Str {
        matcher: StrMatcher,
        cased: bool,
        /// For cased values, the case-insensitive twin that tells a case mismatch from a miss.
        /// Boxed: only explanations read it, and inline it would double every string matcher.
        folded_twin: Option<Box<StrMatcher>>,
    },
    Regex(LazyRegex),
    Number(NumOp, f64),
    Cidr(IpNet),
    Null,
    Exists(bool),
    FieldRef {
        other: FieldPath,
        position: Position,
        cased: bool,
    },
    TimePart(TimePart, NumOp, f64),
}

/// A numeric comparison: `lt`, `lte`, `gt`, `gte`, or equality for a bare time part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumOp {
    /// Equal (a time part without a comparison modifier).
    Eq,
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
}

/// Where `fieldref`'s other value must occur: the whole value, or with `startswith`,
/// `endswith` or `contains`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The whole value.
    Exact,
    /// `startswith`.
    Prefix,
    /// `endswith`.
    Suffix,
    /// `contains`.
    Contains,
}

/// The part of a timestamp a time-part modifier reads (`week` is the ISO 8601 week).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePart {
    /// `minute`.
    Minute,
    /// `hour`.
    Hour,
    /// `day`: the day of the month.
    Day,
    /// `week`: the ISO 8601 week of the year.
    Week,
    /// `month`.
    Month,
    /// `year`.
    Year,
}

/// The condition with identifiers resolved to indices into the rule's searches.
#[derive(Clone, Debug)]
pub enum Cond {
    /// One search identifier, by index.
    Search(usize),
    /// `not`.
    Not(Box<Cond>),
    /// `and` over every part.
    And(Vec<Cond>),
    /// `or` over every part.
    Or(Vec<Cond>),
    /// `1 of …` or `all of …`, resolved to the searches the pattern selects.
    Quantified {
        /// `1 of` or `all of`.
        quantifier: Quantifier,
        /// The quantifier as written (`1 of selection*`), for explanations.
        label: String,
        /// The selected searches, by index, never empty.
        searches: Vec<usize>,
    },
}

impl CompiledRule {
    /// Compiles a loaded rule, collecting every error rather than stopping at the first.
    pub fn compile(rule: &Rule, options: &CompileOptions) -> Result<CompiledRule, Vec<SigmaError>> {
        let (_, searches, condition) =
            compile_detection(&rule.detection, options, None, Build::Matchers)?;
        Ok(CompiledRule {
            meta: Arc::new(rule.meta.clone()),
            logsource: rule.logsource.clone(),
            joins: joins_of(&searches),
            searches,
            condition,
            filters: Vec::new(),
        })
    }

    /// The errors [`CompiledRule::compile`] would report for `rule`, exactly, without building
    /// the matchers that cannot fail (what `validate` needs: it reports, it does not evaluate).
    ///
    /// # Errors
    ///
    /// Every error of the rule, in the order `compile` reports them.
    pub fn check(rule: &Rule, options: &CompileOptions) -> Result<(), Vec<SigmaError>> {
        compile_detection(&rule.detection, options, None, Build::ErrorsOnly).map(|_| ())
    }

    /// The rule with meta-filters applied: `(rule condition) and (filter condition)` for each, as pySigma does.
    pub fn with_filters(&self, filters: &[&CompiledFilter]) -> CompiledRule {
        let mut rule = self.clone();
        let mut parts = vec![rule.condition.clone()];
        for filter in filters {
            let offset = rule.searches.len();
            rule.searches
                .extend(filter.searches.iter().cloned().map(|mut s| {
                    s.origin = Some(filter.meta.reference().to_owned());
                    s
                }));
            parts.push(filter.condition.shifted(offset));
            rule.filters.push(filter.meta.reference().to_owned());
        }
        if parts.len() > 1 {
            rule.condition = Cond::And(parts);
        }
        rule.joins = joins_of(&rule.searches);
        rule
    }

    /// The names of the rule's own search identifiers, in the order written.
    pub fn search_names(&self) -> impl Iterator<Item = &str> {
        self.searches
            .iter()
            .filter(|s| s.origin.is_none())
            .map(|s| s.name.as_str())
    }

    /// The structure of every search (the rule's own, then those of applied meta-filters): its
    /// identity, role, items and values, in the order written, without evaluating anything.
    /// The same structure, in the same order, as every [`Explanation`](crate::Explanation)
    /// of the rule.
    pub fn outline(&self) -> Vec<SearchOutline> {
        self.searches
            .iter()
            .map(|search| SearchOutline {
                name: search.name.clone(),
                origin: search.origin.clone(),
                role: search.role,
                keywords: search.keywords,
                maps: search
                    .maps
                    .iter()
                    .map(|map| {
                        map.items
                            .iter()
                            .map(|item| ItemOutline {
                                key: item.key.clone(),
                                negated: item.negate,
                                values: item.values.iter().map(|v| v.display.clone()).collect(),
                            })
                            .collect()
                    })
                    .collect(),
            })
            .collect()
    }

    /// The references of the meta-filters applied (each its id, else its name, else its
    /// title), in order.
    pub fn applied_filters(&self) -> &[String] {
        &self.filters
    }
}

impl CompiledFilter {
    /// Compiles a meta-filter on its own, to be applied with [`CompiledRule::with_filters`].
    ///
    /// # Errors
    ///
    /// Every error of the filter's detection, as [`CompiledRule::compile`] reports them.
    pub fn compile(
        filter: &Filter,
        options: &CompileOptions,
    ) -> Result<CompiledFilter, Vec<SigmaError>> {
        let (_, searches, condition) = compile_detection(
            &filter.detection,
            options,
            filter.meta.id.clone().or(Some(filter.meta.title.clone())),
            Build::Matchers,
        )?;
        Ok(CompiledFilter {
            meta: Arc::new(filter.meta.clone()),
            logsource: filter.logsource.clone(),
            rules: filter.rules.iter().map(|(r, _)| r.clone()).collect(),
            searches,
            condition,
        })
    }

    /// The errors [`CompiledFilter::compile`] would report for `filter`, as
    /// [`CompiledRule::check`] does for a rule.
    ///
    /// # Errors
    ///
    /// Every error of the filter's detection, in the order `compile` reports them.
    pub fn check(filter: &Filter, options: &CompileOptions) -> Result<(), Vec<SigmaError>> {
        compile_detection(&filter.detection, options, None, Build::ErrorsOnly).map(|_| ())
    }

    /// The names of the filter's search identifiers, in the order written.
    pub fn search_names(&self) -> impl Iterator<Item = &str> {
        self.searches.iter().map(|s| s.name.as_str())
    }

    /// Whether the filter applies to a rule: it names the rule by id or name, or it names no
    /// rules and its log source covers the rule's.
    pub fn applies_to(&self, rule: &CompiledRule) -> bool {
        if self.rules.is_empty() {
            self.logsource.covers(&rule.logsource)
        } else {
            self.rules.iter().any(|r| rule.meta.is_named(r))
        }
    }
}

impl Cond {
    fn shifted(&self, offset: usize) -> Cond {
        match self {
            Cond::Search(i) => Cond::Search(i + offset),
            Cond::Not(inner) => Cond::Not(Box::new(inner.shifted(offset))),
            Cond::And(items) => Cond::And(items.iter().map(|c| c.shifted(offset)).collect()),
            Cond::Or(items) => Cond::Or(items.iter().map(|c| c.shifted(offset)).collect()),
            Cond::Quantified {
                quantifier,
                label,
                searches,
            } => Cond::Quantified {
                quantifier: *quantifier,
                label: label.clone(),
                searches: searches.iter().map(|i| i + offset).collect(),
            },
        }
    }
}

/// Lowers and compiles a detection in one pass, so that the lowered form and the matchers come
/// from the same reading and report the same errors in the order written.
/// What [`compile_detection`] builds besides the lowered form and the errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    /// Every matcher: the compiled rule evaluates events.
    Matchers,
    /// Only the matchers whose build can fail (regular expressions): the caller wants the
    /// errors (and the lowered form), and the compiled searches are dropped unread.
    ErrorsOnly,
}

fn compile_detection(
    detection: &Detection,
    options: &CompileOptions,
    origin: Option<String>,
    build: Build,
) -> Result<(LoweredRule, Vec<CompiledSearch>, Cond), Vec<SigmaError>> {
    let mut errors = Vec::new();
    let mut searches = Vec::new();
    let mut lowered = Vec::new();
    for search in &detection.searches {
        let (keywords, items): (bool, Vec<Vec<(LoweredItem, CompiledItem)>>) = match &search.body {
            SearchBody::Maps(maps) => (
                false,
                maps.iter()
                    .map(|m| {
                        m.items
                            .iter()
                            .filter_map(|item| compile_item(item, options, build, &mut errors))
                            .collect()
                    })
                    .collect(),
            ),
            SearchBody::Keywords(item) => (
                true,
                compile_item(item, options, build, &mut errors)
                    .map(|item| vec![vec![item]])
                    .unwrap_or_default(),
            ),
        };
        let (lowered_maps, maps) = items
            .into_iter()
            .map(|map| {
                let (lowered, compiled): (Vec<_>, Vec<_>) = map.into_iter().unzip();
                (lowered, CompiledMap { items: compiled })
            })
            .unzip();
        lowered.push(LoweredSearch {
            name: search.name.clone(),
            keywords,
            maps: lowered_maps,
        });
        searches.push(CompiledSearch {
            name: search.name.clone(),
            origin: origin.clone(),
            // Decided below, once the condition is resolved.
            role: SearchRole::Selection,
            keywords,
            maps,
        });
    }
    let names: Vec<&str> = searches.iter().map(|s| s.name.as_str()).collect();
    let mut conditions = Vec::new();
    for condition in &detection.conditions {
        match &condition.parsed {
            Ok(expr) => match resolve(expr, &names) {
                Ok(cond) => conditions.push(cond),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let condition = if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        Cond::Or(conditions)
    };
    mark_filters(&condition, false, &mut searches);
    if !detection.joined.is_empty() {
        for_each_field_mut(&mut searches, &mut |path| {
            if let Some(columns) = detection.joined.iter().find(|c| c.name() == path.name()) {
                *path = FieldPath::joined(columns);
            }
        });
    }
    let lowered = LoweredRule {
        searches: lowered,
        condition: condition.clone(),
    };
    Ok((lowered, searches, condition))
}

/// Calls `visit` on every field path of the searches: the items' fields and `fieldref` targets.
pub(crate) fn for_each_field_mut(
    searches: &mut [CompiledSearch],
    visit: &mut dyn FnMut(&mut FieldPath),
) {
    for search in searches {
        for map in &mut search.maps {
            for item in &mut map.items {
                if let Some(path) = &mut item.field {
                    visit(path);
                }
                for value in &mut item.values {
                    for matcher in &mut value.alternatives {
                        if let ValueMatcher::FieldRef { other, .. } = matcher {
                            visit(other);
                        }
                    }
                }
            }
        }
    }
}

/// One path of each joined field the searches name, in the order first named.
fn joins_of(searches: &[CompiledSearch]) -> Vec<FieldPath> {
    let mut joins: Vec<FieldPath> = Vec::new();
    let items = searches.iter().flat_map(|s| &s.maps).flat_map(|m| &m.items);
    for item in items {
        let references = item
            .values
            .iter()
            .flat_map(|v| &v.alternatives)
            .filter_map(|m| match m {
                ValueMatcher::FieldRef { other, .. } => Some(other),
                _ => None,
            });
        for path in item.field.iter().chain(references) {
            if path.join().is_some() && !joins.contains(path) {
                joins.push(path.clone());
            }
        }
    }
    joins
}

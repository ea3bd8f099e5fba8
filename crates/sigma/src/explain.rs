//! Explanations: the verdict of every condition node, search, item and value, and why.

use std::fmt::{self, Write};

use serde::Serialize;

use crate::condition::Quantifier;

/// The full evaluation of one rule against one event.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The rule's title.
    pub rule: String,
    /// The verdict: the rule's condition held and no applied meta-filter rejected the event.
    pub matched: bool,
    /// References of the meta-filters that were applied.
    pub filters: Vec<String>,
    /// The condition tree with each node's result.
    pub condition: CondExplain,
    /// Every search of the rule (and of its meta-filters), in the order of their indices.
    pub searches: Vec<SearchExplain>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "node", rename_all = "snake_case")]
/// One node of an evaluated condition, serialized with a `node` tag (`search`, `not`, `and`, …).
pub enum CondExplain {
    /// A search identifier: `index` points into [`Explanation::searches`].
    Search {
        /// Index into [`Explanation::searches`].
        index: usize,
        /// The search identifier as written.
        name: String,
        /// The search's verdict.
        result: bool,
    },
    /// `not` over one operand.
    Not {
        /// The negation of `inner`'s result.
        result: bool,
        /// The negated node.
        inner: Box<CondExplain>,
    },
    /// `and` over its operands.
    And {
        /// True when every child is true.
        result: bool,
        /// The operands, in condition order.
        children: Vec<CondExplain>,
    },
    /// `or` over its operands.
    Or {
        /// True when any child is true.
        result: bool,
        /// The operands, in condition order.
        children: Vec<CondExplain>,
    },
    /// `1 of …` / `all of …` over the searches its pattern selected.
    Quantified {
        /// `1 of …` or `all of …`, for reading the verdict without parsing `label`.
        quantifier: Quantifier,
        /// The quantifier as written (`1 of selection_*`), for display only.
        label: String,
        /// The quantifier's verdict over `children`.
        result: bool,
        /// One `Search` node per selected search identifier.
        children: Vec<CondExplain>,
    },
}

/// What a search identifier does in its condition, decided when the rule compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchRole {
    /// Its truth makes the rule match (it is under an even number of `not`s).
    Selection,
    /// It sits under a `not` somewhere in the condition: when true, it rejects the event.
    Filter,
}

impl SearchRole {
    /// `selection` or `filter`.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchRole::Selection => "selection",
            SearchRole::Filter => "filter",
        }
    }
}

impl CondExplain {
    /// The node's verdict, whatever its variant.
    pub fn result(&self) -> bool {
        match self {
            CondExplain::Search { result, .. }
            | CondExplain::Not { result, .. }
            | CondExplain::And { result, .. }
            | CondExplain::Or { result, .. }
            | CondExplain::Quantified { result, .. } => *result,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
/// The evaluation of one search identifier.
pub struct SearchExplain {
    /// The search identifier as written in its detection.
    pub name: String,
    /// The meta-filter this search belongs to, if it is not the rule's own.
    pub origin: Option<String>,
    /// What the search does in the condition of the rule or meta-filter it came from.
    pub role: SearchRole,
    /// The search's verdict.
    pub result: bool,
    /// Whether it is a keyword search (a list of values searched for anywhere in the event).
    pub keywords: bool,
    /// The maps of the search (any one must match); a keyword search has a single map.
    pub maps: Vec<MapExplain>,
}

impl SearchExplain {
    /// The name with its filter, when it came from one: `filter <id>: <name>`. For display
    /// only: consumers compare [`SearchExplain::name`] and [`SearchExplain::origin`].
    pub fn qualified_name(&self) -> String {
        match &self.origin {
            Some(origin) => format!("filter {origin}: {}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
/// One map of a search: its items are ANDed.
pub struct MapExplain {
    /// True when every item matched.
    pub result: bool,
    /// The items, in the order written.
    pub items: Vec<ItemExplain>,
}

#[derive(Clone, Debug, Serialize)]
/// One `key|modifiers: values` item of a map, and how it fared.
pub struct ItemExplain {
    /// The key as written, with modifiers (`keywords` for keyword searches).
    pub key: String,
    /// The event field it tests; `None` for keyword searches.
    pub field: Option<String>,
    /// The item's verdict, after `neq` and `all` are applied.
    pub result: bool,
    /// Whether the item is `neq` (true when no value matches).
    pub negated: bool,
    /// Whether `all` requires every value to match, instead of any one.
    pub all: bool,
    /// The event's value(s) of the field; `None` when the field is absent (or for keywords).
    pub actual: Option<Vec<String>>,
    /// Each value of the item with its own result.
    pub values: Vec<ValueExplain>,
}

#[derive(Clone, Debug, Serialize)]
/// One value of an item: what it was compared to and whether it matched.
pub struct ValueExplain {
    /// The value as written in the rule.
    pub display: String,
    /// Whether this value matched the event's field.
    pub matched: bool,
    /// Why a value missed when that is not obvious (e.g. a number compared with text); `None` when it matched.
    pub note: Option<String>,
}

/// A search identifier that decided the verdict, and whether it did so through a negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decisive {
    /// Index into [`Explanation::searches`].
    pub search: usize,
    /// True when the search was true and a `not` above it turned that into the verdict (a filter that rejected).
    pub negated: bool,
}

impl Explanation {
    /// The searches that were true and decided the verdict: for a match, the selections that made
    /// it (`negated == false`); for a non-match, the filters whose negation rejected the event
    /// (`negated == true`). A search is decisive when every node above it has the result that the
    /// verdict needs from it: all children of a true AND, the true children of a true OR, and so on.
    pub fn decisive(&self) -> Vec<Decisive> {
        let mut out = Vec::new();
        collect_decisive(&self.condition, false, &mut out);
        out.sort_by_key(|d| (d.search, d.negated));
        out.dedup();
        out
    }

    /// The searches that decided the verdict: with `negated == false`, those that were true and
    /// made the rule match; with `negated == true`, those whose negation kept it from matching
    /// (filters that fired). In search order.
    pub fn reasons(&self, negated: bool) -> Vec<&SearchExplain> {
        self.decisive()
            .into_iter()
            .filter(|d| d.negated == negated)
            .filter_map(|d| self.searches.get(d.search))
            .collect()
    }

    /// Display names of the searches that were true and made the rule match.
    pub fn matched_because(&self) -> Vec<String> {
        self.reasons(false)
            .into_iter()
            .map(SearchExplain::qualified_name)
            .collect()
    }

    /// Display names of the searches whose negation kept the rule from matching.
    pub fn rejected_because(&self) -> Vec<String> {
        self.reasons(true)
            .into_iter()
            .map(SearchExplain::qualified_name)
            .collect()
    }
}

fn collect_decisive(node: &CondExplain, negated: bool, out: &mut Vec<Decisive>) {
    match node {
        CondExplain::Search { index, result, .. } => {
            if *result {
                out.push(Decisive {
                    search: *index,
                    negated,
                });
            }
        }
        CondExplain::Not { inner, .. } => collect_decisive(inner, !negated, out),
        CondExplain::And { result, children } => {
            for child in children {
                if *result || !child.result() {
                    collect_decisive(child, negated, out);
                }
            }
        }
        CondExplain::Or { result, children }
        | CondExplain::Quantified {
            result, children, ..
        } => {
            let is_all = matches!(
                node,
                CondExplain::Quantified {
                    quantifier: Quantifier::All,
                    ..
                }
            );
            for child in children {
                let decides = if is_all {
                    *result || !child.result()
                } else {
                    !*result || child.result()
                };
                if decides {
                    collect_decisive(child, negated, out);
                }
            }
        }
    }
}

fn mark(result: bool) -> &'static str {
    if result { "✓" } else { "✗" }
}

impl fmt::Display for Explanation {
    /// An indented tree: the condition first, then each search with its items and values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.matched { "match" } else { "no match" };
        writeln!(f, "{verdict}: {}", self.rule)?;
        if !self.filters.is_empty() {
            writeln!(f, "  with meta-filters: {}", self.filters.join(", "))?;
        }
        writeln!(f, "  condition:")?;
        write_cond(f, &self.condition, 2)?;
        for search in &self.searches {
            writeln!(
                f,
                "  {} {}{}",
                mark(search.result),
                search.qualified_name(),
                if search.keywords { " (keywords)" } else { "" }
            )?;
            let many = search.maps.len() > 1;
            for (i, map) in search.maps.iter().enumerate() {
                let indent = if many {
                    writeln!(f, "      {} alternative {}", mark(map.result), i + 1)?;
                    8
                } else {
                    6
                };
                for item in &map.items {
                    write_item(f, item, indent)?;
                }
            }
        }
        Ok(())
    }
}

fn write_cond(f: &mut fmt::Formatter<'_>, node: &CondExplain, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    match node {
        CondExplain::Search { name, result, .. } => writeln!(f, "{pad}{} {name}", mark(*result)),
        CondExplain::Not { result, inner } => {
            writeln!(f, "{pad}{} not", mark(*result))?;
            write_cond(f, inner, depth + 1)
        }
        CondExplain::And { result, children } | CondExplain::Or { result, children } => {
            let word = if matches!(node, CondExplain::And { .. }) {
                "and"
            } else {
                "or"
            };
            writeln!(f, "{pad}{} {word}", mark(*result))?;
            children
                .iter()
                .try_for_each(|c| write_cond(f, c, depth + 1))
        }
        CondExplain::Quantified {
            label,
            result,
            children,
            ..
        } => {
            writeln!(f, "{pad}{} {label}", mark(*result))?;
            children
                .iter()
                .try_for_each(|c| write_cond(f, c, depth + 1))
        }
    }
}

/// How many non-matching values an item lists before summarising the rest.
const MAX_LISTED_MISSES: usize = 5;

fn write_item(f: &mut fmt::Formatter<'_>, item: &ItemExplain, indent: usize) -> fmt::Result {
    let pad = " ".repeat(indent);
    let mut line = format!("{pad}{} {}", mark(item.result), item.key);
    match (&item.field, &item.actual) {
        (Some(_), None) => line.push_str(" — field absent from the event"),
        (Some(_), Some(actual)) => {
            let _ = write!(line, " — event has {}", actual.join(", "));
        }
        (None, _) => {}
    }
    writeln!(f, "{line}")?;
    let mut misses = 0;
    for value in &item.values {
        if value.matched || value.note.is_some() || misses < MAX_LISTED_MISSES {
            let verb = if value.matched {
                "matches"
            } else {
                "does not match"
            };
            let note = value
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            writeln!(
                f,
                "{pad}    {} {:?} {verb}{note}",
                mark(value.matched),
                value.display
            )?;
        }
        if !value.matched && value.note.is_none() {
            misses += 1;
        }
    }
    if misses > MAX_LISTED_MISSES {
        writeln!(
            f,
            "{pad}    … and {} more values that do not match",
            misses - MAX_LISTED_MISSES
        )?;
    }
    Ok(())
}

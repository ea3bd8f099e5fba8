//! The ways a rule's condition can be true: the condition in disjunctive normal form over its
//! search identifiers, each way a set of searches that must match and searches that must not.

use ruleproof_sigma::condition::{CondExpr, Quantifier};

/// A search identifier required true (`positive`) or false, by index into the detection's
/// searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Literal {
    /// The index of the search identifier in the detection.
    pub search: usize,
    /// Whether the search must match (`true`) or must not (`false`, a filter under `not`).
    pub positive: bool,
}

/// One way the condition can be true: every literal must hold.
pub type Way = Vec<Literal>;

/// How many ways are enumerated at most per condition; a condition with more (a long `all of`
/// over `or`s) is cut at this many, in order.
pub const MAX_WAYS: usize = 64;

/// The ways `expr` can be true (or false, with `negated`), at most [`MAX_WAYS`]. `names` are the
/// detection's search identifiers in order. Contradictory ways (a search required both true and
/// false) are dropped.
pub fn ways(expr: &CondExpr, names: &[&str], negated: bool) -> Vec<Way> {
    let mut out = match (expr, negated) {
        (CondExpr::Ident { name, .. }, _) => match names.iter().position(|n| n == name) {
            Some(search) => vec![vec![Literal {
                search,
                positive: !negated,
            }]],
            None => Vec::new(),
        },
        (CondExpr::Not(inner), _) => ways(inner, names, !negated),
        (CondExpr::And(items), false) | (CondExpr::Or(items), true) => {
            product(items.iter().map(|i| ways(i, names, negated)))
        }
        (CondExpr::Or(items), false) | (CondExpr::And(items), true) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(ways(item, names, negated));
                if all.len() >= MAX_WAYS {
                    break;
                }
            }
            all
        }
        (
            CondExpr::Quantified {
                quantifier, target, ..
            },
            _,
        ) => {
            let selected: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| target.matches(n))
                .map(|(i, _)| i)
                .collect();
            let single = |search: usize, positive: bool| vec![vec![Literal { search, positive }]];
            // `1 of` is an `or`, `all of` an `and`; negation swaps them.
            let any = (*quantifier == Quantifier::Any) != negated;
            if any {
                selected.iter().flat_map(|&s| single(s, !negated)).collect()
            } else {
                product(selected.iter().map(|&s| single(s, !negated)))
            }
        }
    };
    out.truncate(MAX_WAYS);
    out
}

/// Every combination of one way from each part, contradictions dropped.
fn product(parts: impl Iterator<Item = Vec<Way>>) -> Vec<Way> {
    let mut result: Vec<Way> = vec![Vec::new()];
    for part in parts {
        let mut next = Vec::new();
        'outer: for way in &result {
            for choice in &part {
                let mut combined = way.clone();
                for literal in choice {
                    if combined
                        .iter()
                        .any(|l| l.search == literal.search && l.positive != literal.positive)
                    {
                        combined.clear();
                        break;
                    }
                    if !combined.contains(literal) {
                        combined.push(*literal);
                    }
                }
                if !combined.is_empty() || choice.is_empty() {
                    next.push(combined);
                }
                if next.len() >= MAX_WAYS {
                    break 'outer;
                }
            }
        }
        result = next;
    }
    result
}

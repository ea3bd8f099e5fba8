//! Resolving a rule's condition: identifiers to search indices, and each search's role.

use super::{CompiledSearch, Cond};
use crate::condition::{CondExpr, Quantifier};
use crate::error::{ErrorKind, SigmaError};
use crate::explain::SearchRole;

/// Marks every search that sits under a `not` somewhere in the condition as a filter.
pub(super) fn mark_filters(cond: &Cond, negated: bool, searches: &mut [CompiledSearch]) {
    let mut mark = |i: usize| {
        if negated && let Some(search) = searches.get_mut(i) {
            search.role = SearchRole::Filter;
        }
    };
    match cond {
        Cond::Search(i) => mark(*i),
        Cond::Quantified { searches: ids, .. } => ids.iter().for_each(|i| mark(*i)),
        Cond::Not(inner) => mark_filters(inner, !negated, searches),
        Cond::And(items) | Cond::Or(items) => {
            for item in items {
                mark_filters(item, negated, searches);
            }
        }
    }
}

pub(super) fn resolve(expr: &CondExpr, names: &[&str]) -> Result<Cond, SigmaError> {
    Ok(match expr {
        CondExpr::Ident { name, span } => match names.iter().position(|n| n == name) {
            Some(i) => Cond::Search(i),
            None => {
                return Err(SigmaError::new(
                    ErrorKind::UndefinedIdentifier,
                    *span,
                    format!("the condition names `{name}`, which the detection does not define"),
                ));
            }
        },
        CondExpr::Not(inner) => Cond::Not(Box::new(resolve(inner, names)?)),
        CondExpr::And(items) => Cond::And(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        CondExpr::Or(items) => Cond::Or(
            items
                .iter()
                .map(|c| resolve(c, names))
                .collect::<Result<_, _>>()?,
        ),
        CondExpr::Quantified {
            quantifier,
            target,
            span,
        } => {
            let searches: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| target.matches(n))
                .map(|(i, _)| i)
                .collect();
            if searches.is_empty() {
                return Err(SigmaError::new(
                    ErrorKind::UndefinedIdentifier,
                    *span,
                    format!("`{target}` matches no search identifier of the detection"),
                ));
            }
            let word = match quantifier {
                Quantifier::Any => "1",
                Quantifier::All => "all",
            };
            Cond::Quantified {
                quantifier: *quantifier,
                label: format!("{word} of {target}"),
                searches,
            }
        }
    })
}

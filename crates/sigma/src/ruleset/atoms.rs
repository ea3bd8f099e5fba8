//! Atoms (cheap facts about an event) and the necessary conditions over them that rules are
//! reduced to: how they combine, when they hold, and which atom indexes a rule best.

/// Where in a value a literal must be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Anchor {
    Anywhere,
    Start,
    End,
}

/// A rule's necessary condition over atoms.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Need {
    True,
    Atom(u32),
    All(Vec<Need>),
    Any(Vec<Need>),
}

/// What an atom tests, before it is numbered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum AtomKey {
    /// The event has the field (a value that is not `null`, or for `exists`, any value).
    Present(u32),
    Equals(u32, Box<str>),
    Literal(u32, Anchor, Box<str>),
    Keyword(Box<str>),
}

pub(super) fn all(needs: Vec<Need>) -> Need {
    let mut kept: Vec<Need> = Vec::with_capacity(needs.len());
    for need in needs {
        match need {
            Need::True => {}
            Need::All(inner) => kept.extend(inner),
            other => kept.push(other),
        }
    }
    match kept.len() {
        0 => Need::True,
        1 => kept.pop().unwrap_or(Need::True),
        _ => Need::All(kept),
    }
}

pub(super) fn any(needs: Vec<Need>) -> Need {
    let mut kept: Vec<Need> = Vec::with_capacity(needs.len());
    for need in needs {
        match need {
            Need::True => return Need::True,
            Need::Any(inner) => kept.extend(inner),
            other => kept.push(other),
        }
    }
    if kept.len() == 1 {
        kept.pop().unwrap_or(Need::True)
    } else {
        // An empty `Any` is false: the rule cannot match (an item with no values).
        Need::Any(kept)
    }
}

impl Need {
    pub(super) fn holds(&self, seen: &[u32], epoch: u32) -> bool {
        match self {
            Need::True => true,
            Need::Atom(a) => seen[*a as usize] == epoch,
            Need::All(items) => items.iter().all(|n| n.holds(seen, epoch)),
            Need::Any(items) => items.iter().any(|n| n.holds(seen, epoch)),
        }
    }

    /// The atoms to index the rule under (one of them holds whenever the need does) and how
    /// often they are expected to hold; `None` when some branch has no atom.
    pub(super) fn triggers(&self, keys: &[AtomKey]) -> Option<(Vec<u32>, f64)> {
        match self {
            Need::True => None,
            Need::Atom(a) => Some((vec![*a], atom_cost(&keys[*a as usize]))),
            Need::Any(items) => {
                let mut atoms = Vec::new();
                let mut cost = 0.0;
                for item in items {
                    let (a, c) = item.triggers(keys)?;
                    atoms.extend(a);
                    cost += c;
                }
                // However many literals a union has, it stays a better index than presence.
                Some((atoms, cost.min(PRESENT_COST - 1.0)))
            }
            Need::All(items) => items
                .iter()
                .filter_map(|n| n.triggers(keys))
                .min_by(|a, b| a.1.total_cmp(&b.1)),
        }
    }
}

/// What indexing a rule under a field's presence costs: more than any set of literals.
pub(super) const PRESENT_COST: f64 = 40.0;

/// A guess at how often an atom holds: longer literals are rarer, anchored and exact tests rarer
/// still. It only decides which atom a rule is indexed under, never a verdict.
pub(super) fn atom_cost(key: &AtomKey) -> f64 {
    let (weight, len) = match key {
        AtomKey::Equals(_, s) => (3.0, s.len()),
        AtomKey::Literal(_, Anchor::Anywhere, s) => (12.0, s.len()),
        AtomKey::Literal(_, _, s) => (6.0, s.len()),
        AtomKey::Keyword(s) => (16.0, s.len()),
        // Most events have the common fields; presence is the last resort of an index.
        AtomKey::Present(_) => return PRESENT_COST,
    };
    weight / (len as f64 + 1.0)
}

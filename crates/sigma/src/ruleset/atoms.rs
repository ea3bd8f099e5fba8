//! Atoms (cheap facts about an event) and the necessary conditions over them that rules are
//! reduced to: how they combine, when they hold, and which atom indexes a rule best.

use super::fxhash::FastMap;

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
    /// Whether `test` holds for some atom of the need.
    pub(super) fn any_atom(&self, test: &mut impl FnMut(u32) -> bool) -> bool {
        match self {
            Need::True => false,
            Need::Atom(a) => test(*a),
            Need::All(items) | Need::Any(items) => items.iter().any(|n| n.any_atom(test)),
        }
    }

    pub(super) fn holds(&self, seen: &[u32], epoch: u32) -> bool {
        match self {
            Need::True => true,
            Need::Atom(a) => seen[*a as usize] == epoch,
            // Most items are atoms: read them here rather than in a call each.
            Need::All(items) => items.iter().all(|n| match n {
                Need::Atom(a) => seen[*a as usize] == epoch,
                n => n.holds(seen, epoch),
            }),
            Need::Any(items) => items.iter().any(|n| match n {
                Need::Atom(a) => seen[*a as usize] == epoch,
                n => n.holds(seen, epoch),
            }),
        }
    }

    /// The atoms to index the rule under (one of them holds whenever the need does) and how
    /// often they are expected to hold; `None` when some branch has no atom.
    pub(super) fn triggers(&self, costs: &[f64]) -> Option<(Vec<u32>, f64)> {
        match self {
            Need::True => None,
            Need::Atom(a) => Some((vec![*a], costs[*a as usize])),
            Need::Any(items) => {
                let mut atoms = Vec::new();
                let mut cost = 0.0;
                for item in items {
                    let (a, c) = item.triggers(costs)?;
                    atoms.extend(a);
                    cost += c;
                }
                // However many literals a union has, it stays a better index than presence.
                Some((atoms, cost.min(PRESENT_COST - 1.0)))
            }
            Need::All(items) => items
                .iter()
                .filter_map(|n| n.triggers(costs))
                .min_by(|a, b| a.1.total_cmp(&b.1)),
        }
    }
}

impl Need {
    /// How often the need is expected to hold, as [`Need::triggers`] estimates it, without
    /// collecting the atoms; `None` when some branch has no atom.
    pub(super) fn cost(&self, costs: &[f64]) -> Option<f64> {
        match self {
            Need::True => None,
            Need::Atom(a) => Some(costs[*a as usize]),
            Need::Any(items) => {
                let mut cost = 0.0;
                for item in items {
                    cost += item.cost(costs)?;
                }
                Some(cost.min(PRESENT_COST - 1.0))
            }
            Need::All(items) => items
                .iter()
                .filter_map(|n| n.cost(costs))
                .min_by(|a, b| a.total_cmp(b)),
        }
    }

    /// Orders the items so that checking a candidate's need stops as early as it can: in an
    /// `All`, the items least likely to hold first; in an `Any`, the most likely first. At the
    /// top, the item the rule is indexed under (what [`Need::triggers`] picks: the rarest) goes
    /// last instead, since it usually holds for a candidate: that is what made it one. The
    /// order never changes whether the need holds.
    pub(super) fn order_for_candidates(&mut self, costs: &[f64]) {
        self.order(costs);
        if let Need::All(items) = self
            && let Some(first) = items.first()
            && first.cost(costs).is_some()
        {
            let trigger = items.remove(0);
            items.push(trigger);
        }
    }

    /// Orders the items: in an `All`, the least likely to hold first; in an `Any`, the most
    /// likely first.
    pub(super) fn order(&mut self, costs: &[f64]) {
        match self {
            Need::All(items) => {
                items.iter_mut().for_each(|item| item.order(costs));
                // Items without an estimate (no atom on some branch) hold most often: last.
                items.sort_by_cached_key(|item| item.cost(costs).map_or(u64::MAX, f64::to_bits));
            }
            Need::Any(items) => {
                items.iter_mut().for_each(|item| item.order(costs));
                items.sort_by_cached_key(|item| {
                    std::cmp::Reverse(item.cost(costs).map_or(u64::MAX, f64::to_bits))
                });
            }
            Need::True | Need::Atom(_) => {}
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

/// Every atom's estimate of how often it holds ([`atom_cost`]), times how many rules' necessary
/// conditions name it: a value that many rules test (`Initiated: 'true'`, `EventID: 4624`,
/// `Image|endswith: '.exe'`) is a property of a whole class of events, which those rules then
/// narrow down, so it holds far more often than its length suggests. Presence stays the last
/// resort.
pub(super) fn atom_costs(keys: &[AtomKey], needs: &[Need]) -> Vec<f64> {
    let mut rules = vec![0u32; keys.len()];
    for need in needs {
        let mut named: Vec<u32> = Vec::new();
        need.any_atom(&mut |a| {
            named.push(a);
            false
        });
        named.sort_unstable();
        named.dedup();
        for atom in named {
            rules[atom as usize] += 1;
        }
    }
    keys.iter()
        .zip(rules)
        .map(|(key, rules)| match key {
            AtomKey::Present(_) => PRESENT_COST,
            _ => (atom_cost(key) * f64::from(rules.max(1))).min(PRESENT_COST - 1.0),
        })
        .collect()
}

/// An `Any` with at least this many atoms has them replaced by one derived atom.
pub(super) const MIN_UNION: usize = 8;

/// Replaces the atoms of every `Any` that has at least [`MIN_UNION`] of them by one derived atom,
/// numbered from `atom_count` on, that holds when any of them does; equal sets share one. A
/// candidate's need is then checked with one lookup per union instead of a walk over a list of
/// hundreds of values (`Image|endswith` lists, hash lists) up to the one that holds. Returns,
/// per atom, the derived atoms it makes hold, and the number of atoms and derived atoms.
pub(super) fn fold_unions<'a>(
    needs: impl IntoIterator<Item = &'a mut Need>,
    atom_count: usize,
) -> (Vec<Vec<u32>>, usize) {
    let mut unions = Unions {
        ids: FastMap::default(),
        implied: vec![Vec::new(); atom_count],
        next: atom_count as u32,
    };
    for need in needs {
        unions.fold(need);
    }
    (unions.implied, unions.next as usize)
}

struct Unions {
    ids: FastMap<Vec<u32>, u32>,
    implied: Vec<Vec<u32>>,
    next: u32,
}

impl Unions {
    fn fold(&mut self, need: &mut Need) {
        match need {
            Need::Any(items) => {
                let mut members: Vec<u32> = items
                    .iter()
                    .filter_map(|item| match item {
                        Need::Atom(atom) => Some(*atom),
                        _ => None,
                    })
                    .collect();
                members.sort_unstable();
                members.dedup();
                if members.len() >= MIN_UNION {
                    let union = self.union(members);
                    items.retain(|item| !matches!(item, Need::Atom(_)));
                    // Many alternatives hold more often than what is left: check them first.
                    items.insert(0, Need::Atom(union));
                }
                items.iter_mut().for_each(|item| self.fold(item));
                if let [only] = items.as_mut_slice() {
                    *need = std::mem::replace(only, Need::True);
                }
            }
            Need::All(items) => items.iter_mut().for_each(|item| self.fold(item)),
            Need::True | Need::Atom(_) => {}
        }
    }

    fn union(&mut self, members: Vec<u32>) -> u32 {
        if let Some(id) = self.ids.get(&members) {
            return *id;
        }
        let id = self.next;
        self.next += 1;
        for member in &members {
            self.implied[*member as usize].push(id);
        }
        self.ids.insert(members, id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_check_the_rarest_atoms_first_and_their_trigger_last() {
        let keys: Vec<AtomKey> = ["ab", "abcdefgh", "abcd", "a", "abcdefghijkl"]
            .iter()
            .map(|l| AtomKey::Literal(0, Anchor::Anywhere, Box::from(*l)))
            .collect();
        let need = || {
            Need::All(vec![
                Need::Atom(0),
                Need::Any(vec![Need::Atom(1), Need::Atom(3)]),
                Need::Atom(4),
                Need::Atom(2),
            ])
        };
        let mut ordered = need();
        let costs: Vec<f64> = keys.iter().map(atom_cost).collect();
        ordered.order_for_candidates(&costs);
        // The rarest (the longest literal, the rule's trigger) last, the rest from rarest to
        // most common (an `Any` adds up its alternatives), and inside an `Any` the most
        // common alternative first.
        assert_eq!(
            ordered,
            Need::All(vec![
                Need::Atom(2),
                Need::Atom(0),
                Need::Any(vec![Need::Atom(3), Need::Atom(1)]),
                Need::Atom(4),
            ])
        );
        assert_eq!(
            need().triggers(&costs).map(|(atoms, _)| atoms),
            Some(vec![4])
        );
        // Whatever holds, the order changes no verdict.
        for held in 0u32..32 {
            let seen: Vec<u32> = (0..5).map(|a| u32::from(held & (1 << a) != 0)).collect();
            assert_eq!(ordered.holds(&seen, 1), need().holds(&seen, 1), "{held:b}");
        }
    }

    #[test]
    fn a_value_many_rules_test_indexes_none_of_them() {
        let keys = vec![
            AtomKey::Equals(0, "4624".into()),
            AtomKey::Literal(1, Anchor::Anywhere, "mimikatz".into()),
        ];
        let alone = vec![Need::All(vec![Need::Atom(0), Need::Atom(1)])];
        // Alone, the short exact value looks rarer than the literal…
        assert_eq!(
            alone[0].triggers(&atom_costs(&keys, &alone)).unwrap().0,
            vec![0]
        );
        // …but once four rules test it, it is an event class and the literal indexes the rule.
        let mut shared = alone.clone();
        shared.extend([Need::Atom(0), Need::Atom(0), Need::Atom(0)]);
        let costs = atom_costs(&keys, &shared);
        assert_eq!(shared[0].triggers(&costs).unwrap().0, vec![1]);
        assert_eq!(costs[0], atom_cost(&keys[0]) * 4.0);
    }

    #[test]
    fn large_unions_become_one_derived_atom_shared_by_equal_sets() {
        let list = |from: u32| Need::Any((from..from + 8).map(Need::Atom).collect());
        let mut needs = vec![
            Need::All(vec![Need::Atom(20), list(0)]),
            // The same set again, with a non-atom alternative that must stay.
            Need::Any(
                (0..8)
                    .rev()
                    .map(Need::Atom)
                    .chain([Need::All(vec![Need::Atom(20), Need::Atom(21)])])
                    .collect(),
            ),
            // Too small to fold.
            Need::Any(vec![Need::Atom(8), Need::Atom(9)]),
        ];
        let (implied, count) = fold_unions(&mut needs, 22);
        assert_eq!(count, 23);
        assert_eq!(
            needs,
            vec![
                Need::All(vec![Need::Atom(20), Need::Atom(22)]),
                Need::Any(vec![
                    Need::Atom(22),
                    Need::All(vec![Need::Atom(20), Need::Atom(21)])
                ]),
                Need::Any(vec![Need::Atom(8), Need::Atom(9)]),
            ]
        );
        assert!((0..8).all(|a| implied[a] == vec![22]));
        assert!((8..22).all(|a| implied[a].is_empty()));
    }
}

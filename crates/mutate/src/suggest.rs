//! `cases suggest`: the cases a rule's fixtures lack. For each surviving mutant, an event on
//! which the rule and the mutant disagree (found among generated positives, near misses and
//! small perturbations of them, and confirmed by both compiled rules); for each value no case
//! covers, an event that value decides.

use serde_json::Value;

use ruleproof_cases::coverage::coverage;
use ruleproof_cases::{Layout, LoadedRule, RuleSet};
use ruleproof_generate::{GeneratedEvent, Kind, ValueAt, candidates, event_for_value};
use ruleproof_sigma::detection::SearchBody;
use ruleproof_sigma::{CompileOptions, CompiledRule, Rule};

use crate::generate::mutants;
use crate::operator::Operator;
use crate::run::{Status, mutate};

/// What `cases suggest` proposes for one rule.
#[derive(Clone, Debug, Default)]
pub struct Suggestions {
    /// Engine-confirmed events with the verdict the rule gives them, in the order found:
    /// mutant killers first, then events for uncovered values.
    pub cases: Vec<GeneratedEvent>,
    /// Survivors and values for which no event was found, one sentence each.
    pub not_found: Vec<String>,
    /// Why the rule's test-case file does not load, as `path:line:col: message`: the cases it
    /// holds are unknown, so the suggestions would ignore them.
    pub errors: Vec<String>,
}

/// Proposes cases for `rule`, whose test cases (if any) are at the conventional path under
/// `layout`.
pub fn suggest(
    layout: &Layout,
    rules: &RuleSet,
    rule: &LoadedRule,
    options: &CompileOptions,
) -> Suggestions {
    let mut out = Suggestions::default();
    let test_file = layout
        .select_test_cases(std::slice::from_ref(&rule.path))
        .pop()
        .filter(|p| p.is_file());
    if let Some(file) = &test_file {
        let run = ruleproof_cases::run(layout, rules, std::slice::from_ref(file), None);
        out.errors = run
            .files
            .iter()
            .flat_map(|f| f.errors.iter().map(ToString::to_string))
            .collect();
        if !out.errors.is_empty() {
            return out;
        }
    }
    let report = test_file
        .as_ref()
        .map(|file| mutate(layout, rules, std::slice::from_ref(file), options));
    let tested = report
        .as_ref()
        .and_then(|r| r.rules.iter().find(|m| m.rule.path == rule.path));
    // Without cases every non-equivalent mutant survives.
    let survives = |operator: Operator, description: &str| match tested {
        Some(tested) => tested.mutants.iter().any(|m| {
            m.status == Status::Survived && m.operator == operator && m.description == description
        }),
        None => true,
    };
    let original = &rule.compiled;
    let (cases, not_found) = kill_mutants(&rule.rule, original, options, &[], survives);
    out.cases = cases;
    out.not_found = not_found;
    if let Some(tested) = tested {
        for survivor in tested
            .survivors()
            .filter(|m| m.operator == Operator::DropMetaFilter)
        {
            out.not_found.push(format!(
                "{}: write a case with `with_filters:` that the filter decides",
                survivor.description
            ));
        }
    }

    // Values no case covers.
    if let Some(file) = &test_file {
        let run = ruleproof_cases::run(layout, rules, std::slice::from_ref(file), None);
        let covered = coverage(layout, rules, &run);
        let Some(rule_coverage) = covered.rules.iter().find(|r| {
            layout.root.join(&r.rule.path).canonicalize().ok() == rule.path.canonicalize().ok()
        }) else {
            return out;
        };
        for search in &rule_coverage.searches {
            for item in &search.items {
                for (v, value) in item.values.iter().enumerate() {
                    if !value.covered_by.is_empty() {
                        continue;
                    }
                    let Some(at) = locate(rule, &search.name, item.alternative, &item.key, v)
                    else {
                        continue;
                    };
                    match event_for_value(&rule.rule, original, options, at) {
                        Some(event) => out.cases.push(event),
                        None => out.not_found.push(format!(
                            "no event found for the uncovered value {} of `{}` in {}",
                            value.display, item.key, search.name
                        )),
                    }
                }
            }
        }
    }
    out
}

/// Events that kill the rule's non-equivalent mutants for which `wanted(operator, description)`
/// holds and that no event of `known` already kills: for each, the first event (among the
/// rule's and the mutant's generated events and small changes of them) on which the compiled
/// rule and the compiled mutant disagree, with the verdict the rule gives it. Also returns a
/// sentence for each mutant no event was found for.
pub fn kill_mutants(
    rule: &Rule,
    original: &CompiledRule,
    options: &CompileOptions,
    known: &[GeneratedEvent],
    wanted: impl Fn(Operator, &str) -> bool,
) -> (Vec<GeneratedEvent>, Vec<String>) {
    let mut killers: Vec<GeneratedEvent> = Vec::new();
    let mut not_found = Vec::new();
    let mut pool = candidates(rule, original, options);
    for mutant in mutants(rule, options) {
        if mutant.equivalent.is_some() || !wanted(mutant.operator, &mutant.description) {
            continue;
        }
        let Ok(compiled) = CompiledRule::compile(&mutant.rule, options) else {
            continue;
        };
        let differs = |event: &Value| original.matches(event) != compiled.matches(event);
        // An event already known, or found for an earlier mutant, may tell this one apart.
        if known.iter().chain(&killers).any(|c| differs(&c.event)) {
            continue;
        }
        let found = pool.iter().find(|e| differs(e)).cloned().or_else(|| {
            let extra = candidates(&mutant.rule, &compiled, options);
            let hit = extra.iter().find(|e| differs(e)).cloned();
            pool.extend(extra);
            hit
        });
        match found {
            Some(event) => killers.push(GeneratedEvent {
                expect_match: original.matches(&event),
                kind: Kind::KillsMutant,
                target: format!("{}: {}", mutant.operator, mutant.description),
                event,
            }),
            None => not_found.push(format!(
                "no event found that tells the rule from the {} mutant `{}`",
                mutant.operator, mutant.description
            )),
        }
    }
    (killers, not_found)
}

/// Where coverage's (search, 1-based alternative, key, value index) sits in the detection.
fn locate(
    rule: &LoadedRule,
    search: &str,
    alternative: usize,
    key: &str,
    value: usize,
) -> Option<ValueAt> {
    let index = rule
        .rule
        .detection
        .searches
        .iter()
        .position(|s| s.name == search)?;
    let map = alternative.saturating_sub(1);
    let items: Vec<_> = match &rule.rule.detection.searches[index].body {
        SearchBody::Maps(maps) => maps.get(map)?.items.iter().collect(),
        SearchBody::Keywords(item) => vec![item],
    };
    let item = items.iter().position(|item| {
        let mut written = item.field.clone().unwrap_or_else(|| "keywords".to_owned());
        for (m, _) in &item.modifiers {
            written.push('|');
            written.push_str(m.name());
        }
        written == key
    })?;
    Some(ValueAt {
        search: index,
        map,
        item,
        value,
    })
}

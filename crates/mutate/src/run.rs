//! Running mutants against a rule's test cases: the runner gives each case's verdict on the rule
//! as written; every mutant is compiled once from the changed detection and evaluated on the same
//! events, in parallel. A mutant is killed by the first case (in file order) whose verdict
//! changes.

use std::path::PathBuf;

use rayon::prelude::*;
use ruleproof_cases::{CaseResult, Layout, LoadedRule, RuleSet, RuleSummary, Verdict};
use ruleproof_sigma::{CompileOptions, CompiledFilter, CompiledRule};
use serde_json::Value;

use crate::generate::{Mutant, mutants};
use crate::operator::Operator;

/// What became of a mutant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Some case's verdict changed.
    Killed,
    /// Every case gave the same verdict: the fixtures would not notice this change.
    Survived,
    /// Provably matches the same events as the rule; not counted in the score.
    Equivalent,
}

impl Status {
    /// The name in output: `killed`, `survived` or `equivalent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Killed => "killed",
            Status::Survived => "survived",
            Status::Equivalent => "equivalent",
        }
    }
}

/// One mutant and its fate.
#[derive(Clone, Debug)]
pub struct MutantResult {
    /// What was changed.
    pub operator: Operator,
    /// The file the change is in (the rule's, or a meta-filter's for `drop-meta-filter`).
    pub path: PathBuf,
    /// 1-based line of the change.
    pub line: u32,
    /// 1-based column of the change.
    pub col: u32,
    /// The change as a one-line diff.
    pub description: String,
    /// Killed, survived or equivalent.
    pub status: Status,
    /// The case that killed it.
    pub killed_by: Option<String>,
    /// Why it is equivalent, for equivalent mutants.
    pub equivalent_because: Option<String>,
}

/// The mutants of one rule.
#[derive(Clone, Debug)]
pub struct RuleMutation {
    /// The rule, as reports name it.
    pub rule: RuleSummary,
    /// The rule's reference as test-case files name it: its id, else its name, else its title.
    pub reference: String,
    /// The test-case files whose cases were used.
    pub test_files: Vec<PathBuf>,
    /// The number of cases the mutants were run against.
    pub cases: usize,
    /// In the order generated: detection before condition, then meta-filters.
    pub mutants: Vec<MutantResult>,
}

impl RuleMutation {
    /// How many of the rule's mutants have a status.
    pub fn count(&self, status: Status) -> usize {
        self.mutants.iter().filter(|m| m.status == status).count()
    }

    /// Killed mutants per cent of the non-equivalent ones; `None` when every mutant is
    /// equivalent (or there are none), which meets any policy.
    pub fn score(&self) -> Option<f64> {
        let killed = self.count(Status::Killed);
        let counted = killed + self.count(Status::Survived);
        (counted > 0).then(|| killed as f64 * 100.0 / counted as f64)
    }

    /// The mutants no case noticed, in generation order.
    pub fn survivors(&self) -> impl Iterator<Item = &MutantResult> {
        self.mutants.iter().filter(|m| m.status == Status::Survived)
    }
}

/// The mutation run over some test-case files.
#[derive(Clone, Debug, Default)]
pub struct MutationReport {
    /// One entry per rule with at least one test case, in path order.
    pub rules: Vec<RuleMutation>,
    /// Problems that stop some rules from being mutation-tested: rules or test-case files that
    /// do not load, as `path:line:col: message`.
    pub errors: Vec<String>,
}

impl MutationReport {
    /// Killed, survived and equivalent mutants over every rule.
    pub fn totals(&self) -> (usize, usize, usize) {
        let mut totals = (0, 0, 0);
        for rule in &self.rules {
            totals.0 += rule.count(Status::Killed);
            totals.1 += rule.count(Status::Survived);
            totals.2 += rule.count(Status::Equivalent);
        }
        totals
    }
}

/// Mutation-tests the rules named by the test-case files under `paths` against those files'
/// cases. Every rule's mutants run in parallel.
pub fn mutate(
    layout: &Layout,
    rules: &RuleSet,
    paths: &[PathBuf],
    options: &CompileOptions,
) -> MutationReport {
    let run = ruleproof_cases::run(layout, rules, paths, None);
    let mut report = MutationReport::default();
    for diagnostic in run.load_errors.iter() {
        report.errors.push(diagnostic.to_string());
    }
    report.errors.extend(run.unreadable.iter().cloned());
    // Cases of one rule may come from several files; they are pooled per rule. A file that
    // names its own pipelines tests the rule as they process it: its cases form a group of
    // their own, mutating that processed rule.
    let mut grouped: Vec<(&LoadedRule, Vec<PathBuf>, Vec<&CaseResult>)> = Vec::new();
    let mut pooled: Vec<usize> = Vec::new();
    for file in &run.files {
        report
            .errors
            .extend(file.errors.iter().map(ToString::to_string));
        let Some(summary) = &file.rule else { continue };
        if let Some(processed) = &file.processed {
            grouped.push((
                processed,
                vec![file.path.clone()],
                file.cases.iter().collect(),
            ));
            continue;
        }
        let Some(rule) = rules.rules.iter().find(|r| r.path == summary.path) else {
            continue;
        };
        match pooled.iter().find(|&&g| grouped[g].0.path == rule.path) {
            Some(&g) => {
                grouped[g].1.push(file.path.clone());
                grouped[g].2.extend(&file.cases);
            }
            None => {
                pooled.push(grouped.len());
                grouped.push((rule, vec![file.path.clone()], file.cases.iter().collect()));
            }
        }
    }
    grouped.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    report.rules = grouped
        .par_iter()
        .filter(|(_, _, cases)| !cases.is_empty())
        .map(|(rule, files, cases)| mutate_rule(rule, rules, files, cases, options))
        .collect();
    report
}

/// One case's verdicts on the rule as written: plain, and with its meta-filters applied.
struct Baseline<'a> {
    name: &'a str,
    event: &'a Value,
    matched: bool,
    filtered: Option<(Vec<&'a CompiledFilter>, bool)>,
}

fn mutate_rule(
    rule: &LoadedRule,
    rules: &RuleSet,
    files: &[PathBuf],
    cases: &[&CaseResult],
    options: &CompileOptions,
) -> RuleMutation {
    let baselines: Vec<Baseline> = cases
        .iter()
        .map(|case| Baseline {
            name: &case.name,
            event: &case.event,
            matched: case.check.actual == Verdict::Match,
            filtered: case.with_filters.as_ref().map(|(names, check)| {
                let filters = names
                    .iter()
                    .filter_map(|n| rules.find_filter(n).map(|f| &f.compiled))
                    .collect();
                (filters, check.actual == Verdict::Match)
            }),
        })
        .collect();

    let generated = mutants(&rule.rule, options);
    let mut results: Vec<MutantResult> = generated
        .par_iter()
        .filter_map(|mutant| run_mutant(rule, mutant, &baselines, options))
        .collect();
    results.extend(drop_meta_filter(rule, rules, &baselines));
    RuleMutation {
        rule: RuleSummary::of(rule),
        reference: rule.rule.meta.reference().to_owned(),
        test_files: files.to_vec(),
        cases: cases.len(),
        mutants: results,
    }
}

/// A mutant's fate, or `None` when the changed rule does not compile (a change that makes no
/// Sigma is not a mutant).
fn run_mutant(
    rule: &LoadedRule,
    mutant: &Mutant,
    baselines: &[Baseline],
    options: &CompileOptions,
) -> Option<MutantResult> {
    let at = rule.source.line_col(mutant.span.start);
    let mut result = MutantResult {
        operator: mutant.operator,
        path: rule.path.clone(),
        line: at.line,
        col: at.col,
        description: mutant.description.clone(),
        status: Status::Equivalent,
        killed_by: None,
        equivalent_because: mutant.equivalent.clone(),
    };
    let compiled = CompiledRule::compile(&mutant.rule, options).ok()?;
    if mutant.equivalent.is_some() {
        return Some(result);
    }
    let killer = baselines.iter().find(|case| {
        compiled.matches(case.event) != case.matched
            || case.filtered.as_ref().is_some_and(|(filters, matched)| {
                compiled.with_filters(filters).matches(case.event) != *matched
            })
    });
    result.status = if killer.is_some() {
        Status::Killed
    } else {
        Status::Survived
    };
    result.killed_by = killer.map(|case| case.name.to_owned());
    Some(result)
}

/// One mutant per meta-filter that some case applies: the cases applying it run without it.
fn drop_meta_filter(
    rule: &LoadedRule,
    rules: &RuleSet,
    baselines: &[Baseline],
) -> Vec<MutantResult> {
    let mut applied: Vec<&CompiledFilter> = Vec::new();
    for case in baselines {
        for filter in case.filtered.iter().flat_map(|(f, _)| f) {
            if !applied.iter().any(|a| std::ptr::eq(*a, *filter)) {
                applied.push(filter);
            }
        }
    }
    applied
        .into_iter()
        .map(|dropped| {
            let killer = baselines.iter().find(|case| {
                case.filtered.as_ref().is_some_and(|(filters, matched)| {
                    let rest: Vec<&CompiledFilter> = filters
                        .iter()
                        .copied()
                        .filter(|f| !std::ptr::eq(*f, dropped))
                        .collect();
                    rule.compiled.with_filters(&rest).matches(case.event) != *matched
                })
            });
            let loaded = rules
                .filters
                .iter()
                .find(|f| std::ptr::eq(&f.compiled, dropped));
            let (path, line, col) = match loaded {
                Some(f) => {
                    let span = f
                        .filter
                        .detection
                        .conditions
                        .first()
                        .map_or(f.filter.detection.span, |c| c.span);
                    let at = f.source.line_col(span.start);
                    (f.path.clone(), at.line, at.col)
                }
                None => (rule.path.clone(), 1, 1),
            };
            MutantResult {
                operator: Operator::DropMetaFilter,
                path,
                line,
                col,
                description: format!(
                    "meta-filter {}: its condition is not applied",
                    dropped.meta.reference()
                ),
                status: if killer.is_some() {
                    Status::Killed
                } else {
                    Status::Survived
                },
                killed_by: killer.map(|c| c.name.to_owned()),
                equivalent_because: None,
            }
        })
        .collect()
}

//! What a rule change needs before it merges: the `diff:` key of `ruleproof.yml`
//! ([`ChangePolicy`], read by `ruleproof-cases` with the rest of the file) applied to a
//! [`DiffReport`]. Each unmet requirement is one [`Unmet`], and `ruleproof diff` exits 1.

use std::cell::OnceCell;
use std::path::PathBuf;

use ruleproof_cases::coverage::coverage;
use ruleproof_cases::policy::{ChangePolicy, Level};
use ruleproof_cases::{Layout, RuleSet, Verdict};
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::{CompileOptions, DocumentCheck};

use crate::{Change, DiffReport};

/// A requirement a changed rule does not meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    /// The rule's path relative to the repository root.
    pub path: PathBuf,
    /// The line to annotate (see [`crate::RuleDiff::line`]).
    pub line: u32,
    /// The rule's title.
    pub title: String,
    /// What is missing, one sentence naming the policy key.
    pub message: String,
}

/// Applies `policy` to every rule of `report`, the working tree being at `layout`. Scenario
/// coverage is computed (the repository's rules loaded with `check` and processed by
/// `pipelines`, as the diff loaded them; the rule's cases run) only when a rule's level was
/// raised past `level_raised_to`.
pub fn check(
    report: &DiffReport,
    policy: &ChangePolicy,
    layout: &Layout,
    check: Option<&dyn DocumentCheck>,
    options: &CompileOptions,
    pipelines: &Pipelines,
) -> Vec<Unmet> {
    let rules: OnceCell<RuleSet> = OnceCell::new();
    let scenarios = |rule: &crate::RuleDiff| {
        let rules = rules
            .get_or_init(|| RuleSet::load_processed(&layout.rules_dir, options, check, pipelines));
        let cases = layout.select_test_cases(&[layout.root.join(&rule.path)]);
        let run = ruleproof_cases::run(layout, rules, &cases, None);
        coverage(layout, rules, &run)
            .rules
            .iter()
            .find(|r| r.rule.id == rule.id && r.rule.title == rule.title)
            .filter(|r| r.test_file.is_some())
            .map(|r| {
                let counts = r.scenario_counts();
                (counts.covered, counts.total)
            })
    };
    let mut out = Vec::new();
    for rule in &report.rules {
        let mut unmet = |message: String| {
            out.push(Unmet {
                path: rule.path.clone(),
                line: rule.line.max(1),
                title: rule.title.clone(),
                message,
            });
        };
        let broadened = matches!(rule.change, Change::Broadened | Change::Changed);
        let narrowed = matches!(rule.change, Change::Narrowed | Change::Changed);
        if policy.broadened_needs_new_negative && broadened && !rule.fixtures.adds(Verdict::NoMatch)
        {
            unmet(format!(
                "{} rule needs a new or changed case with `expect: no-match` \
                 (diff.broadened_needs_new_negative)",
                article(rule.change)
            ));
        }
        if policy.narrowed_needs_new_positive && narrowed && !rule.fixtures.adds(Verdict::Match) {
            unmet(format!(
                "{} rule needs a new or changed case with `expect: match` \
                 (diff.narrowed_needs_new_positive)",
                article(rule.change)
            ));
        }
        if policy.added_needs_cases
            && rule.change == Change::Added
            && rule.fixtures.added.is_empty()
        {
            unmet("a new rule needs test cases (diff.added_needs_cases)".to_owned());
        }
        if let (Some(threshold), Some(required)) = (
            policy.level_raised_to,
            policy.raised_level_scenario_coverage,
        ) {
            let old = Level::parse(rule.level.0.as_deref());
            let new = Level::parse(rule.level.1.as_deref());
            let raised = new.is_some_and(|n| n >= threshold && old.is_none_or(|o| o < n))
                && rule.change != Change::Added;
            if raised {
                let Some((covered, total)) = scenarios(rule) else {
                    unmet(format!(
                        "level raised to {} needs test cases covering its false-positive \
                         scenarios, and it has none (diff.raised_level_scenario_coverage)",
                        rule.level.1.as_deref().unwrap_or_default()
                    ));
                    continue;
                };
                let percent = (covered * 100).checked_div(total).unwrap_or(100);
                if percent < required.get() as usize {
                    unmet(format!(
                        "level raised to {} needs {}% of its false-positive scenarios covered, \
                         has {covered}/{total} (diff.raised_level_scenario_coverage)",
                        rule.level.1.as_deref().unwrap_or_default(),
                        required.get()
                    ));
                }
            }
        }
    }
    out
}

fn article(change: Change) -> &'static str {
    match change {
        Change::Broadened => "a broadened",
        Change::Narrowed => "a narrowed",
        _ => "a changed",
    }
}

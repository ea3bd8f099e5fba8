//! Coverage of rules by their test cases: false-positive scenarios, detection branches and case
//! counts, computed from the engine's explanations of a test run (see `docs/coverage.md`).

use std::path::{Path, PathBuf};

use ruleproof_sigma::explain::CondExplain;
use ruleproof_sigma::{CompiledRule, Explanation, SearchRole};
use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::format::{Scenario, Verdict};
use crate::ruleset::{LoadedRule, RuleSet};
use crate::run::{CaseResult, FileResult, Layout, Outcome, RuleSummary, RunReport};
use crate::sequence::SequenceResult;

/// `falsepositives:` entries that document no particular situation and so need no scenario,
/// compared case-insensitively after trimming punctuation and spaces. The one list: `cases new`
/// leaves these out of a skeleton's scenarios and coverage does not ask for them, so a fresh
/// skeleton never fails the policy over an entry it left out.
pub const GENERIC_FALSEPOSITIVES: [&str; 8] = [
    "unknown",
    "unlikely",
    "very unlikely",
    "none",
    "none known",
    "other",
    "n/a",
    "na",
];

/// Whether a `falsepositives:` entry is generic (`Unknown`, `Unlikely.`, `None known` …).
pub fn is_generic_falsepositive(entry: &str) -> bool {
    // Punctuation inside the entry matters (`n/a`), so only the ends are trimmed.
    let trimmed = entry
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_lowercase();
    GENERIC_FALSEPOSITIVES.contains(&trimmed.as_str())
}

/// How many of some kind of thing are covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counter {
    /// How many are covered (at most `total`).
    pub covered: usize,
    /// How many there are.
    pub total: usize,
}

impl Counter {
    /// Adds another count to this one, for sums over rules.
    pub fn add(&mut self, other: Counter) {
        self.covered += other.covered;
        self.total += other.total;
    }

    /// Whether everything is covered; nothing to cover counts as complete.
    pub fn is_complete(self) -> bool {
        self.covered == self.total
    }

    /// Whether at least `percent` per cent are covered; nothing to cover counts as complete.
    pub fn meets(self, percent: u32) -> bool {
        self.covered * 100 >= self.total * percent as usize
    }

    /// The covered share in per cent, 100 when there is nothing to cover.
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.total as f64
        }
    }

    /// The covered share in tenths of a per cent, rounded down so that an incomplete count never
    /// reads 100%; 1000 when there is nothing to cover.
    pub fn tenths(self) -> usize {
        (self.covered * 1000)
            .checked_div(self.total)
            .unwrap_or(1000)
    }

    /// The share as `90.9%` or `100%`, rounded down like [`Counter::tenths`].
    pub fn percent_text(self) -> String {
        let tenths = self.tenths();
        if tenths.is_multiple_of(10) {
            format!("{}%", tenths / 10)
        } else {
            format!("{}.{}%", tenths / 10, tenths % 10)
        }
    }
}

/// A rule's cases by kind. The kinds partition the cases: each case counts once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CaseCounts {
    /// Passing cases that expect a match and document no scenario.
    pub positives: usize,
    /// Passing cases that expect no match.
    pub negatives: usize,
    /// Passing cases that expect a match and document a false-positive scenario.
    pub known_false_positives: usize,
    /// Cases marked `xfail` that fail as the mark says.
    pub expected_failures: usize,
    /// Cases that fail (including stale `xfail` marks).
    pub failing: usize,
}

impl CaseCounts {
    /// Every case of the rule, once.
    pub fn total(&self) -> usize {
        self.positives
            + self.negatives
            + self.known_false_positives
            + self.expected_failures
            + self.failing
    }

    fn add(&mut self, other: &CaseCounts) {
        self.positives += other.positives;
        self.negatives += other.negatives;
        self.known_false_positives += other.known_false_positives;
        self.expected_failures += other.expected_failures;
        self.failing += other.failing;
    }

    fn count(&mut self, case: &CaseResult) {
        match case.outcome {
            Outcome::Pass => match (case.check.expect, &case.scenario) {
                (Verdict::Match, None) => self.positives += 1,
                (Verdict::Match, Some(_)) => self.known_false_positives += 1,
                (Verdict::NoMatch, _) => self.negatives += 1,
            },
            Outcome::ExpectedFailure => self.expected_failures += 1,
            Outcome::Fail | Outcome::UnexpectedPass => self.failing += 1,
        }
    }

    /// Counts a sequence case: `expect: fires` counts as a positive (a known false positive
    /// with a scenario), `no-fire` as a negative.
    fn count_sequence(&mut self, case: &SequenceResult) {
        match case.outcome {
            Outcome::Pass => match (case.expect.fires, &case.scenario) {
                (true, None) => self.positives += 1,
                (true, Some(_)) => self.known_false_positives += 1,
                (false, _) => self.negatives += 1,
            },
            Outcome::ExpectedFailure => self.expected_failures += 1,
            Outcome::Fail | Outcome::UnexpectedPass => self.failing += 1,
        }
    }
}

/// Whether a false-positive scenario is documented by passing cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioStatus {
    /// It has cases and every one passes.
    Covered,
    /// One of its cases fails, or is an expected failure: the scenario is not handled yet.
    Failing,
    /// No case documents it (or the rule's entry has no scenario at all).
    Uncovered,
}

impl ScenarioStatus {
    /// The spelling used in reports: `covered`, `failing` or `uncovered`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioStatus::Covered => "covered",
            ScenarioStatus::Failing => "failing",
            ScenarioStatus::Uncovered => "uncovered",
        }
    }
}

/// A case as a scenario lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioCase {
    /// The case's `name`.
    pub name: String,
    /// The verdict the case expects; for a sequence case, `match` for `expect: fires` and
    /// `no-match` for `no-fire`.
    pub expect: Verdict,
    /// How the case ended; anything but a pass keeps the scenario from being covered.
    pub outcome: Outcome,
}

/// A false-positive scenario: declared in the test-case file, or only named by the rule's
/// `falsepositives:` (then `id` is `None` and it is uncovered).
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioCoverage {
    /// The scenario's `id` in the test-case file; `None` when only the rule names it.
    pub id: Option<String>,
    /// The scenario's `title`; `None` when only the rule names it.
    pub title: Option<String>,
    /// The rule's `falsepositives:` entry this scenario documents.
    pub falsepositive: Option<String>,
    /// Whether passing cases document it.
    pub status: ScenarioStatus,
    /// The cases that name the scenario, in file order.
    pub cases: Vec<ScenarioCase>,
}

impl ScenarioCoverage {
    /// How reports name the scenario: its id, else the rule's entry.
    pub fn label(&self) -> String {
        match (&self.id, &self.falsepositive) {
            (Some(id), _) => id.clone(),
            (None, Some(entry)) => format!("falsepositives: {entry}"),
            (None, None) => String::from("(unnamed)"),
        }
    }

    /// Why the scenario is not covered, in a few words; `None` when it is.
    pub fn problem(&self) -> Option<String> {
        match (self.status, &self.id) {
            (ScenarioStatus::Covered, _) => None,
            (ScenarioStatus::Uncovered, None) => Some(format!(
                "the rule's falsepositives entry `{}` has no scenario in the test-case file",
                self.falsepositive.as_deref().unwrap_or_default()
            )),
            (ScenarioStatus::Uncovered, Some(id)) => {
                Some(format!("scenario `{id}` has no case that documents it"))
            }
            (ScenarioStatus::Failing, id) => {
                let failing: Vec<String> = self
                    .cases
                    .iter()
                    .filter(|c| c.outcome != Outcome::Pass)
                    .map(|c| format!("`{}`", c.name))
                    .collect();
                Some(format!(
                    "scenario `{}` fails (case {})",
                    id.as_deref().unwrap_or_default(),
                    failing.join(", ")
                ))
            }
        }
    }
}

/// One value of a detection item (one entry of an OR list).
#[derive(Clone, Debug, Serialize)]
pub struct ValueCoverage {
    /// The value as written in the rule, for reports.
    pub display: String,
    /// The passing cases that matched (or were rejected) because of this value.
    pub covered_by: Vec<String>,
}

/// One detection item (`Field|modifier: values`).
#[derive(Clone, Debug, Serialize)]
pub struct ItemCoverage {
    /// The 1-based alternative (map of a list of maps) the item belongs to.
    pub alternative: usize,
    /// The item's key as written, with modifiers (`Image|endswith`; `keywords` for keyword
    /// searches).
    pub key: String,
    /// The passing cases in which the item was part of a true alternative that decided the verdict.
    pub covered_by: Vec<String>,
    /// The item's values (the entries of its OR list), in order.
    pub values: Vec<ValueCoverage>,
}

/// One search identifier of a rule.
#[derive(Clone, Debug, Serialize)]
pub struct SearchCoverage {
    /// The search identifier, as written under `detection:`.
    pub name: String,
    /// Whether the condition uses it as a selection or (negated) as a filter.
    pub role: SearchRole,
    /// How many alternatives (maps) the search ORs; 1 for a plain map.
    pub alternatives: usize,
    /// The passing cases whose verdict the search decided: as a selection for a match, as a negated
    /// filter for a no-match.
    pub covered_by: Vec<String>,
    /// The items of every alternative, in order (each records its alternative).
    pub items: Vec<ItemCoverage>,
}

/// A meta-filter that applies to the rule (or that one of its cases applies).
#[derive(Clone, Debug, Serialize)]
pub struct MetaFilterCoverage {
    /// The filter's id, else name, else title: how cases name it in `with_filters`.
    pub reference: String,
    /// The filter's `title`.
    pub title: String,
    /// Passing `with_filters` checks that expected no match and were rejected by this filter.
    pub covered_by: Vec<String>,
}

/// Something not covered, as reports and policy messages name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// What kind of thing is not covered.
    pub kind: GapKind,
    /// The uncovered thing, named for people (`` `selection` › `Image|endswith` ``, a scenario's label …).
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
/// The kinds of [`Gap`], in the order reports list them.
pub enum GapKind {
    /// A false-positive scenario not covered by passing cases.
    Scenario,
    /// A search identifier no passing case exercises.
    Search,
    /// A detection item no passing case exercises.
    Item,
    /// A value of an OR list no passing case exercises.
    Value,
    /// A meta-filter no passing `with_filters` check shows rejecting an event.
    MetaFilter,
}

/// Everything measured about one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCoverage {
    /// The rule, with its path relative to the repository root.
    pub rule: RuleSummary,
    /// The test-case file (relative to the repository root), `None` when the rule has none.
    pub test_file: Option<PathBuf>,
    /// Where the test-case file belongs when there is none.
    pub expected_test_file: Option<PathBuf>,
    /// Problems of the test-case file (`path:line:col: message`); its broken cases did not run.
    pub errors: Vec<String>,
    /// The rule's cases by kind.
    pub cases: CaseCounts,
    /// `falsepositives:` entries that need no scenario (`Unknown`, …).
    pub generic_falsepositives: Vec<String>,
    /// The rule's false-positive scenarios: those the test-case file declares, then entries of the
    /// rule's `falsepositives:` that no scenario documents.
    pub scenarios: Vec<ScenarioCoverage>,
    /// The rule's own search identifiers (not those of meta-filters), in the order written.
    pub searches: Vec<SearchCoverage>,
    /// The meta-filters that apply to the rule or that its cases apply.
    pub meta_filters: Vec<MetaFilterCoverage>,
}

/// Scenario counts by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioCounts {
    /// Scenarios whose cases all pass.
    pub covered: usize,
    /// Scenarios with a failing or expected-failure case.
    pub failing: usize,
    /// Scenarios no case documents.
    pub uncovered: usize,
    /// All scenarios.
    pub total: usize,
}

impl ScenarioCounts {
    /// Covered against total, for percentages and policy checks.
    pub fn counter(self) -> Counter {
        Counter {
            covered: self.covered,
            total: self.total,
        }
    }

    fn add(&mut self, other: ScenarioCounts) {
        self.covered += other.covered;
        self.failing += other.failing;
        self.uncovered += other.uncovered;
        self.total += other.total;
    }
}

/// Detection counters: search identifiers, items, values and meta-filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DetectionCounts {
    /// Search identifiers exercised by passing cases.
    pub searches: Counter,
    /// Detection items exercised by passing cases.
    pub items: Counter,
    /// Values of OR lists exercised by passing cases.
    pub values: Counter,
    /// Meta-filters shown rejecting an event by passing `with_filters` checks.
    pub meta_filters: Counter,
}

impl DetectionCounts {
    fn add(&mut self, other: DetectionCounts) {
        self.searches.add(other.searches);
        self.items.add(other.items);
        self.values.add(other.values);
        self.meta_filters.add(other.meta_filters);
    }
}

fn tally<'a>(covered_by: impl Iterator<Item = &'a Vec<String>>) -> Counter {
    let mut counter = Counter::default();
    for cases in covered_by {
        counter.total += 1;
        if !cases.is_empty() {
            counter.covered += 1;
        }
    }
    counter
}

/// Scenarios counted by status.
fn scenario_counts(scenarios: &[ScenarioCoverage]) -> ScenarioCounts {
    let mut counts = ScenarioCounts::default();
    for scenario in scenarios {
        counts.total += 1;
        match scenario.status {
            ScenarioStatus::Covered => counts.covered += 1,
            ScenarioStatus::Failing => counts.failing += 1,
            ScenarioStatus::Uncovered => counts.uncovered += 1,
        }
    }
    counts
}

impl RuleCoverage {
    /// The rule's scenarios counted by status.
    pub fn scenario_counts(&self) -> ScenarioCounts {
        scenario_counts(&self.scenarios)
    }

    /// The rule's searches, items, values and meta-filters, covered against total.
    pub fn detection(&self) -> DetectionCounts {
        let items = || self.searches.iter().flat_map(|s| &s.items);
        DetectionCounts {
            searches: tally(self.searches.iter().map(|s| &s.covered_by)),
            items: tally(items().map(|i| &i.covered_by)),
            values: tally(items().flat_map(|i| &i.values).map(|v| &v.covered_by)),
            meta_filters: tally(self.meta_filters.iter().map(|f| &f.covered_by)),
        }
    }

    /// Everything not covered, scenarios first, then detection in the order written.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut gaps: Vec<Gap> = self
            .scenarios
            .iter()
            .filter_map(|s| s.problem())
            .map(|description| Gap {
                kind: GapKind::Scenario,
                description,
            })
            .collect();
        for search in &self.searches {
            if search.covered_by.is_empty() {
                gaps.push(Gap {
                    kind: GapKind::Search,
                    description: format!("{} `{}`", search.role.as_str(), search.name),
                });
            }
            for item in &search.items {
                let item_name = item_label(search, item);
                if item.covered_by.is_empty() {
                    gaps.push(Gap {
                        kind: GapKind::Item,
                        description: format!("item {item_name}"),
                    });
                }
                for value in item.values.iter().filter(|v| v.covered_by.is_empty()) {
                    gaps.push(Gap {
                        kind: GapKind::Value,
                        description: format!("value `{}` of {item_name}", value.display),
                    });
                }
            }
        }
        for filter in self.meta_filters.iter().filter(|f| f.covered_by.is_empty()) {
            gaps.push(Gap {
                kind: GapKind::MetaFilter,
                description: format!("meta-filter `{}` ({})", filter.reference, filter.title),
            });
        }
        gaps
    }

    /// Whether nothing is uncovered or failing and the test-case file loaded cleanly.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty() && self.cases.failing == 0 && self.gaps().is_empty()
    }
}

/// How reports name an item: `` `selection` › `Field|mod` ``, with the alternative when there are several.
pub(crate) fn item_label(search: &SearchCoverage, item: &ItemCoverage) -> String {
    if search.alternatives > 1 {
        format!(
            "`{}` › alternative {} › `{}`",
            search.name, item.alternative, item.key
        )
    } else {
        format!("`{}` › `{}`", search.name, item.key)
    }
}

/// Sums over the repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoverageTotals {
    /// Detection rules measured.
    pub rules: usize,
    /// Detection rules with no test-case file.
    pub rules_without_test_file: usize,
    /// Rules with nothing uncovered or failing.
    pub complete_rules: usize,
    /// Cases by kind, over every rule.
    pub cases: CaseCounts,
    /// Scenarios by status, over every rule.
    pub scenarios: ScenarioCounts,
    /// Detection counters, over every rule.
    pub detection: DetectionCounts,
}

/// What the sequence cases of a correlation rule exercise: the threshold met exactly and
/// missed by one, and which base rules contributed to an alert.
#[derive(Clone, Debug, Serialize)]
pub struct CorrelationCoverage {
    /// The correlation rule, with its path relative to the repository root.
    pub correlation: RuleSummary,
    /// The test-case file (relative to the repository root), `None` when there is none.
    pub test_file: Option<PathBuf>,
    /// How many sequence cases the file has.
    pub sequences: usize,
    /// How many of them fail (stale `xfail` marks included).
    pub failing: usize,
    /// The sequence cases by kind: `expect: fires` cases are positives (known false positives
    /// when they name a scenario), `no-fire` cases negatives.
    pub cases: CaseCounts,
    /// The correlation's false-positive scenarios, as for a detection rule.
    pub scenarios: Vec<ScenarioCoverage>,
    /// The smallest value that meets a `gt`/`gte` condition; `None` for other conditions, where
    /// "met exactly" and "missed by one" do not apply.
    pub threshold: Option<f64>,
    /// Passing cases with an alert whose value is exactly the threshold.
    pub met_exactly: Vec<String>,
    /// Passing cases without an alert whose largest value was one below the threshold.
    pub missed_by_one: Vec<String>,
    /// Each detection rule the correlation builds on, with the passing cases where an event it
    /// matched is among an alert's contributing events.
    pub base_rules: Vec<(String, Vec<String>)>,
}

impl CorrelationCoverage {
    /// What is not exercised, one sentence each: no test-case file, scenarios not covered, then
    /// the [condition gaps](CorrelationCoverage::condition_gaps).
    pub fn gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        if self.test_file.is_none() {
            gaps.push("no test-case file".to_owned());
        }
        gaps.extend(self.scenarios.iter().filter_map(ScenarioCoverage::problem));
        gaps.extend(self.condition_gaps());
        gaps
    }

    /// The correlation's scenarios counted by status.
    pub fn scenario_counts(&self) -> ScenarioCounts {
        scenario_counts(&self.scenarios)
    }

    /// The correlation's conditions exercised by passing cases: the threshold met exactly and
    /// missed by one (for `gt`/`gte` conditions), and each base rule contributing to an alert.
    pub fn conditions(&self) -> Counter {
        let mut counter = Counter::default();
        if self.threshold.is_some() {
            counter.total += 2;
            counter.covered += usize::from(!self.met_exactly.is_empty())
                + usize::from(!self.missed_by_one.is_empty());
        }
        counter.add(tally(self.base_rules.iter().map(|(_, cases)| cases)));
        counter
    }

    /// The conditions no passing case exercises, one sentence each.
    pub fn condition_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        if let Some(threshold) = self.threshold {
            let t = ruleproof_sigma::correlation::number_text(threshold);
            if self.met_exactly.is_empty() {
                gaps.push(format!("no passing case meets the threshold ({t}) exactly"));
            }
            if self.missed_by_one.is_empty() {
                gaps.push(format!("no passing case misses the threshold ({t}) by one"));
            }
        }
        for (rule, cases) in &self.base_rules {
            if cases.is_empty() {
                gaps.push(format!("base rule `{rule}` contributes to no alert"));
            }
        }
        gaps
    }
}

/// The coverage of every rule of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CoverageReport {
    /// Sorted by rule path, then title.
    pub rules: Vec<RuleCoverage>,
    /// Correlation rules, sorted by path, then title.
    pub correlations: Vec<CorrelationCoverage>,
    /// Rules and filters that failed to load, unreadable files, and test-case files whose rule
    /// was not found.
    pub errors: Vec<String>,
}

impl CoverageReport {
    /// Sums over every detection rule of the report (correlations are not counted).
    pub fn totals(&self) -> CoverageTotals {
        let mut totals = CoverageTotals::default();
        for rule in &self.rules {
            totals.rules += 1;
            if rule.test_file.is_none() {
                totals.rules_without_test_file += 1;
            }
            if rule.is_complete() {
                totals.complete_rules += 1;
            }
            totals.cases.add(&rule.cases);
            totals.scenarios.add(rule.scenario_counts());
            totals.detection.add(rule.detection());
        }
        totals
    }
}

/// `path` without the leading `root`, comparing components so that `./rules/a.yml` and
/// `rules/a.yml` agree; `None` when `path` is not under `root`.
fn strip_root(path: &Path, root: &Path) -> Option<PathBuf> {
    fn significant(p: &Path) -> Vec<std::path::Component<'_>> {
        p.components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect()
    }
    let path = significant(path);
    let root = significant(root);
    path.starts_with(&root)
        .then(|| path[root.len()..].iter().collect())
}

/// A path relative to the repository root, so reports read the same wherever they are made.
fn relative(layout: &Layout, path: &Path) -> PathBuf {
    strip_root(path, &layout.root).unwrap_or_else(|| path.to_owned())
}

fn render_diagnostic(layout: &Layout, diagnostic: &Diagnostic) -> String {
    format!(
        "{}:{}: {}",
        relative(layout, diagnostic.file.path()).display(),
        diagnostic.line_col(),
        diagnostic.message
    )
}

/// Computes coverage from a test run over the rule set it ran against.
pub fn coverage(layout: &Layout, rules: &RuleSet, report: &RunReport) -> CoverageReport {
    let mut out = CoverageReport {
        errors: rules
            .diagnostics
            .iter()
            .map(|d| render_diagnostic(layout, d))
            .chain(rules.unreadable.iter().cloned())
            .collect(),
        ..CoverageReport::default()
    };
    let mut tested: Vec<(PathBuf, String)> = Vec::new();
    for file in &report.files {
        let Some(summary) = &file.rule else {
            out.errors
                .extend(file.errors.iter().map(|d| render_diagnostic(layout, d)));
            continue;
        };
        let Some(rule) = file
            .processed
            .as_ref()
            .or_else(|| find_loaded(rules, summary))
        else {
            continue;
        };
        tested.push((rule.path.clone(), rule.rule.meta.reference().to_owned()));
        out.rules
            .push(rule_coverage(layout, rules, rule, Some(file)));
    }
    for rule in &rules.rules {
        let key = (rule.path.clone(), rule.rule.meta.reference().to_owned());
        if !tested.contains(&key) {
            out.rules.push(rule_coverage(layout, rules, rule, None));
        }
    }
    out.correlations = correlation_coverage(layout, rules, report);
    out.rules.sort_by(|a, b| {
        (&a.rule.path, &a.rule.title, &a.test_file).cmp(&(
            &b.rule.path,
            &b.rule.title,
            &b.test_file,
        ))
    });
    out
}

/// The loaded rule a run's summary describes (a file may hold several rules).
fn find_loaded<'a>(rules: &'a RuleSet, summary: &RuleSummary) -> Option<&'a LoadedRule> {
    rules.rules.iter().find(|r| {
        r.path == summary.path && r.rule.meta.id == summary.id && r.rule.meta.title == summary.title
    })
}

fn rule_coverage(
    layout: &Layout,
    rules: &RuleSet,
    rule: &LoadedRule,
    file: Option<&FileResult>,
) -> RuleCoverage {
    let meta = &rule.rule.meta;
    let summary = RuleSummary::from_meta(meta, &relative(layout, &rule.path));
    let cases: &[CaseResult] = file.map_or(&[], |f| f.cases.as_slice());
    let mut counts = CaseCounts::default();
    for case in cases {
        counts.count(case);
    }
    let (generic, specific): (Vec<String>, Vec<String>) = summary
        .falsepositives
        .iter()
        .cloned()
        .partition(|entry| is_generic_falsepositive(entry));
    let declared: &[Scenario] = file.map_or(&[], |f| f.scenarios.as_slice());
    let listed: Vec<(Option<&str>, ScenarioCase)> = cases
        .iter()
        .map(|c| {
            (
                c.scenario.as_deref(),
                ScenarioCase {
                    name: c.name.clone(),
                    expect: c.check.expect,
                    outcome: c.outcome,
                },
            )
        })
        .collect();
    RuleCoverage {
        test_file: file.map(|f| relative(layout, &f.path)),
        expected_test_file: match file {
            Some(_) => None,
            None => strip_root(&rule.path, &layout.rules_dir)
                .map(|p| relative(layout, &layout.cases_dir.join(p))),
        },
        errors: file.map_or_else(Vec::new, |f| {
            f.errors
                .iter()
                .map(|d| render_diagnostic(layout, d))
                .collect()
        }),
        cases: counts,
        generic_falsepositives: generic,
        scenarios: scenarios(declared, &specific, &listed),
        searches: searches(&rule.compiled, cases),
        meta_filters: meta_filters(rules, rule, cases),
        rule: summary,
    }
}

/// The declared scenarios with the cases (each with the scenario it names) that document them,
/// then the rule's `falsepositives:` entries no scenario quotes.
fn scenarios(
    declared: &[Scenario],
    entries: &[String],
    cases: &[(Option<&str>, ScenarioCase)],
) -> Vec<ScenarioCoverage> {
    let mut out: Vec<ScenarioCoverage> = declared
        .iter()
        .map(|scenario| {
            let listed: Vec<ScenarioCase> = cases
                .iter()
                .filter(|(named, _)| *named == Some(scenario.id.text.as_str()))
                .map(|(_, case)| case.clone())
                .collect();
            let status = if listed.is_empty() {
                ScenarioStatus::Uncovered
            } else if listed.iter().all(|c| c.outcome == Outcome::Pass) {
                ScenarioStatus::Covered
            } else {
                ScenarioStatus::Failing
            };
            ScenarioCoverage {
                id: Some(scenario.id.text.clone()),
                title: Some(scenario.title.clone()),
                falsepositive: scenario.falsepositive.as_ref().map(|f| f.text.clone()),
                status,
                cases: listed,
            }
        })
        .collect();
    // An entry of the rule that no scenario quotes is a situation nobody has shown the rule's
    // behaviour in, so it is reported as an uncovered scenario of its own.
    for entry in entries {
        if !declared
            .iter()
            .any(|s| s.falsepositive.as_ref().is_some_and(|f| &f.text == entry))
        {
            out.push(ScenarioCoverage {
                id: None,
                title: None,
                falsepositive: Some(entry.clone()),
                status: ScenarioStatus::Uncovered,
                cases: Vec::new(),
            });
        }
    }
    out
}

/// The rule's own searches with every item and value, marked by the passing cases that decided
/// their verdict because of them.
fn searches(compiled: &CompiledRule, cases: &[CaseResult]) -> Vec<SearchCoverage> {
    // The outline has the structure (searches, items, values, in order) of every explanation of
    // the rule, and each search's role as the compiler decided it.
    let mut out: Vec<SearchCoverage> = compiled
        .outline()
        .into_iter()
        .filter(|search| search.origin.is_none())
        .map(|search| SearchCoverage {
            name: search.name,
            role: search.role,
            alternatives: search.maps.len(),
            covered_by: Vec::new(),
            items: search
                .maps
                .into_iter()
                .enumerate()
                .flat_map(|(m, map)| {
                    map.into_iter().map(move |item| ItemCoverage {
                        alternative: m + 1,
                        key: item.key,
                        covered_by: Vec::new(),
                        values: item
                            .values
                            .into_iter()
                            .map(|display| ValueCoverage {
                                display,
                                covered_by: Vec::new(),
                            })
                            .collect(),
                    })
                })
                .collect(),
        })
        .collect();
    for case in cases.iter().filter(|c| c.outcome == Outcome::Pass) {
        mark(&mut out, &case.check.explanation, case);
    }
    out
}

/// Marks what decided one passing case's verdict: for a match, the selections that made it;
/// for a no-match, the filters whose negation rejected the event.
fn mark(out: &mut [SearchCoverage], explanation: &Explanation, case: &CaseResult) {
    let wanted_negation = case.check.expect == Verdict::NoMatch;
    for decisive in explanation.decisive() {
        if decisive.negated != wanted_negation {
            continue;
        }
        let (Some(search), Some(explained)) = (
            out.get_mut(decisive.search),
            explanation.searches.get(decisive.search),
        ) else {
            continue;
        };
        if explained.origin.is_some() {
            continue;
        }
        add_case(&mut search.covered_by, &case.name);
        let mut offset = 0;
        for map in &explained.maps {
            let items = search.items.get_mut(offset..offset + map.items.len());
            offset += map.items.len();
            // Only a true alternative made the search true; the items of a false one did not.
            let (true, Some(items)) = (map.result, items) else {
                continue;
            };
            for (item, explained_item) in items.iter_mut().zip(&map.items) {
                add_case(&mut item.covered_by, &case.name);
                for (value, explained_value) in item.values.iter_mut().zip(&explained_item.values) {
                    // A negated item is true because none of its values matched, so each value
                    // played its part; otherwise only the values that matched did.
                    if explained_item.negated || explained_value.matched {
                        add_case(&mut value.covered_by, &case.name);
                    }
                }
            }
        }
    }
}

fn add_case(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

/// The meta-filters that apply to the rule, and any its cases apply by name, with the passing
/// filtered checks each one rejected.
fn meta_filters(
    rules: &RuleSet,
    rule: &LoadedRule,
    cases: &[CaseResult],
) -> Vec<MetaFilterCoverage> {
    let mut out: Vec<MetaFilterCoverage> = rules
        .filters
        .iter()
        .filter(|f| f.compiled.applies_to(&rule.compiled))
        .map(|f| MetaFilterCoverage {
            reference: f.compiled.meta.reference().to_owned(),
            title: f.compiled.meta.title.clone(),
            covered_by: Vec::new(),
        })
        .collect();
    for case in cases {
        let Some((_, check)) = &case.with_filters else {
            continue;
        };
        for reference in &check.explanation.filters {
            if !out.iter().any(|f| &f.reference == reference) {
                let title = rules
                    .filters
                    .iter()
                    .find(|f| f.compiled.meta.reference() == reference)
                    .map_or_else(String::new, |f| f.compiled.meta.title.clone());
                out.push(MetaFilterCoverage {
                    reference: reference.clone(),
                    title,
                    covered_by: Vec::new(),
                });
            }
        }
        if case.outcome != Outcome::Pass || check.expect != Verdict::NoMatch {
            continue;
        }
        for reference in rejected_by(&check.explanation) {
            if let Some(filter) = out.iter_mut().find(|f| f.reference == reference) {
                add_case(&mut filter.covered_by, &case.name);
            }
        }
    }
    out
}

/// The meta-filters that rejected an event: `with_filters` makes the condition
/// `(rule) and (filter 1) and …`, and a filter rejected the event when the rule's own part was
/// true and the filter's part was false.
fn rejected_by(explanation: &Explanation) -> Vec<String> {
    let CondExplain::And { children, .. } = &explanation.condition else {
        return Vec::new();
    };
    let Some((rule_part, filter_parts)) = children.split_first() else {
        return Vec::new();
    };
    if !rule_part.result() || filter_parts.len() != explanation.filters.len() {
        return Vec::new();
    }
    filter_parts
        .iter()
        .zip(&explanation.filters)
        .filter(|(part, _)| !part.result())
        .map(|(_, reference)| reference.clone())
        .collect()
}

/// Coverage of every correlation rule, from the sequence cases of its test-case file.
fn correlation_coverage(
    layout: &Layout,
    rules: &RuleSet,
    report: &RunReport,
) -> Vec<CorrelationCoverage> {
    let Ok(set) = rules.correlation_set() else {
        // The runner reports why the correlations do not compile.
        return Vec::new();
    };
    let mut out = Vec::new();
    for (index, loaded) in rules.correlations.iter().enumerate() {
        let meta = &loaded.correlation.meta;
        let file = report.files.iter().find(|f| {
            f.rule
                .as_ref()
                .is_some_and(|r| r.path == loaded.path && r.id == meta.id && r.title == meta.title)
        });
        let mut summary = RuleSummary::from_meta(meta, &loaded.path);
        summary.path = relative(layout, &loaded.path);
        let threshold = loaded.correlation.condition.threshold();
        let base: Vec<String> = crate::sequence::base_rules(&set, index)
            .into_iter()
            .map(|r| rules.rules[r].compiled.meta.reference().to_owned())
            .collect();
        let sequences: &[SequenceResult] = file.map_or(&[], |f| &f.sequences);
        let listed: Vec<(Option<&str>, ScenarioCase)> = sequences
            .iter()
            .map(|c| {
                let expect = if c.expect.fires {
                    Verdict::Match
                } else {
                    Verdict::NoMatch
                };
                let case = ScenarioCase {
                    name: c.name.clone(),
                    expect,
                    outcome: c.outcome,
                };
                (c.scenario.as_deref(), case)
            })
            .collect();
        let (_, specific): (Vec<String>, Vec<String>) = meta
            .falsepositives
            .iter()
            .map(|(f, _)| f.clone())
            .partition(|entry| is_generic_falsepositive(entry));
        let declared: &[Scenario] = file.map_or(&[], |f| f.scenarios.as_slice());
        let mut coverage = CorrelationCoverage {
            correlation: summary,
            test_file: file.map(|f| relative(layout, &f.path)),
            sequences: 0,
            failing: 0,
            cases: CaseCounts::default(),
            scenarios: scenarios(declared, &specific, &listed),
            threshold,
            met_exactly: Vec::new(),
            missed_by_one: Vec::new(),
            base_rules: base.iter().map(|b| (b.clone(), Vec::new())).collect(),
        };
        for sequence in sequences {
            coverage.sequences += 1;
            coverage.cases.count_sequence(sequence);
            if sequence.outcome.is_failure() {
                coverage.failing += 1;
            }
            if sequence.outcome != Outcome::Pass {
                continue;
            }
            if let Some(t) = threshold {
                if sequence.alerts.iter().any(|a| a.value == t) {
                    coverage.met_exactly.push(sequence.name.clone());
                }
                if sequence.alerts.is_empty() && sequence.peak == t - 1.0 {
                    coverage.missed_by_one.push(sequence.name.clone());
                }
            }
            for (rule, cases) in &mut coverage.base_rules {
                let contributed = sequence.alerts.iter().any(|alert| {
                    alert.events.iter().any(|e| {
                        sequence
                            .matched
                            .get(*e as usize)
                            .is_some_and(|m| m.contains(rule))
                    })
                });
                if contributed {
                    cases.push(sequence.name.clone());
                }
            }
        }
        out.push(coverage);
    }
    out.sort_by(|a, b| {
        (&a.correlation.path, &a.correlation.title)
            .cmp(&(&b.correlation.path, &b.correlation.title))
    });
    out
}

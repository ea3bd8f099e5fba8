//! Classifying each changed rule, meta-filter and correlation by meaning.
//!
//! A rule's two versions are compared in three steps: the log sources (a log source that covers
//! the other's applies to more events); the [`Canonical`] forms of the detections (equal forms
//! are an exact proof that the detections match the same events); otherwise both compiled
//! versions evaluate every candidate event (the generated positives, near misses and
//! perturbations of both versions, each version's positives with the events of its negated
//! condition laid over them, the events of both versions' fixtures, and the corpus events) and each event on which they disagree is a witness. Witnesses only the new version
//! matches show a broadening, those only the old one matches a narrowing; no witness leaves the
//! rule `equivalent` (or `metadata`) with `proof: witnesses`, not `exact`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use ruleproof_cases::Layout;
use ruleproof_cases::format::{Case, Verdict, parse_test_case_file};
use ruleproof_generate::{candidates, generate};
use ruleproof_sigma::condition::CondExpr;
use ruleproof_sigma::correlation::ConditionOp;
use ruleproof_sigma::source::read_source;
use ruleproof_sigma::yaml::Node;
use ruleproof_sigma::{
    Collection, CompileOptions, CompiledFilter, CompiledRule, DocumentBody, Limits, Loaded,
    LoweredRule, Rule, SourceFile,
};
use serde_json::Value;

use crate::CorpusEvent;
use crate::canonical::Canonical;

/// How many witnesses of each direction a rule keeps for its report.
pub const MAX_WITNESSES: usize = 3;

/// What a change does to a rule (or filter, or correlation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Matches the same events; the text changed (reordered, reformatted, renamed identifiers).
    Equivalent,
    /// Matches every event it matched, and more.
    Broadened,
    /// Matches only events it matched, and fewer.
    Narrowed,
    /// Matches some new events and misses some old ones.
    Changed,
    /// Same detection; only metadata (title, tags, level, …) changed.
    Metadata,
    /// New in the working tree.
    Added,
    /// Gone from the working tree.
    Removed,
    /// The document did not change; only its test cases (or, for a correlation, a rule it
    /// correlates) did.
    Unchanged,
}

impl Change {
    /// The name in output: `equivalent`, `broadened`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Equivalent => "equivalent",
            Change::Broadened => "broadened",
            Change::Narrowed => "narrowed",
            Change::Changed => "changed",
            Change::Metadata => "metadata",
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Unchanged => "unchanged",
        }
    }

    /// Whether detection changed: what fires is not what fired.
    pub fn is_semantic(self) -> bool {
        matches!(
            self,
            Change::Broadened
                | Change::Narrowed
                | Change::Changed
                | Change::Added
                | Change::Removed
        )
    }

    /// From which directions evidence was found; `same` when none was: equivalent or metadata.
    fn from_directions(broader: bool, narrower: bool, same: Change) -> Change {
        match (broader, narrower) {
            (true, true) => Change::Changed,
            (true, false) => Change::Broadened,
            (false, true) => Change::Narrowed,
            (false, false) => same,
        }
    }
}

/// What the classification rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A proof: equal canonical forms, a log source that covers the other, an added or removed
    /// rule, a correlation threshold moved one way.
    Exact,
    /// The witnesses found (or their absence) among the candidate events; a broadening shown by
    /// a witness is certain, the absence of a narrowing is not.
    Witnesses,
}

impl Proof {
    /// The name in output: `exact` or `witnesses`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Exact => "exact",
            Proof::Witnesses => "witnesses",
        }
    }
}

/// An event on which the two versions disagree.
#[derive(Clone, Debug, PartialEq)]
pub struct Witness {
    /// The event.
    pub event: Value,
    /// The base version's verdict.
    pub old: bool,
    /// The working tree's verdict.
    pub new: bool,
    /// `generated`, `fixture`, or the corpus `file:line`.
    pub source: String,
}

/// How a rule's test cases changed, by case name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FixtureChanges {
    /// Cases only the working tree has, with the verdict each expects.
    pub added: Vec<(String, Verdict)>,
    /// Cases only the base has.
    pub removed: Vec<String>,
    /// Cases in both whose event, expectation or reason changed, with the verdict now expected.
    pub changed: Vec<(String, Verdict)>,
}

impl FixtureChanges {
    /// Whether a new or changed case expects `verdict`.
    pub fn adds(&self, verdict: Verdict) -> bool {
        self.added
            .iter()
            .chain(&self.changed)
            .any(|(_, v)| *v == verdict)
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One changed rule.
#[derive(Clone, Debug)]
pub struct RuleDiff {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// Its title (the working tree's, or the base's when removed).
    pub title: String,
    /// Its path relative to the repository root (the base's when removed).
    pub path: PathBuf,
    /// Its path at the base when it moved.
    pub renamed_from: Option<PathBuf>,
    /// What the change does.
    pub change: Change,
    /// What that rests on.
    pub proof: Proof,
    /// Up to [`MAX_WITNESSES`] events of each direction on which the versions disagree.
    pub witnesses: Vec<Witness>,
    /// How many distinct candidate events only the new version matches.
    pub broadening_events: usize,
    /// How many only the old version matches.
    pub narrowing_events: usize,
    /// How many distinct candidate events both versions evaluated.
    pub candidates: usize,
    /// The log sources, when they differ: (base, working tree), as `category/product/service`.
    pub logsource: Option<(String, String)>,
    /// Top-level metadata keys whose value changed, sorted.
    pub metadata: Vec<String>,
    /// `level:` at the base and in the working tree.
    pub level: (Option<String>, Option<String>),
    /// How its test cases changed.
    pub fixtures: FixtureChanges,
    /// The line of the working tree's file to annotate: the `detection:` key for a change of
    /// meaning, the first changed metadata key for metadata, 1 otherwise; 0 when removed.
    pub line: u32,
}

/// The effect of a changed meta-filter on one rule it applies to (at the base or now).
#[derive(Clone, Debug)]
pub struct RuleEffect {
    /// The rule's `id`, if any.
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its path relative to the repository root.
    pub path: PathBuf,
    /// What the filter's change does to the rule's verdicts (the rule with its other filters).
    pub change: Change,
    /// Events on which the rule's verdict changes.
    pub witnesses: Vec<Witness>,
}

/// One changed meta-filter.
#[derive(Clone, Debug)]
pub struct FilterDiff {
    /// The filter's `id`, if any.
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its path relative to the repository root.
    pub path: PathBuf,
    /// `added`, `removed`, `changed` (some rule's verdicts change), `metadata` or
    /// `equivalent` (none found).
    pub change: Change,
    /// The rules whose verdicts it changes, by witness.
    pub rules: Vec<RuleEffect>,
    /// Every rule of the working tree it applies to, at the base or now (witness or not), by
    /// path relative to the repository root: what a changed-only run must run.
    pub applies_to: Vec<PathBuf>,
    /// The line of the filter's file to annotate.
    pub line: u32,
}

/// One correlation that changed, or that correlates a rule whose meaning changed.
#[derive(Clone, Debug)]
pub struct CorrelationDiff {
    /// The correlation's `id`, if any.
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its path relative to the repository root.
    pub path: PathBuf,
    /// Of its own document: a threshold or timespan moved one way is `broadened` or
    /// `narrowed` (exact), any other change of `correlation:` is `changed`; `unchanged` when
    /// only rules it correlates changed.
    pub change: Change,
    /// The correlated rules whose meaning changed (their reference as the correlation writes it).
    pub rules_changed: Vec<String>,
    /// The line of the correlation's file to annotate.
    pub line: u32,
}

/// Both trees and what changed between them.
pub(crate) struct Trees<'a> {
    pub base: &'a Collection,
    pub new: &'a Collection,
    pub base_layout: &'a Layout,
    pub layout: &'a Layout,
    pub old_changed: &'a BTreeSet<PathBuf>,
    pub new_changed: &'a BTreeSet<PathBuf>,
    pub renamed: &'a HashMap<PathBuf, PathBuf>,
    pub events: &'a [CorpusEvent],
    pub options: &'a CompileOptions,
}

/// A document's identity across the two trees: its id, else its (base path renamed to the
/// working tree's) path and position among the file's documents of its kind.
fn key<T>(loaded: &Loaded<T>, relative: &Path, index: usize) -> String {
    match &loaded.document.meta().id {
        Some(id) => format!("id:{id}"),
        None => format!("path:{}#{index}", relative.display()),
    }
}

/// Documents with their relative path and key, keys renamed to the working tree's paths.
fn keyed<'c, T>(
    loaded: &'c [Loaded<T>],
    root: &Path,
    renamed: Option<&HashMap<PathBuf, PathBuf>>,
) -> Vec<(String, PathBuf, &'c Loaded<T>)> {
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    loaded
        .iter()
        .map(|l| {
            let relative = relative_to(&l.path, root);
            let named = renamed
                .and_then(|r| r.get(&relative).cloned())
                .unwrap_or_else(|| relative.clone());
            let n = index.entry(relative.clone()).or_default();
            let k = key(l, &named, *n);
            *n += 1;
            (k, relative, l)
        })
        .collect()
}

/// The document with this key on one side, with its relative path.
fn find<'c, T>(
    side: &[(String, PathBuf, &'c Loaded<T>)],
    k: &str,
) -> Option<(PathBuf, &'c Loaded<T>)> {
    side.iter()
        .find(|(key, ..)| key == k)
        .map(|(_, rel, l)| (rel.clone(), *l))
}

fn relative_to(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_owned)
        .unwrap_or_else(|_| path.to_owned())
}

impl Trees<'_> {
    pub(crate) fn rules(&self) -> Vec<RuleDiff> {
        let base = keyed(&self.base.rules, &self.base_layout.root, Some(self.renamed));
        let new = keyed(&self.new.rules, &self.layout.root, None);
        let cases_changed = |layout: &Layout, path: &Path, changed: &BTreeSet<PathBuf>| {
            layout.test_case_path_for(path).is_some_and(|p| {
                changed.contains(&relative_to(&p.with_extension("yml"), &layout.root))
            })
        };
        let mut selected: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (k, rel, l) in &new {
            if (self.new_changed.contains(rel)
                || cases_changed(self.layout, &l.path, self.new_changed))
                && seen.insert(k.clone())
            {
                selected.push(k.clone());
            }
        }
        for (k, rel, l) in &base {
            if (self.old_changed.contains(rel)
                || cases_changed(self.base_layout, &l.path, self.old_changed))
                && seen.insert(k.clone())
            {
                selected.push(k.clone());
            }
        }
        selected
            .iter()
            .map(|k| self.rule(find(&base, k), find(&new, k)))
            .collect()
    }

    fn rule(
        &self,
        old: Option<(PathBuf, &Loaded<CompiledRule>)>,
        new: Option<(PathBuf, &Loaded<CompiledRule>)>,
    ) -> RuleDiff {
        let old_cases = old
            .as_ref()
            .map(|(_, l)| cases_of(self.base_layout, &l.path))
            .unwrap_or_default();
        let new_cases = new
            .as_ref()
            .map(|(_, l)| cases_of(self.layout, &l.path))
            .unwrap_or_default();
        let fixtures = fixture_changes(&old_cases, &new_cases);
        let (shown_path, shown) = match (&new, &old) {
            (Some((p, l)), _) | (None, Some((p, l))) => (p.clone(), *l),
            (None, None) => unreachable!("a selected key is on one side at least"),
        };
        let mut diff = RuleDiff {
            id: shown.rule().meta.id.clone(),
            title: shown.rule().meta.title.clone(),
            path: shown_path,
            renamed_from: None,
            change: Change::Unchanged,
            proof: Proof::Exact,
            witnesses: Vec::new(),
            broadening_events: 0,
            narrowing_events: 0,
            candidates: 0,
            logsource: None,
            metadata: Vec::new(),
            level: (
                old.as_ref().and_then(|(_, l)| l.rule().meta.level.clone()),
                new.as_ref().and_then(|(_, l)| l.rule().meta.level.clone()),
            ),
            fixtures,
            line: 1,
        };
        let (old_rel, old_l, new_rel, new_l) = match (old, new) {
            (None, Some(_)) => {
                diff.change = Change::Added;
                return diff;
            }
            (Some(_), None) => {
                diff.change = Change::Removed;
                diff.line = 0;
                return diff;
            }
            (Some((or, ol)), Some((nr, nl))) => (or, ol, nr, nl),
            (None, None) => unreachable!("a selected key is on one side at least"),
        };
        if old_rel != new_rel {
            diff.renamed_from = Some(old_rel);
        }
        diff.metadata = changed_metadata(&old_l.document.node, &new_l.document.node);
        let (old_rule, new_rule) = (old_l.rule(), new_l.rule());
        let same_text = old_l.document.node.to_json() == new_l.document.node.to_json();
        let metadata_only = if diff.metadata.is_empty() {
            Change::Equivalent
        } else {
            Change::Metadata
        };
        if same_text {
            // Byte-for-byte the same document (reformatted at most): only its cases changed,
            // or it merely moved.
            diff.change = if diff.renamed_from.is_some() || !diff.fixtures.is_empty() {
                if diff.renamed_from.is_some() {
                    Change::Equivalent
                } else {
                    Change::Unchanged
                }
            } else {
                Change::Equivalent
            };
            return diff;
        }
        let (mut broader, mut narrower) = (false, false);
        if old_rule.logsource != new_rule.logsource {
            diff.logsource = Some((
                logsource_text(&old_rule.logsource),
                logsource_text(&new_rule.logsource),
            ));
            let wider = new_rule.logsource.covers(&old_rule.logsource);
            let tighter = old_rule.logsource.covers(&new_rule.logsource);
            broader |= wider || !tighter;
            narrower |= tighter || !wider;
        }
        let canonical = |rule: &Rule| {
            LoweredRule::lower(rule, self.options)
                .ok()
                .map(|l| Canonical::of(&l))
        };
        let detection_line = line_of(&new_l.source, &new_l.document.node, "detection");
        if canonical(old_rule).is_some_and(|c| Some(c) == canonical(new_rule)) {
            diff.change = Change::from_directions(broader, narrower, metadata_only);
            diff.line = match diff.change {
                Change::Metadata => diff
                    .metadata
                    .first()
                    .map_or(1, |k| line_of(&new_l.source, &new_l.document.node, k)),
                Change::Equivalent => 1,
                _ => line_of(&new_l.source, &new_l.document.node, "logsource"),
            };
            return diff;
        }
        let mut pool = Pool::default();
        for event in candidates(old_rule, &old_l.compiled, self.options)
            .into_iter()
            .chain(candidates(new_rule, &new_l.compiled, self.options))
        {
            pool.add(event, "generated");
        }
        // Each version's positives with its exclusions laid over them, one per excluded value.
        for (rule, compiled) in [(old_rule, &old_l.compiled), (new_rule, &new_l.compiled)] {
            for event in exclusion_events(rule, compiled, self.options) {
                pool.add(event, "generated");
            }
        }
        for case in old_cases.iter().chain(&new_cases) {
            pool.add(case.event.clone(), "fixture");
        }
        for event in self.events {
            pool.add(event.event.clone(), &event.source);
        }
        let found = pool.witnesses(&old_l.compiled, &new_l.compiled);
        diff.candidates = pool.events.len();
        diff.broadening_events = found.broadening;
        diff.narrowing_events = found.narrowing;
        diff.witnesses = found.shown;
        diff.change = Change::from_directions(
            broader || found.broadening > 0,
            narrower || found.narrowing > 0,
            metadata_only,
        );
        diff.proof = Proof::Witnesses;
        diff.line = detection_line;
        diff
    }

    pub(crate) fn filters(&self) -> Vec<FilterDiff> {
        let base = keyed(
            &self.base.filters,
            &self.base_layout.root,
            Some(self.renamed),
        );
        let new = keyed(&self.new.filters, &self.layout.root, None);
        let mut keys: Vec<String> = Vec::new();
        for (k, rel, _) in new
            .iter()
            .filter(|(_, rel, _)| self.new_changed.contains(rel))
        {
            let _ = rel;
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        for (k, _, _) in base
            .iter()
            .filter(|(_, rel, _)| self.old_changed.contains(rel))
        {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        keys.iter()
            .map(|k| self.filter(find(&base, k), find(&new, k)))
            .collect()
    }

    fn filter(
        &self,
        old: Option<(PathBuf, &Loaded<CompiledFilter>)>,
        new: Option<(PathBuf, &Loaded<CompiledFilter>)>,
    ) -> FilterDiff {
        let (path, shown) = match (&new, &old) {
            (Some((p, l)), _) | (None, Some((p, l))) => (p.clone(), *l),
            (None, None) => unreachable!("a selected key is on one side at least"),
        };
        let line = match &new {
            Some((_, l)) => line_of(&l.source, &l.document.node, "filter"),
            None => 0,
        };
        let old_f = old.as_ref().map(|(_, l)| &l.compiled);
        let new_f = new.as_ref().map(|(_, l)| &l.compiled);
        let mut rules = Vec::new();
        let mut applies_to = Vec::new();
        // Each rule of the working tree the filter applies to, then or now, with the working
        // tree's other filters: only this filter's change differs between the two versions.
        for rule in &self.new.rules {
            let applies_old = old_f.is_some_and(|f| f.applies_to(&rule.compiled));
            let applies_new = new_f.is_some_and(|f| f.applies_to(&rule.compiled));
            if !applies_old && !applies_new {
                continue;
            }
            applies_to.push(relative_to(&rule.path, &self.layout.root));
            let others: Vec<&CompiledFilter> = self
                .new
                .filters
                .iter()
                .map(|f| &f.compiled)
                .filter(|f| {
                    !new_f.is_some_and(|n| std::ptr::eq(*f, n)) && f.applies_to(&rule.compiled)
                })
                .collect();
            let with = |extra: Option<&CompiledFilter>| {
                let mut filters = others.clone();
                filters.extend(extra);
                rule.compiled.with_filters(&filters)
            };
            let before = with(old_f.filter(|_| applies_old));
            let after = with(new_f.filter(|_| applies_new));
            let mut pool = Pool::default();
            let positives: Vec<Value> = generate(rule.rule(), &rule.compiled, self.options)
                .events
                .into_iter()
                .filter(|e| e.expect_match)
                .map(|e| e.event)
                .collect();
            for event in candidates(rule.rule(), &rule.compiled, self.options) {
                pool.add(event, "generated");
            }
            // A rule's positive with a filter's positive laid over it is the event a filter
            // exists to reject.
            for filter in [&old, &new].into_iter().flatten() {
                for over in filter_events(&filter.1.document.body, self.options) {
                    for base in &positives {
                        pool.add(overlay(base, &over), "generated");
                    }
                }
            }
            for case in cases_of(self.layout, &rule.path) {
                pool.add(case.event, "fixture");
            }
            for event in self.events {
                pool.add(event.event.clone(), &event.source);
            }
            let found = pool.witnesses(&before, &after);
            if found.broadening + found.narrowing == 0 {
                continue;
            }
            rules.push(RuleEffect {
                id: rule.rule().meta.id.clone(),
                title: rule.rule().meta.title.clone(),
                path: relative_to(&rule.path, &self.layout.root),
                change: Change::from_directions(
                    found.broadening > 0,
                    found.narrowing > 0,
                    Change::Equivalent,
                ),
                witnesses: found.shown,
            });
        }
        let change = match (&old, &new) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            (Some((_, o)), Some((_, n))) => {
                if !rules.is_empty() {
                    Change::Changed
                } else if changed_metadata(&o.document.node, &n.document.node).is_empty() {
                    Change::Equivalent
                } else {
                    Change::Metadata
                }
            }
        };
        FilterDiff {
            id: shown.document.meta().id.clone(),
            title: shown.document.meta().title.clone(),
            path,
            change,
            rules,
            applies_to,
            line,
        }
    }

    pub(crate) fn correlations(&self, rules: &[RuleDiff]) -> Vec<CorrelationDiff> {
        let base = keyed(
            &self.base.correlations,
            &self.base_layout.root,
            Some(self.renamed),
        );
        let new = keyed(&self.new.correlations, &self.layout.root, None);
        let changed_rules: Vec<&RuleDiff> =
            rules.iter().filter(|r| r.change.is_semantic()).collect();
        let correlated = |l: &Loaded<()>| -> Vec<String> {
            let DocumentBody::Correlation(c) = &l.document.body else {
                return Vec::new();
            };
            c.rules
                .iter()
                .filter(|(reference, _)| {
                    changed_rules.iter().any(|r| {
                        r.id.as_deref() == Some(reference.as_str())
                            || self.new.rules.iter().chain(&self.base.rules).any(|l| {
                                l.rule().meta.name.as_deref() == Some(reference.as_str())
                                    && l.rule().meta.id == r.id
                                    && r.id.is_some()
                            })
                    })
                })
                .map(|(reference, _)| reference.clone())
                .collect()
        };
        let mut out = Vec::new();
        let mut done = HashSet::new();
        for (k, rel, l) in &new {
            let old = base.iter().find(|(bk, ..)| bk == k).map(|(_, _, l)| *l);
            let file_changed = self.new_changed.contains(rel);
            let rules_changed = correlated(l);
            if !file_changed && rules_changed.is_empty() {
                continue;
            }
            done.insert(k.clone());
            let change = match old {
                None => Change::Added,
                Some(o) if file_changed => correlation_change(o, l),
                Some(_) => Change::Unchanged,
            };
            out.push(CorrelationDiff {
                id: l.document.meta().id.clone(),
                title: l.document.meta().title.clone(),
                path: rel.clone(),
                change,
                rules_changed,
                line: line_of(&l.source, &l.document.node, "correlation"),
            });
        }
        for (k, rel, l) in &base {
            if done.contains(k)
                || !self.old_changed.contains(rel)
                || new.iter().any(|(nk, ..)| nk == k)
            {
                continue;
            }
            out.push(CorrelationDiff {
                id: l.document.meta().id.clone(),
                title: l.document.meta().title.clone(),
                path: rel.clone(),
                change: Change::Removed,
                rules_changed: Vec::new(),
                line: 0,
            });
        }
        out
    }
}

/// Distinct candidate events with where each came from (the first source that gave it).
#[derive(Default)]
struct Pool {
    events: Vec<(Value, String)>,
    seen: HashSet<String>,
}

struct Found {
    broadening: usize,
    narrowing: usize,
    shown: Vec<Witness>,
}

impl Pool {
    fn add(&mut self, event: Value, source: &str) {
        if self.seen.insert(event.to_string()) {
            self.events.push((event, source.to_owned()));
        }
    }

    /// Every event on which the two rules disagree, counted per direction; the first
    /// [`MAX_WITNESSES`] of each direction kept, fixtures and corpus events before generated
    /// ones (a reviewer recognises them).
    fn witnesses(&self, old: &CompiledRule, new: &CompiledRule) -> Found {
        let mut found = Found {
            broadening: 0,
            narrowing: 0,
            shown: Vec::new(),
        };
        let mut disagreements: Vec<Witness> = Vec::new();
        for (event, source) in &self.events {
            let (o, n) = (old.matches(event), new.matches(event));
            if o == n {
                continue;
            }
            if n {
                found.broadening += 1;
            } else {
                found.narrowing += 1;
            }
            disagreements.push(Witness {
                event: event.clone(),
                old: o,
                new: n,
                source: source.clone(),
            });
        }
        disagreements.sort_by_key(|w| w.source == "generated");
        for direction in [true, false] {
            found.shown.extend(
                disagreements
                    .iter()
                    .filter(|w| w.new == direction)
                    .take(MAX_WITNESSES)
                    .cloned(),
            );
        }
        found
    }
}

/// The event cases of a rule's conventional test-case file under `layout`, if it loads.
fn cases_of(layout: &Layout, rule_path: &Path) -> Vec<Case> {
    let Some(path) = layout.test_case_path_for(rule_path) else {
        return Vec::new();
    };
    let path = if path.is_file() {
        path
    } else {
        path.with_extension("yml")
    };
    let Ok(source) = read_source(&path, Limits::default().max_file_bytes) else {
        return Vec::new();
    };
    parse_test_case_file(&source, &Limits::default())
        .0
        .map(|f| f.cases)
        .unwrap_or_default()
}

fn fixture_changes(old: &[Case], new: &[Case]) -> FixtureChanges {
    let mut out = FixtureChanges::default();
    let reasons = |c: &Case| c.reason.iter().map(|r| r.text.clone()).collect::<Vec<_>>();
    for case in new {
        match old.iter().find(|o| o.name == case.name) {
            None => out.added.push((case.name.clone(), case.expect)),
            Some(o) => {
                if o.expect != case.expect || o.event != case.event || reasons(o) != reasons(case) {
                    out.changed.push((case.name.clone(), case.expect));
                }
            }
        }
    }
    for case in old {
        if !new.iter().any(|n| n.name == case.name) {
            out.removed.push(case.name.clone());
        }
    }
    out
}

/// The top-level keys, other than `detection` and `logsource`, whose values differ.
fn changed_metadata(old: &Node, new: &Node) -> Vec<String> {
    let (Value::Object(old), Value::Object(new)) = (old.to_json(), new.to_json()) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| {
            !matches!(
                k.as_str(),
                "detection" | "logsource" | "filter" | "correlation"
            )
        })
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The line of a top-level key of a document, or of the document when it has no such key.
fn line_of(source: &SourceFile, node: &Node, key: &str) -> u32 {
    let span = node.entry(key).map_or(node.span, |(k, _)| k.span);
    source.line_col(span.start).line
}

fn logsource_text(logsource: &ruleproof_sigma::LogSource) -> String {
    [&logsource.category, &logsource.product, &logsource.service]
        .iter()
        .map(|f| f.as_deref().unwrap_or("*"))
        .collect::<Vec<_>>()
        .join("/")
}

/// How many positives of a rule get each event of its negation laid over them.
const MAX_OVERLAID: usize = 20;

/// The events a meta-filter decides: generated for its detection read as a rule, and for the
/// negation of its condition (a filter's condition is usually `not …`, so the positives of the
/// negation are the events it rejects, one per value).
fn filter_events(body: &DocumentBody, options: &CompileOptions) -> Vec<Value> {
    let DocumentBody::Filter(filter) = body else {
        return Vec::new();
    };
    let rule = Rule {
        meta: filter.meta.clone(),
        logsource: filter.logsource.clone(),
        detection: filter.detection.clone(),
    };
    let mut out = negation_events(&rule, options);
    if let Ok(compiled) = CompiledRule::compile(&rule, options) {
        out.extend(
            generate(&rule, &compiled, options)
                .events
                .into_iter()
                .map(|e| e.event),
        );
    }
    out
}

/// The generated events of a rule's negated condition: the positives of `not (condition)` make
/// each excluding search (`and not filter_*`) true, one event per value, where the rule's own
/// near misses try only one.
fn negation_events(rule: &Rule, options: &CompileOptions) -> Vec<Value> {
    let mut negated = rule.clone();
    for condition in &mut negated.detection.conditions {
        if let Ok(parsed) = &condition.parsed {
            condition.parsed = Ok(CondExpr::Not(Box::new(parsed.clone())));
        }
    }
    match CompiledRule::compile(&negated, options) {
        Ok(compiled) => generate(&negated, &compiled, options)
            .events
            .into_iter()
            .map(|e| e.event)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A rule's positives with each event of its negation laid over them: what each of its
/// exclusions (at one version or the other) takes away.
fn exclusion_events(rule: &Rule, compiled: &CompiledRule, options: &CompileOptions) -> Vec<Value> {
    let positives: Vec<Value> = generate(rule, compiled, options)
        .events
        .into_iter()
        .filter(|e| e.expect_match)
        .take(MAX_OVERLAID)
        .map(|e| e.event)
        .collect();
    let mut out = Vec::new();
    for over in negation_events(rule, options) {
        out.extend(positives.iter().map(|p| overlay(p, &over)));
    }
    out
}

/// `base` with `over`'s fields set on it.
fn overlay(base: &Value, over: &Value) -> Value {
    let mut out = base.clone();
    if let (Value::Object(out), Value::Object(over)) = (&mut out, over) {
        for (k, v) in over {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// A correlation's own change: `correlation:` the same is `metadata` or `equivalent`; only the
/// threshold (one comparison, same operator) and the timespan moved, each the same way, is
/// `broadened` or `narrowed`; anything else is `changed`.
fn correlation_change(old: &Loaded<()>, new: &Loaded<()>) -> Change {
    let (DocumentBody::Correlation(o), DocumentBody::Correlation(n)) =
        (&old.document.body, &new.document.body)
    else {
        return Change::Changed;
    };
    let section = |l: &Loaded<()>| l.document.node.get("correlation").map(Node::to_json);
    let (os, ns) = (section(old), section(new));
    if os == ns {
        return if changed_metadata(&old.document.node, &new.document.node).is_empty() {
            Change::Equivalent
        } else {
            Change::Metadata
        };
    }
    let without = |v: Option<Value>| {
        let mut v = v.unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("timespan");
            m.remove("condition");
        }
        v
    };
    if without(os) != without(ns)
        || o.condition.fields != n.condition.fields
        || o.condition.percentile != n.condition.percentile
    {
        return Change::Changed;
    }
    let (mut broader, mut narrower) = (false, false);
    // A longer window holds more events: more groups reach a minimum, fewer stay under a
    // maximum.
    let maximum = matches!(
        n.condition.comparisons.as_slice(),
        [(ConditionOp::Lt | ConditionOp::Lte, _)]
    );
    match (o.timespan.seconds, n.timespan.seconds) {
        (a, b) if (b > a) != maximum && a != b => broader = true,
        (a, b) if a != b => narrower = true,
        _ => {}
    }
    match (
        o.condition.comparisons.as_slice(),
        n.condition.comparisons.as_slice(),
    ) {
        ([(op_o, a)], [(op_n, b)]) if op_o == op_n && a != b => match op_o {
            // A lower minimum (or higher maximum) lets more groups through.
            ConditionOp::Gt | ConditionOp::Gte => {
                if b < a {
                    broader = true
                } else {
                    narrower = true
                }
            }
            ConditionOp::Lt | ConditionOp::Lte => {
                if b > a {
                    broader = true
                } else {
                    narrower = true
                }
            }
            _ => return Change::Changed,
        },
        (a, b) if a == b => {}
        _ => return Change::Changed,
    }
    Change::from_directions(broader, narrower, Change::Equivalent)
}

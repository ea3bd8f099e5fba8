//! The coverage policy: what each rule must have (cases, scenario and detection coverage) by its
//! `status` and `level`, read from the `coverage:` key of the repository's `ruleproof.yml`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::coverage::{
    CaseCounts, CorrelationCoverage, Counter, CoverageReport, GapKind, RuleCoverage,
};

/// The repository configuration file, at the repository root.
pub const CONFIG_FILE: &str = "ruleproof.yml";

/// How many uncovered things a policy message lists before summarising the rest.
const MAX_LISTED: usize = 10;

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    /// The file exists but could not be read.
    Read {
        /// The configuration file's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `path:line:col: message`, pointing at the offending key or value (just the path when the
    /// parser gives no position).
    #[error("{0}")]
    Parse(String),
}

/// The whole `ruleproof.yml`; other keys belong to other commands and are only skipped here.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepositoryConfig {
    #[serde(default)]
    coverage: Option<Policy>,
    /// What a rule change needs, read by `ruleproof diff`.
    #[serde(default)]
    diff: Option<ChangePolicy>,
    /// Lint settings, read by the linter.
    #[serde(default)]
    #[allow(dead_code)]
    lints: Option<serde::de::IgnoredAny>,
}

/// What `ruleproof diff` requires of a changed rule, from the `diff:` key of `ruleproof.yml`
/// (documented in `docs/ci.md`). Every requirement is off unless set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePolicy {
    /// A `broadened` (or `changed`) rule needs a new or changed case that expects no match:
    /// proof that the wider rule still leaves the benign events alone.
    #[serde(default)]
    pub broadened_needs_new_negative: bool,
    /// A `narrowed` (or `changed`) rule needs a new or changed case that expects a match: proof
    /// that the narrower rule still detects what it is for.
    #[serde(default)]
    pub narrowed_needs_new_positive: bool,
    /// An `added` rule needs a test-case file with at least one case.
    #[serde(default)]
    pub added_needs_cases: bool,
    /// A rule whose `level` is raised to this level or above …
    #[serde(default)]
    pub level_raised_to: Option<Level>,
    /// … needs this per cent of its false-positive scenarios covered by passing cases.
    #[serde(default)]
    pub raised_level_scenario_coverage: Option<Percent>,
}

/// A Sigma `level`, from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    /// The level a rule's `level:` text names, `None` for a missing or unknown one.
    pub fn parse(text: Option<&str>) -> Option<Level> {
        Some(match text? {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }
}

impl ChangePolicy {
    /// Reads the `diff:` key of `ruleproof.yml` under `root`; no file or no key sets nothing.
    ///
    /// # Errors
    /// As [`Policy::load`]: an unreadable file, YAML that does not parse, unknown keys.
    pub fn load(root: &Path) -> Result<ChangePolicy, PolicyError> {
        let path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ChangePolicy::default());
            }
            Err(source) => return Err(PolicyError::Read { path, source }),
        };
        if text.trim().is_empty() {
            return Ok(ChangePolicy::default());
        }
        let config: RepositoryConfig =
            serde_saphyr::from_str(&text).map_err(|e| parse_error(&e, &path))?;
        Ok(config.diff.unwrap_or_default())
    }
}

/// The policy: requirements for every rule, overridden by status and by level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    /// Requirements of every rule, before the status and level sections override them.
    pub default: Requirements,
    #[serde(default)]
    /// Overrides by the rule's `status`.
    pub status: ByStatus,
    #[serde(default)]
    /// Overrides by the rule's `level`.
    pub level: ByLevel,
}

/// What a rule must have. A requirement left out is not required.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Passing cases that expect a match (known false positives aside).
    pub min_positive: Option<u32>,
    /// Passing cases that expect no match.
    pub min_negative: Option<u32>,
    /// Per cent of false-positive scenarios covered (0–100).
    pub scenario_coverage: Option<Percent>,
    /// Per cent of search identifiers exercised by passing cases.
    pub search_coverage: Option<Percent>,
    /// Per cent of detection items (`Field|modifier: values`) exercised by passing cases.
    pub item_coverage: Option<Percent>,
    /// Per cent of the values of OR lists exercised by passing cases.
    pub value_coverage: Option<Percent>,
    /// Per cent of the applicable meta-filters that a passing `with_filters` check shows rejecting an event.
    pub meta_filter_coverage: Option<Percent>,
    /// Per cent of non-equivalent mutants the cases kill (`ruleproof mutate`, see
    /// `docs/mutation.md`); `coverage --check` leaves it to `mutate`.
    pub min_mutation_score: Option<Percent>,
    /// Per cent of a correlation rule's conditions that passing sequence cases exercise: the
    /// threshold met exactly, missed by one, and each base rule contributing to an alert
    /// (`docs/coverage.md`). Detection rules have none, so it does not apply to them; and
    /// search, item, value and meta-filter coverage do not apply to correlations.
    pub correlation_coverage: Option<Percent>,
}

/// A whole percentage, 0 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Percent(u32);

impl Percent {
    /// The percentage, or `None` above 100.
    pub fn new(value: u32) -> Option<Percent> {
        (value <= 100).then_some(Percent(value))
    }

    /// The percentage, 0 to 100.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        let value = u32::deserialize(deserializer)?;
        Percent::new(value).ok_or_else(|| {
            serde::de::Error::custom(format!("a percentage is 0 to 100, not {value}"))
        })
    }
}

/// Requirements by the rule's `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ByStatus {
    /// For `status: stable`.
    pub stable: Option<Requirements>,
    /// For `status: test`.
    pub test: Option<Requirements>,
    /// For `status: experimental`.
    pub experimental: Option<Requirements>,
    /// For `status: deprecated`.
    pub deprecated: Option<Requirements>,
    /// For `status: unsupported`.
    pub unsupported: Option<Requirements>,
}

/// Requirements by the rule's `level`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ByLevel {
    /// For `level: informational`.
    pub informational: Option<Requirements>,
    /// For `level: low`.
    pub low: Option<Requirements>,
    /// For `level: medium`.
    pub medium: Option<Requirements>,
    /// For `level: high`.
    pub high: Option<Requirements>,
    /// For `level: critical`.
    pub critical: Option<Requirements>,
}

impl Requirements {
    /// `self` with each requirement `other` sets replaced by it.
    fn overridden_by(self, other: &Requirements) -> Requirements {
        Requirements {
            min_positive: other.min_positive.or(self.min_positive),
            min_negative: other.min_negative.or(self.min_negative),
            scenario_coverage: other.scenario_coverage.or(self.scenario_coverage),
            search_coverage: other.search_coverage.or(self.search_coverage),
            item_coverage: other.item_coverage.or(self.item_coverage),
            value_coverage: other.value_coverage.or(self.value_coverage),
            meta_filter_coverage: other.meta_filter_coverage.or(self.meta_filter_coverage),
            min_mutation_score: other.min_mutation_score.or(self.min_mutation_score),
            correlation_coverage: other.correlation_coverage.or(self.correlation_coverage),
        }
    }

    /// The stricter of each requirement that either sets.
    fn strictest(self, other: &Requirements) -> Requirements {
        fn max<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        Requirements {
            min_positive: max(self.min_positive, other.min_positive),
            min_negative: max(self.min_negative, other.min_negative),
            scenario_coverage: max(self.scenario_coverage, other.scenario_coverage),
            search_coverage: max(self.search_coverage, other.search_coverage),
            item_coverage: max(self.item_coverage, other.item_coverage),
            value_coverage: max(self.value_coverage, other.value_coverage),
            meta_filter_coverage: max(self.meta_filter_coverage, other.meta_filter_coverage),
            min_mutation_score: max(self.min_mutation_score, other.min_mutation_score),
            correlation_coverage: max(self.correlation_coverage, other.correlation_coverage),
        }
    }
}

impl Policy {
    /// The policy used when the repository has no `ruleproof.yml` (or it has no `coverage:` key):
    /// every rule needs a passing positive case; `stable` and `test` rules also need a passing
    /// negative case and every false-positive scenario covered.
    pub fn builtin() -> Policy {
        let strict = Requirements {
            min_negative: Some(1),
            scenario_coverage: Some(Percent(100)),
            ..Requirements::default()
        };
        Policy {
            default: Requirements {
                min_positive: Some(1),
                ..Requirements::default()
            },
            status: ByStatus {
                stable: Some(strict),
                test: Some(strict),
                ..ByStatus::default()
            },
            level: ByLevel::default(),
        }
    }

    /// Reads the policy of the repository at `root`; the built-in policy when there is no file.
    ///
    /// # Errors
    /// [`PolicyError::Read`] when the file exists but cannot be read, and whatever
    /// [`Policy::parse`] rejects.
    pub fn load(root: &Path) -> Result<Policy, PolicyError> {
        let path = root.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Policy::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::builtin()),
            Err(source) => Err(PolicyError::Read { path, source }),
        }
    }

    /// Parses the text of a `ruleproof.yml`; `path` is only used in error messages.
    ///
    /// # Errors
    /// [`PolicyError::Parse`] for YAML that does not parse, unknown keys (of the file or of the
    /// `coverage:` policy) and percentages above 100.
    pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
        // An empty file is a configuration that sets nothing.
        if text.trim().is_empty() {
            return Ok(Policy::builtin());
        }
        let config: RepositoryConfig =
            serde_saphyr::from_str(text).map_err(|e| parse_error(&e, path))?;
        Ok(config.coverage.unwrap_or_else(Policy::builtin))
    }

    /// The requirements for a rule: `default`, overridden by its status's section and its
    /// level's section; when both of those set a requirement, the stricter one applies.
    pub fn requirements_for(&self, status: Option<&str>, level: Option<&str>) -> Requirements {
        let by_status = match status {
            Some("stable") => self.status.stable.as_ref(),
            Some("test") => self.status.test.as_ref(),
            Some("experimental") => self.status.experimental.as_ref(),
            Some("deprecated") => self.status.deprecated.as_ref(),
            Some("unsupported") => self.status.unsupported.as_ref(),
            _ => None,
        };
        let by_level = match level {
            Some("informational") => self.level.informational.as_ref(),
            Some("low") => self.level.low.as_ref(),
            Some("medium") => self.level.medium.as_ref(),
            Some("high") => self.level.high.as_ref(),
            Some("critical") => self.level.critical.as_ref(),
            _ => None,
        };
        let specific = match (by_status, by_level) {
            (Some(s), Some(l)) => Some(s.strictest(l)),
            (s, l) => s.or(l).copied(),
        };
        match specific {
            Some(specific) => self.default.overridden_by(&specific),
            None => self.default,
        }
    }

    /// Checks every rule and correlation rule of a coverage report against the policy.
    pub fn check(&self, report: &CoverageReport) -> PolicyReport {
        let detection = report
            .rules
            .iter()
            .map(|rule| (&rule.rule, self.lacks(rule)));
        let correlations = report
            .correlations
            .iter()
            .map(|c| (&c.correlation, self.correlation_lacks(c)));
        let failures = detection
            .chain(correlations)
            .filter(|(_, lacks)| !lacks.is_empty())
            .map(|(rule, lacks)| RuleFailure {
                path: rule.path.clone(),
                title: rule.title.clone(),
                status: rule.status.clone(),
                level: rule.level.clone(),
                lacks,
            })
            .collect();
        PolicyReport {
            rules_checked: report.rules.len() + report.correlations.len(),
            failures,
            errors: report.errors.clone(),
        }
    }

    /// What one correlation rule lacks, one sentence each; empty when it meets the policy. Its
    /// sequence cases count as positive (`expect: fires`) and negative (`no-fire`) cases.
    pub fn correlation_lacks(&self, correlation: &CorrelationCoverage) -> Vec<String> {
        let summary = &correlation.correlation;
        let wanted = self.requirements_for(summary.status.as_deref(), summary.level.as_deref());
        let no_file = if correlation.test_file.is_none() {
            " (it has no test-case file)"
        } else {
            ""
        };
        let mut lacks = case_lacks(&wanted, &correlation.cases, no_file);
        if let Some(required) = wanted.scenario_coverage {
            let counter = correlation.scenario_counts().counter();
            if !counter.meets(required.get()) {
                let missing: Vec<String> = correlation
                    .scenarios
                    .iter()
                    .filter_map(|s| s.problem())
                    .collect();
                let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
                lacks.push(shortfall(
                    required,
                    counter,
                    "false-positive scenario",
                    &missing,
                ));
            }
        }
        if let Some(required) = wanted.correlation_coverage {
            let counter = correlation.conditions();
            if !counter.meets(required.get()) {
                let missing = correlation.condition_gaps();
                let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
                lacks.push(shortfall(required, counter, "correlation", &missing));
            }
        }
        lacks
    }

    /// What one rule lacks, one sentence each; empty when it meets the policy.
    pub fn lacks(&self, rule: &RuleCoverage) -> Vec<String> {
        let wanted = self.requirements_for(rule.rule.status.as_deref(), rule.rule.level.as_deref());
        let mut lacks = Vec::new();
        if !rule.errors.is_empty() {
            lacks.push(format!(
                "its test-case file has errors: {}",
                rule.errors.join("; ")
            ));
        }
        let no_file = match &rule.expected_test_file {
            Some(path) => format!(
                " (it has no test-case file; expected at {})",
                path.display()
            ),
            None => String::new(),
        };
        lacks.extend(case_lacks(&wanted, &rule.cases, &no_file));
        let gaps = rule.gaps();
        let detection = rule.detection();
        let checks = [
            (
                wanted.scenario_coverage,
                rule.scenario_counts().counter(),
                "false-positive scenario",
                GapKind::Scenario,
            ),
            (
                wanted.search_coverage,
                detection.searches,
                "search identifier",
                GapKind::Search,
            ),
            (
                wanted.item_coverage,
                detection.items,
                "detection item",
                GapKind::Item,
            ),
            (
                wanted.value_coverage,
                detection.values,
                "value",
                GapKind::Value,
            ),
            (
                wanted.meta_filter_coverage,
                detection.meta_filters,
                "meta-filter",
                GapKind::MetaFilter,
            ),
        ];
        for (required, counter, what, kind) in checks {
            let Some(required) = required else { continue };
            if counter.meets(required.get()) {
                continue;
            }
            let missing: Vec<&str> = gaps
                .iter()
                .filter(|g| g.kind == kind)
                .map(|g| g.description.as_str())
                .collect();
            lacks.push(shortfall(required, counter, what, &missing));
        }
        lacks
    }
}

/// The minimum numbers of passing positive and negative cases not met; `no_file` is appended
/// to each sentence (why there are none).
fn case_lacks(wanted: &Requirements, cases: &CaseCounts, no_file: &str) -> Vec<String> {
    let mut lacks = Vec::new();
    for (min, has, kind) in [
        (wanted.min_positive, cases.positives, "positive"),
        (wanted.min_negative, cases.negatives, "negative"),
    ] {
        if let Some(min) = min
            && has < min as usize
        {
            lacks.push(format!(
                "needs at least {min} passing {kind} case{}, has {has}{no_file}",
                plural(min as usize),
            ));
        }
    }
    lacks
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `needs 100% value coverage, has 90.9% (20 of 22); uncovered: a; b`.
fn shortfall(required: Percent, counter: Counter, what: &str, missing: &[&str]) -> String {
    let mut text = format!(
        "needs {}% {what} coverage, has {} ({} of {})",
        required.get(),
        counter.percent_text(),
        counter.covered,
        counter.total
    );
    if !missing.is_empty() {
        let listed: Vec<&str> = missing.iter().take(MAX_LISTED).copied().collect();
        let _ = write!(text, "; uncovered: {}", listed.join("; "));
        if missing.len() > MAX_LISTED {
            let _ = write!(text, "; and {} more", missing.len() - MAX_LISTED);
        }
    }
    text
}

/// A rule that does not meet the policy, and what it lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleFailure {
    /// Relative to the repository root.
    pub path: PathBuf,
    /// The rule's `title`.
    pub title: String,
    /// The rule's `status`, if given (it chose the requirements).
    pub status: Option<String>,
    /// The rule's `level`, if given (it chose the requirements).
    pub level: Option<String>,
    /// What the rule lacks, one sentence each.
    pub lacks: Vec<String>,
}

/// The result of checking a coverage report against the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    /// How many rules were checked, detection and correlation rules.
    pub rules_checked: usize,
    /// The rules that do not meet the policy, in report order.
    pub failures: Vec<RuleFailure>,
    /// Load errors of the run: a rule that does not load cannot meet any policy.
    pub errors: Vec<String>,
}

impl PolicyReport {
    /// Whether every rule meets the policy and nothing failed to load.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.errors.is_empty()
    }
}

/// The parser's error as `path:line:col: message`, without the parser's own location prefix
/// and source snippet.
fn parse_error(error: &serde_saphyr::Error, path: &Path) -> PolicyError {
    PolicyError::Parse(ruleproof_sigma::yaml::located_error(path, error))
}

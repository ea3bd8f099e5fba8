//! Backtest expectations: how often each rule or correlation may match a corpus (exactly, at
//! least, at most N, optionally per corpus file), an allowlist of known false positives, and the
//! verdict on every match no expectation covers. Reports as text, JSON and JUnit.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use ruleproof_sigma::correlation::{CorrelationSet, Evaluation};
use ruleproof_sigma::event::with_scalar_text;
use ruleproof_sigma::fold::with_folded;
use ruleproof_sigma::pattern::{StrMatcher, parse_sigma_string};
use ruleproof_sigma::{CompiledRule, Event, FieldPath, Metadata};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::logsource::holds_nothing;
use crate::run::Matched;

/// The version of the backtest JSON shape; it changes when a field changes meaning.
pub const BACKTEST_FORMAT: &str = "ruleproof.backtest/1";

/// How many unexpected matches a report lists; all are counted.
const MAX_LISTED: usize = 200;

/// Why an expectations file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// The file is not YAML of the expected shape: `path:line:col: message`.
    #[error("{0}")]
    Parse(String),
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is empty, an expectation has no bound (or `exactly` with another bound), or a
    /// glob or allowlist pattern does not compile.
    #[error("{path}: {message}")]
    Invalid {
        /// The file's path.
        path: String,
        /// What is wrong, on one line.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    expectations: Vec<ExpectShape>,
    #[serde(default)]
    allowlist: Vec<AllowShape>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectShape {
    rule: String,
    #[serde(default)]
    exactly: Option<u64>,
    #[serde(default)]
    at_least: Option<u64>,
    #[serde(default)]
    at_most: Option<u64>,
    #[serde(default)]
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowShape {
    rule: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default, rename = "where")]
    conditions: BTreeMap<String, String>,
    #[serde(default)]
    reason: Option<String>,
}

/// A corpus-file glob, matched against the path as given and against the file name.
#[derive(Clone, Debug)]
pub struct FileGlob {
    /// The glob as written in the expectations file, for reports.
    pub text: String,
    pattern: glob::Pattern,
}

impl FileGlob {
    /// Whether the corpus file (its path as given, or its bare file name) matches the glob.
    pub fn matches(&self, file: &str) -> bool {
        let name = Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        self.pattern.matches(file) || self.pattern.matches(&name)
    }
}

/// How many matches a rule may have: between `min` and `max`, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bound {
    /// The least allowed count (`at_least`, or `exactly`); `None` for no lower bound.
    pub min: Option<u64>,
    /// The greatest allowed count (`at_most`, or `exactly`); `None` for no upper bound.
    pub max: Option<u64>,
}

impl Bound {
    /// Whether `count` lies within the bound.
    pub fn holds(&self, count: u64) -> bool {
        self.min.is_none_or(|m| count >= m) && self.max.is_none_or(|m| count <= m)
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => write!(f, "exactly {a}"),
            (Some(a), Some(b)) => write!(f, "between {a} and {b}"),
            (Some(a), None) => write!(f, "at least {a}"),
            (None, Some(b)) => write!(f, "at most {b}"),
            (None, None) => write!(f, "any number"),
        }
    }
}

/// One entry of `expectations:`: how often the rules it names may match (after the allowlist
/// has set its matches aside), over the whole corpus or the files its glob selects.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// The rule's id, name or title.
    pub rule: String,
    /// The allowed number of matches, summed over all rules the reference names.
    pub bound: Bound,
    /// Only matches in corpus files this glob matches count; `None` for all files.
    pub file: Option<FileGlob>,
}

/// A known false positive: matches of `rule` on events where every field matches its pattern
/// (Sigma wildcards, case-insensitive) are set aside.
#[derive(Clone, Debug)]
pub struct Allowed {
    /// The rule's id, name or title.
    pub rule: String,
    /// Only events in corpus files this glob matches are covered; `None` for all files.
    pub file: Option<FileGlob>,
    /// The `where:` entries: field, pattern as written, and the compiled pattern. A field that
    /// is absent never matches; for an array, any element may match.
    pub conditions: Vec<(FieldPath, String, StrMatcher)>,
    /// Why the matches are acceptable, shown in reports.
    pub reason: Option<String>,
}

impl Allowed {
    /// Whether the entry covers a match of a rule it names on this event.
    pub fn covers(&self, file: &str, event: &Value) -> bool {
        if self.file.as_ref().is_some_and(|g| !g.matches(file)) {
            return false;
        }
        self.conditions.iter().all(|(path, _, matcher)| {
            let values: &[Value] = match event.field(path) {
                None => return false,
                Some(Value::Array(items)) => items,
                Some(single) => std::slice::from_ref(single),
            };
            values.iter().any(|v| {
                with_scalar_text(v, |t| with_folded(t, |f| matcher.is_match(f))).unwrap_or(false)
            })
        })
    }
}

/// A parsed expectations file.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// The `expectations:` entries, in file order.
    pub expectations: Vec<Expectation>,
    /// The `allowlist:` entries, in file order; the first that covers a match takes it.
    pub allowlist: Vec<Allowed>,
}

impl Expectations {
    /// Reads and parses an expectations file.
    ///
    /// # Errors
    /// [`ExpectError::Read`] when it cannot be read, [`ExpectError::Invalid`] when it holds
    /// nothing but comments, else as [`Expectations::parse`].
    pub fn load(path: &Path) -> Result<Expectations, ExpectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if holds_nothing(&text) {
            // A truncated file would otherwise pass CI with nothing checked.
            return Err(ExpectError::Invalid {
                path: path.display().to_string(),
                message: "the expectations file is empty: give `expectations:` or `allowlist:` \
                          (an empty list is written `expectations: []`)"
                    .to_owned(),
            });
        }
        Expectations::parse(&text, path)
    }

    /// Parses the YAML text of an expectations file; `path` is used in messages. Empty text is
    /// no expectations and no allowlist ([`Expectations::load`] refuses an empty file).
    ///
    /// # Errors
    /// [`ExpectError::Parse`] for malformed YAML or unknown keys, [`ExpectError::Invalid`] for a
    /// missing or contradictory bound, or a glob or pattern that does not compile.
    pub fn parse(text: &str, path: &Path) -> Result<Expectations, ExpectError> {
        let invalid = |message: String| ExpectError::Invalid {
            path: path.display().to_string(),
            message,
        };
        if text.trim().is_empty() {
            return Ok(Expectations::default());
        }
        let shape: FileShape = serde_saphyr::from_str(text)
            .map_err(|e| ExpectError::Parse(ruleproof_sigma::yaml::located_error(path, &e)))?;
        let glob = |text: Option<String>| -> Result<Option<FileGlob>, ExpectError> {
            text.map(|text| {
                glob::Pattern::new(&text)
                    .map(|pattern| FileGlob {
                        text: text.clone(),
                        pattern,
                    })
                    .map_err(|e| invalid(format!("`{text}` is not a glob: {e}")))
            })
            .transpose()
        };
        let mut out = Expectations::default();
        for e in shape.expectations {
            let bound = match (e.exactly, e.at_least, e.at_most) {
                (Some(n), None, None) => Bound {
                    min: Some(n),
                    max: Some(n),
                },
                (None, min, max) if min.is_some() || max.is_some() => Bound { min, max },
                (Some(_), _, _) => {
                    return Err(invalid(format!(
                        "the expectation for `{}` combines `exactly` with `at_least` or `at_most`",
                        e.rule
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "the expectation for `{}` needs `exactly`, `at_least` or `at_most`",
                        e.rule
                    )));
                }
            };
            out.expectations.push(Expectation {
                rule: e.rule,
                bound,
                file: glob(e.file)?,
            });
        }
        for a in shape.allowlist {
            let conditions = a
                .conditions
                .iter()
                .map(|(field, pattern)| {
                    StrMatcher::compile(&parse_sigma_string(pattern), false)
                        .map(|m| (FieldPath::new(field), pattern.clone(), m))
                        .map_err(|e| invalid(format!("`{pattern}` cannot be compiled: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.allowlist.push(Allowed {
                rule: a.rule,
                file: glob(a.file)?,
                conditions,
                reason: a.reason,
            });
        }
        Ok(out)
    }
}

/// What to do with matches no expectation or allowlist entry covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unexpected {
    /// List them, but do not fail (for attack corpora, where other rules may fire too).
    #[default]
    Allow,
    /// Fail on any (for benign corpora).
    Fail,
}

fn names(meta: &Metadata, reference: &str) -> bool {
    meta.is_named(reference) || meta.title == reference
}

/// Counts matches and correlation alerts as a corpus is replayed, then judges them.
///
/// Rules and correlations are numbered together as subjects: detection rule `i` is subject `i`,
/// correlation `c` of the set is subject `rules.len() + c`.
#[derive(Debug)]
pub struct Tally<'a> {
    expectations: &'a Expectations,
    /// Per subject, its metadata.
    subjects: Vec<&'a Metadata>,
    /// Per subject, whether `ruleproof match` prints its matches or alerts: a rule or
    /// correlation that only feeds a correlation (`generate: false`) is counted for the
    /// expectations that name it but is never unexpected.
    reported: Vec<bool>,
    rule_count: usize,
    /// Per subject, the expectations and allowlist entries that name it.
    expected_for: Vec<Vec<usize>>,
    allowed_for: Vec<Vec<usize>>,
    files: Vec<String>,
    counts: HashMap<(usize, usize), u64>,
    allowed: Vec<u64>,
    unexpected: Vec<UnexpectedMatch>,
    unexpected_total: usize,
    events: usize,
    bad_records: usize,
}

impl<'a> Tally<'a> {
    /// A tally with nothing counted yet; resolves which rules and correlations each expectation
    /// and allowlist entry names once, up front. `correlations` is compiled against `rules`.
    pub fn new(
        expectations: &'a Expectations,
        rules: &'a [CompiledRule],
        correlations: &'a CorrelationSet,
    ) -> Tally<'a> {
        let correlation_list = correlations.correlations();
        let subjects: Vec<&Metadata> = rules
            .iter()
            .map(|r| &*r.meta)
            .chain(correlation_list.iter().map(|c| &*c.meta))
            .collect();
        let reported = (0..rules.len())
            .map(|r| correlations.reports_rule(r))
            .chain((0..correlation_list.len()).map(|c| correlations.reports_correlation(c)))
            .collect();
        let expected_for = subjects
            .iter()
            .map(|m| {
                (0..expectations.expectations.len())
                    .filter(|i| names(m, &expectations.expectations[*i].rule))
                    .collect()
            })
            .collect();
        let allowed_for = subjects
            .iter()
            .map(|m| {
                (0..expectations.allowlist.len())
                    .filter(|i| names(m, &expectations.allowlist[*i].rule))
                    .collect()
            })
            .collect();
        Tally {
            expectations,
            subjects,
            reported,
            rule_count: rules.len(),
            expected_for,
            allowed_for,
            files: Vec::new(),
            counts: HashMap::new(),
            allowed: vec![0; expectations.allowlist.len()],
            unexpected: Vec::new(),
            unexpected_total: 0,
            events: 0,
            bad_records: 0,
        }
    }

    /// Starts a corpus file; returns its number for [`Tally::record`].
    pub fn add_file(&mut self, name: &str) -> usize {
        self.files.push(name.to_owned());
        self.files.len() - 1
    }

    /// Counts a record that was not an event (reported, does not fail the backtest).
    pub fn bad_record(&mut self) {
        self.bad_records += 1;
    }

    /// Counts one event's matches.
    pub fn record(&mut self, file: usize, matched: &Matched<'_>) {
        self.events += 1;
        for &rule in matched.rules {
            self.count(rule, file, matched.line, matched.number, matched.event);
        }
    }

    /// Counts one correlation alert (an evaluation whose condition held), raised in `file`.
    /// Allowlist `where:` entries are matched against the alert's group: each `group-by` name
    /// (aliases as written) with the group's value. The alert's line is its raising event's,
    /// and its `event` number is `match`'s: that line counted from 0.
    pub fn record_alert(&mut self, file: usize, alert: &Evaluation) {
        let group: serde_json::Map<String, Value> = alert
            .group
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        let event = alert.event as usize;
        self.count(
            self.rule_count + alert.correlation,
            file,
            event + 1,
            event,
            &Value::Object(group),
        );
    }

    /// Counts one match of subject `subject`: set aside by the first allowlist entry that covers
    /// `event`, else counted, and listed as unexpected when reported and no expectation covers it.
    fn count(&mut self, subject: usize, file: usize, line: usize, number: usize, event: &Value) {
        let name = &self.files[file];
        if let Some(&entry) = self.allowed_for[subject]
            .iter()
            .find(|&&a| self.expectations.allowlist[a].covers(name, event))
        {
            self.allowed[entry] += 1;
            return;
        }
        *self.counts.entry((subject, file)).or_default() += 1;
        let covered = self.expected_for[subject].iter().any(|&e| {
            self.expectations.expectations[e]
                .file
                .as_ref()
                .is_none_or(|g| g.matches(name))
        });
        if !covered && self.reported[subject] {
            self.unexpected_total += 1;
            if self.unexpected.len() < MAX_LISTED {
                self.unexpected.push(UnexpectedMatch {
                    rule: self.subjects[subject].reference().to_owned(),
                    title: self.subjects[subject].title.clone(),
                    file: name.clone(),
                    line,
                    event: number,
                });
            }
        }
    }

    /// Judges every expectation and the unexpected matches.
    pub fn finish(self, unexpected: Unexpected) -> BacktestReport {
        let mut results = Vec::new();
        for (i, e) in self.expectations.expectations.iter().enumerate() {
            let rules: Vec<usize> = (0..self.subjects.len())
                .filter(|r| self.expected_for[*r].contains(&i))
                .collect();
            let count: u64 = self
                .counts
                .iter()
                .filter(|((rule, file), _)| {
                    rules.contains(rule)
                        && e.file
                            .as_ref()
                            .is_none_or(|g| g.matches(&self.files[*file]))
                })
                .map(|(_, n)| *n)
                .sum();
            let problem = rules.is_empty().then(|| {
                format!(
                    "no loaded rule or correlation has the id, name or title `{}`",
                    e.rule
                )
            });
            results.push(ExpectationResult {
                rule: e.rule.clone(),
                title: rules.first().map(|r| self.subjects[*r].title.clone()),
                file: e.file.as_ref().map(|g| g.text.clone()),
                expected: e.bound.to_string(),
                bound: e.bound,
                actual: count,
                passed: problem.is_none() && e.bound.holds(count),
                problem,
            });
        }
        let allowed = self
            .expectations
            .allowlist
            .iter()
            .zip(&self.allowed)
            .map(|(a, n)| AllowedCount {
                rule: a.rule.clone(),
                reason: a.reason.clone(),
                matches: *n,
            })
            .collect();
        let passed = results.iter().all(|r| r.passed)
            && (unexpected == Unexpected::Allow || self.unexpected_total == 0);
        BacktestReport {
            files: self.files,
            events: self.events,
            bad_records: self.bad_records,
            results,
            unexpected_policy: unexpected,
            unexpected_total: self.unexpected_total,
            unexpected: self.unexpected,
            allowed,
            passed,
        }
    }
}

/// The verdict on one expectation.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationResult {
    /// The rule reference as written in the expectation.
    pub rule: String,
    /// The title of the first loaded rule or correlation it names; `None` when it names none.
    pub title: Option<String>,
    /// The expectation's file glob as written, if it has one.
    pub file: Option<String>,
    /// The bound in words (`exactly 3`, `at least 1`, …).
    pub expected: String,
    /// The bound itself.
    pub bound: Bound,
    /// Matches counted (allowlisted ones excluded).
    pub actual: u64,
    /// Whether a rule was found and the count is within the bound.
    pub passed: bool,
    /// Why it failed other than by count (no loaded rule by that reference).
    pub problem: Option<String>,
}

/// A match or correlation alert no expectation covers (allowlisted ones are not unexpected).
#[derive(Clone, Debug, Serialize)]
pub struct UnexpectedMatch {
    /// The rule's or correlation's reference: its id, else its name, else its title.
    pub rule: String,
    /// The rule's or correlation's title.
    pub title: String,
    /// The corpus file, as given.
    pub file: String,
    /// The 1-based line the event's record starts on (for an alert, the raising event's).
    pub line: usize,
    /// The event's position in its file, counting from 0; for a correlation alert, the raising
    /// event numbered as `ruleproof match` numbers it (its line counted from 0).
    pub event: usize,
}

/// How many matches one allowlist entry set aside.
#[derive(Clone, Debug, Serialize)]
pub struct AllowedCount {
    /// The rule reference as written in the entry.
    pub rule: String,
    /// The entry's reason, if given.
    pub reason: Option<String>,
    /// Matches it covered (0 for an entry that no longer applies).
    pub matches: u64,
}

/// The outcome of a backtest: serialised as the `ruleproof.backtest/1` JSON shape (see
/// [`BacktestReport::json`]) and rendered as text or JUnit.
#[derive(Clone, Debug, Serialize)]
pub struct BacktestReport {
    /// The corpus files, in the order they were read.
    pub files: Vec<String>,
    /// Events read over all files.
    pub events: usize,
    /// Records that were not events.
    pub bad_records: usize,
    /// One verdict per expectation, in file order.
    pub results: Vec<ExpectationResult>,
    /// Whether unexpected matches fail the backtest.
    pub unexpected_policy: Unexpected,
    /// All unexpected matches, counted.
    pub unexpected_total: usize,
    /// The first unexpected matches (all are counted in `unexpected_total`).
    pub unexpected: Vec<UnexpectedMatch>,
    /// One count per allowlist entry, in file order.
    pub allowed: Vec<AllowedCount>,
    /// Whether every expectation held and, under [`Unexpected::Fail`], nothing was unexpected.
    /// The run fails too when `bad_records` is not 0 (see [`BacktestReport::run_passed`]).
    pub passed: bool,
}

impl BacktestReport {
    /// Whether the run passes: the expectations were met and every record could be read (an
    /// unreadable one may have held a match, so no count is proven without it).
    pub fn run_passed(&self) -> bool {
        self.passed && self.bad_records == 0
    }

    /// The report for a terminal: a `PASS`/`FAIL` line per expectation, the unexpected matches
    /// (as `FAIL` or `NOTE` by policy), allowlist counts, and a summary line.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let mark = if r.passed { "PASS" } else { "FAIL" };
            let file = r
                .file
                .as_ref()
                .map(|f| format!(" in {f}"))
                .unwrap_or_default();
            let _ = write!(out, "{mark} {}", r.rule);
            if let Some(title) = r.title.as_ref().filter(|t| **t != r.rule) {
                let _ = write!(out, " ({title})");
            }
            let _ = writeln!(out, ": expected {}{file}, got {}", r.expected, r.actual);
            if let Some(problem) = &r.problem {
                let _ = writeln!(out, "     {problem}");
            }
        }
        if self.unexpected_total > 0 {
            let verdict = match self.unexpected_policy {
                Unexpected::Fail => "FAIL",
                Unexpected::Allow => "NOTE",
            };
            let _ = writeln!(
                out,
                "{verdict} {} match(es) not covered by an expectation or the allowlist:",
                self.unexpected_total
            );
            for u in &self.unexpected {
                let _ = writeln!(out, "     {}:{}: {} ({})", u.file, u.line, u.rule, u.title);
            }
            if self.unexpected.len() < self.unexpected_total {
                let _ = writeln!(
                    out,
                    "     … and {} more",
                    self.unexpected_total - self.unexpected.len()
                );
            }
        }
        for a in self.allowed.iter().filter(|a| a.matches > 0) {
            let reason = a
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let _ = writeln!(out, "ALLOWED {} × {}{reason}", a.matches, a.rule);
        }
        let failed = self.results.iter().filter(|r| !r.passed).count();
        let _ = writeln!(
            out,
            "{} events in {} file(s) ({} unreadable records); {} expectation(s), {failed} failed; {} unexpected match(es); {}",
            self.events,
            self.files.len(),
            self.bad_records,
            self.results.len(),
            self.unexpected_total,
            if self.run_passed() {
                "passed"
            } else {
                "FAILED"
            }
        );
        out
    }

    /// The report as JSON, with its versioned `format` ([`BACKTEST_FORMAT`]).
    pub fn json(&self) -> Value {
        // `format` first: JSON objects keep the order they are written in.
        let mut value = Value::Object(serde_json::Map::from_iter([(
            "format".to_owned(),
            Value::from(BACKTEST_FORMAT),
        )]));
        if let (Some(map), Ok(Value::Object(fields))) =
            (value.as_object_mut(), serde_json::to_value(self))
        {
            map.extend(fields);
        }
        value
    }

    /// The report as JUnit XML (one suite, `expectations`): a test case per expectation, plus
    /// one for "no unexpected matches" under [`Unexpected::Fail`].
    pub fn junit(&self) -> String {
        let mut report = Report::new("ruleproof-backtest");
        let mut suite = TestSuite::new("expectations");
        for r in &self.results {
            let name = match &r.file {
                Some(f) => format!("{} [{f}]", r.rule),
                None => r.rule.clone(),
            };
            let status = if r.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(
                    r.problem
                        .clone()
                        .unwrap_or_else(|| format!("expected {}, got {}", r.expected, r.actual)),
                );
                status
            };
            suite.add_test_case(TestCase::new(name, status));
        }
        if self.unexpected_policy == Unexpected::Fail {
            let status = if self.unexpected_total == 0 {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let first = self
                    .unexpected
                    .first()
                    .map(|u| format!("; first: {} at {}:{}", u.rule, u.file, u.line))
                    .unwrap_or_default();
                status.set_message(format!(
                    "{} unexpected match(es){first}",
                    self.unexpected_total
                ));
                status
            };
            suite.add_test_case(TestCase::new("no unexpected matches", status));
        }
        report.add_test_suite(suite);
        report.to_string().unwrap_or_default()
    }
}

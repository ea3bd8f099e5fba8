//! SigmaHQ's `regression_data` layout: every `info.yml` names rules (`rule_metadata[].id`) and
//! tests (`regression_tests_info[]`) whose `.evtx` sample has a sibling `.json` holding the
//! converted events. Each test runs the JSON through the rule and checks it matches at least
//! `match_count` times (once when not given). When the id is a correlation rule's, the sample is
//! one sequence through every rule and correlation it builds on, and its alerts are counted.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use ruleproof_sigma::CompiledRule;
use ruleproof_sigma::correlation::{CorrelationEngine, CorrelationSet, EngineOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::read_all;
use crate::logsource::first_line;

/// Why a regression run cannot start at all (problems with single `info.yml` files are
/// collected in [`RegressionReport::errors`] instead).
#[derive(Debug, thiserror::Error)]
pub enum RegressionError {
    /// The regression directory (held as given) does not exist or is not a directory.
    #[error("{0}: no such directory")]
    Missing(String),
}

#[derive(Debug, Deserialize)]
struct Info {
    #[serde(default)]
    rule_metadata: Vec<RuleMeta>,
    #[serde(default)]
    regression_tests_info: Vec<TestInfo>,
}

#[derive(Debug, Deserialize)]
struct RuleMeta {
    id: String,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TestInfo {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    match_count: Option<u64>,
    #[serde(default)]
    path: Option<String>,
}

/// The outcome of one regression test (serialised in lowercase: `pass`, `fail`, `unsupported`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The sample read cleanly and the rule matched it at least `match_count` times.
    Pass,
    /// Too few matches, an unreadable sample or bad record, or no loaded rule with the id.
    Fail,
    /// The test's type or sample is not something ruleproof can run.
    Unsupported,
}

/// The version of the regression JSON shape; it changes when a field changes meaning.
pub const REGRESSION_FORMAT: &str = "ruleproof.regression/1";

/// One test of one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RegressionResult {
    /// The `info.yml` the test is described in.
    pub info: String,
    /// The rule's id, from `rule_metadata[].id`.
    pub rule: String,
    /// The loaded rule's title, else the title `info.yml` gives, if any.
    pub title: Option<String>,
    /// The test's `name`, else `test N` (1-based position in `regression_tests_info`).
    pub test: String,
    /// The test's `type` as written (only `evtx` is run).
    pub kind: Option<String>,
    /// The test's `provider` as written (informational).
    pub provider: Option<String>,
    /// The `.json` sample that was run, once one was found.
    pub sample: Option<String>,
    /// The test's `match_count`, 1 when not given.
    pub expected_at_least: u64,
    /// Events of the sample the rule matched; for a correlation rule, its alerts.
    pub matches: u64,
    /// Events read from the sample.
    pub events: usize,
    /// The outcome.
    pub status: Status,
    /// Why it failed or is unsupported, and for failures the rule's explanation on the first
    /// event.
    pub explanation: Option<String>,
}

/// The outcome of a whole regression run, in `info.yml` path order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RegressionReport {
    /// One result per rule id and test of each `info.yml`.
    pub results: Vec<RegressionResult>,
    /// `info.yml` files that could not be read, as messages.
    pub errors: Vec<String>,
}

impl RegressionReport {
    /// How many results have this status.
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// Whether the run passes: no unreadable `info.yml` and no failed test (unsupported tests
    /// do not fail it).
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.count(Status::Fail) == 0
    }

    /// The report for a terminal: a `PASS`/`FAIL`/`SKIP` line per test (with the explanation
    /// indented under failures and skips), the errors, and a summary line.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let mark = match r.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Unsupported => "SKIP",
            };
            let title = r
                .title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            let _ = writeln!(out, "{mark} {}{title}: {}", r.rule, r.test);
            if r.status != Status::Pass
                && let Some(explanation) = &r.explanation
            {
                for line in explanation.lines() {
                    let _ = writeln!(out, "     {line}");
                }
            }
        }
        for e in &self.errors {
            let _ = writeln!(out, "ERROR {e}");
        }
        let _ = writeln!(
            out,
            "{} passed, {} failed, {} unsupported, {} unreadable info file(s)",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Unsupported),
            self.errors.len()
        );
        out
    }

    /// The report as JSON, with its versioned `format` ([`REGRESSION_FORMAT`]) and a summary.
    pub fn json(&self) -> Value {
        // `format` first: JSON objects keep the order they are written in.
        let mut value = Value::Object(serde_json::Map::from_iter([(
            "format".to_owned(),
            Value::from(REGRESSION_FORMAT),
        )]));
        if let (Some(map), Ok(Value::Object(fields))) =
            (value.as_object_mut(), serde_json::to_value(self))
        {
            map.extend(fields);
            map.insert(
                "summary".to_owned(),
                serde_json::json!({
                    "pass": self.count(Status::Pass),
                    "fail": self.count(Status::Fail),
                    "unsupported": self.count(Status::Unsupported),
                    "errors": self.errors.len(),
                }),
            );
        }
        value
    }

    /// The report as JUnit XML (one suite, `regression_data`): failures as failures, unsupported
    /// tests as skipped, unreadable `info.yml` files as errors.
    pub fn junit(&self) -> String {
        let mut report = Report::new("ruleproof-regression");
        let mut suite = TestSuite::new("regression_data");
        for r in &self.results {
            let status = match r.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(
                        r.explanation
                            .as_deref()
                            .map(first_line)
                            .unwrap_or_else(|| "failed".to_owned()),
                    );
                    if let Some(explanation) = &r.explanation {
                        status.set_description(explanation.clone());
                    }
                    status
                }
                Status::Unsupported => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(r.explanation.clone().unwrap_or_default());
                    status
                }
            };
            suite.add_test_case(TestCase::new(format!("{}: {}", r.rule, r.test), status));
        }
        for e in &self.errors {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.clone());
            suite.add_test_case(TestCase::new("info.yml", status));
        }
        report.add_test_suite(suite);
        report.to_string().unwrap_or_default()
    }
}

/// The rules a regression run tests: detection rules, and correlations compiled against them
/// with the options their sequences are evaluated with.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    /// The detection rules; `correlations` refers to them by index.
    pub detection: &'a [CompiledRule],
    /// The correlation rules, compiled against `detection`.
    pub correlations: &'a CorrelationSet,
    /// Timestamp fields, lateness and re-alerting for the correlations.
    pub options: &'a EngineOptions,
}

/// What a test's rule id names among the loaded rules.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Detection(&'a CompiledRule),
    /// A correlation, by its index in the set.
    Correlation(usize),
}

/// Runs every test under `dir` against the rules.
///
/// # Errors
/// [`RegressionError::Missing`] when `dir` is not a directory.
pub fn run(dir: &Path, rules: Rules<'_>) -> Result<RegressionReport, RegressionError> {
    if !dir.is_dir() {
        return Err(RegressionError::Missing(dir.display().to_string()));
    }
    let walked = ruleproof_files::walk(dir, &|p| p.file_name().is_some_and(|n| n == "info.yml"));
    let mut files = walked.files;
    files.sort();
    let mut report = RegressionReport {
        errors: walked.problems.iter().map(ToString::to_string).collect(),
        ..RegressionReport::default()
    };
    for info_path in files {
        let info: Info = match std::fs::read_to_string(&info_path)
            .map_err(|e| format!("{}: cannot read: {e}", info_path.display()))
            .and_then(|t| {
                serde_saphyr::from_str(&t)
                    .map_err(|e| ruleproof_sigma::yaml::located_error(&info_path, &e))
            }) {
            Ok(info) => info,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        for meta in &info.rule_metadata {
            let rule = rules
                .detection
                .iter()
                .find(|r| r.meta.id.as_deref() == Some(&meta.id))
                .map(Subject::Detection)
                .or_else(|| {
                    rules
                        .correlations
                        .correlations()
                        .iter()
                        .position(|c| c.meta.id.as_deref() == Some(&meta.id))
                        .map(Subject::Correlation)
                });
            for (i, test) in info.regression_tests_info.iter().enumerate() {
                report
                    .results
                    .push(run_test(dir, &info_path, meta, rules, rule, test, i));
            }
        }
    }
    Ok(report)
}

fn run_test(
    root: &Path,
    info_path: &Path,
    meta: &RuleMeta,
    rules: Rules<'_>,
    subject: Option<Subject<'_>>,
    test: &TestInfo,
    number: usize,
) -> RegressionResult {
    let expected = test.match_count.unwrap_or(1);
    let mut result = RegressionResult {
        info: info_path.display().to_string(),
        rule: meta.id.clone(),
        title: subject
            .map(|s| match s {
                Subject::Detection(r) => r.meta.title.clone(),
                Subject::Correlation(c) => rules.correlations.correlations()[c].meta.title.clone(),
            })
            .or_else(|| meta.title.clone()),
        test: test
            .name
            .clone()
            .unwrap_or_else(|| format!("test {}", number + 1)),
        kind: test.kind.clone(),
        provider: test.provider.clone(),
        sample: None,
        expected_at_least: expected,
        matches: 0,
        events: 0,
        status: Status::Unsupported,
        explanation: None,
    };
    let kind = test.kind.as_deref().unwrap_or("");
    if !kind.eq_ignore_ascii_case("evtx") {
        result.explanation = Some(format!(
            "tests of type `{kind}` are not supported (only `evtx`)"
        ));
        return result;
    }
    let Some(sample) = test
        .path
        .as_deref()
        .and_then(|p| find_sample(root, info_path, p))
    else {
        result.explanation = Some(format!(
            "neither the `.evtx` nor a `.json` conversion of it found for `{}`",
            test.path.as_deref().unwrap_or("(no path)")
        ));
        return result;
    };
    result.sample = Some(sample.display().to_string());
    let Some(subject) = subject else {
        result.status = Status::Fail;
        result.explanation = Some(format!(
            "no loaded rule or correlation has the id `{}`; pass its directory with --rules",
            meta.id
        ));
        return result;
    };
    let (events, errors) = match read_all(&sample) {
        Ok(read) => read,
        Err(e) => {
            result.status = Status::Fail;
            result.explanation = Some(e.to_string());
            return result;
        }
    };
    result.events = events.len();
    let rule = match subject {
        Subject::Detection(rule) => rule,
        Subject::Correlation(correlation) => {
            run_sequence(&mut result, rules, correlation, &events, &sample, &errors);
            return result;
        }
    };
    result.matches = events.iter().filter(|e| rule.matches(&e.value)).count() as u64;
    let matches = result.matches;
    judge(&mut result, &sample, &errors, || {
        let mut text = format!(
            "matched {matches} of {} event(s); expected at least {expected}",
            events.len()
        );
        // The first event the rule misses says most about why the test fails.
        if let Some((index, missed)) = events
            .iter()
            .enumerate()
            .find(|(_, e)| !rule.matches(&e.value))
        {
            let _ = write!(
                text,
                "\nevent {} does not match:\n{}",
                index + 1,
                rule.explain(&missed.value)
            );
        }
        text
    });
    result
}

/// Sets a test's status from its matches: failed on the sample's first unreadable record,
/// passed at `expected_at_least` matches or more, else failed with the text `shortfall` gives.
fn judge(
    result: &mut RegressionResult,
    sample: &Path,
    errors: &[crate::events::RecordError],
    shortfall: impl FnOnce() -> String,
) {
    if let Some(error) = errors.first() {
        result.status = Status::Fail;
        result.explanation = Some(error.located(&sample.display().to_string()));
    } else if result.matches >= result.expected_at_least {
        result.status = Status::Pass;
    } else {
        result.status = Status::Fail;
        result.explanation = Some(shortfall());
    }
}

/// Runs a correlation's test: the sample's events in file order are one sequence (as a corpus
/// file is for `ruleproof match`), each matched against every detection rule a correlation uses,
/// and the correlation's alerts are the test's matches.
fn run_sequence(
    result: &mut RegressionResult,
    rules: Rules<'_>,
    correlation: usize,
    events: &[crate::events::Event],
    sample: &Path,
    errors: &[crate::events::RecordError],
) {
    let mut engine = CorrelationEngine::new(rules.correlations, rules.options.clone());
    let mut evaluations = Vec::new();
    let mut skipped = Vec::new();
    let mut matched = Vec::new();
    for (index, event) in events.iter().enumerate() {
        matched.clear();
        matched.extend((0..rules.detection.len()).filter(|&r| {
            rules.correlations.uses_rule(r) && rules.detection[r].matches(&event.value)
        }));
        if let Err(why) = engine.push(index as u64, &event.value, &matched, &mut evaluations) {
            skipped.push(format!("{}:{}: {why}", sample.display(), event.line));
        }
    }
    engine.finish(&mut evaluations);
    result.matches = evaluations
        .iter()
        .filter(|e| e.held && e.correlation == correlation)
        .count() as u64;
    let (matches, expected) = (result.matches, result.expected_at_least);
    judge(result, sample, errors, || {
        let mut text = format!(
            "the correlation raised {matches} alert(s) over {} event(s); expected at least {expected}",
            events.len()
        );
        if let Some(first) = skipped.first() {
            let _ = write!(
                text,
                "\n{} event(s) left out of correlations (first: {first})",
                skipped.len()
            );
        }
        text
    });
}

/// The `.json` conversion next to the `.evtx` a test names, else the `.evtx` itself (read
/// natively). SigmaHQ writes paths from the repository root
/// (`regression_data/rules/…`), so they are tried against the regression directory and its
/// ancestors, and the file name against the `info.yml`'s directory.
fn find_sample(root: &Path, info_path: &Path, path: &str) -> Option<PathBuf> {
    ["json", "evtx"].into_iter().find_map(|extension| {
        let relative = Path::new(path).with_extension(extension);
        let mut candidates = Vec::new();
        if let (Some(dir), Some(name)) = (info_path.parent(), relative.file_name()) {
            candidates.push(dir.join(name));
        }
        // Ancestors of the directory as given on the command line (`data`) include the
        // directories above it only once it is absolute.
        let absolute = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
        candidates.push(root.join(&relative));
        let mut base = Some(absolute.as_path());
        while let Some(dir) = base {
            candidates.push(dir.join(&relative));
            base = dir.parent();
        }
        candidates.into_iter().find(|c| c.is_file())
    })
}

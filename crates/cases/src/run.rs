//! Running test-case files: every case through the engine, with verdicts, reasons and explanations.

use std::path::{Path, PathBuf};

use ruleproof_sigma::explain::SearchExplain;
use ruleproof_sigma::yaml::Limits;
use ruleproof_sigma::{CompiledFilter, Explanation, Metadata, Span};
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::format::{Case, Scenario, TestCaseFile, Verdict, parse_test_case_file};
use crate::ruleset::{LoadedCorrelation, LoadedRule, RuleSet, yaml_files};
use crate::sequence::{SequenceResult, run_sequences};

/// Where the runner finds things.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The repository root: rule paths in test-case files are relative to it.
    pub root: PathBuf,
    /// Where the rules and meta-filters are loaded from (`rules/` by default).
    pub rules_dir: PathBuf,
    /// Where the test-case files are, mirroring the layout of `rules_dir`.
    pub cases_dir: PathBuf,
}

impl Layout {
    /// The conventional layout under a root: `rules/` and `test-cases/`.
    pub fn at(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
            rules_dir: root.join("rules"),
            cases_dir: root.join("test-cases"),
        }
    }

    /// The test-case paths that command-line paths select: a rule file under the rules directory
    /// selects its test-case file, a directory of rules its directory of test cases; other paths
    /// are taken as they are. No paths select the whole test-case directory.
    pub fn select_test_cases(&self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let rules_dir = self.rules_dir.canonicalize().ok();
        let mut selected: Vec<PathBuf> =
            paths
                .iter()
                .map(|path| {
                    let mapped = path.canonicalize().ok().zip(rules_dir.as_deref()).and_then(
                        |(p, rules)| p.strip_prefix(rules).ok().map(|r| self.cases_dir.join(r)),
                    );
                    match mapped {
                        Some(p) if path.is_file() => p.with_extension("yml"),
                        Some(p) => p,
                        None => path.clone(),
                    }
                })
                .collect();
        if selected.is_empty() {
            selected.push(self.cases_dir.clone());
        }
        selected
    }

    /// The test-case file that belongs to a rule file: the same relative path under `test-cases/`.
    pub fn test_case_path_for(&self, rule_path: &Path) -> Option<PathBuf> {
        let relative = rule_path.strip_prefix(&self.rules_dir).ok()?;
        Some(self.cases_dir.join(relative))
    }
}

/// A rule's KQL, prepared for checking against the rule's fixtures.
pub trait PreparedKql {
    /// The KQL's verdict for a fixture event (already in Sigma field names), or for a record
    /// given directly in the target schema.
    fn evaluate(&self, sigma_event: &Value, record: Option<&Value>) -> KqlVerdict;
}

/// What the KQL said about one event.
#[derive(Clone, Debug)]
pub struct KqlVerdict {
    /// Whether the KQL query matched the event.
    pub matched: bool,
    /// The evaluator's explanation tree, rendered.
    pub explanation: String,
}

/// Finds and prepares a rule's KQL. The runner knows nothing of KQL beyond this.
pub trait KqlParity {
    /// `None` when the rule has no KQL; `Err` (with a position-bearing message) when it cannot be used.
    fn prepare(
        &self,
        rule: &LoadedRule,
        pipeline: Option<&str>,
    ) -> Option<Result<Box<dyn PreparedKql>, Diagnostic>>;

    /// The KQL of correlation `index` of `rules`, for its sequence cases: `None` when it has
    /// none; `Err` (with a position-bearing message) when it cannot be used.
    fn prepare_correlation(
        &self,
        rules: &RuleSet,
        index: usize,
        pipeline: Option<&str>,
    ) -> Option<Result<Box<dyn PreparedCorrelationKql>, Diagnostic>>;
}

/// A correlation's KQL, prepared for checking against its sequence cases.
pub trait PreparedCorrelationKql {
    /// The alerts the KQL raises on a sequence of events (in Sigma field names, in order), in
    /// any order.
    ///
    /// # Errors
    /// A message when the query cannot run on them.
    fn alerts(&self, events: &[&Value]) -> Result<Vec<KqlAlert>, String>;
}

/// One alert of a correlation's KQL.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KqlAlert {
    /// When the observation that raised it happened, RFC 3339 with milliseconds (UTC), as the
    /// engine's `window_end`.
    pub time: String,
    /// The group-by values.
    pub group: Map<String, Value>,
    /// The count or aggregate the condition held for.
    pub value: f64,
}

/// How a case (or one of its checks) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The check held: verdict and reason as expected.
    Pass,
    /// The check did not hold, and the case is not marked `xfail`.
    Fail,
    /// Marked `xfail` and failing as it says.
    ExpectedFailure,
    /// Marked `xfail` but passing: the mark is stale, which fails the run.
    UnexpectedPass,
}

impl Outcome {
    /// Whether this outcome fails the run: a failure, or a stale `xfail` mark.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::UnexpectedPass)
    }

    fn with_xfail(failed: bool, xfail: bool) -> Outcome {
        match (failed, xfail) {
            (false, false) => Outcome::Pass,
            (true, false) => Outcome::Fail,
            (true, true) => Outcome::ExpectedFailure,
            (false, true) => Outcome::UnexpectedPass,
        }
    }
}

/// One evaluation of the rule (plain, or with meta-filters) against a case's event.
#[derive(Clone, Debug)]
pub struct Check {
    /// The verdict the case expects.
    pub expect: Verdict,
    /// The verdict the rule gave.
    pub actual: Verdict,
    /// Searches that must be the reason for the verdict.
    pub reason: Vec<String>,
    /// Searches that were (true selections for a match, negated filters for a no-match).
    pub actual_reason: Vec<String>,
    /// The engine's explanation of the evaluation, for reports.
    pub explanation: Explanation,
    /// Why this check failed, one sentence each; empty when it passed.
    pub problems: Vec<String>,
}

impl Check {
    /// Whether any problem was found (xfail is not taken into account here).
    pub fn failed(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// The KQL parity check of one case.
#[derive(Clone, Debug)]
pub struct KqlCheck {
    /// The Sigma verdict of the plain check (without meta-filters).
    pub sigma: Verdict,
    /// The KQL verdict for the same event (or for the case's own KQL record).
    pub kql: Verdict,
    /// The KQL evaluator's explanation, rendered.
    pub explanation: String,
    /// The reason of the case's `kql.xfail` mark, when the mismatch is expected.
    pub xfail: Option<String>,
    /// Pass when the two verdicts agree, with `xfail` taken into account.
    pub outcome: Outcome,
}

#[derive(Clone, Debug)]
/// The result of one case of a detection rule's test-case file.
pub struct CaseResult {
    /// The case's `name`.
    pub name: String,
    /// 1-based line of the case in its test-case file.
    pub line: u32,
    /// 1-based column of the case in its test-case file.
    pub col: u32,
    /// The scenario id the case belongs to, if any.
    pub scenario: Option<String>,
    /// The reason of the case's `xfail` mark, if it has one.
    pub xfail: Option<String>,
    /// The rule evaluated on its own, without meta-filters.
    pub check: Check,
    /// With `with_filters:`, the references of the meta-filters applied and the check of the rule
    /// with them applied.
    pub with_filters: Option<(Vec<String>, Check)>,
    /// The outcome of the Sigma checks (plain and filtered), with `xfail` taken into account.
    pub outcome: Outcome,
    /// The KQL parity check, when one was asked for and the rule has KQL.
    pub kql: Option<KqlCheck>,
    /// The case's event, as given, for reports and coverage.
    pub event: Value,
}

impl CaseResult {
    /// Whether anything about this case fails the run.
    pub fn is_failure(&self) -> bool {
        self.outcome.is_failure() || self.kql.as_ref().is_some_and(|k| k.outcome.is_failure())
    }
}

/// A rule as reports name it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RuleSummary {
    /// The rule's `title`.
    pub title: String,
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// The rule file's path, as found under the rules directory.
    pub path: PathBuf,
    /// The rule's `status` (`stable`, `test`, `experimental`, …), if given.
    pub status: Option<String>,
    /// The rule's `level` (`informational` … `critical`), if given.
    pub level: Option<String>,
    /// The rule's `falsepositives:` entries.
    pub falsepositives: Vec<String>,
    /// The rule's `tags:` (e.g. `attack.t1059.001`), for the ATT&CK layer of `coverage
    /// --format navigator`; not part of the test-results JSON.
    #[serde(skip)]
    pub tags: Vec<String>,
}

impl RuleSummary {
    /// The summary of a loaded rule.
    pub fn of(rule: &LoadedRule) -> RuleSummary {
        RuleSummary::from_meta(&rule.rule.meta, &rule.path)
    }

    fn of_correlation(correlation: &LoadedCorrelation) -> RuleSummary {
        RuleSummary::from_meta(&correlation.correlation.meta, &correlation.path)
    }

    pub(crate) fn from_meta(meta: &ruleproof_sigma::Metadata, path: &Path) -> RuleSummary {
        RuleSummary {
            title: meta.title.clone(),
            id: meta.id.clone(),
            path: path.to_owned(),
            status: meta.status.clone(),
            level: meta.level.clone(),
            falsepositives: meta.falsepositives.iter().map(|(f, _)| f.clone()).collect(),
            tags: meta.tags.clone(),
        }
    }
}

#[derive(Clone, Debug)]
/// The result of one test-case file: its cases, sequences and the problems that stopped them.
pub struct FileResult {
    /// The test-case file's path.
    pub path: PathBuf,
    /// The rule (or correlation) the file tests; `None` when the reference did not resolve or the
    /// file did not parse.
    pub rule: Option<RuleSummary>,
    /// The rule's search identifiers and their items, for coverage.
    pub scenarios: Vec<Scenario>,
    /// The results of the file's cases, in file order.
    pub cases: Vec<CaseResult>,
    /// Sequence cases, when the file tests a correlation rule.
    pub sequences: Vec<SequenceResult>,
    /// Problems that kept the file or some of its cases from running (bad references, parse
    /// errors); any fails the run.
    pub errors: Vec<Diagnostic>,
    /// The rule as the file's own `pipelines:` left it (the cases ran against it), so coverage
    /// and mutation read the same rule; `None` when the file names no pipelines.
    pub processed: Option<LoadedRule>,
}

#[derive(Clone, Debug, Default)]
/// Everything a run found: per-file results, untested rules and load problems.
pub struct RunReport {
    /// One result per test-case file run, in walk order.
    pub files: Vec<FileResult>,
    /// Rules that no test-case file names.
    pub untested: Vec<RuleSummary>,
    /// Rules and filters that failed to load, and unreadable files.
    pub load_errors: Vec<Diagnostic>,
    /// Files that could not be read at all (I/O errors), as messages.
    pub unreadable: Vec<String>,
}

/// Totals for summaries and exit codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Test-case files run.
    pub files: usize,
    /// Cases run, sequence cases included.
    pub cases: usize,
    /// Cases whose outcome is [`Outcome::Pass`].
    pub passed: usize,
    /// Cases that failed, stale `xfail` marks included.
    pub failed: usize,
    /// Cases that failed as their `xfail` mark says.
    pub expected_failures: usize,
    /// Cases with a KQL parity check.
    pub kql_checks: usize,
    /// KQL parity checks that failed.
    pub kql_failed: usize,
    /// Load problems, unreadable files and per-file errors.
    pub errors: usize,
    /// Rules that no test-case file names.
    pub untested_rules: usize,
}

impl RunReport {
    /// Counts over every file; each case is counted once, by its overall Sigma outcome.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            files: self.files.len(),
            untested_rules: self.untested.len(),
            errors: self.load_errors.len() + self.unreadable.len(),
            ..Totals::default()
        };
        for file in &self.files {
            totals.errors += file.errors.len();
            for case in &file.cases {
                totals.cases += 1;
                match case.outcome {
                    Outcome::Pass => totals.passed += 1,
                    Outcome::ExpectedFailure => totals.expected_failures += 1,
                    Outcome::Fail | Outcome::UnexpectedPass => totals.failed += 1,
                }
                if let Some(kql) = &case.kql {
                    totals.kql_checks += 1;
                    if kql.outcome.is_failure() {
                        totals.kql_failed += 1;
                    }
                }
            }
            for sequence in &file.sequences {
                totals.cases += 1;
                match sequence.outcome {
                    Outcome::Pass => totals.passed += 1,
                    Outcome::ExpectedFailure => totals.expected_failures += 1,
                    Outcome::Fail | Outcome::UnexpectedPass => totals.failed += 1,
                }
                if let Some(kql) = &sequence.kql {
                    totals.kql_checks += 1;
                    if kql.outcome.is_failure() {
                        totals.kql_failed += 1;
                    }
                }
            }
        }
        totals
    }

    /// True when every case passed and nothing failed to load.
    pub fn is_success(&self) -> bool {
        let totals = self.totals();
        totals.failed == 0 && totals.kql_failed == 0 && totals.errors == 0
    }
}

/// Runs the test-case files under `paths` (files or directories) against the rule set.
pub fn run(
    layout: &Layout,
    rules: &RuleSet,
    paths: &[PathBuf],
    kql: Option<&dyn KqlParity>,
) -> RunReport {
    let mut report = RunReport {
        load_errors: rules.diagnostics.clone(),
        unreadable: rules.unreadable.clone(),
        ..RunReport::default()
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        let walked = yaml_files(path);
        files.extend(walked.files);
        report
            .unreadable
            .extend(walked.problems.iter().map(ToString::to_string));
    }
    files.sort();
    files.dedup();
    let mut tested: Vec<PathBuf> = Vec::new();
    for path in &files {
        let result = run_file(layout, rules, path, kql);
        if let Some(rule) = &result.rule {
            tested.push(rule.path.clone());
        }
        report.files.push(result);
    }
    report.untested = rules
        .rules
        .iter()
        .filter(|r| !tested.contains(&r.path))
        .map(RuleSummary::of)
        .chain(
            rules
                .correlations
                .iter()
                .filter(|c| !tested.contains(&c.path))
                .map(RuleSummary::of_correlation),
        )
        .collect();
    report
}

/// Runs one test-case file. Problems with the file are collected; the cases that can run, run.
pub fn run_file(
    layout: &Layout,
    rules: &RuleSet,
    path: &Path,
    kql: Option<&dyn KqlParity>,
) -> FileResult {
    let mut result = FileResult {
        path: path.to_owned(),
        rule: None,
        scenarios: Vec::new(),
        cases: Vec::new(),
        sequences: Vec::new(),
        errors: Vec::new(),
        processed: None,
    };
    let limits = Limits::default();
    let source = match ruleproof_sigma::source::read_source(path, limits.max_file_bytes) {
        Ok(source) => source,
        Err(e) => {
            let (file, span, message) = e.site();
            result.errors.push(Diagnostic::new(&file, span, message));
            return result;
        }
    };
    let (parsed, diagnostics) = parse_test_case_file(&source, &limits);
    result.errors = diagnostics;
    let Some(file) = parsed else {
        return result;
    };
    if let Some(index) = rules
        .find_correlation(&file.rule.text, &layout.root)
        .and_then(|c| rules.correlations.iter().position(|x| std::ptr::eq(x, c)))
    {
        run_correlation_file(&file, rules, index, kql, &mut result);
        return result;
    }
    let Some(rule) = rules.find_rule(&file.rule.text, &layout.root) else {
        result.errors.push(Diagnostic::new(
            &source,
            file.rule.span,
            format!(
                "no rule under {} has the id, name or path `{}`",
                layout.rules_dir.display(),
                file.rule.text
            ),
        ));
        return result;
    };
    if !file.pipelines.is_empty() {
        match rules.with_pipelines(rule, &file.pipelines, &file.source, &layout.root) {
            Ok(loaded) => result.processed = Some(loaded),
            Err(diagnostics) => {
                result.rule = Some(RuleSummary::of(rule));
                result.errors.extend(diagnostics);
                return result;
            }
        }
    }
    let processed = result.processed.clone();
    let rule = processed.as_ref().unwrap_or(rule);
    result.rule = Some(RuleSummary::of(rule));
    for sequence in &file.sequences {
        result.errors.push(Diagnostic::new(
            &file.source,
            sequence.span,
            format!(
                "case `{}` is a sequence case, but `{}` is a detection rule, not a correlation",
                sequence.name, file.rule.text
            ),
        ));
    }
    check_scenarios(&file, &rule.rule.meta, &mut result.errors);
    result.scenarios = file.scenarios.clone();

    let prepared_kql = match kql
        .and_then(|k| k.prepare(rule, file.kql_pipeline.as_ref().map(|p| p.text.as_str())))
    {
        Some(Ok(prepared)) => Some(prepared),
        Some(Err(diagnostic)) => {
            result.errors.push(diagnostic);
            None
        }
        None => None,
    };

    for case in &file.cases {
        if let Some(case_result) = run_case(
            &file,
            rule,
            rules,
            case,
            prepared_kql.as_deref(),
            &mut result.errors,
        ) {
            result.cases.push(case_result);
        }
    }
    result
}

/// Runs the sequence cases of a file that tests correlation `index` of the rule set.
fn run_correlation_file(
    file: &TestCaseFile,
    rules: &RuleSet,
    index: usize,
    kql: Option<&dyn KqlParity>,
    result: &mut FileResult,
) {
    let correlation = &rules.correlations[index];
    result.rule = Some(RuleSummary::of_correlation(correlation));
    check_scenarios(file, &correlation.correlation.meta, &mut result.errors);
    result.scenarios = file.scenarios.clone();
    for case in &file.cases {
        result.errors.push(Diagnostic::new(
            &file.source,
            case.span,
            format!(
                "case `{}` has one `event`, but `{}` is a correlation: give it `events` and `expect: fires` or `no-fire`",
                case.name, file.rule.text
            ),
        ));
    }
    let set = match rules.correlation_set() {
        Ok(set) => set,
        Err(errors) => {
            for error in errors {
                result.errors.push(Diagnostic::new(
                    &correlation.source,
                    correlation
                        .correlation
                        .rules
                        .first()
                        .map_or_else(Span::default, |r| r.1),
                    error.to_string(),
                ));
            }
            return;
        }
    };
    let prepared_kql = match kql.and_then(|k| {
        k.prepare_correlation(
            rules,
            index,
            file.kql_pipeline.as_ref().map(|p| p.text.as_str()),
        )
    }) {
        Some(Ok(prepared)) => Some(prepared),
        Some(Err(diagnostic)) => {
            result.errors.push(diagnostic);
            None
        }
        None => None,
    };
    result.sequences = run_sequences(
        file,
        rules,
        &set,
        index,
        prepared_kql.as_deref(),
        &mut result.errors,
    );
}

/// Checks that each scenario quotes one of the rule's (or correlation's) `falsepositives`
/// entries, and that each case (single-event or sequence) names a declared scenario.
fn check_scenarios(file: &TestCaseFile, meta: &Metadata, errors: &mut Vec<Diagnostic>) {
    for scenario in &file.scenarios {
        if let Some(fp) = &scenario.falsepositive
            && !meta.falsepositives.iter().any(|(f, _)| f == &fp.text)
        {
            errors.push(Diagnostic::new(
                &file.source,
                fp.span,
                format!("the rule has no falsepositives entry `{}`", fp.text),
            ));
        }
    }
    let named = file
        .cases
        .iter()
        .map(|c| (&c.name, &c.scenario))
        .chain(file.sequences.iter().map(|c| (&c.name, &c.scenario)));
    for (name, scenario) in named {
        if let Some(scenario) = scenario
            && !file.scenarios.iter().any(|s| s.id.text == scenario.text)
        {
            errors.push(Diagnostic::new(
                &file.source,
                scenario.span,
                format!(
                    "case `{name}` names scenario `{}`, which the file does not declare",
                    scenario.text
                ),
            ));
        }
    }
}

fn run_case(
    file: &TestCaseFile,
    rule: &LoadedRule,
    rules: &RuleSet,
    case: &Case,
    kql: Option<&dyn PreparedKql>,
    errors: &mut Vec<Diagnostic>,
) -> Option<CaseResult> {
    let own_searches: Vec<&str> = rule.compiled.search_names().collect();
    let mut bad_reference = false;
    for reason in &case.reason {
        if !own_searches.contains(&reason.text.as_str()) {
            errors.push(Diagnostic::new(
                &file.source,
                reason.span,
                format!(
                    "`{}` is not a search identifier of the rule (it has: {})",
                    reason.text,
                    own_searches.join(", ")
                ),
            ));
            bad_reference = true;
        }
    }
    let filtered = match &case.with_filters {
        Some(with) => {
            let mut filters: Vec<&CompiledFilter> = Vec::new();
            for reference in &with.filters {
                match rules.find_filter(&reference.text) {
                    Some(f) => filters.push(&f.compiled),
                    None => {
                        errors.push(Diagnostic::new(
                            &file.source,
                            reference.span,
                            format!("no meta-filter has the id or name `{}`", reference.text),
                        ));
                        bad_reference = true;
                    }
                }
            }
            Some((with, filters))
        }
        None => None,
    };
    if bad_reference {
        return None;
    }

    let explanation = rule.compiled.explain(&case.event);
    let reason: Vec<String> = case.reason.iter().map(|r| r.text.clone()).collect();
    let mut check = evaluate(case.expect, reason, explanation, |_| true);
    // An empty event proves nothing either way; scaffolded placeholder cases start empty so that
    // they fail until someone fills them in.
    if case
        .event
        .as_object()
        .is_some_and(serde_json::Map::is_empty)
    {
        check.problems.insert(
            0,
            "the event is empty: fill in the fields of a realistic event".to_owned(),
        );
    }

    let with_filters = match filtered {
        Some((with, filters)) => {
            let names: Vec<String> = filters
                .iter()
                .map(|f| f.meta.reference().to_owned())
                .collect();
            for reason in &with.reason {
                if !filters
                    .iter()
                    .any(|f| f.search_names().any(|name| name == reason.text))
                {
                    errors.push(Diagnostic::new(
                        &file.source,
                        reason.span,
                        format!(
                            "`{}` is not a search identifier of the named filters",
                            reason.text
                        ),
                    ));
                    return None;
                }
            }
            let applied = rule.compiled.with_filters(&filters);
            let explanation = applied.explain(&case.event);
            let reason = with.reason.iter().map(|r| r.text.clone()).collect();
            Some((
                names,
                evaluate(with.expect, reason, explanation, |search| {
                    search.origin.is_some()
                }),
            ))
        }
        None => None,
    };

    let failed = check.failed() || with_filters.as_ref().is_some_and(|(_, c)| c.failed());
    let outcome = Outcome::with_xfail(failed, case.xfail.is_some());
    let kql = kql.map(|prepared| {
        let verdict = prepared.evaluate(
            &case.event,
            case.kql.as_ref().and_then(|k| k.event.as_ref()),
        );
        let xfail = case.kql.as_ref().and_then(|k| k.xfail.clone());
        let kql_verdict = Verdict::from_bool(verdict.matched);
        KqlCheck {
            sigma: check.actual,
            kql: kql_verdict,
            explanation: verdict.explanation,
            outcome: Outcome::with_xfail(kql_verdict != check.actual, xfail.is_some()),
            xfail,
        }
    });
    let position = file.source.line_col(case.span.start);
    Some(CaseResult {
        name: case.name.clone(),
        line: position.line,
        col: position.col,
        scenario: case.scenario.as_ref().map(|s| s.text.clone()),
        xfail: case.xfail.clone(),
        check,
        with_filters,
        outcome,
        kql,
        event: case.event.clone(),
    })
}

/// Compares a verdict (and its reason) with what the case expects.
fn evaluate(
    expect: Verdict,
    reason: Vec<String>,
    explanation: Explanation,
    counts_as_reason: impl Fn(&SearchExplain) -> bool,
) -> Check {
    let actual = Verdict::from_bool(explanation.matched);
    // Reasons are compared by identity (the search identifier, and whether it came from a
    // meta-filter), never by the text of a label.
    let decisive: Vec<&SearchExplain> = explanation
        .reasons(actual == Verdict::NoMatch)
        .into_iter()
        .filter(|search| counts_as_reason(search))
        .collect();
    let actual_reason: Vec<String> = decisive.iter().map(|s| s.qualified_name()).collect();
    let missing: Vec<&String> = reason
        .iter()
        .filter(|wanted| !decisive.iter().any(|s| s.name == **wanted))
        .collect();
    let mut problems = Vec::new();
    if actual != expect {
        problems.push(format!(
            "expected {}, got {}",
            expect.as_str(),
            actual.as_str()
        ));
    } else {
        let role = match expect {
            Verdict::Match => "a reason for the match",
            Verdict::NoMatch => "a filter that rejected the event",
        };
        for wanted in missing {
            problems.push(format!("`{wanted}` was expected to be {role}, but was not"));
        }
    }
    Check {
        expect,
        actual,
        reason,
        actual_reason,
        explanation,
        problems,
    }
}

/// The file's scenarios that document a rule's false-positive entry, keyed by the entry.
pub fn scenario_for_falsepositive<'a>(
    scenarios: &'a [Scenario],
    entry: &str,
) -> Option<&'a Scenario> {
    scenarios
        .iter()
        .find(|s| s.falsepositive.as_ref().is_some_and(|f| f.text == entry))
}

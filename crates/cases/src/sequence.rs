//! Running sequence cases: the events of a case, in order, through the detection rules and the
//! correlation engine, and the alerts of the tested correlation compared with the expectation.

use ruleproof_sigma::correlation::{
    CorrelationEngine, CorrelationSet, EngineOptions, Skipped, Source, format_timestamp,
};
use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::format::{SequenceCase, SequenceExpect, TestCaseFile};
use crate::ruleset::RuleSet;
use crate::run::{KqlAlert, Outcome, PreparedCorrelationKql};

/// One alert of the tested correlation during a sequence case.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SequenceAlert {
    /// 0-based index of the event that raised it.
    pub event: u64,
    /// The group-by field values of the alert (empty without `group-by`).
    pub group: Map<String, Value>,
    /// The value compared with the condition: a count, or the aggregate of `value_count` etc.
    pub value: f64,
    /// 0-based indices of the contributing events.
    pub events: Vec<u64>,
    /// Start of the correlation window, as formatted by `format_timestamp` (RFC 3339, UTC).
    pub window_start: String,
    /// End of the correlation window, formatted like `window_start`.
    pub window_end: String,
}

/// The result of one sequence case.
#[derive(Clone, Debug)]
pub struct SequenceResult {
    /// The case's `name`.
    pub name: String,
    /// 1-based line of the case in its test-case file.
    pub line: u32,
    /// 1-based column of the case in its test-case file.
    pub col: u32,
    /// The reason given when the case is expected to fail (`xfail`), if it is.
    pub xfail: Option<String>,
    /// The scenario id the case belongs to, if any.
    pub scenario: Option<String>,
    /// What the case expects of the tested correlation's alerts.
    pub expect: SequenceExpect,
    /// The alerts the tested correlation raised, in order.
    pub alerts: Vec<SequenceAlert>,
    /// Per event, the references (id, else name, else title) of the base rules it matched.
    pub matched: Vec<Vec<String>>,
    /// Events the correlations left out, with why (`events[3]: no timestamp …`).
    pub skipped: Vec<String>,
    /// The largest value the condition was compared with, per group (for coverage).
    pub peak: f64,
    /// Why the case failed, one sentence each; empty when it passed.
    pub problems: Vec<String>,
    /// Pass, fail, expected failure or unexpected pass, with `xfail` taken into account.
    pub outcome: Outcome,
    /// The KQL parity check, when the correlation has KQL.
    pub kql: Option<SequenceKqlCheck>,
}

impl SequenceResult {
    /// Whether anything about this case fails the run.
    pub fn is_failure(&self) -> bool {
        self.outcome.is_failure() || self.kql.as_ref().is_some_and(|k| k.outcome.is_failure())
    }
}

/// The KQL parity check of one sequence case: the correlation's KQL run on the same events must
/// raise the engine's alerts (the same times, group values compared case-insensitively, and
/// values).
#[derive(Clone, Debug)]
pub struct SequenceKqlCheck {
    /// The alerts the KQL raised, in time order.
    pub alerts: Vec<KqlAlert>,
    /// How the KQL disagreed with the engine, one sentence each; empty when it agreed.
    pub problems: Vec<String>,
    /// The case's `kql.xfail` reason, when a disagreement is expected.
    pub xfail: Option<String>,
    /// Pass when the KQL agreed, with `kql.xfail` taken into account.
    pub outcome: Outcome,
}

/// Runs the sequence cases of a file against correlation `index` of `rules.correlations`.
pub(crate) fn run_sequences(
    file: &TestCaseFile,
    rules: &RuleSet,
    set: &CorrelationSet,
    index: usize,
    kql: Option<&dyn PreparedCorrelationKql>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<SequenceResult> {
    let base = base_rules(set, index);
    file.sequences
        .iter()
        .filter_map(|case| {
            let mut result = run_sequence(file, rules, set, index, &base, case, errors)?;
            result.kql = kql.map(|kql| kql_check(kql, case, &result.alerts));
            Some(result)
        })
        .collect()
}

/// Runs the correlation's KQL on a sequence's events and compares its alerts with the
/// engine's.
fn kql_check(
    kql: &dyn PreparedCorrelationKql,
    case: &SequenceCase,
    engine: &[SequenceAlert],
) -> SequenceKqlCheck {
    let events: Vec<&Value> = case.events.iter().map(|e| &e.event).collect();
    let (mut alerts, mut problems) = match kql.alerts(&events) {
        Ok(alerts) => (alerts, Vec::new()),
        Err(message) => (Vec::new(), vec![format!("the KQL does not run: {message}")]),
    };
    alerts.sort_by(|a, b| a.time.cmp(&b.time));
    if problems.is_empty() {
        let key = |time: &str, group: &Map<String, Value>, value: f64| {
            let mut pairs: Vec<String> = group
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    format!("{k}={}", ruleproof_sigma::fold::fold_case(&text))
                })
                .collect();
            pairs.sort();
            // Averages may differ in the last bits between a running sum and a fresh one.
            format!("{time} {{{}}} {value:.6}", pairs.join(", "))
        };
        let mut want: Vec<String> = engine
            .iter()
            .map(|a| key(&a.window_end, &a.group, a.value))
            .collect();
        let mut got: Vec<String> = alerts
            .iter()
            .map(|a| key(&a.time, &a.group, a.value))
            .collect();
        want.sort();
        got.sort();
        if want != got {
            let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).collect();
            let extra: Vec<&String> = got.iter().filter(|g| !want.contains(g)).collect();
            problems.push(format!(
                "the KQL raised {} alert(s) where the engine raised {}; only the engine: {missing:?}; only the KQL: {extra:?}",
                got.len(),
                want.len()
            ));
        }
    }
    let xfail = case.kql_xfail.clone();
    SequenceKqlCheck {
        alerts,
        outcome: outcome(!problems.is_empty(), xfail.is_some()),
        problems,
        xfail,
    }
}

/// The detection rules a correlation is built on, through any chain of correlations.
pub(crate) fn base_rules(set: &CorrelationSet, index: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![index];
    while let Some(c) = stack.pop() {
        for source in &set.correlations()[c].sources {
            match source {
                Source::Rule(r) if !out.contains(r) => out.push(*r),
                Source::Rule(_) => {}
                Source::Correlation(inner) => stack.push(*inner),
            }
        }
    }
    out.sort_unstable();
    out
}

fn run_sequence(
    file: &TestCaseFile,
    rules: &RuleSet,
    set: &CorrelationSet,
    index: usize,
    base: &[usize],
    case: &SequenceCase,
    errors: &mut Vec<Diagnostic>,
) -> Option<SequenceResult> {
    let mut bad_reference = false;
    for reason in &case.reason {
        for rule in &reason.rules {
            if !base
                .iter()
                .any(|r| rules.rules[*r].compiled.meta.is_named(&rule.text))
            {
                let names: Vec<&str> = base
                    .iter()
                    .map(|r| rules.rules[*r].compiled.meta.reference())
                    .collect();
                errors.push(Diagnostic::new(
                    &file.source,
                    rule.span,
                    format!(
                        "`{}` is not a rule the correlation is built on (it has: {})",
                        rule.text,
                        names.join(", ")
                    ),
                ));
                bad_reference = true;
            }
        }
    }
    if bad_reference {
        return None;
    }
    // Tracing returns the evaluations whose condition did not hold too: a failure can say how
    // close the sequence came, and coverage can tell "missed by one" from "never close".
    let options = EngineOptions {
        trace: true,
        ..EngineOptions::default()
    };
    let mut engine = CorrelationEngine::new(set, options);
    let mut evaluations = Vec::new();
    let mut matched = Vec::with_capacity(case.events.len());
    let mut skipped = Vec::new();
    for (i, event) in case.events.iter().enumerate() {
        let hits: Vec<usize> = base
            .iter()
            .copied()
            .filter(|r| rules.rules[*r].compiled.matches(&event.event))
            .collect();
        matched.push(
            hits.iter()
                .map(|r| rules.rules[*r].compiled.meta.reference().to_owned())
                .collect(),
        );
        if let Err(why) = engine.push(i as u64, &event.event, &hits, &mut evaluations) {
            skipped.push(format!("{}: {}", event.origin, skipped_text(&why)));
        }
    }
    engine.finish(&mut evaluations);
    let mut peak = f64::NEG_INFINITY;
    let mut alerts = Vec::new();
    for evaluation in evaluations.iter().filter(|e| e.correlation == index) {
        peak = peak.max(evaluation.value);
        if evaluation.held {
            alerts.push(SequenceAlert {
                event: evaluation.event,
                group: evaluation
                    .group
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
                value: evaluation.value,
                events: evaluation.events.clone(),
                window_start: format_timestamp(evaluation.window_start),
                window_end: format_timestamp(evaluation.window_end),
            });
        }
    }
    let problems = compare(case, &alerts, &matched, rules);
    let position = file.source.line_col(case.span.start);
    Some(SequenceResult {
        name: case.name.clone(),
        line: position.line,
        col: position.col,
        xfail: case.xfail.clone(),
        scenario: case.scenario.as_ref().map(|s| s.text.clone()),
        expect: case.expect.clone(),
        alerts,
        matched,
        skipped,
        peak: if peak.is_finite() { peak } else { 0.0 },
        problems: problems.clone(),
        outcome: outcome(!problems.is_empty(), case.xfail.is_some()),
        kql: None,
    })
}

fn outcome(failed: bool, xfail: bool) -> Outcome {
    match (failed, xfail) {
        (false, false) => Outcome::Pass,
        (true, false) => Outcome::Fail,
        (true, true) => Outcome::ExpectedFailure,
        (false, true) => Outcome::UnexpectedPass,
    }
}

/// Why an event was skipped, as one sentence.
pub(crate) fn skipped_text(why: &Skipped) -> String {
    format!("skipped by correlations: {why}")
}

fn compare(
    case: &SequenceCase,
    alerts: &[SequenceAlert],
    matched: &[Vec<String>],
    rules: &RuleSet,
) -> Vec<String> {
    let mut problems = Vec::new();
    let expect = &case.expect;
    if !expect.fires && !alerts.is_empty() {
        problems.push(format!(
            "expected no alert, got {} (the first at event {})",
            alerts.len(),
            alerts[0].event
        ));
    }
    if expect.fires && alerts.is_empty() {
        problems.push("expected an alert, got none".to_owned());
    }
    if let Some(count) = expect.count
        && count != alerts.len()
    {
        problems.push(format!("expected {count} alerts, got {}", alerts.len()));
    }
    if let Some(groups) = &expect.groups {
        let fold = |g: &Map<String, Value>| -> Vec<(String, String)> {
            let mut pairs: Vec<(String, String)> = g
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), ruleproof_sigma::fold::fold_case(&text))
                })
                .collect();
            pairs.sort();
            pairs
        };
        let wanted: Vec<_> = groups.iter().map(fold).collect();
        let got: Vec<_> = alerts.iter().map(|a| fold(&a.group)).collect();
        if wanted != got {
            problems.push(format!(
                "expected alerts for the groups {}, got {}",
                Value::from(
                    groups
                        .iter()
                        .cloned()
                        .map(Value::Object)
                        .collect::<Vec<_>>()
                ),
                Value::from(
                    alerts
                        .iter()
                        .map(|a| Value::Object(a.group.clone()))
                        .collect::<Vec<_>>()
                )
            ));
        }
    }
    for reason in &case.reason {
        let hits = &matched[reason.event];
        for rule in &reason.rules {
            let found = rules
                .rules
                .iter()
                .filter(|r| r.compiled.meta.is_named(&rule.text))
                .any(|r| hits.iter().any(|h| h == r.compiled.meta.reference()));
            if !found {
                problems.push(format!(
                    "event {} was expected to match `{}`, but matched {}",
                    reason.event,
                    rule.text,
                    if hits.is_empty() {
                        "no rule".to_owned()
                    } else {
                        hits.join(", ")
                    }
                ));
            }
        }
    }
    problems
}

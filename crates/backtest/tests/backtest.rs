//! Expectations, the allowlist, unexpected matches and the report formats, end to end over a
//! small corpus; and the regression runner over the hand-made `regression_data` fixtures.

use std::path::{Path, PathBuf};

use ruleproof_backtest::correlate::{self, CorpusCorrelator};
use ruleproof_backtest::events::{EventSource, read_all};
use ruleproof_backtest::expect::{Expectations, Tally, Unexpected};
use ruleproof_backtest::regression::{self, Status};
use ruleproof_backtest::run::{Item, run_source};
use ruleproof_sigma::correlation::{CorrelationSet, EngineOptions};
use ruleproof_sigma::ruleset::RuleSetIndex;
use ruleproof_sigma::{Collection, CompileOptions, CompiledRule};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regression")
}

fn fixture_rules() -> Vec<CompiledRule> {
    fixture_collection().rules_with_filters()
}

fn fixture_collection() -> Collection {
    let collection = Collection::load(
        &[fixtures().join("rules")],
        &CompileOptions::default(),
        None,
    );
    assert!(collection.errors.is_empty(), "{:?}", collection.errors);
    collection
}

/// The fixture correlations, compiled against `rules`.
fn fixture_correlations(rules: &[CompiledRule]) -> CorrelationSet {
    correlate::compile(&fixture_collection().correlation_rules(), rules).unwrap()
}

/// Runs the regression fixtures under `dir` with the fixture rules and correlations.
fn regression_run(dir: &Path) -> regression::RegressionReport {
    let rules = fixture_rules();
    let set = fixture_correlations(&rules);
    let options = EngineOptions::default();
    regression::run(
        dir,
        regression::Rules {
            detection: &rules,
            correlations: &set,
            options: &options,
        },
    )
    .unwrap()
}

const CORPUS: &str = r#"{"Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami"}
{"Image": "C:\\Tools\\whoami.exe", "CommandLine": "whoami /priv", "User": "CORP\\helpdesk"}
{"Image": "C:\\Windows\\explorer.exe"}
not json
{"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "CommandLine": "powershell -enc AAAA"}
"#;

fn run(expectations: &str, unexpected: Unexpected) -> ruleproof_backtest::expect::BacktestReport {
    let index = RuleSetIndex::new(fixture_rules());
    let expectations = Expectations::parse(expectations, Path::new("expect.yml")).unwrap();
    let set = CorrelationSet::default();
    let mut tally = Tally::new(&expectations, index.rules(), &set);
    let file = tally.add_file("corpus/benign.jsonl");
    let source = EventSource::from_reader(
        "corpus/benign.jsonl".into(),
        None,
        std::io::Cursor::new(CORPUS),
    );
    run_source(&index, source, None, &mut |_| {}, &mut |item| match item {
        Item::Event(m) => tally.record(file, &m),
        Item::Bad(_) => tally.bad_record(),
    })
    .unwrap();
    tally.finish(unexpected)
}

#[test]
fn exactly_at_least_and_at_most_are_judged() {
    let report = run(
        "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    exactly: 2\n  - rule: Encoded PowerShell (fixture)\n    at_least: 1\n    at_most: 1\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    at_most: 1\n    file: 'benign.*'\n  - rule: no-such-rule\n    at_least: 0\n",
        Unexpected::Fail,
    );
    let verdicts: Vec<(bool, u64)> = report
        .results
        .iter()
        .map(|r| (r.passed, r.actual))
        .collect();
    assert_eq!(verdicts, vec![(true, 2), (true, 1), (false, 2), (false, 0)]);
    assert!(report.results[3].problem.is_some());
    assert_eq!((report.events, report.bad_records), (4, 1));
    assert_eq!(report.unexpected_total, 0);
    assert!(!report.passed);
    let text = report.human();
    assert!(text.contains("FAIL 0f0c6a5e-0000-4000-8000-000000000001 (Whoami Execution (fixture)): expected at most 1 in benign.*, got 2"), "{text}");
}

#[test]
fn unexpected_matches_fail_unless_allowlisted() {
    let only_whoami =
        "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    exactly: 2\n";
    let report = run(only_whoami, Unexpected::Fail);
    assert_eq!(report.unexpected_total, 1);
    assert_eq!(report.unexpected[0].line, 5);
    assert!(!report.passed);
    assert!(run(only_whoami, Unexpected::Allow).passed);

    // Allowlisted matches are set aside: they count neither as unexpected nor towards bounds.
    let allowed = "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    exactly: 1\nallowlist:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    where:\n      User: 'corp\\helpdesk'\n      Image: '*\\tools\\\\*'\n    reason: helpdesk scripts\n  - rule: 0f0c6a5e-0000-4000-8000-000000000002\n    file: '*.jsonl'\n";
    let report = run(allowed, Unexpected::Fail);
    assert!(report.passed, "{}", report.human());
    assert_eq!(
        report.allowed.iter().map(|a| a.matches).collect::<Vec<_>>(),
        vec![1, 1]
    );
}

#[test]
fn reports_render_as_json_and_junit() {
    let report = run(
        "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000002\n    exactly: 3\n",
        Unexpected::Fail,
    );
    let json = report.json();
    assert_eq!(json["passed"], false);
    assert_eq!(json["results"][0]["actual"], 1);
    assert_eq!(json["results"][0]["bound"]["min"], 3);
    assert_eq!(json["unexpected_total"], 2);
    let junit = report.junit();
    assert!(
        junit.contains("<testsuite name=\"expectations\" tests=\"2\""),
        "{junit}"
    );
    assert!(junit.contains("expected exactly 3, got 1"), "{junit}");
}

#[test]
fn invalid_expectations_are_rejected_with_the_path() {
    for text in [
        "expectations:\n  - rule: x\n",
        "expectations:\n  - rule: x\n    exactly: 1\n    at_most: 2\n",
        "expectations:\n  - rule: x\n    exactly: 1\n    typo: 2\n",
        "allowlist:\n  - rule: x\n    file: '[unclosed'\n",
    ] {
        let error = Expectations::parse(text, Path::new("e.yml")).unwrap_err();
        // `e.yml: …`, or `e.yml:4:5: …` where the parser gives the position.
        assert!(error.to_string().starts_with("e.yml:"), "{error}");
    }
}

#[test]
fn regression_layout_runs_and_counts_unsupported_tests() {
    let report = regression_run(&fixtures().join("data"));
    let got: Vec<(&str, Status)> = report
        .results
        .iter()
        .map(|r| (r.test.as_str(), r.status))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Native EVTX Test", Status::Pass),
            ("Positive Detection Test", Status::Fail),
            ("PCAP Test", Status::Unsupported),
            ("Sample Without Conversion", Status::Unsupported),
            ("Positive Detection Test", Status::Pass),
            ("Two Runs Within Five Minutes", Status::Pass),
            ("Two Runs Ten Minutes Apart", Status::Fail),
        ]
    );
    let native = &report.results[0];
    assert_eq!((native.matches, native.events), (1, 4));
    assert!(
        native
            .sample
            .as_deref()
            .is_some_and(|s| s.ends_with(".evtx"))
    );
    let failed = &report.results[1];
    assert_eq!((failed.matches, failed.events), (1, 2));
    let explanation = failed.explanation.as_deref().unwrap_or_default();
    assert!(
        explanation.starts_with("matched 1 of 2 event(s); expected at least 2"),
        "{explanation}"
    );
    assert!(explanation.contains("Encoded PowerShell"), "{explanation}");
    assert!(!report.passed());
    let text = report.human();
    assert!(
        text.ends_with("3 passed, 2 failed, 2 unsupported, 0 unreadable info file(s)\n"),
        "{text}"
    );
    assert_eq!(report.json()["summary"]["unsupported"], 2);
    assert!(report.junit().contains("<skipped"));

    // A correlation's sample is one sequence: its alerts are the test's matches.
    let (within, apart) = (&report.results[5], &report.results[6]);
    assert_eq!((within.matches, within.events), (1, 2));
    assert_eq!((apart.matches, apart.events), (0, 2));
    let explanation = apart.explanation.as_deref().unwrap_or_default();
    assert_eq!(
        explanation,
        "the correlation raised 0 alert(s) over 2 event(s); expected at least 1"
    );

    // A rule set without the rule fails its tests and says why.
    let set = CorrelationSet::default();
    let report = regression::run(
        &fixtures().join("data/windows/whoami"),
        regression::Rules {
            detection: &[],
            correlations: &set,
            options: &EngineOptions::default(),
        },
    )
    .unwrap();
    assert_eq!(report.results[0].status, Status::Fail);
    assert!(
        report.results[0]
            .explanation
            .as_deref()
            .unwrap_or_default()
            .contains("no loaded rule")
    );
}

/// The snapshot of one report format, under `tests/snapshots/<group>/<name>`.
fn check_snapshot(group: &str, name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(group)
        .join(name);
    ruleproof_testkit::assert_snapshot(&path, actual);
}

#[test]
fn backtest_report_formats_are_snapshotted() {
    let report = run(
        "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000001\n    exactly: 2\n  - rule: 0f0c6a5e-0000-4000-8000-000000000002\n    exactly: 3\n",
        Unexpected::Fail,
    );
    check_snapshot("backtest", "human.txt", &report.human());
    check_snapshot("backtest", "report.json", &format!("{:#}\n", report.json()));
    check_snapshot("backtest", "junit.xml", &report.junit());
}

#[test]
fn regression_report_formats_are_snapshotted() {
    let report = regression_run(&fixtures().join("data"));
    // Paths are shown relative to the fixtures, so the snapshots hold on any machine.
    // The `.evtx` sample lies outside them, under the crate's own directory.
    let root = format!("{}/", fixtures().display());
    let krate = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    let relative = |text: String| text.replace(&root, "").replace(&krate, "");
    check_snapshot("regression", "human.txt", &relative(report.human()));
    check_snapshot(
        "regression",
        "report.json",
        &relative(format!("{:#}\n", report.json())),
    );
    check_snapshot("regression", "junit.xml", &relative(report.junit()));
}

fn evtx_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evtx/new-user-security.evtx")
}

#[test]
fn evtx_records_are_flattened_like_evtx_json_with_record_numbers() {
    let (events, errors) = read_all(&evtx_fixture()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<usize> = events.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![1, 2, 3, 4], "record numbers in place of lines");
    let created = &events[1].value;
    assert_eq!(created["EventID"], 4720);
    assert_eq!(created["SamAccountName"], "IEUser");
    assert_eq!(created["Channel"], "Security");
    assert_eq!(
        created["Provider_Name"],
        "Microsoft-Windows-Security-Auditing"
    );
    assert_eq!(created["Computer"], "IE8Win7");
    assert!(
        created.get("Event").is_none(),
        "EventData fields sit at the top level"
    );
}

/// The fixture is a 4 KiB header and one 64 KiB chunk.
fn evtx_parts() -> (Vec<u8>, Vec<u8>) {
    let bytes = std::fs::read(evtx_fixture()).unwrap();
    assert_eq!(bytes.len(), 4096 + 65536);
    (bytes[..4096].to_vec(), bytes[4096..].to_vec())
}

#[test]
fn a_corrupt_evtx_chunk_is_reported_with_its_offset_and_the_rest_is_read() {
    let (header, chunk) = evtx_parts();
    let mut corrupt = chunk.clone();
    // Keep the chunk magic but break its header, so the chunk is found and fails to parse.
    for byte in &mut corrupt[8..512] {
        *byte = 0xa5;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.evtx");
    std::fs::write(&path, [header, corrupt, chunk].concat()).unwrap();
    let (events, errors) = read_all(&path).unwrap();
    assert_eq!(events.len(), 4, "the good chunk after the bad one is read");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("chunk 0 at byte offset 4096"),
        "{}",
        errors[0].message
    );
}

#[test]
fn an_evtx_file_cut_inside_a_chunk_says_so() {
    let (header, chunk) = evtx_parts();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.evtx");
    std::fs::write(&path, [header, chunk[..30000].to_vec()].concat()).unwrap();
    let (events, errors) = read_all(&path).unwrap();
    assert!(events.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("ends inside EVTX chunk 0 (at byte offset 4096, 30000 of its 65536 bytes"),
        "{}",
        errors[0].message
    );
}

/// Correlation alerts are counted like matches: expectations and allowlist entries name the
/// correlation, `where:` looks at the alert's group, and a rule that only feeds a correlation
/// (`generate: false`) is never unexpected.
#[test]
fn correlation_alerts_are_counted_by_expectations() {
    let whoami = |time: &str, user: &str| {
        format!(
            "{{\"UtcTime\": \"2024-01-01 {time}\", \"Image\": \"C:\\\\Windows\\\\whoami.exe\", \"User\": \"{user}\"}}\n"
        )
    };
    let corpus = [
        whoami("10:00:00", "alice"),
        whoami("10:01:00", "alice"),
        whoami("10:02:00", "bob"),
        whoami("10:03:00", "bob"),
        whoami("10:04:00", "bob"),
        "{\"Image\": \"C:\\\\Windows\\\\whoami.exe\", \"User\": \"carol\"}\n".to_owned(),
    ]
    .concat();
    let index = RuleSetIndex::new(fixture_rules());
    let set = fixture_correlations(index.rules());
    let run = |expectations: &str| {
        let expectations = Expectations::parse(expectations, Path::new("expect.yml")).unwrap();
        let mut tally = Tally::new(&expectations, index.rules(), &set);
        let mut correlator = CorpusCorrelator::new(&set, EngineOptions::default());
        let file = tally.add_file("corpus/a.jsonl");
        let source = EventSource::from_reader(
            "corpus/a.jsonl".into(),
            None,
            std::io::Cursor::new(corpus.clone()),
        );
        run_source(&index, source, None, &mut |_| {}, &mut |item| match item {
            Item::Event(m) => {
                tally.record(file, &m);
                correlator.event("corpus/a.jsonl", &m, &mut |_, alert| {
                    tally.record_alert(file, alert);
                });
            }
            Item::Bad(_) => tally.bad_record(),
        })
        .unwrap();
        correlator.finish(&mut |_, alert| tally.record_alert(file, alert));
        assert_eq!(correlator.skipped().no_timestamp, 1);
        tally.finish(Unexpected::Fail)
    };
    // alice once (her second run), bob twice (his second and third run).
    let report =
        run("expectations:\n  - rule: Repeated Whoami by One User (fixture)\n    exactly: 3\n");
    assert!(report.passed, "{}", report.human());
    assert_eq!(report.unexpected_total, 0, "{}", report.human());
    let report = run(
        "expectations:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000004\n    exactly: 1\nallowlist:\n  - rule: 0f0c6a5e-0000-4000-8000-000000000004\n    where:\n      User: bob\n    reason: bob is the admin\n",
    );
    assert!(report.passed, "{}", report.human());
    assert_eq!(report.allowed[0].matches, 2);
    // Without an expectation, the alerts are unexpected; the whoami matches feeding them are not.
    let report = run("");
    assert!(!report.passed);
    assert_eq!(report.unexpected_total, 3, "{}", report.human());
    assert_eq!(
        (report.unexpected[0].line, report.unexpected[0].event),
        (2, 1),
        "the alert is at the event that raised it"
    );
}

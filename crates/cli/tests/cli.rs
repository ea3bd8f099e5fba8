//! The binary's contract: exit codes (0 ok, 1 failures found, 2 usage, I/O or load errors),
//! and what each command prints, run as a user would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ruleproof(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleproof"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("the binary exits with a code")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A copy of the repository's rules, test cases and the pipelines they name, in a temporary
/// directory, to break on purpose.
fn scratch_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["rules", "test-cases", "pipelines"] {
        copy_dir(&repository().join(sub), &dir.path().join(sub));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

const SEED_CASES: &str =
    "test-cases/linux/network_connection/net_connection_lnx_crypto_mining_indicators.yml";
const SEED_RULE: &str =
    "rules/linux/network_connection/net_connection_lnx_crypto_mining_indicators.yml";

#[test]
fn test_passes_on_the_repository() {
    let output = ruleproof(&repository(), &["test"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).contains("test result: ok."));
}

#[test]
fn a_flipped_expectation_fails_with_exit_1_and_says_where() {
    let dir = scratch_repository();
    let path = dir.path().join(SEED_CASES);
    let text = std::fs::read_to_string(&path).unwrap();
    let flipped = text.replacen("expect: no-match", "expect: match", 1);
    std::fs::write(&path, flipped).unwrap();
    let output = ruleproof(dir.path(), &["test"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let out = stdout(&output);
    assert!(out.contains(&format!("FAIL {SEED_CASES}:")), "{out}");
    assert!(out.contains("expected match, got no-match"), "{out}");
    assert!(
        out.contains("-verdict: match\n  +verdict: no-match"),
        "{out}"
    );
}

#[test]
fn a_bad_reference_is_a_load_error_with_exit_2() {
    let dir = scratch_repository();
    let path = dir.path().join(SEED_CASES);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("scenario: system-update", "scenario: no-such-scenario", 1),
    )
    .unwrap();
    // A sequence case of a correlation names scenarios the same way.
    let sequences = dir
        .path()
        .join("test-cases/linux/network_connection/mr_lnx_crypto_mining_many_pools.yml");
    let text = std::fs::read_to_string(&sequences).unwrap();
    std::fs::write(
        &sequences,
        text.replacen(
            "      expect: fires\n",
            "      expect: fires\n      scenario: no-such-pool-scenario\n",
            1,
        ),
    )
    .unwrap();
    let output = ruleproof(dir.path(), &["test"]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let out = stdout(&output);
    assert!(
        out.contains("names scenario `no-such-scenario`, which the file does not declare"),
        "{out}"
    );
    assert!(
        out.contains("case `three distinct pools in ten minutes - exactly at the threshold` names scenario `no-such-pool-scenario`, which the file does not declare"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let output = ruleproof(&repository(), &["test", "--no-such-flag"]);
    assert_eq!(code(&output), 2);
    let output = ruleproof(&repository(), &["test", "no/such/path"]);
    assert_eq!(code(&output), 2);
}

#[test]
fn every_test_format_renders() {
    for (format, marker) in [
        ("json", "\"format\": \"ruleproof.test-results/1\""),
        ("junit", "<testsuites"),
        ("github", "test result: ok."),
    ] {
        let output = ruleproof(&repository(), &["test", "--format", format]);
        assert_eq!(code(&output), 0, "{format}");
        assert!(
            stdout(&output).contains(marker),
            "{format}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn validate_and_the_coverage_gate_pass_on_the_repository() {
    let output = ruleproof(&repository(), &["validate"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let output = ruleproof(&repository(), &["coverage", "--check"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
}

#[test]
fn cases_new_writes_a_failing_skeleton_and_never_overwrites() {
    let dir = scratch_repository();
    let output = ruleproof(dir.path(), &["cases", "new", SEED_RULE]);
    assert_eq!(code(&output), 2, "an existing file is not overwritten");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));
    let before = std::fs::read_to_string(dir.path().join(SEED_CASES)).unwrap();
    assert!(before.contains("xmrig"), "the existing file is untouched");

    let output = ruleproof(dir.path(), &["cases", "new", SEED_RULE, "--force"]);
    assert_eq!(code(&output), 0);
    let skeleton = std::fs::read_to_string(dir.path().join(SEED_CASES)).unwrap();
    assert!(
        skeleton.contains("falsepositive: \"Legitimate use of crypto miners\""),
        "{skeleton}"
    );
    let output = ruleproof(dir.path(), &["test"]);
    assert_eq!(
        code(&output),
        1,
        "placeholder cases fail until filled in: {}",
        stdout(&output)
    );

    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"DestinationHostname": "xmrpool.eu", "Image": "/tmp/xmrig"}"#,
    )
    .unwrap();
    let output = ruleproof(
        dir.path(),
        &[
            "cases",
            "add",
            "--rule",
            SEED_RULE,
            "--expect",
            "match",
            "--event",
            "event.json",
            "--name",
            "captured xmrig",
        ],
    );
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let appended = std::fs::read_to_string(dir.path().join(SEED_CASES)).unwrap();
    assert!(
        appended.starts_with(&skeleton),
        "the existing text and comments are kept"
    );
    assert!(
        appended.contains("- name: \"captured xmrig\""),
        "{appended}"
    );
    let output = ruleproof(dir.path(), &["test", SEED_CASES]);
    assert!(
        stdout(&output).contains("ok    captured xmrig"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn explain_exits_0_on_a_match_and_1_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let hit = dir.path().join("hit.yml");
    std::fs::write(&hit, "DestinationHostname: POOL.minexmr.com\n").unwrap();
    let miss = dir.path().join("miss.json");
    std::fs::write(&miss, r#"{"DestinationHostname": "a.pool.minexmr.com"}"#).unwrap();
    let rule = repository().join(SEED_RULE);
    let rule = rule.to_str().unwrap();
    let output = ruleproof(
        dir.path(),
        &["explain", "--rule", rule, "--event", "hit.yml"],
    );
    assert_eq!(code(&output), 0);
    assert!(
        stdout(&output).contains("✓ \"pool.minexmr.com\" matches"),
        "{}",
        stdout(&output)
    );
    let output = ruleproof(
        dir.path(),
        &["explain", "--rule", rule, "--event", "miss.json"],
    );
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).starts_with("no match: Linux Crypto Mining Pool Connections"));
}

#[test]
fn match_prints_one_json_line_per_match_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"DestinationHostname\": \"xmrpool.eu\"}\n{\"DestinationHostname\": \"example.com\"}\nnot json\n{\"DestinationHostname\": \"moneroocean.stream\"}\n",
    )
    .unwrap();
    let rules = repository().join("rules/linux");
    let output = ruleproof(
        dir.path(),
        &[
            "match",
            "--rules",
            rules.to_str().unwrap(),
            "--events",
            "events.jsonl",
        ],
    );
    assert_eq!(
        code(&output),
        1,
        "an unreadable line is reported and fails the run"
    );
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<u64> = lines.iter().map(|l| l["event"].as_u64().unwrap()).collect();
    assert_eq!(events, vec![0, 3]);
    assert_eq!(lines[0]["rule"], "a46c93b7-55ed-4d27-a41b-c259456c4746");
    assert_eq!(lines[0]["level"], "high");
    assert!(String::from_utf8_lossy(&output.stderr).contains("events.jsonl:3:"));
}

/// The correlation alert line is an API (docs/output-formats.md): its exact text is pinned.
/// Each file is its own sequence, so two pools in one file and one in the next raise nothing.
#[test]
fn match_prints_correlation_alerts_in_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let line = |time: &str, host: &str| {
        format!(
            "{{\"UtcTime\": \"2026-11-27 {time}\", \"Computer\": \"h1\", \"DestinationHostname\": \"{host}\"}}\n"
        )
    };
    let a = [
        line("04:10:00.000", "pool.minexmr.com"),
        line("04:11:00.000", "example.com"),
        line("04:12:00.000", "pool.supportxmr.com"),
        line("04:13:00.000", "mine.c3pool.com"),
        "{\"Computer\": \"h1\", \"DestinationHostname\": \"xmrpool.eu\"}\n".to_owned(),
        "{\"Computer\": \"h1\", \"DestinationHostname\": \"xmrpool.eu\"}\n".to_owned(),
    ]
    .concat();
    std::fs::write(dir.path().join("a.jsonl"), a).unwrap();
    let b = [
        line("04:14:00.000", "xmrpool.eu"),
        line("04:15:00.000", "moneroocean.stream"),
    ]
    .concat();
    std::fs::write(dir.path().join("b.jsonl"), b).unwrap();
    let rules = repository().join("rules/linux");
    let output = ruleproof(
        dir.path(),
        &[
            "match",
            "--rules",
            rules.to_str().unwrap(),
            "--events",
            "a.jsonl",
            "b.jsonl",
        ],
    );
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = stdout(&output);
    let alerts: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("\"correlation\""))
        .collect();
    assert_eq!(
        alerts,
        [
            "{\"event\":3,\"file\":\"a.jsonl\",\"line\":4,\"rule\":\"2f0d6c1e-7a4b-4c59-9e1d-3b8a5f6e7c21\",\"title\":\"Linux Host Connects to Several Crypto Mining Pools\",\"level\":\"high\",\"correlation\":{\"type\":\"value_count\",\"group\":{\"Computer\":\"h1\"},\"window_start\":\"2026-11-27T04:03:00.000Z\",\"window_end\":\"2026-11-27T04:13:00.000Z\",\"value\":3,\"events\":[0,2,3]}}"
        ],
        "{out}"
    );
    // The correlation says `generate: true`, so the seed rule's own matches are printed too:
    // five in a.jsonl (the events without a time included) and two in b.jsonl.
    assert_eq!(out.lines().count(), 1 + 7, "{out}");
    // The two events without a time give one summary line naming the first.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: 2 event(s) left out of correlations for lack of a usable timestamp (first: a.jsonl:5: the event has no timestamp field (tried @timestamp, timestamp, TimeCreated, UtcTime, EventTime, TimeGenerated, _time))"
        ],
        "{stderr}"
    );
}

#[test]
fn explain_shows_how_a_sequence_fills_a_correlations_windows() {
    let sequences = "test-cases/linux/network_connection/sequences";
    let output = ruleproof(
        &repository(),
        &[
            "explain",
            "--rule",
            "rules",
            "--events",
            &format!("{sequences}/pools_fires.jsonl"),
        ],
    );
    assert_eq!(code(&output), 0, "an alert: {}", stdout(&output));
    let out = stdout(&output);
    assert!(
        out.contains("event 1 (line 2): matches no rule a correlation uses"),
        "{out}"
    );
    assert!(
        out.contains(
            "value_count of DestinationHostname over 10m, group-by [Computer], condition gte 3"
        ),
        "{out}"
    );
    assert!(
        out.contains("counts events [0, 2]: value 2 → gte 3 does not hold"),
        "{out}"
    );
    assert!(
        out.contains("counts events [0, 2, 3]: value 3 → gte 3 holds: ALERT"),
        "{out}"
    );
    let output = ruleproof(
        &repository(),
        &[
            "explain",
            "--rule",
            "rules",
            "--events",
            &format!("{sequences}/pools_no-fire.jsonl"),
        ],
    );
    assert_eq!(code(&output), 1, "no alert: {}", stdout(&output));
}

#[test]
fn backtest_checks_match_counts_and_unexpected_matches() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("events.jsonl"),
        "{\"DestinationHostname\": \"xmrpool.eu\"}\n{\"DestinationHostname\": \"example.com\"}\n{\"DestinationHostname\": \"moneroocean.stream\"}\n",
    )
    .unwrap();
    let rules = repository().join("rules");
    let rules = rules.to_str().unwrap();
    let run = |expect: &str, extra: &[&str]| {
        std::fs::write(dir.path().join("expect.yml"), expect).unwrap();
        let mut args = vec![
            "backtest",
            "--rules",
            rules,
            "--events",
            "events.jsonl",
            "--expect",
            "expect.yml",
        ];
        args.extend_from_slice(extra);
        ruleproof(dir.path(), &args)
    };
    let exact = "expectations:\n  - rule: a46c93b7-55ed-4d27-a41b-c259456c4746\n    exactly: 2\n";
    assert_eq!(code(&run(exact, &[])), 0);
    let wrong = "expectations:\n  - rule: a46c93b7-55ed-4d27-a41b-c259456c4746\n    at_most: 1\n";
    let output = run(wrong, &[]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    // A benign corpus: any match that no expectation or allowlist entry covers fails.
    let allowlisted = "expectations: []\nallowlist:\n  - rule: a46c93b7-55ed-4d27-a41b-c259456c4746\n    where:\n      DestinationHostname: xmrpool.eu\n    reason: lab miner\n";
    let output = run(allowlisted, &["--unexpected", "fail"]);
    assert_eq!(
        code(&output),
        1,
        "moneroocean.stream is not allowlisted: {}",
        stdout(&output)
    );
}

/// `backtest` evaluates correlations as `match` does: expectations name the correlation, its
/// alerts are counted, and events without a time give one warning line.
#[test]
fn backtest_counts_correlation_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let line = |time: &str, host: &str| {
        format!(
            "{{\"UtcTime\": \"2026-11-27 {time}\", \"Computer\": \"h1\", \"DestinationHostname\": \"{host}\"}}\n"
        )
    };
    let events = [
        line("04:10:00.000", "pool.minexmr.com"),
        line("04:12:00.000", "pool.supportxmr.com"),
        line("04:13:00.000", "mine.c3pool.com"),
        "{\"Computer\": \"h1\", \"DestinationHostname\": \"xmrpool.eu\"}\n".to_owned(),
        "{\"Computer\": \"h1\", \"DestinationHostname\": \"xmrpool.eu\"}\n".to_owned(),
    ]
    .concat();
    std::fs::write(dir.path().join("events.jsonl"), events).unwrap();
    let rules = repository().join("rules");
    let expect = |text: &str| {
        std::fs::write(dir.path().join("expect.yml"), text).unwrap();
        ruleproof(
            dir.path(),
            &[
                "backtest",
                "--rules",
                rules.to_str().unwrap(),
                "--events",
                "events.jsonl",
                "--expect",
                "expect.yml",
                "--unexpected",
                "fail",
            ],
        )
    };
    let output = expect(
        "expectations:\n  - rule: 2f0d6c1e-7a4b-4c59-9e1d-3b8a5f6e7c21\n    exactly: 1\n  - rule: a46c93b7-55ed-4d27-a41b-c259456c4746\n    exactly: 5\n",
    );
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with("warning: 2 event(s) left out of correlations for lack of a usable timestamp (first: events.jsonl:4: "),
        "{stderr}"
    );
    // The alert nobody expected fails a benign-corpus backtest.
    let output =
        expect("expectations:\n  - rule: a46c93b7-55ed-4d27-a41b-c259456c4746\n    exactly: 5\n");
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stdout(&output).contains("events.jsonl:3: 2f0d6c1e-7a4b-4c59-9e1d-3b8a5f6e7c21"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn regression_reports_pass_fail_and_unsupported_tests() {
    let fixtures = repository().join("crates/backtest/tests/regression");
    let output = ruleproof(&fixtures, &["regression", "data", "--rules", "rules"]);
    assert_eq!(
        code(&output),
        1,
        "one fixture fails on purpose: {}",
        stdout(&output)
    );
    let out = stdout(&output);
    assert!(out.contains("3 passed, 2 failed, 2 unsupported"), "{out}");
    assert!(out.contains("event 2 does not match"), "{out}");
    // The fixture correlation is run over its samples as sequences.
    assert!(
        out.contains("PASS 0f0c6a5e-0000-4000-8000-000000000004 (Repeated Whoami by One User (fixture)): Two Runs Within Five Minutes"),
        "{out}"
    );
}

#[test]
fn a_rule_file_or_directory_selects_its_test_cases() {
    // rules/linux holds the seed rule (87 cases) and the correlation built on it (10 sequences).
    for (path, passed) in [
        ("rules/linux", "97 passed"),
        (SEED_RULE, "87 passed"),
        (SEED_CASES, "87 passed"),
    ] {
        let output = ruleproof(&repository(), &["test", path]);
        assert_eq!(code(&output), 0, "{path}: {}", stdout(&output));
        assert!(
            stdout(&output).contains(passed),
            "{path}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn mutate_meets_the_policy_on_the_repository() {
    let output = ruleproof(&repository(), &["mutate", SEED_RULE]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert!(stdout(&output).starts_with("100.0% Linux Crypto Mining Pool Connections"));
    assert!(stdout(&output).contains("mutation policy met"));
}

#[test]
fn mutate_exits_1_below_the_policy_and_names_the_survivor() {
    let dir = scratch_repository();
    // Without the cases that try a host under each pool name, widening a value goes unnoticed.
    let cases = dir.path().join(SEED_CASES);
    let text = std::fs::read_to_string(&cases).unwrap();
    let cut = text
        .find("    - name: \"a subdomain of a pool name")
        .unwrap();
    let end = cut + text[cut..].find("    - name: \"a pool name with").unwrap();
    std::fs::write(&cases, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    std::fs::write(
        dir.path().join("ruleproof.yml"),
        "coverage:\n  status:\n    stable:\n      min_mutation_score: 100\n",
    )
    .unwrap();
    let output = ruleproof(dir.path(), &["mutate"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("survived widen-value at rules/linux/network_connection/net_connection_lnx_crypto_mining_indicators.yml:18:15"),
        "{text}"
    );
    assert!(
        text.contains("'pool.minexmr.com' → '*pool.minexmr.com'"),
        "{text}"
    );
    assert!(text.contains("needs a 100% mutation score"), "{text}");

    let json = ruleproof(dir.path(), &["mutate", "--format", "json"]);
    assert_eq!(code(&json), 1);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["format"], "ruleproof.mutation/1");
    assert_eq!(
        value["rules"][0]["rule"],
        "a46c93b7-55ed-4d27-a41b-c259456c4746"
    );
    let markdown = ruleproof(dir.path(), &["mutate", "--format", "markdown"]);
    assert_eq!(code(&markdown), 1);
    assert!(stdout(&markdown).contains("### Surviving mutants"));
}

#[test]
fn mutate_reports_a_missing_path_with_exit_2() {
    let output = ruleproof(&repository(), &["mutate", "no/such/rule.yml"]);
    assert_eq!(code(&output), 2);
}

#[test]
fn the_coverage_page_has_a_mutation_section() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("coverage.html");
    let output = ruleproof(
        &repository(),
        &[
            "coverage",
            "--format",
            "html",
            "--output",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 0);
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("<h2>Mutation testing</h2>"));
    assert!(html.contains("<td>Linux Crypto Mining Pool Connections</td><td>100.0%</td>"));
}

#[test]
fn generate_prints_confirmed_events_as_jsonl_and_yaml() {
    let output = ruleproof(
        &repository(),
        &["generate", "--rules", SEED_RULE, "--format", "jsonl"],
    );
    assert_eq!(code(&output), 0);
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One positive per listed host, and at least one near miss.
    assert_eq!(lines.iter().filter(|l| l["kind"] == "positive").count(), 22);
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "near-miss" && l["expect"] == "no-match")
    );
    let first = stdout(&output).lines().next().unwrap().to_owned();
    assert!(
        first.starts_with(r#"{"rule":"a46c93b7-55ed-4d27-a41b-c259456c4746","path":"#),
        "{first}"
    );

    let yaml = ruleproof(&repository(), &["generate", "--rules", SEED_RULE]);
    assert_eq!(code(&yaml), 0);
    assert!(stdout(&yaml).contains("  - name: \"generated: positive: selection\""));

    let missing = ruleproof(&repository(), &["generate", "--rules", "no/such.yml"]);
    assert_eq!(code(&missing), 2);
}

#[test]
fn cases_suggest_write_kills_every_survivor_and_keeps_the_file() {
    let dir = scratch_repository();
    std::fs::write(
        dir.path().join("ruleproof.yml"),
        "coverage:\n  status:\n    stable:\n      min_mutation_score: 100\n",
    )
    .unwrap();
    // Without the cases that try hosts around each pool name, widening values goes unnoticed.
    let cases = dir.path().join(SEED_CASES);
    let text = std::fs::read_to_string(&cases).unwrap();
    let cut = text
        .find("    - name: \"a subdomain of a pool name")
        .unwrap();
    let end = cut
        + text[cut..]
            .find("    - name: a truncated pool name")
            .unwrap();
    std::fs::write(&cases, format!("{}{}", &text[..cut], &text[end..])).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cases, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    assert_eq!(code(&ruleproof(dir.path(), &["mutate"])), 1);

    let printed = ruleproof(dir.path(), &["cases", "suggest", SEED_RULE]);
    assert_eq!(code(&printed), 0);
    assert!(stdout(&printed).contains("generated: kills-mutant: widen-value"));
    assert_eq!(
        std::fs::read_to_string(&cases).unwrap(),
        format!("{}{}", &text[..cut], &text[end..]),
        "without --write nothing is written"
    );

    let written = ruleproof(dir.path(), &["cases", "suggest", SEED_RULE, "--write"]);
    assert_eq!(
        code(&written),
        0,
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let after = std::fs::read_to_string(&cases).unwrap();
    assert!(
        after.starts_with("# yaml-language-server"),
        "comments are kept"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cases).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "permissions are kept");
    }
    assert_eq!(code(&ruleproof(dir.path(), &["test"])), 0);
    let mutate = ruleproof(dir.path(), &["mutate"]);
    assert_eq!(code(&mutate), 0, "{}", stdout(&mutate));
}

#[test]
fn generated_fixtures_alone_pass_and_kill_every_mutant() {
    let dir = scratch_repository();
    std::fs::write(
        dir.path().join("ruleproof.yml"),
        "coverage:\n  status:\n    stable:\n      min_mutation_score: 100\n",
    )
    .unwrap();
    let generated = ruleproof(dir.path(), &["generate", "--rules", SEED_RULE]);
    assert_eq!(code(&generated), 0);
    std::fs::write(dir.path().join(SEED_CASES), stdout(&generated)).unwrap();
    let test = ruleproof(dir.path(), &["test"]);
    assert_eq!(code(&test), 0, "{}", stdout(&test));
    let mutate = ruleproof(dir.path(), &["mutate"]);
    assert_eq!(code(&mutate), 0, "{}", stdout(&mutate));
    assert!(stdout(&mutate).starts_with("100.0% "));
}

/// Snapshots of what `convert` prints, one per shipped pipeline, and of the skeleton
/// `cases new` writes: the output formats of the commands that generate files.
#[test]
fn convert_and_cases_new_output_match_their_snapshots() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for pipeline in ["asim", "defender_xdr"] {
        let output = ruleproof(
            &repository(),
            &["convert", "--to", "kql", "--pipeline", pipeline, SEED_RULE],
        );
        assert_eq!(
            code(&output),
            0,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        ruleproof_testkit::assert_snapshot(
            &snapshots.join(format!("convert_{pipeline}.kql")),
            &stdout(&output),
        );
    }
    let dir = scratch_repository();
    let output = ruleproof(dir.path(), &["cases", "new", SEED_RULE, "--force"]);
    assert_eq!(code(&output), 0);
    let skeleton = std::fs::read_to_string(dir.path().join(SEED_CASES)).unwrap();
    ruleproof_testkit::assert_snapshot(&snapshots.join("cases_new.yml"), &skeleton);
}

/// The seed rule's replay scripts (`convert --with-fixtures`), kept in `replay/<pipeline>/`
/// for users to paste into Azure Data Explorer: regenerated here, so they cannot drift from
/// the converter, the pipelines or the fixtures. `cargo xtask kql-check` runs Microsoft's
/// analyser on them.
#[test]
fn the_seed_rules_replay_scripts_are_current() {
    for pipeline in ["asim", "defender_xdr"] {
        let output = ruleproof(
            &repository(),
            &[
                "convert",
                "--to",
                "kql",
                "--pipeline",
                pipeline,
                "--with-fixtures",
                SEED_RULE,
            ],
        );
        assert_eq!(
            code(&output),
            0,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let script = stdout(&output);
        assert!(script.contains("datatable(ruleproof_case: string, "));
        assert!(script.contains("| extend agrees = "));
        let relative = Path::new(SEED_RULE)
            .strip_prefix("rules")
            .unwrap()
            .with_extension("kql");
        ruleproof_testkit::assert_snapshot(
            &repository().join("replay").join(pipeline).join(relative),
            &script,
        );
    }
    // The correlation on the seed rule: its sequence cases, each replayed on its own, with the
    // engine's alerts expected (converted with the rule it builds on, from its directory).
    let correlation = "linux/network_connection/mr_lnx_crypto_mining_many_pools.kql";
    for pipeline in ["asim", "defender_xdr"] {
        let out = tempfile::tempdir().unwrap();
        let output = ruleproof(
            &repository(),
            &[
                "convert",
                "--to",
                "kql",
                "--pipeline",
                pipeline,
                "--with-fixtures",
                "--output",
                out.path().to_str().unwrap(),
                "rules/linux",
            ],
        );
        assert_eq!(
            code(&output),
            0,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let written = Path::new(correlation).strip_prefix("linux").unwrap();
        let script = std::fs::read_to_string(out.path().join(written)).unwrap();
        assert!(script.contains("let ruleproof_replay = (ruleproof_case_name: string) {"));
        assert!(script.contains("| extend agrees = "));
        ruleproof_testkit::assert_snapshot(
            &repository().join("replay").join(pipeline).join(correlation),
            &script,
        );
    }
    // A rule without a test-case file has no fixtures to replay: an error naming the file.
    let dir = scratch_repository();
    std::fs::remove_file(dir.path().join(SEED_CASES)).unwrap();
    let output = ruleproof(
        dir.path(),
        &[
            "convert",
            "--to",
            "kql",
            "--pipeline",
            "asim",
            "--with-fixtures",
            SEED_RULE,
        ],
    );
    // A missing file is an I/O error: exit code 2.
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no fixtures for a replay script"),
        "{stderr}"
    );
}

/// The files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path().strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    files.sort();
    files
}

/// `test --replay-dir` writes the replay scripts of every rule it runs, one per KQL pipeline:
/// the same scripts as `convert --with-fixtures`, so the repository's `replay/` directory is
/// its snapshot (`ruleproof test --replay-dir replay --kql-pipeline asim --kql-pipeline
/// defender_xdr --force` regenerates it). Identical files are left alone; a different one is
/// refused without `--force`, and nothing is written then.
#[test]
fn test_writes_the_replay_scripts_of_the_rules_it_runs() {
    let dir = scratch_repository();
    let all = [
        "test",
        "--replay-dir",
        "out",
        "--kql-pipeline",
        "asim",
        "--kql-pipeline",
        "defender_xdr",
    ];
    let output = ruleproof(dir.path(), &all);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(stdout(&output).contains("test result: ok."));
    let out = dir.path().join("out");
    let written = files_under(&out);
    // One script per rule and pipeline, the correlation's on its sequence cases included: the
    // very scripts `convert --with-fixtures` writes into `replay/`.
    assert_eq!(written.len(), 6, "{written:?}");
    if !ruleproof_testkit::updating_snapshots() {
        assert_eq!(written, files_under(&repository().join("replay")));
    }
    assert!(
        written
            .iter()
            .any(|f| f.ends_with("mr_lnx_crypto_mining_many_pools.kql"))
    );
    for file in &written {
        assert!(
            stderr.contains(&format!("wrote out/{}", file.display())),
            "{stderr}"
        );
        let script = std::fs::read_to_string(out.join(file)).unwrap();
        ruleproof_testkit::assert_snapshot(&repository().join("replay").join(file), &script);
    }

    // Without --kql-pipeline, the rules whose test-case file names one (`kql.pipeline`): the
    // seed rule with `asim`. Its script is already there with the same text: left as it is.
    let output = ruleproof(dir.path(), &["test", "--replay-dir", "out"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 0, "{stderr}");
    let seed = Path::new(SEED_RULE)
        .strip_prefix("rules")
        .unwrap()
        .with_extension("kql");
    let seed_script = out.join("asim").join(&seed);
    assert!(
        stderr.contains(&format!("unchanged out/asim/{}", seed.display())),
        "{stderr}"
    );
    // The other detection rule and the correlation name none.
    assert!(
        stderr.contains("2 rule(s) without a KQL pipeline"),
        "{stderr}"
    );

    // A script that differs is not overwritten without --force, and nothing else is written.
    std::fs::write(&seed_script, "// edited by hand\n").unwrap();
    let other = out.join("defender_xdr").join(&seed);
    std::fs::remove_file(&other).unwrap();
    let output = ruleproof(dir.path(), &all);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing to overwrite existing files that differ (use --force): out/asim/{}",
            seed.display()
        )),
        "{stderr}"
    );
    assert!(!other.exists());
    let mut forced = all.to_vec();
    forced.push("--force");
    let output = ruleproof(dir.path(), &forced);
    assert_eq!(code(&output), 0);
    assert_eq!(files_under(&out), written);
    assert!(
        std::fs::read_to_string(&seed_script)
            .unwrap()
            .contains("| extend agrees = ")
    );

    // A rule that cannot be replayed is an error naming it (exit 2); the others are written.
    // Here the shadow-copy rule runs through its ECS test-case file but has no fixtures of its
    // own to replay.
    let cases = "test-cases/windows/process_creation/proc_creation_win_vssadmin_delete_shadows";
    std::fs::remove_file(dir.path().join(format!("{cases}.yml"))).unwrap();
    let output = ruleproof(
        dir.path(),
        &["test", "--replay-dir", "out2", "--kql-pipeline", "asim"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 2, "{stderr}");
    assert!(
        stderr.contains(
            "error: rules/windows/process_creation/proc_creation_win_vssadmin_delete_shadows.yml: \
             no fixtures for a replay script"
        ),
        "{stderr}"
    );
    // The seed rule's script and its correlation's.
    assert_eq!(files_under(&dir.path().join("out2")).len(), 2);

    // The pipeline options need --replay-dir; an unknown pipeline is named.
    let output = ruleproof(dir.path(), &["test", "--kql-pipeline", "asim"]);
    assert_eq!(code(&output), 2);
    let output = ruleproof(
        dir.path(),
        &["test", "--replay-dir", "out", "--kql-pipeline", "no_such"],
    );
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown pipeline `no_such`"));
}

/// A snapshot of what `match` prints over the correlation fixture that fires: the base rule's
/// match lines and the correlation's alert lines (`docs/output-formats.md`, "match").
#[test]
fn match_output_matches_its_snapshot() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let output = ruleproof(
        &repository(),
        &[
            "match",
            "--rules",
            "rules",
            "--events",
            "test-cases/linux/network_connection/sequences/pools_fires.jsonl",
            "--threads",
            "1",
        ],
    );
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    ruleproof_testkit::assert_snapshot(&snapshots.join("match.jsonl"), &stdout(&output));
}

/// Over native EVTX, a correlation alert gives the position of the event that raised it as its
/// EVTX record number, under `record`, as the base rule's match lines do
/// (`docs/output-formats.md`, "match").
#[test]
fn match_labels_evtx_correlation_alerts_with_the_record_number() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let output = ruleproof(
        &dir,
        &[
            "match",
            "--rules",
            "evtx-correlation/rules.yml",
            "--events",
            "../../backtest/tests/evtx/new-user-security.evtx",
            "--threads",
            "1",
        ],
    );
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = stdout(&output);
    let alerts: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("\"correlation\""))
        .collect();
    assert!(!alerts.is_empty(), "no correlation alert:\n{out}");
    for alert in alerts {
        assert!(
            alert.contains("\"record\":") && !alert.contains("\"line\":"),
            "{alert}"
        );
    }
    ruleproof_testkit::assert_snapshot(&dir.join("snapshots/match-evtx.jsonl"), &out);
}

/// `--format` names the same format the same way in every command; the older names stay
/// accepted (`coverage --format text`, `explain --json`).
#[test]
fn format_names_are_the_same_everywhere_and_old_names_still_work() {
    let root = repository();
    let human = ruleproof(&root, &["coverage", "--format", "human"]);
    let text = ruleproof(&root, &["coverage", "--format", "text"]);
    assert_eq!(
        code(&human),
        0,
        "{}",
        String::from_utf8_lossy(&human.stderr)
    );
    assert_eq!(stdout(&human), stdout(&text));
    assert_eq!(
        stdout(&human),
        stdout(&ruleproof(&root, &["coverage"])),
        "human is the default"
    );

    let rule = root.join(SEED_RULE);
    let rule = rule.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hit.yml"),
        "DestinationHostname: POOL.minexmr.com\n",
    )
    .unwrap();
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "--rule", rule, "--event", "hit.yml"];
        args.extend_from_slice(extra);
        stdout(&ruleproof(dir.path(), &args))
    };
    let json = explain(&["--format", "json"]);
    assert!(
        json.contains("\"format\": \"ruleproof.explanation/1\""),
        "{json}"
    );
    assert_eq!(json, explain(&["--json"]));
    assert_eq!(explain(&["--format", "human"]), explain(&[]));
    for command in [
        &["test"][..],
        &["validate"],
        &["coverage"],
        &["explain"],
        &["mutate"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--format", "nonsense"]);
        let output = ruleproof(&root, &args);
        assert_eq!(code(&output), 2, "{command:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("human"),
            "{command:?} lists `human` among its formats"
        );
    }
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_run_quietly() {
    use std::io::Read;
    // Far more output than a pipe buffers (64 KiB), so the binary is still writing when the
    // reader goes away.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"DestinationHostname\":\"pool.minexmr.com\"}\n".repeat(20_000),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleproof"))
        .current_dir(repository())
        .args(["match", "--rules", "rules", "--events"])
        .arg(&events)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut first = [0_u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is dropped here, as `| head -c 1` would.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

/// A temporary git repository: `tests/diff/<case>/base` committed, `new` in the working tree.
fn diff_repository(case: &str) -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/diff")
        .join(case);
    ruleproof_testkit::git_change(&fixture.join("base"), &fixture.join("new"))
}

#[test]
fn diff_rejects_an_unknown_revision() {
    let repo = diff_repository("broadened");
    let output = ruleproof(repo.path(), &["diff", "--base", "no-such-branch"]);
    assert_eq!(
        code(&output),
        2,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown revision `no-such-branch`"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn diff_exits_1_when_the_policy_is_unmet_and_0_once_a_negative_case_is_added() {
    let repo = diff_repository("broadened");
    let output = ruleproof(repo.path(), &["diff", "--base", "HEAD"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(stdout(&output).contains("broadened"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("diff.broadened_needs_new_negative"),
        "{}",
        stdout(&output)
    );
    let cases = repo.path().join("test-cases/discovery.yml");
    let mut text = std::fs::read_to_string(&cases).unwrap();
    text.push_str(
        "  - name: systeminfo.exe renamed by a backup tool\n    expect: no-match\n    event: {Image: 'C:\\Backup\\systeminfo.exe.bak'}\n",
    );
    std::fs::write(&cases, text).unwrap();
    let output = ruleproof(repo.path(), &["diff", "--base", "HEAD", "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["format"], "ruleproof.diff/1");
    assert_eq!(json["rules"][0]["change"], "broadened");
    assert_eq!(
        json["rules"][0]["fixtures"]["added"][0],
        "systeminfo.exe renamed by a backup tool"
    );
}

#[test]
fn diff_takes_witnesses_from_an_event_corpus() {
    let repo = diff_repository("broadened");
    let corpus = repo.path().join("events.jsonl");
    std::fs::write(
        &corpus,
        "{\"Image\": \"C:\\\\Windows\\\\notepad.exe\"}\n{\"Image\": \"D:\\\\Tools\\\\systeminfo.exe\"}\n",
    )
    .unwrap();
    let output = ruleproof(
        repo.path(),
        &[
            "diff",
            "--base",
            "HEAD",
            "--events",
            "events.jsonl",
            "--format",
            "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let witnesses = json["rules"][0]["witnesses"].as_array().unwrap();
    assert_eq!(witnesses[0]["source"], "events.jsonl:2", "{witnesses:?}");
    assert_eq!(witnesses[0]["old"], false);
    assert_eq!(witnesses[0]["new"], true);
}

/// `diff --pipeline` judges a change on the rules as deployed: both versions go through the
/// same pipelines. A filter on `ParentImage` narrows the rule as written, and is no change at
/// all where the pipeline drops `ParentImage` items (the deployment has no parent process).
/// A pipeline file that itself changed since the base is named on stderr.
#[test]
fn diff_judges_a_change_through_the_pipelines() {
    let repo = diff_repository("through-pipeline");
    let output = ruleproof(repo.path(), &["diff", "--base", "HEAD"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stdout(&output).starts_with("narrowed "),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("diff.narrowed_needs_new_positive"),
        "{}",
        stdout(&output)
    );
    let through = [
        "diff",
        "--base",
        "HEAD",
        "--pipeline",
        "pipelines/no-parent.yml",
        "--format",
        "json",
    ];
    let output = ruleproof(repo.path(), &through);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["rules"][0]["change"], "equivalent");
    assert_eq!(json["rules"][0]["proof"], "exact");

    let pipeline = repo.path().join("pipelines/no-parent.yml");
    let mut text = std::fs::read_to_string(&pipeline).unwrap();
    text.push_str("  - id: no_user\n    type: drop_detection_item\n    field_name_conditions:\n      - type: include_fields\n        fields: [User]\n");
    std::fs::write(&pipeline, text).unwrap();
    let output = ruleproof(repo.path(), &through);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(code(&output), 0, "{stderr}");
    assert!(
        stderr.contains(
            "note: pipelines/no-parent.yml differs from its version at HEAD: both versions of \
             every rule went through the working tree's version"
        ),
        "{stderr}"
    );
    // A pipeline that does not load is a load error.
    std::fs::write(
        &pipeline,
        "transformations: [{type: no_such_transformation}]\n",
    )
    .unwrap();
    let output = ruleproof(repo.path(), &through);
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no_such_transformation"));
}

#[test]
fn changed_since_runs_only_the_cases_of_changed_rules_and_says_how_many_were_skipped() {
    let repo = diff_repository("broadened");
    let output = ruleproof(repo.path(), &["test", "--changed-since", "HEAD"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(text.contains("test-cases/discovery.yml"), "{text}");
    assert!(!text.contains("other.yml"), "{text}");
    assert!(
        text.contains("changed since HEAD: 1 of 2 test-case files run, 1 skipped"),
        "{text}"
    );
    let output = ruleproof(repo.path(), &["coverage", "--changed-since", "HEAD"]);
    let text = stdout(&output);
    assert!(text.contains("Discovery Tools"), "{text}");
    assert!(!text.contains("Other Tool"), "{text}");
    assert!(
        text.contains("changed since HEAD: 1 of 2 rules reported, 1 skipped"),
        "{text}"
    );
}

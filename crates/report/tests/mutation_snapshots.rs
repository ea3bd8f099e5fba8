//! Snapshot tests of the mutation renderers (human, JSON, Markdown, and the section of the HTML
//! coverage page) on the purpose-built repository of `tests/mutation/`: one rule whose cases
//! kill every mutant, one with survivors below its policy. `UPDATE_EXPECT=1 cargo test -p
//! ruleproof-report` rewrites the snapshots in `tests/snapshots/mutation/`; review the diff.

mod support;

use support::check_snapshot;

use std::path::Path;
use std::sync::OnceLock;

use ruleproof_cases::policy::Policy;
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_mutate::policy::Shortfall;
use ruleproof_mutate::{MutationReport, Status};
use ruleproof_report::{coverage, mutation as render};
use ruleproof_sigma::CompileOptions;

fn layout() -> Layout {
    Layout::at(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mutation"))
}

/// The fixture repository's mutation report and policy shortfalls, computed once per process.
fn computed() -> &'static (MutationReport, Vec<Shortfall>) {
    static COMPUTED: OnceLock<(MutationReport, Vec<Shortfall>)> = OnceLock::new();
    COMPUTED.get_or_init(|| {
        let layout = layout();
        let options = CompileOptions::default();
        let rules = RuleSet::load(&layout.rules_dir, &options);
        let report = ruleproof_mutate::mutate(
            &layout,
            &rules,
            std::slice::from_ref(&layout.cases_dir),
            &options,
        );
        let policy = Policy::load(&layout.root)
            .unwrap_or_else(|e| panic!("the fixture's ruleproof.yml does not load: {e}"));
        let shortfalls = ruleproof_mutate::policy::check(&report, &policy);
        (report, shortfalls)
    })
}

#[test]
fn the_fixture_has_every_status_and_a_policy_failure() {
    let (report, shortfalls) = computed();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for status in [Status::Killed, Status::Survived, Status::Equivalent] {
        assert!(
            report.rules.iter().any(|r| r.count(status) > 0),
            "no {} mutant",
            status.as_str()
        );
    }
    let full = &report.rules[0];
    assert_eq!(full.score(), Some(100.0), "full.yml kills every mutant");
    assert_eq!(shortfalls.len(), 1, "only gaps.yml misses its policy");
}

#[test]
fn human() {
    let (report, shortfalls) = computed();
    check_snapshot("mutation", "report.txt", &render::human(report, shortfalls));
}

#[test]
fn json() {
    let (report, shortfalls) = computed();
    let value = render::json(report, shortfalls);
    assert_eq!(value["format"], render::JSON_FORMAT);
    check_snapshot("mutation", "report.json", &format!("{value:#}\n"));
}

#[test]
fn markdown() {
    let (report, shortfalls) = computed();
    check_snapshot(
        "mutation",
        "report.md",
        &render::markdown(report, shortfalls),
    );
}

#[test]
fn html_section_of_the_coverage_page() {
    let (report, _) = computed();
    let layout = layout();
    let rules = RuleSet::load(&layout.rules_dir, &CompileOptions::default());
    let run = ruleproof_cases::run(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        None,
    );
    let coverage_report = ruleproof_cases::coverage::coverage(&layout, &rules, &run);
    let policy = Policy::load(&layout.root).unwrap().check(&coverage_report);
    let page = coverage::html(&coverage_report, &policy, Some(report));
    let start = page
        .find("<section>\n<h2>Mutation testing</h2>")
        .expect("the page has a mutation section");
    let end = start + page[start..].find("</section>\n").unwrap() + "</section>\n".len();
    check_snapshot("mutation", "section.html", &page[start..end]);
}

//! Snapshot tests of the diff renderers (human, JSON, Markdown, GitHub annotations) on one
//! change to the purpose-built repository of `tests/diff/`: `base/` committed, `new/` in the
//! working tree of a temporary git repository. The change broadens a rule (with a new negative
//! case), narrows and re-levels another (without the cases the policy in `ruleproof.yml`
//! asks for), adds and removes a rule and widens a meta-filter. `UPDATE_EXPECT=1 cargo test -p
//! ruleproof-report --test diff_snapshots` rewrites `tests/snapshots/diff/`; review the diff.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use support::check_snapshot;

use ruleproof_cases::Layout;
use ruleproof_cases::policy::ChangePolicy;
use ruleproof_diff::policy::Unmet;
use ruleproof_diff::{Change, DiffOptions, DiffReport};
use ruleproof_pipeline::Pipelines;
use ruleproof_report::diff_output as render;
use ruleproof_sigma::CompileOptions;

fn computed() -> &'static (DiffReport, Vec<Unmet>) {
    static COMPUTED: OnceLock<(DiffReport, Vec<Unmet>)> = OnceLock::new();
    COMPUTED.get_or_init(|| {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
        let repository = ruleproof_testkit::git_change(&fixture.join("base"), &fixture.join("new"));
        let layout = Layout::at(repository.path());
        let options = CompileOptions::default();
        let report = ruleproof_diff::diff(
            &layout,
            &DiffOptions {
                base: "HEAD",
                paths: Vec::new(),
                events: &[],
                check: None,
                compile: options.clone(),
                pipelines: &Pipelines::default(),
            },
        )
        .unwrap_or_else(|e| panic!("the diff fails: {e}"));
        let policy = ChangePolicy::load(&layout.root)
            .unwrap_or_else(|e| panic!("the fixture's ruleproof.yml does not load: {e}"));
        let unmet = ruleproof_diff::policy::check(
            &report,
            &policy,
            &layout,
            None,
            &options,
            &Pipelines::default(),
        );
        (report, unmet)
    })
}

#[test]
fn the_fixture_has_every_kind_of_change_and_policy_failures() {
    let (report, unmet) = computed();
    let changes: Vec<Change> = report.rules.iter().map(|r| r.change).collect();
    for wanted in [
        Change::Broadened,
        Change::Narrowed,
        Change::Added,
        Change::Removed,
    ] {
        assert!(
            changes.contains(&wanted),
            "no {} rule in {changes:?}",
            wanted.as_str()
        );
    }
    assert_eq!(report.filters.len(), 1);
    assert_eq!(
        report.filters[0].rules.len(),
        1,
        "the filter changes one rule's verdicts"
    );
    assert!(
        !unmet.is_empty(),
        "the narrowed, re-levelled and added rules miss the policy"
    );
}

#[test]
fn human() {
    let (report, unmet) = computed();
    check_snapshot("diff", "human.txt", &render::human(report, unmet));
}

#[test]
fn json() {
    let (report, unmet) = computed();
    check_snapshot(
        "diff",
        "diff.json",
        &format!("{:#}\n", render::json(report, unmet)),
    );
}

#[test]
fn markdown() {
    let (report, unmet) = computed();
    check_snapshot("diff", "comment.md", &render::markdown(report, unmet));
}

#[test]
fn github() {
    let (report, unmet) = computed();
    check_snapshot("diff", "annotations.txt", &render::github(report, unmet));
}

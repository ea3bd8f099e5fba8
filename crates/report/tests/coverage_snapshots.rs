//! Snapshot tests of the coverage renderers on the purpose-built repository of
//! `crates/cases/tests/coverage/`. `UPDATE_EXPECT=1 cargo test -p ruleproof-report` rewrites
//! the snapshots in `tests/snapshots/coverage/` from current output; review the diff.

mod support;

use support::check_snapshot;

use std::path::Path;
use std::sync::OnceLock;

use ruleproof_cases::coverage::{CoverageReport, coverage};
use ruleproof_cases::policy::{Policy, PolicyReport};
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_report::coverage as render;
use ruleproof_sigma::CompileOptions;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture repository's coverage and policy verdict, computed once per test process.
fn computed() -> &'static (CoverageReport, PolicyReport) {
    static COMPUTED: OnceLock<(CoverageReport, PolicyReport)> = OnceLock::new();
    COMPUTED.get_or_init(|| {
        let layout = Layout::at(&manifest_dir().join("../cases/tests/coverage"));
        let rules = RuleSet::load(&layout.rules_dir, &CompileOptions::default());
        let run = ruleproof_cases::run(
            &layout,
            &rules,
            std::slice::from_ref(&layout.cases_dir),
            None,
        );
        let report = coverage(&layout, &rules, &run);
        let policy = Policy::load(&layout.root)
            .unwrap_or_else(|e| panic!("the fixture's ruleproof.yml does not load: {e}"));
        let verdict = policy.check(&report);
        (report, verdict)
    })
}

#[test]
fn text() {
    let (report, policy) = computed();
    check_snapshot("coverage", "report.txt", &render::text(report, policy));
}

#[test]
fn markdown() {
    let (report, policy) = computed();
    check_snapshot("coverage", "report.md", &render::markdown(report, policy));
}

#[test]
fn json() {
    let (report, policy) = computed();
    let value = render::json(report, policy);
    assert_eq!(value["format"], render::JSON_FORMAT);
    check_snapshot("coverage", "report.json", &format!("{value:#}\n"));
}

#[test]
fn html() {
    let (report, policy) = computed();
    let page = render::html(report, policy, None);
    check_snapshot("coverage", "report.html", &page);
}

/// The page is self-contained: nothing is fetched and nothing runs.
#[test]
fn html_needs_nothing_from_outside() {
    let (report, policy) = computed();
    let page = render::html(report, policy, None).to_lowercase();
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
    ] {
        assert!(!page.contains(forbidden), "the page contains `{forbidden}`");
    }
    assert!(page.starts_with("<!doctype html>\n<html lang=\"en\">"));
}

/// Every element is closed in order and every `<summary>` opens its `<details>`, so the
/// drill-down works without scripts.
#[test]
fn html_elements_nest_properly() {
    let (report, policy) = computed();
    let page = render::html(report, policy, None);
    let void = ["meta", "br", "hr", "img", "input", "link", "!doctype"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = page.as_str();
    let mut details = 0;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("an unclosed tag at …{}", &after[..after.len().min(40)]));
        let tag = &after[..end];
        rest = &after[end + 1..];
        // Inline CSS is text, not markup.
        if tag == "style" {
            let close = rest.find("</style>").expect("the style element is closed");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        if void.contains(&name.as_str()) {
            continue;
        }
        if let Some(closing) = tag.strip_prefix('/') {
            let closing = closing.trim().to_lowercase();
            assert_eq!(
                open.pop().as_deref(),
                Some(closing.as_str()),
                "`</{closing}>` closes the wrong element"
            );
        } else {
            if name == "summary" {
                assert_eq!(
                    open.last().map(String::as_str),
                    Some("details"),
                    "a summary outside details"
                );
            }
            if name == "details" {
                details += 1;
            }
            open.push(name);
        }
    }
    assert!(open.is_empty(), "elements left open: {open:?}");
    assert!(details > 0, "the page has no drill-down");
}

/// Text from rules and cases is escaped: the renderers never emit it as markup.
#[test]
fn rule_text_is_escaped() {
    let (report, policy) = computed();
    let mut report = report.clone();
    let Some(rule) = report.rules.first_mut() else {
        panic!("the fixture has no rules");
    };
    rule.rule.title = String::from("<b>\"bold\" & 'brave'</b> | *emphasis*");
    let page = render::html(&report, policy, None);
    assert!(page.contains("&lt;b&gt;&quot;bold&quot; &amp; &#39;brave&#39;&lt;/b&gt;"));
    assert!(!page.contains("<b>"));
    let markdown = render::markdown(&report, policy);
    assert!(markdown.contains("&lt;b&gt;\"bold\" &amp; 'brave'&lt;/b&gt; \\| \\*emphasis\\*"));
}

#[test]
fn navigator_layer() {
    let (report, policy) = computed();
    let value = render::navigator(report, policy);
    assert_eq!(value["versions"]["layer"], render::LAYER_VERSION);
    check_snapshot("coverage", "navigator-layer.json", &format!("{value:#}\n"));
}

#[test]
fn technique_ids_come_from_attack_tags_only() {
    assert_eq!(
        render::technique_id("attack.t1059.001").as_deref(),
        Some("T1059.001")
    );
    assert_eq!(
        render::technique_id("attack.t1105").as_deref(),
        Some("T1105")
    );
    for not_a_technique in [
        "attack.execution",
        "attack.g0007",
        "attack.t10",
        "cve.2021-44228",
        "attack.t1059.1",
    ] {
        assert_eq!(
            render::technique_id(not_a_technique),
            None,
            "{not_a_technique}"
        );
    }
}

//! Coverage as one self-contained HTML page: inline CSS, no scripts, no external assets; per-rule
//! bars and a `<details>` drill-down to each scenario, search, item and value.

use std::fmt::Write;

use ruleproof_cases::coverage::{
    Counter, CoverageReport, RuleCoverage, ScenarioCoverage, ScenarioStatus, SearchCoverage,
};
use ruleproof_cases::policy::PolicyReport;
use ruleproof_cases::{Outcome, Verdict};

use super::{counter_text, plural, segments, tags};
use crate::coverage::text::case_counts;

const STYLE: &str = "
:root { color-scheme: light; --ok: #1a7f37; --warn: #bf8700; --bad: #cf222e; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
header { padding: 1.2rem 2rem; background: #24292f; color: #fff; }
header h1 { margin: 0; font-size: 1.5rem; }
header p { margin: .3rem 0 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 2rem 3rem; }
section, article { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem 1.2rem; margin: 1rem 0; }
h2 { font-size: 1.2rem; margin: 0 0 .6rem; }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
code { font: 13px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff1f3; padding: 0 .25em; border-radius: 4px; overflow-wrap: anywhere; }
.muted, .path, .by { color: var(--muted); }
.by { font-size: .85em; }
.tags { font-weight: normal; font-size: .85em; color: var(--muted); margin-left: .4em; }
.verdict-ok { color: #7ee2a8; } .verdict-bad { color: #ffaba8; }
.bars { display: grid; grid-template-columns: 9rem 1fr 9rem; gap: .3rem .8rem; align-items: center; margin: .6rem 0; }
.bar { height: .8rem; background: #eaeef2; border-radius: 4px; overflow: hidden; }
.fill { height: 100%; }
.fill-ok { background: var(--ok); } .fill-partial { background: var(--warn); } .fill-none { background: var(--bad); }
.bar-text { font-variant-numeric: tabular-nums; text-align: right; }
details { margin: .35rem 0; }
summary { cursor: pointer; }
ul { margin: .3rem 0; padding-left: 1.3rem; }
li { margin: .15rem 0; }
.badge { display: inline-block; min-width: 5.5em; text-align: center; font-size: .75em; font-weight: 600; border-radius: 1em; padding: 0 .5em; color: #fff; }
.badge-covered { background: var(--ok); } .badge-failing { background: var(--bad); } .badge-uncovered { background: var(--warn); }
.gaps li, .lacks li { color: #6e2b00; }
.errors li { color: var(--bad); }
table { border-collapse: collapse; }
td, th { padding: .1rem .6rem; text-align: left; }
";

/// Escapes text for HTML element content and double-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// A description with its backticked names as code and the rest escaped.
fn rich(description: &str) -> String {
    segments(description)
        .into_iter()
        .map(|(is_code, part)| if is_code { code(part) } else { escape(part) })
        .collect()
}

/// The width of a bar, in per cent with one decimal, rounded down like the label.
fn width(counter: Counter) -> String {
    let tenths = counter.tenths();
    format!("{}.{}%", tenths / 10, tenths % 10)
}

fn bar(out: &mut String, label: &str, counter: Counter) {
    let class = if counter.is_complete() {
        "fill-ok"
    } else if counter.covered == 0 {
        "fill-none"
    } else {
        "fill-partial"
    };
    let _ = writeln!(
        out,
        "<span>{label}</span><div class=\"bar\" role=\"img\" aria-label=\"{label}: {} of {} covered\"><div class=\"fill {class}\" style=\"width: {}\"></div></div><span class=\"bar-text\">{}</span>",
        counter.covered,
        counter.total,
        width(counter),
        escape(&counter_text(counter))
    );
}

fn covered_by(cases: &[String]) -> String {
    if cases.is_empty() {
        return String::from("<span class=\"by\">not covered</span>");
    }
    let names: Vec<String> = cases.iter().map(|c| escape(c)).collect();
    format!(
        "<span class=\"by\">covered by {}: {}</span>",
        plural(cases.len(), "case", "cases"),
        names.join("; ")
    )
}

fn status_badge(status: ScenarioStatus) -> String {
    format!(
        "<span class=\"badge badge-{0}\">{0}</span>",
        status.as_str()
    )
}

fn coverage_badge(cases: &[String]) -> String {
    status_badge(if cases.is_empty() {
        ScenarioStatus::Uncovered
    } else {
        ScenarioStatus::Covered
    })
}

/// The whole page; with a mutation report, a section with each rule's mutation score and the
/// surviving mutants.
pub fn html(
    report: &CoverageReport,
    policy: &PolicyReport,
    mutation: Option<&ruleproof_mutate::MutationReport>,
) -> String {
    let totals = report.totals();
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>ruleproof coverage</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n<h1>ruleproof coverage</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"{}\">{} · {}, {} without a test-case file, {} complete</p>\n</header>\n<main>",
        if policy.passed() {
            "verdict-ok"
        } else {
            "verdict-bad"
        },
        if policy.passed() {
            "Policy met"
        } else {
            "Policy not met"
        },
        plural(totals.rules, "rule", "rules"),
        totals.rules_without_test_file,
        totals.complete_rules
    );

    out.push_str("<section>\n<h2>Totals</h2>\n");
    let _ = writeln!(
        out,
        "<p>Cases: {}.</p>",
        escape(&case_counts(&totals.cases))
    );
    out.push_str("<div class=\"bars\">\n");
    bar(&mut out, "Scenarios", totals.scenarios.counter());
    bar(&mut out, "Searches", totals.detection.searches);
    bar(&mut out, "Items", totals.detection.items);
    bar(&mut out, "Values", totals.detection.values);
    bar(&mut out, "Meta-filters", totals.detection.meta_filters);
    out.push_str("</div>\n</section>\n");

    if !report.errors.is_empty() {
        out.push_str("<section>\n<h2>Errors</h2>\n<ul class=\"errors\">\n");
        for error in &report.errors {
            let _ = writeln!(out, "<li>{}</li>", escape(error));
        }
        out.push_str("</ul>\n</section>\n");
    }

    if !policy.passed() {
        out.push_str("<section>\n<h2>Policy failures</h2>\n<ul class=\"lacks\">\n");
        for failure in &policy.failures {
            let _ = writeln!(
                out,
                "<li>{} ({})<ul>",
                code(&failure.path.display().to_string()),
                escape(&failure.title)
            );
            for lack in &failure.lacks {
                let _ = writeln!(out, "<li>{}</li>", rich(lack));
            }
            out.push_str("</ul></li>\n");
        }
        out.push_str("</ul>\n</section>\n");
    }

    if let Some(mutation) = mutation {
        crate::mutation::html_section(&mut out, mutation, escape);
    }

    out.push_str("<h2>Rules</h2>\n");
    for (index, rule) in report.rules.iter().enumerate() {
        rule_article(&mut out, index + 1, rule, policy);
    }
    if !report.correlations.is_empty() {
        out.push_str("<section>\n<h2>Correlation rules</h2>\n");
        for correlation in &report.correlations {
            let c = &correlation.correlation;
            let _ = writeln!(
                out,
                "<h3>{} <small>{}</small></h3>\n<ul>",
                escape(&c.title),
                code(&c.path.display().to_string())
            );
            for line in super::correlation_lines(correlation) {
                let _ = writeln!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn rule_article(out: &mut String, number: usize, rule: &RuleCoverage, policy: &PolicyReport) {
    let _ = writeln!(out, "<article id=\"rule-{number}\">");
    let _ = writeln!(
        out,
        "<h3>{}<span class=\"tags\">{}</span></h3>",
        escape(&rule.rule.title),
        escape(&tags(&rule.rule))
    );
    let file = match (&rule.test_file, &rule.expected_test_file) {
        (Some(file), _) => format!("test cases {}", code(&file.display().to_string())),
        (None, Some(expected)) => format!(
            "no test-case file (expected at {})",
            code(&expected.display().to_string())
        ),
        (None, None) => String::from("no test-case file"),
    };
    let _ = writeln!(
        out,
        "<p class=\"path\">{} · {file}</p>",
        code(&rule.rule.path.display().to_string())
    );
    let _ = writeln!(out, "<p>Cases: {}.</p>", escape(&case_counts(&rule.cases)));
    let detection = rule.detection();
    out.push_str("<div class=\"bars\">\n");
    bar(out, "Scenarios", rule.scenario_counts().counter());
    bar(out, "Searches", detection.searches);
    bar(out, "Items", detection.items);
    bar(out, "Values", detection.values);
    bar(out, "Meta-filters", detection.meta_filters);
    out.push_str("</div>\n");

    if !rule.errors.is_empty() {
        out.push_str("<ul class=\"errors\">\n");
        for error in &rule.errors {
            let _ = writeln!(out, "<li>{}</li>", escape(error));
        }
        out.push_str("</ul>\n");
    }
    if let Some(failure) = policy
        .failures
        .iter()
        .find(|f| f.path == rule.rule.path && f.title == rule.rule.title)
    {
        let _ = writeln!(
            out,
            "<details open>\n<summary>Policy: {}</summary>\n<ul class=\"lacks\">",
            plural(failure.lacks.len(), "shortfall", "shortfalls")
        );
        for lack in &failure.lacks {
            let _ = writeln!(out, "<li>{}</li>", rich(lack));
        }
        out.push_str("</ul>\n</details>\n");
    }
    let gaps = rule.gaps();
    if !gaps.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>Uncovered or failing ({})</summary>\n<ul class=\"gaps\">",
            gaps.len()
        );
        for gap in &gaps {
            let _ = writeln!(out, "<li>{}</li>", rich(&gap.description));
        }
        out.push_str("</ul>\n</details>\n");
    }

    let scenarios = rule.scenario_counts();
    let _ = writeln!(
        out,
        "<details>\n<summary>False-positive scenarios ({} of {} covered)</summary>",
        scenarios.covered, scenarios.total
    );
    if rule.scenarios.is_empty() {
        out.push_str("<p class=\"muted\">The rule documents no false-positive scenario.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for scenario in &rule.scenarios {
            scenario_item(out, scenario);
        }
        out.push_str("</ul>\n");
    }
    if !rule.generic_falsepositives.is_empty() {
        let names: Vec<String> = rule
            .generic_falsepositives
            .iter()
            .map(|g| escape(g))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"muted\">Generic falsepositives entries (need no scenario): {}</p>",
            names.join(", ")
        );
    }
    out.push_str("</details>\n");

    let _ = writeln!(
        out,
        "<details>\n<summary>Detection ({} of {} values covered)</summary>\n<ul>",
        detection.values.covered, detection.values.total
    );
    for search in &rule.searches {
        search_item(out, search);
    }
    out.push_str("</ul>\n</details>\n");

    if !rule.meta_filters.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>Meta-filters ({} of {} covered)</summary>\n<ul>",
            detection.meta_filters.covered, detection.meta_filters.total
        );
        for filter in &rule.meta_filters {
            let _ = writeln!(
                out,
                "<li>{} {} {} {}</li>",
                coverage_badge(&filter.covered_by),
                escape(&filter.title),
                code(&filter.reference),
                covered_by(&filter.covered_by)
            );
        }
        out.push_str("</ul>\n</details>\n");
    }
    out.push_str("</article>\n");
}

fn scenario_item(out: &mut String, scenario: &ScenarioCoverage) {
    let mut line = format!("<li>{} ", status_badge(scenario.status));
    if let Some(id) = &scenario.id {
        let _ = write!(line, "{} ", code(id));
    }
    if let Some(title) = &scenario.title {
        let _ = write!(line, "{} ", escape(title));
    }
    if let Some(entry) = &scenario.falsepositive {
        let _ = write!(
            line,
            "<span class=\"by\">documents the falsepositives entry “{}”</span>",
            escape(entry)
        );
    }
    if scenario.id.is_none() {
        line.push_str(" <span class=\"by\">(no scenario in the test-case file)</span>");
    }
    out.push_str(&line);
    if scenario.cases.is_empty() {
        out.push_str("</li>\n");
        return;
    }
    out.push_str("\n<ul>\n");
    for case in &scenario.cases {
        let outcome = match case.outcome {
            Outcome::Pass => "passes",
            Outcome::Fail => "fails",
            Outcome::ExpectedFailure => "expected failure",
            Outcome::UnexpectedPass => "passes although marked xfail",
        };
        let expect = match case.expect {
            Verdict::Match => "expects a match",
            Verdict::NoMatch => "expects no match",
        };
        let _ = writeln!(out, "<li>{} — {expect}, {outcome}</li>", escape(&case.name));
    }
    out.push_str("</ul>\n</li>\n");
}

fn search_item(out: &mut String, search: &SearchCoverage) {
    let _ = writeln!(
        out,
        "<li><details>\n<summary>{} {} {} {}</summary>\n<ul>",
        coverage_badge(&search.covered_by),
        search.role.as_str(),
        code(&search.name),
        covered_by(&search.covered_by)
    );
    for item in &search.items {
        let alternative = if search.alternatives > 1 {
            format!("alternative {} · ", item.alternative)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<li>{} {alternative}{} {}\n<ul>",
            coverage_badge(&item.covered_by),
            code(&item.key),
            covered_by(&item.covered_by)
        );
        for value in &item.values {
            let _ = writeln!(
                out,
                "<li>{} {} {}</li>",
                coverage_badge(&value.covered_by),
                code(&value.display),
                covered_by(&value.covered_by)
            );
        }
        out.push_str("</ul>\n</li>\n");
    }
    out.push_str("</ul>\n</details></li>\n");
}

//! Coverage reports (`ruleproof coverage`): terminal text, a Markdown pull-request comment,
//! versioned JSON and a self-contained HTML page, all from a coverage report and its policy check.

mod html;
mod json;
mod markdown;
mod navigator;
mod text;

pub use html::html;
pub use json::{JSON_FORMAT, json};
pub use markdown::markdown;
pub use navigator::{LAYER_VERSION, navigator, technique_id};
pub use text::{policy_text, text};

use ruleproof_cases::RuleSummary;
use ruleproof_cases::coverage::{CorrelationCoverage, Counter};

/// The lines every format shows for a correlation rule: its sequence cases, the threshold met
/// exactly and missed by one, each base rule's contribution, then its gaps.
fn correlation_lines(c: &CorrelationCoverage) -> Vec<String> {
    let names = |cases: &[String]| {
        if cases.is_empty() {
            "none".to_owned()
        } else {
            cases.join("; ")
        }
    };
    let mut lines = vec![format!(
        "sequence cases: {}, {} failing ({} fire, {} stay quiet, {} known false positive(s))",
        c.sequences, c.failing, c.cases.positives, c.cases.negatives, c.cases.known_false_positives
    )];
    for scenario in &c.scenarios {
        lines.push(format!(
            "scenario {}: {}",
            scenario.label(),
            scenario.status.as_str()
        ));
    }
    if let Some(t) = c.threshold {
        let t = ruleproof_sigma::correlation::number_text(t);
        lines.push(format!(
            "threshold {t} met exactly by: {}",
            names(&c.met_exactly)
        ));
        lines.push(format!(
            "threshold {t} missed by one by: {}",
            names(&c.missed_by_one)
        ));
    }
    for (rule, cases) in &c.base_rules {
        lines.push(format!("base rule {rule} contributes in: {}", names(cases)));
    }
    lines.push(format!(
        "correlation coverage: {}",
        counter_text(c.conditions())
    ));
    for gap in c.gaps() {
        lines.push(format!("gap: {gap}"));
    }
    lines
}

/// `stable, high`, or `no status` when the rule sets neither.
fn tags(rule: &RuleSummary) -> String {
    let tags: Vec<&str> = [rule.status.as_deref(), rule.level.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if tags.is_empty() {
        String::from("no status")
    } else {
        tags.join(", ")
    }
}

/// `20/22 (90.9%)`.
fn counter_text(counter: Counter) -> String {
    format!(
        "{}/{} ({})",
        counter.covered,
        counter.total,
        counter.percent_text()
    )
}

/// A description split at its backticks into plain text (`false`) and code (`true`), so each
/// format can render names and values as code and escape them its own way.
fn segments(description: &str) -> Vec<(bool, &str)> {
    description
        .split('`')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| (i % 2 == 1, part))
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

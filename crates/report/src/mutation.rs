//! Mutation-testing reports (`ruleproof mutate`): terminal text, versioned JSON
//! (`ruleproof.mutation/1`, documented in `docs/mutation.md`), Markdown, and the section of the
//! HTML coverage page.

use std::fmt::Write;

use ruleproof_mutate::policy::Shortfall;
use ruleproof_mutate::{MutantResult, MutationReport, RuleMutation, Status};
use serde_json::{Value, json};

use crate::{cell, display_path};

/// The version of the JSON shape; bumped when a field changes meaning or disappears.
pub const JSON_FORMAT: &str = "ruleproof.mutation/1";

/// `100.0%`, or `n/a` when every mutant is equivalent.
fn score_text(rule: &RuleMutation) -> String {
    rule.score()
        .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}%"))
}

/// `path:line:col` of a mutant.
fn location(mutant: &MutantResult) -> String {
    format!(
        "{}:{}:{}",
        display_path(&mutant.path),
        mutant.line,
        mutant.col
    )
}

fn counts(rule: &RuleMutation) -> String {
    format!(
        "{} of {} killed, {} equivalent, {} case{}",
        rule.count(Status::Killed),
        rule.count(Status::Killed) + rule.count(Status::Survived),
        rule.count(Status::Equivalent),
        rule.cases,
        if rule.cases == 1 { "" } else { "s" }
    )
}

fn total_line(report: &MutationReport) -> String {
    let (killed, survived, equivalent) = report.totals();
    let counted = killed + survived;
    let score = if counted == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}%", killed as f64 * 100.0 / counted as f64)
    };
    format!(
        "mutation score {score}: {killed} of {counted} mutants killed, {equivalent} equivalent, over {} rule{}",
        report.rules.len(),
        if report.rules.len() == 1 { "" } else { "s" }
    )
}

/// For the terminal: per rule its score, then each survivor with its operator, location and
/// the change; then errors, the total and the policy verdict.
pub fn human(report: &MutationReport, shortfalls: &[Shortfall]) -> String {
    let mut out = String::new();
    for rule in &report.rules {
        let _ = writeln!(
            out,
            "{} {} ({})",
            score_text(rule),
            rule.rule.title,
            counts(rule)
        );
        let _ = writeln!(out, "    {}", display_path(&rule.rule.path));
        for mutant in rule.survivors() {
            let _ = writeln!(
                out,
                "  survived {} at {}\n    {}",
                mutant.operator,
                location(mutant),
                mutant.description
            );
        }
    }
    for error in &report.errors {
        let _ = writeln!(out, "error: {error}");
    }
    let _ = writeln!(out, "{}", total_line(report));
    out.push_str(&policy_text(shortfalls));
    out
}

/// The policy verdict: each rule below its required score, or that every rule meets it.
pub fn policy_text(shortfalls: &[Shortfall]) -> String {
    if shortfalls.is_empty() {
        return "mutation policy met\n".to_owned();
    }
    let mut out = String::from("mutation policy not met:\n");
    for s in shortfalls {
        let _ = writeln!(
            out,
            "  {} ({}): {}",
            display_path(&s.path),
            s.title,
            s.message()
        );
    }
    out
}

/// The JSON document, `ruleproof.mutation/1`.
pub fn json(report: &MutationReport, shortfalls: &[Shortfall]) -> Value {
    json!({
        "format": JSON_FORMAT,
        "rules": report.rules.iter().map(rule_json).collect::<Vec<_>>(),
        "policy": {
            "passed": shortfalls.is_empty(),
            "failures": shortfalls.iter().map(|s| json!({
                "path": display_path(&s.path),
                "title": s.title,
                "required": s.required,
                "score": round(s.score),
            })).collect::<Vec<_>>(),
        },
        "errors": report.errors,
    })
}

/// A score rounded to one decimal, as in the other renderers.
fn round(score: f64) -> f64 {
    (score * 10.0).round() / 10.0
}

fn rule_json(rule: &RuleMutation) -> Value {
    json!({
        "rule": rule.reference,
        "path": display_path(&rule.rule.path),
        "score": rule.score().map(round),
        "mutants": rule.mutants.iter().map(|m| json!({
            "operator": m.operator.name(),
            "location": location(m),
            "description": m.description,
            "status": m.status.as_str(),
            "killed_by": m.killed_by,
        })).collect::<Vec<_>>(),
    })
}

/// Escapes `|`, which would end a Markdown table cell.
/// For a pull-request comment: a table of scores, then the survivors.
pub fn markdown(report: &MutationReport, shortfalls: &[Shortfall]) -> String {
    let mut out = String::from("## Mutation testing\n\n");
    let _ = writeln!(out, "{}.\n", total_line(report));
    out.push_str("| rule | score | killed | survived | equivalent | cases |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for rule in &report.rules {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&rule.rule.title),
            score_text(rule),
            rule.count(Status::Killed),
            rule.count(Status::Survived),
            rule.count(Status::Equivalent),
            rule.cases
        );
    }
    let survivors: Vec<(&RuleMutation, &MutantResult)> = report
        .rules
        .iter()
        .flat_map(|r| r.survivors().map(move |m| (r, m)))
        .collect();
    if !survivors.is_empty() {
        out.push_str("\n### Surviving mutants\n\n");
        for (rule, mutant) in survivors {
            let _ = writeln!(
                out,
                "- {}: `{}` at `{}`: `{}`",
                rule.rule.title,
                mutant.operator,
                location(mutant),
                mutant.description
            );
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n### Errors\n\n");
        for error in &report.errors {
            let _ = writeln!(out, "- {}", error.replace('\n', " "));
        }
    }
    out.push('\n');
    if shortfalls.is_empty() {
        out.push_str("Mutation policy met.\n");
    } else {
        out.push_str("**Mutation policy not met:**\n\n");
        for s in shortfalls {
            let _ = writeln!(
                out,
                "- `{}` ({}): {}",
                display_path(&s.path),
                s.title,
                s.message()
            );
        }
    }
    out
}

/// The mutation section of the HTML coverage page; `escape` is the page's HTML escaping.
pub(crate) fn html_section(out: &mut String, report: &MutationReport, escape: fn(&str) -> String) {
    out.push_str("<section>\n<h2>Mutation testing</h2>\n");
    let _ = writeln!(out, "<p>{}.</p>", escape(&total_line(report)));
    out.push_str("<table>\n<tr><th>rule</th><th>score</th><th>killed</th><th>survived</th><th>equivalent</th><th>cases</th></tr>\n");
    for rule in &report.rules {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&rule.rule.title),
            escape(&score_text(rule)),
            rule.count(Status::Killed),
            rule.count(Status::Survived),
            rule.count(Status::Equivalent),
            rule.cases
        );
    }
    out.push_str("</table>\n");
    let survivors: Vec<&MutantResult> = report.rules.iter().flat_map(|r| r.survivors()).collect();
    if !survivors.is_empty() {
        out.push_str("<h3>Surviving mutants</h3>\n<ul class=\"gaps\">\n");
        for mutant in survivors {
            let _ = writeln!(
                out,
                "<li><code>{}</code> at <code>{}</code>: <code>{}</code></li>",
                escape(mutant.operator.name()),
                escape(&location(mutant)),
                escape(&mutant.description)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

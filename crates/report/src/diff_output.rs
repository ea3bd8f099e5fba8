//! Reports of `ruleproof diff`: terminal text, versioned JSON (`ruleproof.diff/1`, documented
//! in `docs/ci.md`), Markdown for a pull-request comment (one table row per rule, witnesses
//! folded in `<details>`), and GitHub Actions annotations on the changed lines.

use std::fmt::Write;
use std::path::Path;

use ruleproof_diff::policy::Unmet;
use ruleproof_diff::{Change, DiffReport, FixtureChanges, RuleDiff, Witness};
use serde_json::{Value, json};

use crate::cell;
use crate::github::annotation;

/// The version of the JSON shape; bumped when a field changes meaning or disappears.
pub const JSON_FORMAT: &str = "ruleproof.diff/1";

/// A changed document as the text output names it: `title (path)`.
fn named(title: &str, path: &Path) -> String {
    format!("{title} ({})", path.display())
}

/// A change's row in the text output: the classification in its column, then what changed.
fn change_row(change: Change, what: &str) -> String {
    format!("{:<11} {what}", change.as_str())
}

/// A meta-filter's or correlation's item in the Markdown output: what it is, its title and
/// path, its classification, and what else it changes (`tail`, empty or starting with `; `).
fn markdown_item(kind: &str, title: &str, path: &Path, change: Change, tail: &str) -> String {
    format!(
        "- {kind} {title} (`{}`): **{}**{tail}",
        path.display(),
        change.as_str()
    )
}

/// `broadened (exact)`, or with the witnesses behind it.
fn verdict(rule: &RuleDiff) -> String {
    match rule.change {
        Change::Added | Change::Removed | Change::Unchanged => rule.change.as_str().to_owned(),
        _ => format!("{} ({})", rule.change.as_str(), proof_text(rule)),
    }
}

fn proof_text(rule: &RuleDiff) -> String {
    match rule.proof {
        ruleproof_diff::Proof::Exact => "proved".to_owned(),
        ruleproof_diff::Proof::Witnesses => format!(
            "{} new match{}, {} lost, among {} events",
            rule.broadening_events,
            if rule.broadening_events == 1 {
                ""
            } else {
                "es"
            },
            rule.narrowing_events,
            rule.candidates
        ),
    }
}

fn witness_line(w: &Witness) -> String {
    let what = if w.new {
        "now matches"
    } else {
        "no longer matches"
    };
    format!("{what} ({}): {}", w.source, w.event)
}

fn fixtures_text(f: &FixtureChanges) -> Option<String> {
    if f.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for (label, count) in [
        ("added", f.added.len()),
        ("removed", f.removed.len()),
        ("changed", f.changed.len()),
    ] {
        if count > 0 {
            parts.push(format!("{count} {label}"));
        }
    }
    Some(format!("cases: {}", parts.join(", ")))
}

fn total_line(report: &DiffReport) -> String {
    format!(
        "{} rule{} changed against {} ({} changing what fires), {} meta-filter{}, {} correlation{}",
        report.rules.len(),
        if report.rules.len() == 1 { "" } else { "s" },
        report.base,
        report.semantic_changes(),
        report.filters.len(),
        if report.filters.len() == 1 { "" } else { "s" },
        report.correlations.len(),
        if report.correlations.len() == 1 {
            ""
        } else {
            "s"
        },
    )
}

/// For the terminal: per rule its classification and witnesses, then filters, correlations,
/// errors and the policy verdict.
pub fn human(report: &DiffReport, unmet: &[Unmet]) -> String {
    let mut out = String::new();
    for rule in &report.rules {
        let _ = writeln!(
            out,
            "{}",
            change_row(rule.change, &named(&rule.title, &rule.path))
        );
        if !matches!(
            rule.change,
            Change::Added | Change::Removed | Change::Unchanged
        ) {
            let _ = writeln!(out, "            {}", proof_text(rule));
        }
        if let Some(from) = &rule.renamed_from {
            let _ = writeln!(out, "            moved from {}", from.display());
        }
        if let Some((old, new)) = &rule.logsource {
            let _ = writeln!(out, "            log source {old} → {new}");
        }
        if !rule.metadata.is_empty() {
            let _ = writeln!(out, "            metadata: {}", rule.metadata.join(", "));
        }
        for w in &rule.witnesses {
            let _ = writeln!(out, "            {}", witness_line(w));
        }
        if let Some(text) = fixtures_text(&rule.fixtures) {
            let _ = writeln!(out, "            {text}");
        }
    }
    for filter in &report.filters {
        let what = format!("meta-filter {}", named(&filter.title, &filter.path));
        let _ = writeln!(out, "{}", change_row(filter.change, &what));
        for effect in &filter.rules {
            let _ = writeln!(
                out,
                "            {} {}",
                effect.change.as_str(),
                named(&effect.title, &effect.path)
            );
            for w in &effect.witnesses {
                let _ = writeln!(out, "              {}", witness_line(w));
            }
        }
    }
    for correlation in &report.correlations {
        let what = format!(
            "correlation {}",
            named(&correlation.title, &correlation.path)
        );
        let _ = writeln!(out, "{}", change_row(correlation.change, &what));
        if !correlation.rules_changed.is_empty() {
            let _ = writeln!(
                out,
                "            correlates changed rules: {}",
                correlation.rules_changed.join(", ")
            );
        }
    }
    for error in &report.errors {
        let _ = writeln!(out, "error: {error}");
    }
    for error in &report.base_errors {
        let _ = writeln!(out, "note: at {}: {error}", report.base);
    }
    let _ = writeln!(out, "{}", total_line(report));
    out.push_str(&policy_text(unmet));
    out
}

/// The policy verdict alone: one line per unmet requirement, or nothing.
pub fn policy_text(unmet: &[Unmet]) -> String {
    let mut out = String::new();
    for u in unmet {
        let _ = writeln!(
            out,
            "policy: {}:{}: {}: {}",
            u.path.display(),
            u.line,
            u.title,
            u.message
        );
    }
    out
}

fn witness_json(w: &Witness) -> Value {
    json!({ "event": w.event, "old": w.old, "new": w.new, "source": w.source })
}

/// `ruleproof.diff/1`.
pub fn json(report: &DiffReport, unmet: &[Unmet]) -> Value {
    let names = |cases: &[(String, ruleproof_cases::Verdict)]| -> Vec<String> {
        cases.iter().map(|(n, _)| n.clone()).collect()
    };
    json!({
        "format": JSON_FORMAT,
        "base": report.base,
        "commit": report.commit,
        "rules": report.rules.iter().map(|r| json!({
            "id": r.id,
            "title": r.title,
            "path": r.path.display().to_string(),
            "renamed_from": r.renamed_from.as_ref().map(|p| p.display().to_string()),
            "change": r.change.as_str(),
            "proof": r.proof.as_str(),
            "witnesses": r.witnesses.iter().map(witness_json).collect::<Vec<_>>(),
            "evaluated": r.candidates,
            "broadening": r.broadening_events,
            "narrowing": r.narrowing_events,
            "logsource": r.logsource.as_ref().map(|(o, n)| json!({"old": o, "new": n})),
            "metadata": r.metadata,
            "level": {"old": r.level.0, "new": r.level.1},
            "fixtures": {
                "added": names(&r.fixtures.added),
                "removed": r.fixtures.removed,
                "changed": names(&r.fixtures.changed),
            },
            "line": r.line,
        })).collect::<Vec<_>>(),
        "filters": report.filters.iter().map(|f| json!({
            "id": f.id,
            "title": f.title,
            "path": f.path.display().to_string(),
            "change": f.change.as_str(),
            "rules": f.rules.iter().map(|e| json!({
                "id": e.id,
                "title": e.title,
                "path": e.path.display().to_string(),
                "change": e.change.as_str(),
                "witnesses": e.witnesses.iter().map(witness_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "correlations": report.correlations.iter().map(|c| json!({
            "id": c.id,
            "title": c.title,
            "path": c.path.display().to_string(),
            "change": c.change.as_str(),
            "rules_changed": c.rules_changed,
        })).collect::<Vec<_>>(),
        "policy": unmet.iter().map(|u| json!({
            "path": u.path.display().to_string(),
            "line": u.line,
            "title": u.title,
            "message": u.message,
        })).collect::<Vec<_>>(),
        "errors": report.errors,
    })
}

/// For a pull-request comment: one table row per rule, its witnesses folded in `<details>`.
pub fn markdown(report: &DiffReport, unmet: &[Unmet]) -> String {
    let mut out = String::from("## Detection changes\n\n");
    let _ = writeln!(out, "{}.\n", total_line(report));
    if !report.rules.is_empty() {
        out.push_str("| rule | change | evidence | cases |\n| --- | --- | --- | --- |\n");
        for rule in &report.rules {
            let evidence = match rule.change {
                Change::Added | Change::Removed | Change::Unchanged => String::new(),
                _ => proof_text(rule),
            };
            let _ = writeln!(
                out,
                "| {} (`{}`) | **{}** | {} | {} |",
                cell(&rule.title),
                rule.path.display(),
                rule.change.as_str(),
                cell(&evidence),
                cell(&fixtures_text(&rule.fixtures).unwrap_or_default())
            );
        }
    }
    for rule in report.rules.iter().filter(|r| !r.witnesses.is_empty()) {
        let _ = writeln!(
            out,
            "\n<details><summary>{}: {} witness{}</summary>\n",
            rule.title,
            rule.witnesses.len(),
            if rule.witnesses.len() == 1 { "" } else { "es" }
        );
        for w in &rule.witnesses {
            let _ = writeln!(
                out,
                "- {} ({}):\n  ```json\n  {}\n  ```",
                if w.new {
                    "now matches"
                } else {
                    "no longer matches"
                },
                w.source,
                w.event
            );
        }
        out.push_str("\n</details>\n");
    }
    if !report.filters.is_empty() || !report.correlations.is_empty() {
        out.push_str("\n### Meta-filters and correlations\n\n");
        for filter in &report.filters {
            let rules: Vec<String> = filter
                .rules
                .iter()
                .map(|e| format!("{} {}", e.title, e.change.as_str()))
                .collect();
            let tail = if rules.is_empty() {
                String::new()
            } else {
                format!("; changes the verdicts of: {}", rules.join(", "))
            };
            let item = markdown_item(
                "meta-filter",
                &filter.title,
                &filter.path,
                filter.change,
                &tail,
            );
            let _ = writeln!(out, "{item}");
        }
        for c in &report.correlations {
            let tail = if c.rules_changed.is_empty() {
                String::new()
            } else {
                format!("; correlates changed rules {}", c.rules_changed.join(", "))
            };
            let item = markdown_item("correlation", &c.title, &c.path, c.change, &tail);
            let _ = writeln!(out, "{item}");
        }
    }
    if !unmet.is_empty() {
        out.push_str("\n### Policy not met\n\n");
        for u in unmet {
            let _ = writeln!(out, "- {} (`{}`): {}", u.title, u.path.display(), u.message);
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n### Errors\n\n");
        for error in &report.errors {
            let _ = writeln!(out, "- {}", error.replace('\n', " "));
        }
    }
    out
}

/// GitHub Actions annotations: a notice on the changed line of each rule whose meaning
/// changed (a warning when it broadened), an error per unmet policy requirement.
pub fn github(report: &DiffReport, unmet: &[Unmet]) -> String {
    let mut out = String::new();
    for rule in report.rules.iter().filter(|r| r.line > 0) {
        let level = match rule.change {
            Change::Broadened | Change::Changed => "warning",
            Change::Narrowed | Change::Added => "notice",
            _ => continue,
        };
        let mut message = format!("{}: {}", rule.title, verdict(rule));
        for w in &rule.witnesses {
            message.push('\n');
            message.push_str(&witness_line(w));
        }
        let _ = writeln!(
            out,
            "{}",
            annotation(
                level,
                &rule.path.display().to_string(),
                rule.line,
                1,
                &format!("rule {}", rule.change.as_str()),
                &message
            )
        );
    }
    for u in unmet {
        let _ = writeln!(
            out,
            "{}",
            annotation(
                "error",
                &u.path.display().to_string(),
                u.line,
                1,
                "ruleproof diff policy",
                &format!("{}: {}", u.title, u.message)
            )
        );
    }
    out
}

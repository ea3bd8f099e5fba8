//! Data-driven tests of every transformation and condition: each file under
//! `tests/transformations/` is YAML documents separated by `---`: the case (`source:` citing
//! the pySigma file or page the expectation follows, and `expect:` the processed rule or
//! `error:` a text the error must contain), one or more pipelines, then the rule.

use std::path::Path;

use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::detection::{Scalar, SearchBody};
use ruleproof_sigma::yaml::{Limits, parse_documents};
use ruleproof_sigma::{
    CompileOptions, CompiledRule, Correlation, DocumentBody, LogSource, Rule, RuleProcessing,
    SourceFile, load_source,
};

/// The processed rule as text: log source, fields, conditions, each search's item maps, and
/// the notes of what was done.
fn render(rule: &Rule, notes: &[ruleproof_sigma::ProcessingNote]) -> String {
    let ls = &rule.logsource;
    let mut out = format!(
        "logsource: category={} product={} service={}\n",
        ls.category.as_deref().unwrap_or("-"),
        ls.product.as_deref().unwrap_or("-"),
        ls.service.as_deref().unwrap_or("-")
    );
    if !rule.meta.fields.is_empty() {
        out.push_str(&format!("fields: {}\n", rule.meta.fields.join(", ")));
    }
    for condition in &rule.detection.conditions {
        out.push_str(&format!("condition: {}\n", condition.text));
    }
    for search in &rule.detection.searches {
        out.push_str(&format!("{}:\n", search.name));
        let maps: Vec<Vec<&ruleproof_sigma::detection::Item>> = match &search.body {
            SearchBody::Maps(maps) => maps.iter().map(|m| m.items.iter().collect()).collect(),
            SearchBody::Keywords(item) => vec![vec![item]],
        };
        for map in maps {
            let items: Vec<String> = map
                .iter()
                .map(|i| {
                    let values: Vec<String> = i
                        .values
                        .iter()
                        .map(|v| match &v.value {
                            Scalar::String(s) => format!("'{s}'"),
                            other => other.text(),
                        })
                        .collect();
                    format!("{}: {}", i.key_text(), values.join(" | "))
                })
                .collect();
            out.push_str(&format!("  - {}\n", items.join(", ")));
        }
    }
    for note in notes {
        out.push_str(&format!("note: {}\n", note.text));
    }
    out
}

/// A processed correlation rule as text: group-by, aliases, the condition's fields, `fields`,
/// and the notes of what was done.
fn render_correlation(
    correlation: &Correlation,
    notes: &[ruleproof_sigma::ProcessingNote],
) -> String {
    let mut out = format!("group-by: {}\n", correlation.group_by.join(", "));
    for (alias, per_rule) in &correlation.aliases {
        let fields: Vec<String> = per_rule.iter().map(|(r, f)| format!("{r}={f}")).collect();
        out.push_str(&format!("alias {alias}: {}\n", fields.join(", ")));
    }
    if !correlation.condition.fields.is_empty() {
        out.push_str(&format!(
            "condition field: {}\n",
            correlation.condition.fields.join(", ")
        ));
    }
    if !correlation.meta.fields.is_empty() {
        out.push_str(&format!("fields: {}\n", correlation.meta.fields.join(", ")));
    }
    for note in notes {
        out.push_str(&format!("note: {}\n", note.text));
    }
    out
}

/// Compares a processing result, rendered, with the case's `expect:` or `error:`.
fn compare(
    result: Result<String, Vec<ruleproof_sigma::SigmaError>>,
    expect: Option<&str>,
    error: Option<&str>,
) -> datatest_stable::Result<()> {
    match (result, expect, error) {
        (Ok(actual), Some(wanted), None) if actual == wanted => Ok(()),
        (Ok(actual), Some(wanted), None) => Err(format!(
            "processed rule differs\n--- expected\n{wanted}--- actual\n{actual}"
        )
        .into()),
        (Err(errors), None, Some(wanted)) => {
            let message = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            if message.contains(wanted) {
                Ok(())
            } else {
                Err(format!("error `{message}` does not contain `{wanted}`").into())
            }
        }
        (Ok(actual), _, _) => Err(format!("expected an error, got\n{actual}").into()),
        (Err(errors), _, _) => Err(format!("unexpected error: {errors:?}").into()),
    }
}

fn check(path: &Path, text: String) -> datatest_stable::Result<()> {
    let documents: Vec<&str> = text.split("\n---\n").collect();
    let [case, pipelines @ .., rule] = documents.as_slice() else {
        return Err("a case file holds a case, pipelines and a rule, separated by `---`".into());
    };
    if pipelines.is_empty() {
        return Err("a case file needs at least one pipeline".into());
    }
    let case_source = SourceFile::new(path, *case);
    let case = parse_documents(&case_source, &Limits::default()).map_err(|e| e.message)?;
    let case = case.first().ok_or("the case document is empty")?;
    if case
        .get("source")
        .and_then(|s| s.as_str())
        .is_none_or(str::is_empty)
    {
        return Err("every case cites its pySigma `source:`".into());
    }
    let expect = case.get("expect").and_then(|n| n.as_str());
    let error = case.get("error").and_then(|n| n.as_str());
    let mut loaded = Vec::new();
    for (i, text) in pipelines.iter().enumerate() {
        let source = SourceFile::new(path.with_extension(format!("pipeline{i}.yml")), *text);
        match Pipeline::from_source(source) {
            Ok(p) => loaded.push(p),
            Err(e) => {
                let wanted = error.ok_or_else(|| format!("unexpected pipeline error: {e}"))?;
                if !e.to_string().contains(wanted) {
                    return Err(format!("error `{e}` does not contain `{wanted}`").into());
                }
                return Ok(());
            }
        }
    }
    let pipelines = Pipelines::resolve(loaded);
    let file = load_source(SourceFile::new(path, *rule), &Limits::default());
    let errors: Vec<String> = file.errors.iter().map(|e| e.message.clone()).collect();
    let [document] = file.documents.as_slice() else {
        return Err(format!("the rule does not load: {errors:?}").into());
    };
    if let DocumentBody::Correlation(correlation) = &document.body {
        // A correlation rule: `referenced:` in the case lists the log sources of the rules it
        // references.
        let referenced: Vec<LogSource> = case
            .get("referenced")
            .and_then(|n| n.as_seq())
            .unwrap_or_default()
            .iter()
            .map(|n| LogSource {
                category: n
                    .get("category")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                product: n.get("product").and_then(|v| v.as_str()).map(str::to_owned),
                service: n.get("service").and_then(|v| v.as_str()).map(str::to_owned),
            })
            .collect();
        let mut correlation = correlation.clone();
        let result = pipelines.process_correlation(&mut correlation, &document.node, &referenced);
        return compare(
            result.map(|notes| render_correlation(&correlation, &notes)),
            expect,
            error,
        );
    }
    let DocumentBody::Rule(rule) = &document.body else {
        return Err("the last document must be a detection rule or a correlation rule".into());
    };
    let mut rule = rule.clone();
    match pipelines.process(&mut rule, &document.node) {
        Ok(notes) => {
            if let Some(wanted) = error {
                return Err(format!("expected an error containing `{wanted}`, got none").into());
            }
            let wanted = expect.ok_or("the case needs `expect:` or `error:`")?;
            let actual = render(&rule, &notes);
            if actual != wanted {
                eprintln!("actual:\n{actual}");
                return Err(format!(
                    "processed rule differs\n--- expected\n{wanted}--- actual\n{actual}"
                )
                .into());
            }
            // The engine must accept what the pipeline made.
            if let Err(errors) = CompiledRule::compile(&rule, &CompileOptions::default()) {
                let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                return Err(format!("the processed rule does not compile: {messages:?}").into());
            }
            Ok(())
        }
        Err(errors) => {
            let message = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let wanted = error.ok_or_else(|| format!("unexpected error: {message}"))?;
            if message.contains(wanted) {
                Ok(())
            } else {
                Err(format!("error `{message}` does not contain `{wanted}`").into())
            }
        }
    }
}

datatest_stable::harness! {
    { test = check, root = "tests/transformations", pattern = r"\.yml$" },
}

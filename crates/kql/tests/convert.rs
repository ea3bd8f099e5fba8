//! Data-driven conversion checks: each row of `tests/convert/rules.yml` is a detection, a
//! pipeline and the exact KQL expected (or an error substring), and optionally events on which
//! the converted query must agree with the Sigma engine.

use ruleproof_kql::{Query, builtin_pipeline, convert_document, fixture_row};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::{
    CompileOptions, CompiledRule, DocumentBody, Limits, SourceFile, load_source,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use similar::TextDiff;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    name: String,
    #[serde(default = "default_pipeline")]
    pipeline: String,
    /// The rule's `logsource`; process creation on Windows when not given.
    #[serde(default)]
    logsource: Option<Map<String, Value>>,
    /// The rule's `detection`, as YAML text.
    detection: String,
    /// The exact query expected.
    #[serde(default)]
    kql: Option<String>,
    /// A substring of the expected error.
    #[serde(default)]
    error: Option<String>,
    /// Events (in Sigma's field names) on which the query and the engine must agree.
    #[serde(default)]
    agree: Vec<Map<String, Value>>,
}

fn default_pipeline() -> String {
    "asim".to_owned()
}

/// The rule file a row stands for.
fn rule_text(row: &Row) -> String {
    let logsource = row.logsource.clone().unwrap_or_else(|| {
        let mut map = Map::new();
        map.insert("product".to_owned(), Value::from("windows"));
        map.insert("category".to_owned(), Value::from("process_creation"));
        map
    });
    let mut text = format!("title: {}\nlogsource:\n", row.name.replace(':', " -"));
    for (key, value) in &logsource {
        text.push_str(&format!(
            "    {key}: {}\n",
            value.as_str().unwrap_or_default()
        ));
    }
    text.push_str("detection:\n");
    for line in row.detection.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// A unified diff of expected and actual text, for failure messages.
fn diff(expected: &str, actual: &str) -> String {
    TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// A shipped pipeline, or a pipeline file of `tests/convert/` (loaded as users load their own).
fn load_pipeline(name: &str) -> Result<Pipelines, String> {
    let pipeline = match builtin_pipeline(name) {
        Some(pipeline) => pipeline,
        None => {
            let path = format!("{}/tests/convert/{name}.yml", env!("CARGO_MANIFEST_DIR"));
            Pipeline::load(path.as_ref()).map_err(|e| e.to_string())?
        }
    };
    Ok(Pipelines::resolve(vec![pipeline]))
}

/// Checks one row, describing what differed when it fails.
fn check(row: &Spanned<Row>) -> Result<(), String> {
    let line = row.referenced.line();
    let row = &row.value;
    let label = format!("line {line} ({})", row.name);
    let pipeline = load_pipeline(&row.pipeline).map_err(|e| format!("{label}: {e}"))?;
    let source = SourceFile::new("row.yml", rule_text(row));
    let loaded = load_source(source.clone(), &Limits::default());
    if let Some(e) = loaded.errors.first() {
        return Err(format!(
            "{label}: the rule does not load: {}",
            e.render(&source)
        ));
    }
    let [document] = loaded.documents.as_slice() else {
        return Err(format!("{label}: expected one document"));
    };
    let options = CompileOptions::default();
    let result = convert_document(document, &pipeline, &options);
    match (&row.kql, &row.error, &result) {
        (Some(expected), None, Ok(actual)) => {
            if expected != actual {
                return Err(format!(
                    "{label}: the KQL differs\n{}",
                    diff(expected, actual)
                ));
            }
        }
        (None, Some(expected), Err(error)) => {
            let rendered = error.render(&source);
            if !rendered.contains(expected.as_str()) {
                return Err(format!(
                    "{label}: the error `{rendered}` does not contain `{expected}`"
                ));
            }
            if !rendered.contains(&error.rule) || error.rule.is_empty() {
                return Err(format!(
                    "{label}: the error does not name the rule: {rendered}"
                ));
            }
            return Ok(());
        }
        (Some(_), None, Err(error)) => {
            return Err(format!(
                "{label}: conversion failed: {}",
                error.render(&source)
            ));
        }
        (None, Some(expected), Ok(actual)) => {
            return Err(format!(
                "{label}: expected an error containing `{expected}`, got\n{actual}"
            ));
        }
        _ => return Err(format!("{label}: give exactly one of `kql` and `error`")),
    }
    let query = result.unwrap_or_default();
    if row.agree.is_empty() {
        return Ok(());
    }
    let DocumentBody::Rule(rule) = &document.body else {
        return Err(format!("{label}: not a rule"));
    };
    let compiled = CompiledRule::compile(rule, &options)
        .map_err(|e| format!("{label}: the rule does not compile: {e:?}"))?;
    let parsed = Query::parse(&query)
        .map_err(|e| format!("{label}: the converted query does not parse: {e}\n{query}"))?;
    let mut processed_rule = rule.clone();
    let processed = pipeline
        .process_rule(&mut processed_rule, &document.node)
        .map_err(|e| format!("{label}: the pipeline refuses the rule: {e:?}"))?;
    for event in &row.agree {
        let sigma = compiled.matches(event);
        let record = fixture_row(&pipeline, &processed, parsed.table(), event)
            .map_err(|e| format!("{label}: {e}"))?;
        let kql = parsed.evaluate(&record);
        if sigma != kql {
            return Err(format!(
                "{label}: on {} Sigma says {sigma} and the KQL {kql}\n{}",
                Value::Object(event.clone()),
                parsed.explain(&record)
            ));
        }
    }
    Ok(())
}

#[test]
fn conversion_rules() {
    let path = format!("{}/tests/convert/rules.yml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<Spanned<Row>> =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(rows.len() > 20, "{path}: too few rows");
    let failures: Vec<String> = rows.iter().filter_map(|r| check(r).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} conversion rows failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}

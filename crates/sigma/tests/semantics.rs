//! A data-driven suite that pins the engine's Sigma semantics: every file under
//! `tests/semantics/` lists rules with events and the verdicts they must get, or the errors they
//! must be rejected with.
//!
//! Each file is a YAML list of entries:
//!
//! ```yaml
//! - name: what the entry shows
//!   rule: |              # a YAML string (positions of errors are reported within it) or a mapping
//!     detection: …
//!   placeholders: {name: [values]}   # optional values for `|expand`
//!   pipeline: asim       # optional: `crates/kql/pipelines/<name>.yml` processes the rule first
//!   events:
//!     - event: {Field: value}
//!       match: true
//!       because: [selection]         # optional: the exact `matched_because()` identifiers
//!       rejected: [filter]           # optional: the exact `rejected_because()` identifiers
//!   error: {kind: InvalidModifier, message: substring, at: "3:11"}   # instead of events
//! ```
//!
//! A rule without a `title` gets a title and a log source appended, so that the lines of the rule
//! as written stay the lines errors are reported at. A rule string may hold several documents:
//! the first rule is the one tested and every filter that applies to it is applied.
//!
//! Every event is checked through every way the product evaluates a rule: the rule alone
//! (`matches` and `explain`), the rule-set index (`RuleSetIndex`, which `match` and `backtest`
//! use), and, when the rule converts to KQL (no meta-filter applied, no construct without a
//! KQL form), the converted query evaluated by the KQL evaluator on the events a Kusto table can
//! hold ([`in_table_model`]). A split between any two (one case folding in the matchers and
//! another in the index, say) fails here. With `pipeline:`, the rule is processed by a shipped
//! KQL pipeline before it compiles and converts, as `--pipeline` does, and the events are
//! written in the table's schema.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ruleproof_kql::{Query, convert_document};
use ruleproof_pipeline::{Pipeline, Pipelines};
use ruleproof_sigma::ruleset::RuleSetIndex;
use ruleproof_sigma::yaml::{Node, Value as YamlValue, parse_documents};
use ruleproof_sigma::{
    CompileOptions, CompiledFilter, CompiledRule, DocumentBody, Limits, SigmaError, SourceFile,
    load_source,
};
use serde_json::Value;

/// The header appended to a rule string that has no title of its own.
const HEADER: &str = "title: semantics test\nlogsource:\n    product: test\n";

/// What one file of the suite produced.
#[derive(Default)]
struct Outcome {
    checks: usize,
    failures: Vec<String>,
}

/// Where an entry sits, for failure messages.
struct Place<'a> {
    file: &'a Path,
    line: u32,
    name: String,
}

impl Place<'_> {
    fn label(&self) -> String {
        format!("{}:{} ({})", self.file.display(), self.line, self.name)
    }
}

fn semantics_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/semantics")
}

/// Runs every entry of one file and panics with every failure it found.
fn run_file(name: &str) -> usize {
    let path = semantics_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
    let source = SourceFile::new(&path, text);
    let documents = parse_documents(&source, &Limits::default()).unwrap_or_else(|e| {
        panic!(
            "{}: the test file does not parse: {e}",
            source.location(e.span)
        )
    });
    let entries = documents
        .first()
        .and_then(Node::as_seq)
        .unwrap_or_else(|| panic!("{}: the file must be a list of entries", path.display()));
    let mut outcome = Outcome::default();
    for entry in entries {
        run_entry(&source, entry, &mut outcome);
    }
    assert!(
        outcome.failures.is_empty(),
        "{} of {} checks failed in {}:\n\n{}",
        outcome.failures.len(),
        outcome.checks,
        path.display(),
        outcome.failures.join("\n\n")
    );
    assert!(outcome.checks > 0, "{}: no checks", path.display());
    outcome.checks
}

fn run_entry(source: &SourceFile, entry: &Node, outcome: &mut Outcome) {
    let place = Place {
        file: source.path(),
        line: source.line_col(entry.span.start).line,
        name: entry
            .get("name")
            .and_then(Node::as_str)
            .unwrap_or("unnamed")
            .to_owned(),
    };
    let Some(rule_node) = entry.get("rule") else {
        outcome
            .failures
            .push(format!("{}: no `rule`", place.label()));
        return;
    };
    let rule_text = rule_text(rule_node);
    let options = CompileOptions {
        placeholders: entry.get("placeholders").map(|p| {
            p.as_map()
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| {
                    let values = v
                        .as_seq()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::scalar_text)
                        .collect();
                    (k.scalar_text().unwrap_or_default(), values)
                })
                .collect::<HashMap<_, _>>()
        }),
    };
    if entry.get("error").is_some() == entry.get("events").is_some() {
        outcome.failures.push(format!(
            "{}: an entry has either `events` or `error`",
            place.label()
        ));
        return;
    }
    let pipelines = match entry.get("pipeline").map(|p| p.scalar_text()) {
        None => None,
        Some(Some(name)) => Some(shipped_pipeline(&name)),
        Some(None) => {
            outcome
                .failures
                .push(format!("{}: `pipeline` names a file", place.label()));
            return;
        }
    };
    let compiled = compile(&place, &rule_text, &options, pipelines.as_ref());
    if let Some(expected) = entry.get("error") {
        outcome.checks += 1;
        check_error(&place, &rule_text, expected, compiled, outcome);
        return;
    }
    let rule = match compiled {
        Ok(compiled) => compiled,
        Err((source, errors)) => {
            let rendered: Vec<String> = errors.iter().map(|e| e.render(&source)).collect();
            outcome.failures.push(format!(
                "{}: the rule does not compile:\n  {}\nrule:\n{rule_text}",
                place.label(),
                rendered.join("\n  ")
            ));
            return;
        }
    };
    let Some(events) = entry.get("events").and_then(Node::as_seq) else {
        outcome
            .failures
            .push(format!("{}: neither `events` nor `error`", place.label()));
        return;
    };
    for case in events {
        outcome.checks += 1;
        check(&place, source, &rule, &rule_text, case, outcome);
    }
}

/// The rule as text: a string is taken as written, a mapping is written out as JSON (which is YAML).
fn rule_text(node: &Node) -> String {
    let mut text = match node.as_str() {
        Some(text) => text.to_owned(),
        None => serde_json::to_string_pretty(&node.to_json()).unwrap(),
    };
    let has_title = text.lines().any(|l| l.starts_with("title:"));
    if node.as_str().is_none() {
        // A mapping written as JSON takes its header inside the braces.
        if let Value::Object(mut map) = node.to_json() {
            map.entry("title")
                .or_insert_with(|| Value::from("semantics test"));
            map.entry("logsource")
                .or_insert_with(|| serde_json::json!({"product": "test"}));
            text = serde_json::to_string_pretty(&Value::Object(map)).unwrap();
        }
    } else if !has_title {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(HEADER);
    }
    text
}

/// A rule ready for every way of evaluating it.
struct Compiled {
    rule: CompiledRule,
    /// The rule indexed on its own, as `match` and `backtest` evaluate it.
    index: RuleSetIndex,
    /// The rule converted to KQL, when it converts (see [`kql_pipeline`]).
    kql: Option<Query>,
}

type CompileResult = Result<Compiled, (SourceFile, Vec<SigmaError>)>;

/// A pipeline that chooses one table for every log source and renames no field, so the
/// converted query reads the suite's events as they are written.
fn kql_pipeline() -> Pipelines {
    let text = "name: semantics\ntransformations:\n  - {id: table, type: set_state, key: query_table, val: Events}\n";
    let pipeline = Pipeline::from_source(SourceFile::new("semantics-pipeline.yml", text))
        .expect("the semantics pipeline loads");
    Pipelines::resolve(vec![pipeline])
}

/// A KQL pipeline the product ships, `crates/kql/pipelines/<name>.yml`.
fn shipped_pipeline(name: &str) -> Pipelines {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kql/pipelines")
        .join(format!("{name}.yml"));
    Pipelines::load(&[path]).unwrap_or_else(|e| panic!("the pipeline `{name}` loads: {e}"))
}

/// Loads the rule text, compiles its first rule (processed by `pipelines` when given) and
/// applies the filters of the text that apply to it.
fn compile(
    place: &Place,
    text: &str,
    options: &CompileOptions,
    pipelines: Option<&Pipelines>,
) -> CompileResult {
    let source = SourceFile::new(format!("{}:{}", place.file.display(), place.line), text);
    let loaded = load_source(source, &Limits::default());
    if !loaded.errors.is_empty() {
        return Err((loaded.source, loaded.errors));
    }
    let mut rule = None;
    let mut filters = Vec::new();
    let mut errors = Vec::new();
    let mut kql = None;
    for document in &loaded.documents {
        match &document.body {
            DocumentBody::Rule(written) if rule.is_none() => {
                let mut r = written.clone();
                if let Some(pipelines) = pipelines
                    && let Err(e) = pipelines.process_rule(&mut r, &document.node)
                {
                    errors.extend(e);
                    continue;
                }
                let compiled = CompiledRule::compile(&r, options);
                // `validate` asks `check`, every other command `compile`: the same errors.
                assert_eq!(
                    CompiledRule::check(&r, options).err(),
                    compiled.as_ref().err().cloned(),
                    "{}: CompiledRule::check and compile disagree",
                    place.label()
                );
                match compiled {
                    Ok(c) => rule = Some(c),
                    Err(e) => errors.extend(e),
                }
                // A rule with a construct that has no KQL form is checked without KQL, and so
                // is a query the local evaluator cannot run (field-to-field comparisons, time
                // parts); any other query the converter writes must parse.
                let kql_pipelines = pipelines.cloned().unwrap_or_else(kql_pipeline);
                kql = convert_document(document, &kql_pipelines, options)
                    .ok()
                    .and_then(|text| match Query::parse(&text) {
                        Ok(query) => Some(query),
                        Err(e) if e.message.starts_with("not supported for local evaluation") => {
                            None
                        }
                        Err(e) => panic!(
                            "{}: the converted query does not parse: {e:?}\n{text}",
                            place.label()
                        ),
                    });
            }
            DocumentBody::Filter(f) => {
                let compiled = CompiledFilter::compile(f, options);
                assert_eq!(
                    CompiledFilter::check(f, options).err(),
                    compiled.as_ref().err().cloned(),
                    "{}: CompiledFilter::check and compile disagree",
                    place.label()
                );
                match compiled {
                    Ok(c) => filters.push(c),
                    Err(e) => errors.extend(e),
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err((loaded.source, errors));
    }
    let Some(rule) = rule else {
        return Err((loaded.source, Vec::new()));
    };
    let applicable: Vec<&CompiledFilter> = filters.iter().filter(|f| f.applies_to(&rule)).collect();
    let (rule, kql) = if applicable.is_empty() {
        (rule, kql)
    } else {
        // The converter knows no meta-filters: the query would test the rule alone.
        (rule.with_filters(&applicable), None)
    };
    Ok(Compiled {
        index: RuleSetIndex::new(vec![rule.clone()]),
        rule,
        kql,
    })
}

/// The one check of a verdict: `matches`, `explain`, the decisive identifiers, the rule-set
/// index and the converted KQL query must all agree with what the entry expects.
fn check(
    place: &Place,
    file: &SourceFile,
    compiled: &Compiled,
    rule_text: &str,
    case: &Node,
    outcome: &mut Outcome,
) {
    let line = file.line_col(case.span.start).line;
    let event = case.get("event").map_or(Value::Null, Node::to_json);
    let Some(expected) = case.get("match").and_then(|m| match m.value {
        YamlValue::Bool(b) => Some(b),
        _ => None,
    }) else {
        outcome.failures.push(format!(
            "{}, event at line {line}: `match` must be true or false",
            place.label()
        ));
        return;
    };
    let rule = &compiled.rule;
    let actual = rule.matches(&event);
    let explanation = rule.explain(&event);
    let mut problems = Vec::new();
    if actual != expected {
        problems.push(format!("expected match: {expected}, actual: {actual}"));
    }
    if explanation.matched != actual {
        problems.push(format!(
            "`explain` says {} but `matches` says {actual}",
            explanation.matched
        ));
    }
    let indexed = !compiled.index.matching_rules(&event).is_empty();
    if indexed != expected {
        problems.push(format!(
            "expected match: {expected}, but the rule-set index says {indexed}"
        ));
    }
    if let (Some(query), Some(record)) = (
        &compiled.kql,
        event.as_object().filter(|r| in_table_model(r)),
    ) {
        let converted = query.evaluate(record);
        if converted != expected {
            problems.push(format!(
                "expected match: {expected}, but the converted KQL query says {converted}"
            ));
        }
    }
    for (key, got) in [
        ("because", explanation.matched_because()),
        ("rejected", explanation.rejected_because()),
    ] {
        if let Some(want) = case.get(key) {
            let want: Vec<String> = want
                .as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(Node::scalar_text)
                .collect();
            if want != got {
                problems.push(format!("expected {key}: {want:?}, actual: {got:?}"));
            }
        }
    }
    if !problems.is_empty() {
        let mut message = format!(
            "{}, event at line {line}: {}\n  event: {event}\nrule:\n",
            place.label(),
            problems.join("; ")
        );
        for l in rule_text.lines() {
            let _ = writeln!(message, "    {l}");
        }
        let _ = write!(message, "explanation:\n{explanation}");
        outcome.failures.push(message);
    }
}

/// Whether an event is a row a Kusto table can hold, on which a converted query must agree with
/// the engine. Sigma events are JSON documents; a table row has one typed scalar per column and
/// no absent column (a missing string reads as `""`, `docs/kql.md`). So rows hold non-empty
/// strings, numbers and booleans; arrays, objects, `null` and `""` are the document model's own
/// (the engine's semantics for them are pinned above), and a numeric string must be written as
/// its number prints, since a numeric column holds the number, not its spelling (`'04688'`).
fn in_table_model(record: &serde_json::Map<String, Value>) -> bool {
    record.values().all(|value| match value {
        Value::Bool(_) | Value::Number(_) => true,
        Value::String(s) => {
            !s.is_empty()
                && s.trim()
                    .parse::<f64>()
                    .map_or(true, |n| n.is_finite() && n.to_string() == *s)
        }
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    })
}

/// The one check of a rejection: some error has the kind, holds the message and sits at `at`.
fn check_error(
    place: &Place,
    rule_text: &str,
    expected: &Node,
    compiled: CompileResult,
    outcome: &mut Outcome,
) {
    let field = |key: &str| expected.get(key).and_then(Node::scalar_text);
    let (kind, message, at) = (field("kind"), field("message"), field("at"));
    let (source, errors) = match compiled {
        Ok(_) => {
            outcome.failures.push(format!(
                "{}: expected an error {kind:?} `{message:?}` at {at:?}, but the rule compiled\nrule:\n{rule_text}",
                place.label()
            ));
            return;
        }
        Err(e) => e,
    };
    let fits = |e: &SigmaError| {
        kind.as_deref().is_none_or(|k| format!("{:?}", e.kind) == k)
            && message.as_deref().is_none_or(|m| e.message.contains(m))
            && at
                .as_deref()
                .is_none_or(|a| source.line_col(e.span.start).to_string() == a)
    };
    if !errors.iter().any(fits) {
        let got: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{:?} at {}: {}",
                    e.kind,
                    source.line_col(e.span.start),
                    e.message
                )
            })
            .collect();
        outcome.failures.push(format!(
            "{}: expected an error {} containing {:?} at {}, got:\n  {}\nrule:\n{rule_text}",
            place.label(),
            kind.as_deref().unwrap_or("of any kind"),
            message.as_deref().unwrap_or(""),
            at.as_deref().unwrap_or("any position"),
            got.join("\n  ")
        ));
    }
}

macro_rules! semantics_files {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                let checks = run_file($file);
                println!("{}: {checks} checks", $file);
            }
        )*

        /// Every file in the directory has a test, so no file is silently skipped.
        #[test]
        fn every_file_is_run() {
            let listed = [$($file),*];
            let mut found: Vec<String> = std::fs::read_dir(semantics_dir())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yml"))
                .collect();
            found.sort();
            let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
            listed.sort();
            assert_eq!(found, listed);
        }
    };
}

semantics_files! {
    strings_and_case => "strings-and-case.yml",
    wildcards_and_escapes => "wildcards-and-escapes.yml",
    lists_and_maps => "lists-and-maps.yml",
    keywords => "keywords.yml",
    null_and_empty => "null-and-empty.yml",
    numbers_and_booleans => "numbers-and-booleans.yml",
    modifiers_string => "modifiers-string.yml",
    modifiers_regex => "modifiers-regex.yml",
    modifiers_encoding => "modifiers-encoding.yml",
    modifiers_numeric_and_time => "modifiers-numeric-and-time.yml",
    modifiers_cidr => "modifiers-cidr.yml",
    modifiers_exists_neq_fieldref => "modifiers-exists-neq-fieldref.yml",
    expand => "expand.yml",
    conditions => "conditions.yml",
    events => "events.yml",
    filters => "filters.yml",
    errors => "errors.yml",
    pipeline_joined_columns => "pipeline-joined-columns.yml",
    index_exact_atoms => "index-exact-atoms.yml",
}

//! A data-driven suite for correlation rules: every file under `tests/correlation/` is one test,
//! a YAML list of entries, each with rules, a sequence of events and the alerts it must raise.
//!
//! ```yaml
//! - name: what the entry shows
//!   spec: the specification section it pins
//!   rules: |                   # a multi-document YAML stream: detection rules and correlations
//!     …
//!   options: {lateness: 0s, realert: reset, timestamp_field: ts}    # optional
//!   events:                    # in arrival order; `_time` in epoch seconds is the usual clock
//!     - {_time: 0, EventID: 4625, User: alice}
//!   alerts:                    # every alert of a reported correlation, in the order raised
//!     - {rule: name-or-id, event: 2, group: {User: alice}, value: 3, events: [0, 1, 2]}
//!   skipped: [{event: 4, reason: substring}]                        # optional
//!   error: substring           # instead of events: the correlations must be refused
//! ```
//!
//! An event `repeat: {count: 99, from: 1714557600, every: 30, event: {…}}` stands for `count`
//! copies of `event` with `_time` from `from` (epoch seconds) in steps of `every` seconds.
//!
//! `group`, `value`, `events`, `window_start` and `window_end` are compared when written.
//! Evaluations of correlations that only feed another one (`generate: false`) are not alerts.

use std::path::Path;

use ruleproof_sigma::correlation::{
    CorrelationEngine, CorrelationSet, EngineOptions, Realert, Skipped, Timespan, TimestampFields,
    format_timestamp,
};
use ruleproof_sigma::yaml::{Node, parse_documents};
use ruleproof_sigma::{
    CompileOptions, CompiledRule, DocumentBody, Limits, SourceFile, load_source,
};
use serde_json::Value;

fn check(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let source = SourceFile::new(path, text);
    let documents = parse_documents(&source, &Limits::default())
        .map_err(|e| format!("{}: {e}", source.location(e.span)))?;
    let entries = documents
        .first()
        .and_then(Node::as_seq)
        .ok_or("the file must be a list of entries")?;
    if entries.is_empty() {
        return Err("the file has no entries".into());
    }
    let mut failures = Vec::new();
    for entry in entries {
        let name = entry
            .get("name")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let label = format!("{} ({name})", source.location(entry.span));
        if let Err(message) = run_entry(path, entry) {
            failures.push(format!("{label}: {message}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n").into())
    }
}

fn run_entry(path: &Path, entry: &Node) -> Result<(), String> {
    let rules_text = entry
        .get("rules")
        .and_then(Node::as_str)
        .ok_or("the entry needs `rules` as a YAML string")?;
    let loaded = load_source(
        SourceFile::new(path, rules_text.to_owned()),
        &Limits::default(),
    );
    let expected_error = entry.get("error").and_then(Node::as_str);
    if !loaded.errors.is_empty() {
        let rendered: Vec<String> = loaded
            .errors
            .iter()
            .map(|e| e.render(&loaded.source))
            .collect();
        return match expected_error {
            Some(wanted) if rendered.iter().any(|r| r.contains(wanted)) => Ok(()),
            _ => Err(format!("the rules do not load:\n{}", rendered.join("\n"))),
        };
    }
    let mut compiled = Vec::new();
    let mut correlations = Vec::new();
    for document in &loaded.documents {
        match &document.body {
            DocumentBody::Rule(rule) => compiled.push(
                CompiledRule::compile(rule, &CompileOptions::default())
                    .map_err(|e| format!("a rule does not compile: {e:?}"))?,
            ),
            DocumentBody::Correlation(c) => correlations.push(c),
            DocumentBody::Filter(_) => return Err("filters are not part of this suite".into()),
        }
    }
    let metas: Vec<&ruleproof_sigma::Metadata> = compiled.iter().map(|r| &*r.meta).collect();
    let set = match CorrelationSet::compile(&correlations, &metas) {
        Ok(set) => set,
        Err(errors) => {
            let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return match expected_error {
                Some(wanted) if rendered.iter().any(|r| r.contains(wanted)) => Ok(()),
                _ => Err(format!(
                    "the correlations do not compile:\n{}",
                    rendered.join("\n")
                )),
            };
        }
    };
    if let Some(wanted) = expected_error {
        return Err(format!(
            "expected the error `{wanted}`, but everything loaded"
        ));
    }
    let options = options(entry.get("options"))?;
    let mut engine = CorrelationEngine::new(&set, options);
    let events = entry
        .get("events")
        .and_then(Node::as_seq)
        .ok_or("the entry needs `events`")?;
    let events = expand(events)?;
    let mut evaluations = Vec::new();
    let mut skipped = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let matched: Vec<usize> = compiled
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches(event))
            .map(|(i, _)| i)
            .collect();
        if let Err(reason) = engine.push(index as u64, event, &matched, &mut evaluations) {
            let text = match reason {
                Skipped::NoTimestamp(message) => message,
                Skipped::Late { time, limit } => format!(
                    "late: {} is before {}",
                    format_timestamp(time),
                    format_timestamp(limit)
                ),
            };
            skipped.push((index as u64, text));
        }
    }
    engine.finish(&mut evaluations);
    let actual: Vec<Value> = evaluations
        .iter()
        .filter(|e| e.held && set.reports_correlation(e.correlation))
        .map(|e| {
            serde_json::json!({
                "rule": set.correlations()[e.correlation].meta.reference(),
                "event": e.event,
                "group": e.group.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "value": e.value,
                "events": e.events,
                "window_start": format_timestamp(e.window_start),
                "window_end": format_timestamp(e.window_end),
            })
        })
        .collect();
    let expected = entry
        .get("alerts")
        .map(Node::to_json)
        .ok_or("the entry needs `alerts` (an empty list for none)")?;
    let expected = expected.as_array().cloned().unwrap_or_default();
    let shown = || serde_json::to_string_pretty(&actual).unwrap_or_default();
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} alerts, got {}:\n{}",
            expected.len(),
            actual.len(),
            shown()
        ));
    }
    for (i, (want, got)) in expected.iter().zip(&actual).enumerate() {
        let Some(want) = want.as_object() else {
            return Err(format!("alert {i}: expected a mapping"));
        };
        for (key, value) in want {
            let got_value = got
                .get(key)
                .ok_or_else(|| format!("unknown alert key `{key}`"))?;
            let same = match (value.as_f64(), got_value.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => value == got_value,
            };
            if !same {
                return Err(format!(
                    "alert {i}: `{key}` is {got_value}, expected {value}; all alerts:\n{}",
                    shown()
                ));
            }
        }
    }
    let expected_skipped = entry
        .get("skipped")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    if expected_skipped.len() != skipped.len() {
        return Err(format!(
            "expected {} skipped events, got {skipped:?}",
            expected_skipped.len()
        ));
    }
    for (want, (index, reason)) in expected_skipped.iter().zip(&skipped) {
        let want = want.to_json();
        if want["event"].as_u64() != Some(*index)
            || !reason.contains(want["reason"].as_str().unwrap_or_default())
        {
            return Err(format!("skipped event {index} ({reason}), expected {want}"));
        }
    }
    Ok(())
}

/// The events of an entry, with each `repeat: {count, from, every, event}` written out as
/// `count` copies of `event` whose `_time` (epoch seconds) starts at `from` and steps by `every`.
fn expand(events: &[Node]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for event in events {
        let json = event.to_json();
        let Some(repeat) = json.get("repeat") else {
            out.push(json);
            continue;
        };
        let number = |key: &str| {
            repeat[key]
                .as_u64()
                .ok_or_else(|| format!("`repeat` needs a whole number `{key}`"))
        };
        let (count, from, every) = (number("count")?, number("from")?, number("every")?);
        let template = repeat["event"]
            .as_object()
            .ok_or("`repeat` needs an `event` mapping")?;
        for i in 0..count {
            let mut copy = template.clone();
            copy.insert("_time".into(), Value::from(from + i * every));
            out.push(Value::Object(copy));
        }
    }
    Ok(out)
}

fn options(node: Option<&Node>) -> Result<EngineOptions, String> {
    let mut options = EngineOptions::default();
    let Some(node) = node else {
        return Ok(options);
    };
    if let Some(lateness) = node.get("lateness").and_then(Node::scalar_text) {
        options.lateness_ms = if lateness == "0" {
            0
        } else {
            Timespan::parse(&lateness)?.millis()
        };
    }
    if let Some(field) = node.get("timestamp_field").and_then(Node::as_str) {
        options.timestamps = TimestampFields::only(field);
    }
    match node.get("realert").and_then(Node::as_str) {
        None | Some("every") => {}
        Some("reset") => options.realert = Realert::Reset,
        Some(other) => return Err(format!("unknown realert `{other}`")),
    }
    Ok(options)
}

datatest_stable::harness! {
    { test = check, root = "tests/correlation", pattern = r"\.ya?ml$" },
}

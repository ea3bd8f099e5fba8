//! Correlation rules over corpora: compiling them against the loaded rules, and the JSON line of
//! an alert (`ruleproof match` output, documented in `docs/output-formats.md`).

use ruleproof_sigma::correlation::{CorrelationSet, Evaluation, format_timestamp};
use ruleproof_sigma::{CompiledRule, Correlation, Metadata};
use serde_json::{Value, json};

/// Compiles the correlations against the rules (indices as in `rules`).
///
/// # Errors
/// Each reference to nothing and each cycle, as a message naming the correlation.
pub fn compile(
    correlations: &[Correlation],
    rules: &[CompiledRule],
) -> Result<CorrelationSet, Vec<String>> {
    let correlations: Vec<&Correlation> = correlations.iter().collect();
    let metas: Vec<&Metadata> = rules.iter().map(|r| &*r.meta).collect();
    CorrelationSet::compile(&correlations, &metas)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// The JSON line of a correlation alert (keys in the documented order). `event` and `events`
/// number events the way base-rule matches do (the 0-based line index each event's record
/// starts on, see the caller); `line` is the 1-based line of the event that raised the alert.
pub fn alert_json(set: &CorrelationSet, alert: &Evaluation, file: &str, line: u64) -> String {
    let correlation = &set.correlations()[alert.correlation];
    let value = if alert.value.fract() == 0.0 && alert.value.abs() < 9e15 {
        json!(alert.value as i64)
    } else {
        json!(alert.value)
    };
    let line = AlertLine {
        event: alert.event,
        file,
        line,
        rule: correlation.meta.reference(),
        title: &correlation.meta.title,
        level: correlation.meta.level.as_deref(),
        correlation: AlertCorrelation {
            correlation_type: correlation.correlation_type.as_str(),
            group: Group(&alert.group),
            window_start: format_timestamp(alert.window_start),
            window_end: format_timestamp(alert.window_end),
            value,
            events: &alert.events,
        },
    };
    serde_json::to_string(&line).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct AlertLine<'a> {
    event: u64,
    file: &'a str,
    line: u64,
    rule: &'a str,
    title: &'a str,
    level: Option<&'a str>,
    correlation: AlertCorrelation<'a>,
}

#[derive(serde::Serialize)]
struct AlertCorrelation<'a> {
    #[serde(rename = "type")]
    correlation_type: &'a str,
    group: Group<'a>,
    window_start: String,
    window_end: String,
    value: Value,
    events: &'a [u64],
}

/// Group-by names with their values, as a JSON object in the order of `group-by`.
struct Group<'a>(&'a [(String, String)]);

impl serde::Serialize for Group<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

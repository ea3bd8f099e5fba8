//! The test-case file format (version 1, see `docs/test-case-format.md`), read with positions.

use std::path::{Path, PathBuf};

use ruleproof_sigma::yaml::{Limits, Node, Value, parse_documents};
use ruleproof_sigma::{SourceFile, Span};

use crate::diagnostic::Diagnostic;

/// The format version this runner reads.
pub const FORMAT_VERSION: i64 = 1;

/// The verdict a case expects from the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// `expect: match`: the rule must match the event.
    Match,
    /// `expect: no-match`: the rule must not match the event.
    NoMatch,
}

impl Verdict {
    /// `Match` for `true`, `NoMatch` for `false`.
    pub fn from_bool(matched: bool) -> Verdict {
        if matched {
            Verdict::Match
        } else {
            Verdict::NoMatch
        }
    }

    /// The spelling used in test-case files and reports: `match` or `no-match`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::NoMatch => "no-match",
        }
    }
}

/// A name written in the file, with where it was written (for errors about what it names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// The text as written (a plain string scalar).
    pub text: String,
    /// Where the text was written in its file.
    pub span: Span,
}

/// A parsed test-case file with every matrix case expanded.
#[derive(Clone, Debug)]
pub struct TestCaseFile {
    /// The file's text, for diagnostics.
    pub source: SourceFile,
    /// `rule:`: the tested rule's id or name, or its path relative to the repository root.
    pub rule: Named,
    /// `kql.pipeline:`: the pipeline to convert the rule's KQL with, if the file names one.
    pub kql_pipeline: Option<Named>,
    /// `pipelines:`: pySigma processing pipeline files (paths relative to the repository root)
    /// the rule is processed with before its cases run, so fixtures are written in the
    /// deployed schema.
    pub pipelines: Vec<Named>,
    /// `scenarios:`: the documented false-positive scenarios, in file order.
    pub scenarios: Vec<Scenario>,
    /// Event cases (for a detection rule), matrix cases expanded, in file order.
    pub cases: Vec<Case>,
    /// Sequence cases, for a correlation rule.
    pub sequences: Vec<SequenceCase>,
}

/// A sequence case: ordered events for a correlation rule, and the alerts they must raise.
#[derive(Clone, Debug)]
pub struct SequenceCase {
    /// The case's `name`, unique within its file.
    pub name: String,
    /// Where the case starts in the file (for matrix cases, the template).
    pub span: Span,
    /// Whether alerts are expected, and which.
    pub expect: SequenceExpect,
    /// The events, in the order they are fed to the correlation engine (`events` inline, or
    /// `events_file` as JSON Lines).
    pub events: Vec<SequenceEvent>,
    /// Which base rules must match which events.
    pub reason: Vec<EventReason>,
    /// `scenario:`: the documented false-positive scenario the case belongs to, if any.
    pub scenario: Option<Named>,
    /// The case's `xfail` reason, when it is expected to fail.
    pub xfail: Option<String>,
    /// `kql.xfail`: why the correlation's converted KQL is expected to disagree with the
    /// engine on this sequence.
    pub kql_xfail: Option<String>,
}

/// What a sequence case expects: alerts (`expect: fires`, optionally how many and for which
/// groups, in order) or none (`expect: no-fire`).
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceExpect {
    /// `expect: fires` (true) or `expect: no-fire` (false).
    pub fires: bool,
    /// `fires: N`: the exact number of alerts (at least 1), when given.
    pub count: Option<usize>,
    /// `groups:`: the group-by values of each alert, in order, when given.
    pub groups: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
}

/// One event of a sequence, with where it was written (for messages).
#[derive(Clone, Debug)]
pub struct SequenceEvent {
    /// The event's fields, a JSON object.
    pub event: serde_json::Value,
    /// `events[2]` for inline events, `file.jsonl:3` for events from a file.
    pub origin: String,
}

/// `reason: [{event: 2, rules: [pool_connection]}]`: the base rules event 2 must match.
#[derive(Clone, Debug)]
pub struct EventReason {
    /// The 0-based index of the event in the case's `events`.
    pub event: usize,
    /// The base rules (by id or name) the event must match.
    pub rules: Vec<Named>,
    /// Where the entry was written, for errors about it.
    pub span: Span,
}

/// A documented false-positive scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The scenario's `id`, which cases name in `scenario:`.
    pub id: Named,
    /// The scenario's `title`, one line.
    pub title: String,
    /// The scenario's `description`, if any.
    pub description: Option<String>,
    /// The scenario's `exclusion`: how to exclude it (e.g. the filter to deploy), if given.
    pub exclusion: Option<String>,
    /// The rule's `falsepositives:` entry this scenario documents.
    pub falsepositive: Option<Named>,
}

#[derive(Clone, Debug)]
/// One event case of a detection rule: an event, the verdict it must get and why.
pub struct Case {
    /// The case's `name`, unique within its file (matrix cases get one per row).
    pub name: String,
    /// Where the case starts in the file (for matrix cases, the template).
    pub span: Span,
    /// The verdict the rule must give, without meta-filters.
    pub expect: Verdict,
    /// The event, a JSON object (inline `event`, or read from `event_file`).
    pub event: serde_json::Value,
    /// `reason:`: the search identifiers that must be the reason for the verdict.
    pub reason: Vec<Named>,
    /// `scenario:`: the documented false-positive scenario the case belongs to, if any.
    pub scenario: Option<Named>,
    /// `with_filters:`: a second check with meta-filters applied, if given.
    pub with_filters: Option<WithFilters>,
    /// The case's `xfail` reason, when it is expected to fail.
    pub xfail: Option<String>,
    /// `kql:`: per-case settings of the KQL parity check, if given.
    pub kql: Option<CaseKql>,
}

/// Meta-filters to apply to the rule, and the verdict expected with them.
#[derive(Clone, Debug)]
pub struct WithFilters {
    /// The meta-filters, by id or name.
    pub filters: Vec<Named>,
    /// The verdict expected with the filters applied.
    pub expect: Verdict,
    /// Search identifiers of the filters that must be the reason for the verdict.
    pub reason: Vec<Named>,
    /// Where `with_filters` was written, for errors about it.
    pub span: Span,
}

/// Per-case settings of the KQL parity check.
#[derive(Clone, Debug, Default)]
pub struct CaseKql {
    /// A record already in the KQL schema, used instead of mapping the event.
    pub event: Option<serde_json::Value>,
    /// The reason the KQL verdict is expected to differ from Sigma's, if it is.
    pub xfail: Option<String>,
}

/// Collects problems while reading one file, so one bad case does not hide the rest.
struct Reader<'a> {
    source: &'a SourceFile,
    diagnostics: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(self.source, span, message));
    }

    /// Reports keys outside `allowed` and missing `required` keys. Returns false on any problem.
    fn check_keys(&mut self, node: &Node, what: &str, allowed: &[&str], required: &[&str]) -> bool {
        let Some(entries) = node.as_map() else {
            self.error(
                node.span,
                format!("{what} must be a mapping, not {}", node.kind_name()),
            );
            return false;
        };
        let mut ok = true;
        for (key, _) in entries {
            let name = key.scalar_text().unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                self.error(
                    key.span,
                    format!(
                        "unknown key `{name}` in {what} (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
                ok = false;
            }
        }
        for key in required {
            if node.get(key).is_none() {
                self.error(node.span, format!("{what} needs `{key}`"));
                ok = false;
            }
        }
        ok
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<Named> {
        match &node.value {
            Value::String(s) => Some(Named {
                text: s.clone(),
                span: node.span,
            }),
            _ => {
                self.error(
                    node.span,
                    format!("{what} must be a string, not {}", node.kind_name()),
                );
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Named> {
        match &node.value {
            Value::Seq(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            _ => self.string(node, what).into_iter().collect(),
        }
    }

    fn verdict(&mut self, node: &Node) -> Option<Verdict> {
        match node.as_str() {
            Some("match") => Some(Verdict::Match),
            Some("no-match") => Some(Verdict::NoMatch),
            _ => {
                self.error(
                    node.span,
                    format!(
                        "`expect` must be `match` or `no-match`, not {}",
                        node.scalar_text()
                            .map_or_else(|| node.kind_name().to_owned(), |t| format!("`{t}`"))
                    ),
                );
                None
            }
        }
    }
}

/// Reads a test-case file. Returns the file (with the cases that loaded) and every problem found.
pub fn parse_test_case_file(
    source: &SourceFile,
    limits: &Limits,
) -> (Option<TestCaseFile>, Vec<Diagnostic>) {
    let mut reader = Reader {
        source,
        diagnostics: Vec::new(),
    };
    let documents = match parse_documents(source, limits) {
        Ok(documents) => documents,
        Err(e) => {
            reader.error(e.span, e.message);
            return (None, reader.diagnostics);
        }
    };
    let [root] = documents.as_slice() else {
        reader.error(
            Span::default(),
            format!(
                "a test-case file holds exactly one YAML document, not {}",
                documents.len()
            ),
        );
        return (None, reader.diagnostics);
    };
    if !reader.check_keys(
        root,
        "the test-case file",
        &[
            "ruleproof",
            "rule",
            "kql",
            "pipelines",
            "scenarios",
            "cases",
        ],
        &["ruleproof", "rule", "cases"],
    ) && (root.as_map().is_none() || root.get("rule").is_none())
    {
        return (None, reader.diagnostics);
    }
    if let Some(version) = root.get("ruleproof")
        && version.value != Value::Int(FORMAT_VERSION)
    {
        reader.error(
            version.span,
            format!("unsupported format version (this runner reads `ruleproof: {FORMAT_VERSION}`)"),
        );
        return (None, reader.diagnostics);
    }
    let Some(rule) = root.get("rule").and_then(|n| reader.string(n, "`rule`")) else {
        return (None, reader.diagnostics);
    };
    let kql_pipeline = root.get("kql").and_then(|kql| {
        reader.check_keys(kql, "`kql`", &["pipeline"], &["pipeline"]);
        kql.get("pipeline")
            .and_then(|p| reader.string(p, "`kql.pipeline`"))
    });
    let pipelines = root
        .get("pipelines")
        .map(|p| reader.string_list(p, "`pipelines`"))
        .unwrap_or_default();
    let scenarios = root
        .get("scenarios")
        .map(|s| read_scenarios(&mut reader, s))
        .unwrap_or_default();
    let mut cases = Vec::new();
    let mut sequences = Vec::new();
    match root.get("cases") {
        Some(Node {
            value: Value::Seq(items),
            ..
        }) => {
            for item in items {
                read_case(&mut reader, item, &mut cases, &mut sequences);
            }
        }
        Some(other) => reader.error(other.span, "`cases` must be a list"),
        None => {}
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut duplicates = Vec::new();
    let names = cases
        .iter()
        .map(|c| (c.span, &c.name))
        .chain(sequences.iter().map(|c| (c.span, &c.name)));
    for (span, name) in names {
        if seen.contains(&name.as_str()) {
            duplicates.push((span, name.clone()));
        }
        seen.push(name);
    }
    for (span, name) in duplicates {
        reader.error(
            span,
            format!("two cases are named `{name}`; case names must be unique"),
        );
    }
    (
        Some(TestCaseFile {
            source: source.clone(),
            rule,
            kql_pipeline,
            pipelines,
            scenarios,
            cases,
            sequences,
        }),
        reader.diagnostics,
    )
}

fn read_scenarios(reader: &mut Reader<'_>, node: &Node) -> Vec<Scenario> {
    let Some(items) = node.as_seq() else {
        reader.error(node.span, "`scenarios` must be a list");
        return Vec::new();
    };
    let mut scenarios: Vec<Scenario> = Vec::new();
    for item in items {
        if !reader.check_keys(
            item,
            "a scenario",
            &["id", "title", "description", "exclusion", "falsepositive"],
            &["id", "title"],
        ) {
            continue;
        }
        let (Some(id), Some(title)) = (
            item.get("id")
                .and_then(|n| reader.string(n, "a scenario's `id`")),
            item.get("title")
                .and_then(|n| reader.string(n, "a scenario's `title`")),
        ) else {
            continue;
        };
        let valid_id = id
            .text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && id
                .text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_id {
            reader.error(
                id.span,
                format!(
                    "scenario id `{}` must be lowercase letters, digits and `-`",
                    id.text
                ),
            );
        }
        if scenarios.iter().any(|s| s.id.text == id.text) {
            reader.error(id.span, format!("two scenarios have the id `{}`", id.text));
            continue;
        }
        let text = |key: &str, reader: &mut Reader<'_>| {
            item.get(key)
                .and_then(|n| reader.string(n, &format!("a scenario's `{key}`")))
                .map(|n| n.text)
        };
        let description = text("description", reader);
        let exclusion = text("exclusion", reader);
        let falsepositive = item
            .get("falsepositive")
            .and_then(|n| reader.string(n, "a scenario's `falsepositive`"));
        scenarios.push(Scenario {
            id,
            title: title.text,
            description,
            exclusion,
            falsepositive,
        });
    }
    scenarios
}

const CASE_KEYS: [&str; 11] = [
    "name",
    "expect",
    "event",
    "event_file",
    "reason",
    "scenario",
    "with_filters",
    "xfail",
    "kql",
    "matrix",
    "description",
];

const SEQUENCE_KEYS: [&str; 12] = [
    "name",
    "expect",
    "events",
    "events_file",
    "fires",
    "groups",
    "reason",
    "scenario",
    "xfail",
    "kql",
    "matrix",
    "description",
];

/// Whether a case is a sequence case: it has `events`/`events_file` or expects `fires`/`no-fire`.
fn is_sequence(node: &Node) -> bool {
    node.get("events").is_some()
        || node.get("events_file").is_some()
        || matches!(
            node.get("expect").and_then(Node::as_str),
            Some("fires" | "no-fire")
        )
}

fn read_case(
    reader: &mut Reader<'_>,
    node: &Node,
    out: &mut Vec<Case>,
    sequences: &mut Vec<SequenceCase>,
) {
    let sequence = is_sequence(node);
    let keys: &[&str] = if sequence { &SEQUENCE_KEYS } else { &CASE_KEYS };
    if !reader.check_keys(node, "a case", keys, &["name", "expect"]) {
        return;
    }
    let combinations = match node.get("matrix") {
        Some(matrix) => match read_matrix(reader, matrix) {
            Some(combinations) => combinations,
            None => return,
        },
        None => vec![Vec::new()],
    };
    for bindings in combinations {
        let node = match substitute(node, &bindings) {
            Ok(node) => node,
            Err((span, message)) => {
                reader.error(span, message);
                return;
            }
        };
        if sequence {
            if let Some(case) = read_sequence_case(reader, &node) {
                sequences.push(case);
            }
        } else if let Some(case) = read_one_case(reader, &node) {
            out.push(case);
        }
    }
}

type Bindings = Vec<(String, Node)>;

/// The most cases one matrix may expand to. A product of a few lists grows fast; past this a
/// file is refused with an error at the matrix rather than exhausting memory.
pub const MAX_MATRIX_CASES: usize = 1000;

/// The cartesian product of a matrix's variables, in the order they are written.
fn read_matrix(reader: &mut Reader<'_>, node: &Node) -> Option<Vec<Bindings>> {
    let Some(entries) = node.as_map() else {
        reader.error(
            node.span,
            "`matrix` must map variable names to lists of values",
        );
        return None;
    };
    let mut combinations: Vec<Bindings> = vec![Vec::new()];
    for (key, values) in entries {
        let name = key.scalar_text().unwrap_or_default();
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            reader.error(
                key.span,
                format!("`{name}` is not a valid matrix variable name"),
            );
            return None;
        }
        let items = match values.as_seq() {
            Some(items) if !items.is_empty() => items,
            _ => {
                reader.error(
                    values.span,
                    format!("matrix variable `{name}` needs a non-empty list of values"),
                );
                return None;
            }
        };
        if let Some(bad) = items
            .iter()
            .find(|i| i.as_map().is_some() || i.as_seq().is_some())
        {
            reader.error(bad.span, "matrix values must be plain values");
            return None;
        }
        if combinations.len().saturating_mul(items.len()) > MAX_MATRIX_CASES {
            reader.error(
                node.span,
                format!("the matrix expands to more than {MAX_MATRIX_CASES} cases; split the case"),
            );
            return None;
        }
        combinations = combinations
            .into_iter()
            .flat_map(|bound| {
                let name = name.clone();
                items.iter().map(move |item| {
                    let mut next = bound.clone();
                    next.push((name.clone(), item.clone()));
                    next
                })
            })
            .collect();
    }
    Some(combinations)
}

/// Replaces `{{var}}` in the strings of `name`, `expect`, `event`, `events`, `events_file` and
/// `kql.event`.
fn substitute(case: &Node, bindings: &Bindings) -> Result<Node, (Span, String)> {
    let Value::Map(entries) = &case.value else {
        return Ok(case.clone());
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let templated = matches!(
            key.as_str(),
            Some("name" | "event" | "events" | "events_file" | "expect" | "kql")
        );
        let value = if templated && !bindings.is_empty() {
            substitute_node(value, bindings)?
        } else {
            value.clone()
        };
        out.push((key.clone(), value));
    }
    Ok(Node {
        value: Value::Map(out),
        span: case.span,
    })
}

fn substitute_node(node: &Node, bindings: &Bindings) -> Result<Node, (Span, String)> {
    let value = match &node.value {
        Value::String(text) => {
            if let Some(name) = text.strip_prefix("{{").and_then(|t| t.strip_suffix("}}"))
                && let Some((_, bound)) = bindings.iter().find(|(n, _)| n == name.trim())
            {
                return Ok(Node {
                    value: bound.value.clone(),
                    span: node.span,
                });
            }
            Value::String(substitute_text(text, bindings).map_err(|m| (node.span, m))?)
        }
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|i| substitute_node(i, bindings))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((substitute_node(k, bindings)?, substitute_node(v, bindings)?)))
                .collect::<Result<_, (Span, String)>>()?,
        ),
        other => other.clone(),
    };
    Ok(Node {
        value,
        span: node.span,
    })
}

fn substitute_text(text: &str, bindings: &Bindings) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        let Some((_, value)) = bindings.iter().find(|(n, _)| n == name) else {
            return Err(format!(
                "`{{{{{name}}}}}` names no matrix variable of this case"
            ));
        };
        out.push_str(&rest[..start]);
        out.push_str(&value.scalar_text().unwrap_or_default());
        rest = &rest[start + 4 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where a case's event (or a sequence case's events) comes from: written inline, or a file.
enum EventSource<'n> {
    /// `event:` / `events:`.
    Inline(&'n Node),
    /// The path given by `event_file:` / `events_file:`.
    File(Named),
}

/// Exactly one of `key` and `key_file` (`event`/`event_file`, `events`/`events_file`) of the
/// case `node`; both, or neither, is an error (at the file key, or at the case described by
/// `case`).
fn inline_or_file<'n>(
    reader: &mut Reader<'_>,
    node: &'n Node,
    key: &str,
    case: &str,
) -> Option<EventSource<'n>> {
    let file_key = format!("{key}_file");
    match (node.get(key), node.get(&file_key)) {
        (Some(inline), None) => Some(EventSource::Inline(inline)),
        (None, Some(file)) => reader
            .string(file, &format!("`{file_key}`"))
            .map(EventSource::File),
        (Some(_), Some(file)) => {
            reader.error(
                file.span,
                format!("a case has either `{key}` or `{file_key}`, not both"),
            );
            None
        }
        (None, None) => {
            reader.error(node.span, format!("{case} needs `{key}` or `{file_key}`"));
            None
        }
    }
}

fn read_one_case(reader: &mut Reader<'_>, node: &Node) -> Option<Case> {
    let name = node
        .get("name")
        .and_then(|n| reader.string(n, "a case's `name`"))?;
    let expect = node.get("expect").and_then(|n| reader.verdict(n))?;
    let event = match inline_or_file(reader, node, "event", &format!("case `{}`", name.text))? {
        EventSource::Inline(event) => inline_event(reader, event)?,
        EventSource::File(path) => load_event_file(reader, &path)?,
    };
    let reason = node
        .get("reason")
        .map(|n| reader.string_list(n, "`reason`"))
        .unwrap_or_default();
    let scenario = node
        .get("scenario")
        .and_then(|n| reader.string(n, "`scenario`"));
    let with_filters = match node.get("with_filters") {
        Some(w) => {
            if !reader.check_keys(
                w,
                "`with_filters`",
                &["filters", "expect", "reason"],
                &["filters", "expect"],
            ) {
                return None;
            }
            Some(WithFilters {
                filters: w
                    .get("filters")
                    .map(|n| reader.string_list(n, "a filter reference"))
                    .unwrap_or_default(),
                expect: w.get("expect").and_then(|n| reader.verdict(n))?,
                reason: w
                    .get("reason")
                    .map(|n| reader.string_list(n, "`reason`"))
                    .unwrap_or_default(),
                span: w.span,
            })
        }
        None => None,
    };
    let xfail = node
        .get("xfail")
        .and_then(|n| reader.string(n, "`xfail`"))
        .map(|n| n.text);
    let kql = match node.get("kql") {
        Some(k) => {
            if !reader.check_keys(k, "a case's `kql`", &["event", "xfail"], &[]) {
                return None;
            }
            Some(CaseKql {
                event: match k.get("event") {
                    Some(e) => Some(inline_event(reader, e)?),
                    None => None,
                },
                xfail: k
                    .get("xfail")
                    .and_then(|n| reader.string(n, "`kql.xfail`"))
                    .map(|n| n.text),
            })
        }
        None => None,
    };
    Some(Case {
        name: name.text,
        span: node.span,
        expect,
        event,
        reason,
        scenario,
        with_filters,
        xfail,
        kql,
    })
}

fn inline_event(reader: &mut Reader<'_>, node: &Node) -> Option<serde_json::Value> {
    if node.as_map().is_none() {
        reader.error(
            node.span,
            format!(
                "an event must be a mapping of fields, not {}",
                node.kind_name()
            ),
        );
        return None;
    }
    Some(node.to_json())
}

/// Loads an event from a JSON or YAML file next to the test-case file.
fn load_event_file(reader: &mut Reader<'_>, path: &Named) -> Option<serde_json::Value> {
    let base = reader.source.path().parent().unwrap_or(Path::new("."));
    let full: PathBuf = base.join(&path.text);
    let limits = Limits::default();
    let source = match ruleproof_sigma::source::read_source(&full, limits.max_file_bytes) {
        Ok(source) => source,
        Err(e) => {
            reader.error(path.span, format!("cannot load the event file: {e}"));
            return None;
        }
    };
    let value = if full
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        match serde_json::from_str::<serde_json::Value>(source.text()) {
            Ok(value) => value,
            Err(e) => {
                reader.error(
                    path.span,
                    format!(
                        "{}:{}:{}: the event file is not valid JSON: {e}",
                        full.display(),
                        e.line(),
                        e.column()
                    ),
                );
                return None;
            }
        }
    } else {
        match parse_documents(&source, &limits) {
            Ok(docs) if docs.len() == 1 => docs[0].to_json(),
            Ok(docs) => {
                reader.error(
                    path.span,
                    format!(
                        "the event file holds {} documents; it must hold one event",
                        docs.len()
                    ),
                );
                return None;
            }
            Err(e) => {
                reader.error(
                    path.span,
                    format!(
                        "{}: the event file is not valid YAML: {e}",
                        source.location(e.span)
                    ),
                );
                return None;
            }
        }
    };
    if !value.is_object() {
        reader.error(path.span, "the event file must hold one object of fields");
        return None;
    }
    Some(value)
}

fn read_sequence_case(reader: &mut Reader<'_>, node: &Node) -> Option<SequenceCase> {
    let name = node
        .get("name")
        .and_then(|n| reader.string(n, "a case's `name`"))?;
    let expect_node = node.get("expect")?;
    let fires = match expect_node.as_str() {
        Some("fires") => true,
        Some("no-fire") => false,
        _ => {
            reader.error(
                expect_node.span,
                "a sequence case's `expect` must be `fires` or `no-fire`",
            );
            return None;
        }
    };
    let count = match node.get("fires") {
        Some(n) => match &n.value {
            Value::Int(i) if *i > 0 && fires => Some(*i as usize),
            _ => {
                reader.error(
                    n.span,
                    "`fires` is the number of alerts (at least 1) of an `expect: fires` case",
                );
                return None;
            }
        },
        None => None,
    };
    let groups = match node.get("groups") {
        Some(n) => {
            let items = n
                .as_seq()
                .filter(|items| fires && items.iter().all(|i| i.as_map().is_some()));
            let Some(items) = items else {
                reader.error(
                    n.span,
                    "`groups` lists the group values of each alert of an `expect: fires` case, as mappings",
                );
                return None;
            };
            Some(
                items
                    .iter()
                    .filter_map(|i| i.to_json().as_object().cloned())
                    .collect(),
            )
        }
        None => None,
    };
    let case = format!("sequence case `{}`", name.text);
    let events = match inline_or_file(reader, node, "events", &case)? {
        EventSource::Inline(events) => {
            let Some(items) = events.as_seq() else {
                reader.error(events.span, "`events` must be a list of events");
                return None;
            };
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                out.push(SequenceEvent {
                    event: inline_event(reader, item)?,
                    origin: format!("events[{i}]"),
                });
            }
            out
        }
        EventSource::File(path) => load_events_file(reader, &path)?,
    };
    if events.is_empty() {
        reader.error(node.span, "a sequence case needs at least one event");
        return None;
    }
    let mut reason = Vec::new();
    if let Some(n) = node.get("reason") {
        let Some(items) = n.as_seq() else {
            reader.error(
                n.span,
                "a sequence case's `reason` is a list of `{event: N, rules: [rule]}`",
            );
            return None;
        };
        for item in items {
            if !reader.check_keys(
                item,
                "a sequence reason",
                &["event", "rules"],
                &["event", "rules"],
            ) {
                return None;
            }
            let index = item.get("event")?;
            let event = match index.value {
                Value::Int(i) if i >= 0 && (i as usize) < events.len() => i as usize,
                _ => {
                    reader.error(
                        index.span,
                        format!(
                            "`event` is the 0-based index of one of the {} events",
                            events.len()
                        ),
                    );
                    return None;
                }
            };
            let rules = reader.string_list(item.get("rules")?, "a rule reference");
            reason.push(EventReason {
                event,
                rules,
                span: item.span,
            });
        }
    }
    let xfail = node
        .get("xfail")
        .and_then(|n| reader.string(n, "`xfail`"))
        .map(|n| n.text);
    let scenario = node
        .get("scenario")
        .and_then(|n| reader.string(n, "`scenario`"));
    let kql_xfail = match node.get("kql") {
        Some(k) => {
            if !reader.check_keys(k, "a sequence case's `kql`", &["xfail"], &["xfail"]) {
                return None;
            }
            k.get("xfail")
                .and_then(|n| reader.string(n, "`kql.xfail`"))
                .map(|n| n.text)
        }
        None => None,
    };
    Some(SequenceCase {
        name: name.text,
        span: node.span,
        expect: SequenceExpect {
            fires,
            count,
            groups,
        },
        events,
        reason,
        scenario,
        xfail,
        kql_xfail,
    })
}

/// Loads a sequence's events from a JSON Lines file next to the test-case file: one JSON object
/// a line, blank lines skipped.
fn load_events_file(reader: &mut Reader<'_>, path: &Named) -> Option<Vec<SequenceEvent>> {
    let base = reader.source.path().parent().unwrap_or(Path::new("."));
    let full: PathBuf = base.join(&path.text);
    let limits = Limits::default();
    let source = match ruleproof_sigma::source::read_source(&full, limits.max_file_bytes) {
        Ok(source) => source,
        Err(e) => {
            reader.error(path.span, format!("cannot load the events file: {e}"));
            return None;
        }
    };
    let mut events = Vec::new();
    for (i, line) in source.text().lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(value) if value.is_object() => events.push(SequenceEvent {
                event: value,
                origin: format!("{}:{}", path.text, i + 1),
            }),
            Ok(_) => {
                reader.error(
                    path.span,
                    format!(
                        "{}:{}: each line must hold one JSON object",
                        full.display(),
                        i + 1
                    ),
                );
                return None;
            }
            Err(e) => {
                reader.error(
                    path.span,
                    format!(
                        "{}:{}:{}: not valid JSON: {e}",
                        full.display(),
                        i + 1,
                        e.column()
                    ),
                );
                return None;
            }
        }
    }
    Some(events)
}

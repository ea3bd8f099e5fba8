//! The four JSON Schemas (draft 2020-12), compiled once, and validation that turns the
//! validator's errors into short, human messages anchored at JSON pointers.
//!
//! A message comes from the schema's own `errorMessage` / `patternErrorMessage` annotation on
//! the object holding the failed keyword when there is one (the same text editors show), and
//! is otherwise built from the error kind, quoting the offending value cut to a short excerpt.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

/// The kinds of document the schemas describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A Sigma detection rule.
    Rule,
    /// A Sigma meta-filter.
    Filter,
    /// A Sigma correlation rule.
    Correlation,
    /// A ruleproof test-case file.
    TestCase,
}

impl DocumentKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DocumentKind; 4] = [
        DocumentKind::Rule,
        DocumentKind::Filter,
        DocumentKind::Correlation,
        DocumentKind::TestCase,
    ];

    /// The kind of one YAML document of a Sigma file: a `correlation` key makes it a
    /// correlation, a `filter` key a meta-filter, and anything else is read as a rule (so a
    /// document missing its `detection` is reported against the rule schema).
    pub fn of_sigma_document(doc: &Value) -> DocumentKind {
        if doc.get("correlation").is_some() {
            DocumentKind::Correlation
        } else if doc.get("filter").is_some() {
            DocumentKind::Filter
        } else {
            DocumentKind::Rule
        }
    }

    /// The file name of the kind's schema in the repository's `schemas/` directory.
    pub fn schema_file_name(self) -> &'static str {
        match self {
            DocumentKind::Rule => "sigma-rule.schema.json",
            DocumentKind::Filter => "sigma-filter.schema.json",
            DocumentKind::Correlation => "sigma-correlation.schema.json",
            DocumentKind::TestCase => "ruleproof-test-case.schema.json",
        }
    }

    /// How messages name the whole document.
    fn noun(self) -> &'static str {
        match self {
            DocumentKind::Rule => "the rule",
            DocumentKind::Filter => "the filter",
            DocumentKind::Correlation => "the correlation",
            DocumentKind::TestCase => "the test-case file",
        }
    }

    fn schema_text(self) -> &'static str {
        match self {
            DocumentKind::Rule => include_str!("../../../schemas/sigma-rule.schema.json"),
            DocumentKind::Filter => include_str!("../../../schemas/sigma-filter.schema.json"),
            DocumentKind::Correlation => {
                include_str!("../../../schemas/sigma-correlation.schema.json")
            }
            DocumentKind::TestCase => {
                include_str!("../../../schemas/ruleproof-test-case.schema.json")
            }
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentKind::Rule => "rule",
            DocumentKind::Filter => "filter",
            DocumentKind::Correlation => "correlation",
            DocumentKind::TestCase => "test case",
        })
    }
}

/// One way a document breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemaViolation {
    /// JSON pointer of the offending value, e.g. `/detection/condition`; empty for the whole
    /// document. An unknown or badly named key is pointed at itself, a missing key at the
    /// mapping that lacks it.
    pub pointer: String,
    /// A short sentence for humans, e.g. "`level` must be one of informational, low, …".
    pub message: String,
    /// The JSON Schema keyword that failed, e.g. `enum`, `required` or `additionalProperties`.
    pub keyword: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The empty pointer (the whole document) is left out rather than printed as `/`,
        // which as a JSON pointer would mean the key "".
        if !self.pointer.is_empty() {
            write!(f, "{}: ", self.pointer)?;
        }
        write!(f, "{} [{}]", self.message, self.keyword)
    }
}

/// A schema's source, kept beside its validator so that messages can read the schema's
/// `errorMessage` annotations and the keys an object allows.
struct Compiled {
    kind: DocumentKind,
    source: Value,
    validator: Validator,
}

impl Compiled {
    fn new(kind: DocumentKind) -> Compiled {
        // The schemas are part of this crate and a test compiles each of them, so a failure
        // here is a bug in the crate, never a problem with user input.
        let source: Value = serde_json::from_str(kind.schema_text())
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", kind.schema_file_name()));
        let validator = jsonschema::draft202012::new(&source)
            .unwrap_or_else(|e| panic!("{} does not compile: {e}", kind.schema_file_name()));
        Compiled {
            kind,
            source,
            validator,
        }
    }
}

/// The four schemas, each compiled once. Validation borrows them, so one `Schemas` can be
/// shared by all threads.
pub struct Schemas {
    rule: Compiled,
    filter: Compiled,
    correlation: Compiled,
    test_case: Compiled,
}

impl fmt::Debug for Schemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schemas").finish_non_exhaustive()
    }
}

impl Default for Schemas {
    fn default() -> Schemas {
        Schemas::new()
    }
}

impl Schemas {
    /// Compiles the embedded schemas, on all cores: compiling them is about 4 % of
    /// `validate`'s instructions, all before the first file can be checked.
    pub fn new() -> Schemas {
        let ((rule, filter), (correlation, test_case)) = rayon::join(
            || {
                rayon::join(
                    || Compiled::new(DocumentKind::Rule),
                    || Compiled::new(DocumentKind::Filter),
                )
            },
            || {
                rayon::join(
                    || Compiled::new(DocumentKind::Correlation),
                    || Compiled::new(DocumentKind::TestCase),
                )
            },
        );
        Schemas {
            rule,
            filter,
            correlation,
            test_case,
        }
    }

    /// The source of a kind's schema, as embedded.
    pub fn schema(&self, kind: DocumentKind) -> &Value {
        &self.compiled(kind).source
    }

    /// Every violation of the kind's schema in `doc`, in the order the validator finds them.
    pub fn validate(&self, kind: DocumentKind, doc: &Value) -> Vec<SchemaViolation> {
        let compiled = self.compiled(kind);
        // Nearly every document is valid, and asking only that skips building the location of
        // every keyword the validator visits.
        if compiled.validator.is_valid(doc) {
            return Vec::new();
        }
        let mut out: Vec<SchemaViolation> = Vec::new();
        for error in compiled.validator.iter_errors(doc) {
            for violation in describe(compiled, doc, &error) {
                // Two schema paths can reject the same value for the same reason; saying it
                // once is enough.
                if !out.contains(&violation) {
                    out.push(violation);
                }
            }
        }
        out
    }

    fn compiled(&self, kind: DocumentKind) -> &Compiled {
        match kind {
            DocumentKind::Rule => &self.rule,
            DocumentKind::Filter => &self.filter,
            DocumentKind::Correlation => &self.correlation,
            DocumentKind::TestCase => &self.test_case,
        }
    }
}

/// Values longer than this are cut in messages, so a violation never dumps a whole event.
const EXCERPT_CHARS: usize = 60;

/// Turns one validator error into violations (one per unexpected key, otherwise one).
fn describe(compiled: &Compiled, doc: &Value, error: &ValidationError<'_>) -> Vec<SchemaViolation> {
    let pointer = error.instance_path().as_str().to_owned();
    let keyword = error.kind().keyword().to_owned();
    let host = schema_host(&compiled.source, error.schema_path().as_str());
    let subject = subject(compiled.kind, doc, &pointer);
    let instance = error.instance();
    let custom = |key: &str| host.and_then(|h| h.get(key)).and_then(Value::as_str);
    let or_custom = |default: String| match custom("errorMessage") {
        Some(message) => format!("{subject} {message}"),
        None => default,
    };
    let violation = |pointer: String, message: String| SchemaViolation {
        pointer,
        message,
        keyword: keyword.clone(),
    };
    let message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            // The validator's schema path ends at `additionalProperties`, so the host is the
            // object schema whose `properties` are the keys allowed here.
            let allowed = host
                .and_then(|h| h.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            return unexpected
                .iter()
                .map(|key| {
                    violation(
                        format!("{pointer}/{}", escape_segment(key)),
                        format!("unknown key `{key}` in {subject} (allowed: {allowed})"),
                    )
                })
                .collect();
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let name = inner.instance();
            let name = name.as_str().unwrap_or_default();
            let reason = custom("patternErrorMessage")
                .or_else(|| custom("errorMessage"))
                .map_or_else(|| "is not allowed here".to_owned(), str::to_owned);
            return vec![violation(
                format!("{pointer}/{}", escape_segment(name)),
                format!("key `{name}` {reason}"),
            )];
        }
        ValidationErrorKind::Required { property } => or_custom(format!(
            "{subject} needs `{}`",
            property.as_str().unwrap_or_default()
        )),
        ValidationErrorKind::Type { .. } => or_custom(format!(
            "{subject} must be {}, not {}",
            expected_types(host),
            type_name(instance)
        )),
        ValidationErrorKind::Enum { options } => {
            let rule = custom("errorMessage").map_or_else(
                || {
                    let options = options
                        .as_array()
                        .map(|o| o.iter().map(plain).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    format!("must be one of {options}")
                },
                str::to_owned,
            );
            format!("{subject} {rule} (found {})", excerpt(instance))
        }
        ValidationErrorKind::Constant { expected_value } => or_custom(format!(
            "{subject} must be {} (found {})",
            plain(expected_value),
            excerpt(instance)
        )),
        ValidationErrorKind::Pattern { pattern } => {
            let rule = custom("patternErrorMessage")
                .or_else(|| custom("errorMessage"))
                .map_or_else(|| format!("must match `{pattern}`"), str::to_owned);
            format!("{subject} {rule} (found {})", excerpt(instance))
        }
        ValidationErrorKind::MaxLength { limit } => or_custom(format!(
            "{subject} must be at most {limit} characters long (it has {})",
            instance.as_str().map_or(0, |s| s.chars().count())
        )),
        ValidationErrorKind::MinLength { limit } => or_custom(if *limit == 1 {
            format!("{subject} must not be empty")
        } else {
            format!("{subject} must be at least {limit} characters long")
        }),
        ValidationErrorKind::MinItems { limit } => or_custom(if *limit == 1 {
            format!("{subject} must not be an empty list")
        } else {
            format!(
                "{subject} needs at least {limit} items (it has {})",
                instance.as_array().map_or(0, Vec::len)
            )
        }),
        ValidationErrorKind::MinProperties { limit } => or_custom(if *limit == 1 {
            format!("{subject} must not be empty")
        } else {
            format!("{subject} needs at least {limit} keys")
        }),
        ValidationErrorKind::UniqueItems => or_custom(match first_duplicate(instance) {
            Some(item) => format!("{subject} lists {} more than once", excerpt(item)),
            None => format!("{subject} lists an item more than once"),
        }),
        ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            or_custom(format!("{subject} matches none of the forms allowed here"))
        }
        ValidationErrorKind::Not { .. } | ValidationErrorKind::FalseSchema => {
            or_custom(format!("{subject} is not allowed here"))
        }
        _ => or_custom(format!("{subject}: {}", cut(&error.to_string()))),
    };
    vec![violation(pointer, message)]
}

/// The schema object that holds the failed keyword: the keyword's location without its last
/// segment. All references in our schemas are local, so the location is a pointer into the
/// schema document itself.
fn schema_host<'s>(schema: &'s Value, keyword_location: &str) -> Option<&'s Value> {
    let (host, _) = keyword_location.rsplit_once('/')?;
    schema.pointer(host)
}

/// How a message names the value at `pointer`: `detection.selection`, `cases[2].expect`, or
/// the document's noun at the root. Array indices are told apart from keys by walking `doc`.
fn subject(kind: DocumentKind, doc: &Value, pointer: &str) -> String {
    if pointer.is_empty() {
        return kind.noun().to_owned();
    }
    let mut path = String::new();
    let mut current = Some(doc);
    for segment in pointer.split('/').skip(1) {
        let key = unescape_segment(segment);
        match current {
            Some(Value::Array(items)) => {
                path.push_str(&format!("[{key}]"));
                current = key.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key);
                current = other.and_then(|v| v.get(&key));
            }
        }
    }
    format!("`{path}`")
}

fn escape_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape_segment(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The types a schema's `type` keyword allows, in words.
fn expected_types(host: Option<&Value>) -> String {
    let names: Vec<&str> = match host.and_then(|h| h.get("type")) {
        Some(Value::String(t)) => vec![json_type_name(t)],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(json_type_name)
            .collect(),
        _ => Vec::new(),
    };
    match names.as_slice() {
        [] => "another type".to_owned(),
        [one] => (*one).to_owned(),
        [first @ .., last] => format!("{} or {last}", first.join(", ")),
    }
}

fn json_type_name(name: &str) -> &'static str {
    match name {
        "object" => "a map",
        "array" => "a list",
        "string" => "a string",
        "number" => "a number",
        "integer" => "an integer",
        "boolean" => "true or false",
        "null" => "null",
        _ => "another type",
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// A value as a reader would write it in YAML, without JSON quotes around strings.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value in backticks, cut to a readable length.
fn excerpt(value: &Value) -> String {
    format!("`{}`", cut(&plain(value)))
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn first_duplicate(value: &Value) -> Option<&Value> {
    let items = value.as_array()?;
    items
        .iter()
        .enumerate()
        .find(|(i, item)| items[..*i].contains(item))
        .map(|(_, item)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_names_itself() {
        let schemas = Schemas::new();
        for kind in DocumentKind::ALL {
            let schema = schemas.schema(kind);
            let id = schema["$id"].as_str().unwrap_or_default();
            assert!(id.ends_with(kind.schema_file_name()), "{kind}: $id {id}");
            assert!(schema["title"].is_string(), "{kind} has no title");
            assert!(
                schema["description"].is_string(),
                "{kind} has no description"
            );
        }
    }

    #[test]
    fn schemas_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Schemas>();
    }

    #[test]
    fn subjects_tell_indices_from_keys() {
        let doc = serde_json::json!({"cases": [{"expect": "x"}], "a/b": {"0": 1}});
        assert_eq!(
            subject(DocumentKind::TestCase, &doc, "/cases/0/expect"),
            "`cases[0].expect`"
        );
        assert_eq!(subject(DocumentKind::Rule, &doc, "/a~1b/0"), "`a/b.0`");
        assert_eq!(subject(DocumentKind::Rule, &doc, ""), "the rule");
    }

    #[test]
    fn long_values_are_cut() {
        let long = Value::String("x".repeat(500));
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 3);
    }
}

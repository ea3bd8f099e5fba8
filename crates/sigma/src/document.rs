//! Sigma documents: detection rules, meta-filters and correlation rules, read from YAML nodes.

use std::path::Path;
use std::sync::Arc;

use crate::correlation::definition::{
    Aliases, CorrelationCondition, CorrelationType, Timespan, read_section,
};
use crate::detection::Detection;
use crate::error::{ErrorKind, ReadError, SigmaError};
use crate::source::{SourceFile, Span, read_source};
use crate::yaml::{Limits, Node, Value, parse_documents};

/// The kinds of Sigma document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A detection rule (has `detection:`).
    Rule,
    /// A meta-filter (has `filter:`).
    Filter,
    /// A correlation rule (has `correlation:`).
    Correlation,
}

impl DocumentKind {
    /// The kind a YAML document is, by its distinguishing key.
    pub fn of(node: &Node) -> Option<DocumentKind> {
        if node.get("correlation").is_some() {
            Some(DocumentKind::Correlation)
        } else if node.get("filter").is_some() {
            Some(DocumentKind::Filter)
        } else if node.get("detection").is_some() {
            Some(DocumentKind::Rule)
        } else {
            None
        }
    }
}

/// `logsource:` of a rule or filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `category:`, e.g. `process_creation`.
    pub category: Option<String>,
    /// `product:`, e.g. `windows`.
    pub product: Option<String>,
    /// `service:`, e.g. `sysmon`.
    pub service: Option<String>,
}

impl LogSource {
    /// Whether every field this log source sets is set the same way in `other`.
    pub fn covers(&self, other: &LogSource) -> bool {
        let field_covers = |mine: &Option<String>, theirs: &Option<String>| match mine {
            None => true,
            Some(m) => theirs.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(m)),
        };
        field_covers(&self.category, &other.category)
            && field_covers(&self.product, &other.product)
            && field_covers(&self.service, &other.service)
    }
}

/// What identifies a document and what rule authors read about it.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    /// `title:`, the one required metadata field.
    pub title: String,
    /// `id:`, a UUID by convention; how filters, correlations and test cases refer to the document.
    pub id: Option<String>,
    /// `name:`, an alternative to `id` for references (Sigma 2.0).
    pub name: Option<String>,
    /// `status:` as written (`stable`, `test`, `experimental`, …); not checked here.
    pub status: Option<String>,
    /// `level:` as written (`informational` … `critical`); not checked here.
    pub level: Option<String>,
    /// `description:`.
    pub description: Option<String>,
    /// `falsepositives:` entries, each with its span for diagnostics.
    pub falsepositives: Vec<(String, Span)>,
    /// `tags:`, e.g. `attack.t1059`.
    pub tags: Vec<String>,
    /// `fields:`, the event fields a rule asks a SIEM to show with a match; no effect on the
    /// verdict (processing pipelines map, add and remove them as pySigma does).
    pub fields: Vec<String>,
}

impl Metadata {
    /// How the document is named in output: its id, else its name, else its title.
    pub fn reference(&self) -> &str {
        self.id
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or(&self.title)
    }

    /// Whether a reference (an id or a name, as filters and test cases write them) means this document.
    pub fn is_named(&self, reference: &str) -> bool {
        self.id.as_deref() == Some(reference) || self.name.as_deref() == Some(reference)
    }
}

/// A detection rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its metadata.
    pub meta: Metadata,
    /// Which log source it applies to.
    pub logsource: LogSource,
    /// Its `detection:` section.
    pub detection: Detection,
}

/// A meta-filter: a detection ANDed onto the rules it names.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Its metadata.
    pub meta: Metadata,
    /// The log source a rule must be covered by for the filter to apply to it.
    pub logsource: LogSource,
    /// Ids or names of the rules the filter applies to.
    pub rules: Vec<(String, Span)>,
    /// Its `filter:` section, read as a detection (searches and a condition).
    pub detection: Detection,
}

/// A correlation rule: its metadata and its `correlation:` section, read and checked
/// (see [`crate::correlation`] for its evaluation over event sequences).
#[derive(Clone, Debug)]
pub struct Correlation {
    /// Its metadata.
    pub meta: Metadata,
    /// `type:`, which decides how the condition is evaluated.
    pub correlation_type: CorrelationType,
    /// Ids or names of the rules and correlations it correlates.
    pub rules: Vec<(String, Span)>,
    /// `group-by:` field names; events are counted per distinct tuple of their values.
    pub group_by: Vec<String>,
    /// `timespan:`, the window the events must fall in.
    pub timespan: Timespan,
    /// `condition:`, the threshold the count or aggregate must meet (a `temporal` one without it needs every rule).
    pub condition: CorrelationCondition,
    /// `aliases:`, mapping one group-by name onto different fields per rule.
    pub aliases: Aliases,
    /// Whether the referenced rules also raise alerts of their own (default `false`).
    pub generate: bool,
}

#[derive(Clone, Debug)]
/// What a document holds, by kind.
pub enum DocumentBody {
    /// A detection rule.
    Rule(Rule),
    /// A meta-filter.
    Filter(Filter),
    /// A correlation rule.
    Correlation(Correlation),
}

/// One document of a file, with its YAML tree kept for validators.
#[derive(Clone, Debug)]
pub struct Document {
    /// The document's YAML tree, for validators that look past what the loader kept; shared
    /// with [`LoadedFile::nodes`] rather than copied (a copy per document was 2 % of
    /// `validate`'s instructions).
    pub node: Arc<Node>,
    /// What the document loaded as.
    pub body: DocumentBody,
}

impl Document {
    /// The metadata, whatever the kind.
    pub fn meta(&self) -> &Metadata {
        match &self.body {
            DocumentBody::Rule(r) => &r.meta,
            DocumentBody::Filter(f) => &f.meta,
            DocumentBody::Correlation(c) => &c.meta,
        }
    }

    /// The kind, from the body.
    pub fn kind(&self) -> DocumentKind {
        match self.body {
            DocumentBody::Rule(_) => DocumentKind::Rule,
            DocumentBody::Filter(_) => DocumentKind::Filter,
            DocumentBody::Correlation(_) => DocumentKind::Correlation,
        }
    }
}

/// A loaded file: its source, the documents that loaded, and the errors of those that did not.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// The file, for turning spans into `line:col`.
    pub source: SourceFile,
    /// The documents that loaded as Sigma, in file order.
    pub documents: Vec<Document>,
    /// The YAML trees of every document, including those that failed to load as Sigma.
    pub nodes: Vec<Arc<Node>>,
    /// Errors of the documents that did not load, with spans into `source`.
    pub errors: Vec<SigmaError>,
}

/// Reads and loads a Sigma file. Only an unreadable file is an `Err`; everything else is collected.
pub fn load_file(path: &Path, limits: &Limits) -> Result<LoadedFile, ReadError> {
    let source = read_source(path, limits.max_file_bytes)?;
    Ok(load_source(source, limits))
}

/// Loads every document of an already-read source.
pub fn load_source(source: SourceFile, limits: &Limits) -> LoadedFile {
    let mut errors = Vec::new();
    let nodes: Vec<Arc<Node>> = match parse_documents(&source, limits) {
        Ok(nodes) => nodes.into_iter().map(Arc::new).collect(),
        Err(e) => {
            errors.push(SigmaError::new(ErrorKind::Yaml, e.span, e.message));
            Vec::new()
        }
    };
    // A rule file cut short by a bad merge or an editor crash is often empty or only comments;
    // loading it as "no rules" would let CI pass on a rule that is gone.
    if nodes.is_empty() && errors.is_empty() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            Span::new(0, 0),
            "the file holds no Sigma document (it is empty or only comments)",
        ));
    }
    let mut documents = Vec::new();
    // Sigma 1 rule collections continued a first document in later ones that have no title of
    // their own. Sigma 2 removed them; loading their pieces as rules would only mislead.
    let continuation = nodes
        .iter()
        .skip(1)
        .find(|n| n.as_map().is_some() && n.get("title").is_none());
    if let Some(continuation) = continuation {
        errors.push(SigmaError::new(
            ErrorKind::Unsupported,
            continuation.span,
            "rule collections (documents that continue the first one) were removed from Sigma 2; \
             write each rule as a complete document",
        ));
        return LoadedFile {
            source,
            documents,
            nodes,
            errors,
        };
    }
    for node in &nodes {
        let before = errors.len();
        if let Some(body) = load_document(node, &source, &mut errors)
            && errors.len() == before
        {
            documents.push(Document {
                node: Arc::clone(node),
                body,
            });
        }
    }
    LoadedFile {
        source,
        documents,
        nodes,
        errors,
    }
}

fn load_document(
    node: &Node,
    source: &SourceFile,
    errors: &mut Vec<SigmaError>,
) -> Option<DocumentBody> {
    if node.as_map().is_none() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            format!(
                "a Sigma document must be a mapping, not {}",
                node.kind_name()
            ),
        ));
        return None;
    }
    if let Some((key, value)) = node.entry("action") {
        errors.push(SigmaError::new(
            ErrorKind::Unsupported,
            key.span,
            format!(
                "rule collections (`action: {}`) were removed from Sigma 2; write each rule as its own document",
                value.scalar_text().unwrap_or_default()
            ),
        ));
        return None;
    }
    let Some(kind) = DocumentKind::of(node) else {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            "not a Sigma document: it has no `detection`, `filter` or `correlation` key",
        ));
        return None;
    };
    let meta = read_metadata(node, errors);
    match kind {
        DocumentKind::Rule => {
            let logsource = read_logsource(node, errors);
            let detection = Detection::parse(node.get("detection")?, source, errors)?;
            Some(DocumentBody::Rule(Rule {
                meta,
                logsource,
                detection,
            }))
        }
        DocumentKind::Filter => {
            let logsource = read_logsource(node, errors);
            let filter = node.get("filter")?;
            let rules = match filter.get("rules") {
                Some(rules) => string_list(rules, "filter.rules", errors),
                None => Vec::new(),
            };
            let detection = Detection::parse(&without_key(filter, "rules"), source, errors)?;
            Some(DocumentBody::Filter(Filter {
                meta,
                logsource,
                rules,
                detection,
            }))
        }
        DocumentKind::Correlation => {
            let section = read_section(node.get("correlation")?, errors)?;
            Some(DocumentBody::Correlation(Correlation {
                meta,
                correlation_type: section.correlation_type,
                rules: section.rules,
                group_by: section.group_by,
                timespan: section.timespan,
                condition: section.condition,
                aliases: section.aliases,
                generate: section.generate,
            }))
        }
    }
}

/// A copy of a mapping without one key: a filter's `rules` sits beside its search identifiers.
fn without_key(node: &Node, key: &str) -> Node {
    match &node.value {
        Value::Map(entries) => Node {
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k.scalar_text().as_deref() != Some(key))
                    .cloned()
                    .collect(),
            ),
            span: node.span,
        },
        _ => node.clone(),
    }
}

fn read_metadata(node: &Node, errors: &mut Vec<SigmaError>) -> Metadata {
    let text = |key: &str| node.get(key).and_then(Node::scalar_text);
    let falsepositives = match node.get("falsepositives") {
        Some(n) => string_list(n, "falsepositives", errors),
        None => Vec::new(),
    };
    let tags = match node.get("tags") {
        Some(n) => string_list(n, "tags", errors)
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
        None => Vec::new(),
    };
    let fields = match node.get("fields") {
        Some(n) => string_list(n, "fields", errors)
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
        None => Vec::new(),
    };
    Metadata {
        title: required_string(node, "title", errors).unwrap_or_default(),
        id: text("id"),
        name: text("name"),
        status: text("status"),
        level: text("level"),
        description: text("description"),
        falsepositives,
        tags,
        fields,
    }
}

fn read_logsource(node: &Node, errors: &mut Vec<SigmaError>) -> LogSource {
    let Some(logsource) = node.get("logsource") else {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            node.span,
            "the document has no `logsource`",
        ));
        return LogSource::default();
    };
    if logsource.as_map().is_none() {
        errors.push(SigmaError::new(
            ErrorKind::Structure,
            logsource.span,
            format!(
                "`logsource` must be a mapping, not {}",
                logsource.kind_name()
            ),
        ));
        return LogSource::default();
    }
    let text = |key: &str| logsource.get(key).and_then(Node::scalar_text);
    LogSource {
        category: text("category"),
        product: text("product"),
        service: text("service"),
    }
}

fn required_string(node: &Node, key: &str, errors: &mut Vec<SigmaError>) -> Option<String> {
    match node.get(key) {
        Some(value) => match value.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                errors.push(SigmaError::new(
                    ErrorKind::Structure,
                    value.span,
                    format!("`{key}` must be a string, not {}", value.kind_name()),
                ));
                None
            }
        },
        None => {
            errors.push(SigmaError::new(
                ErrorKind::Structure,
                node.span,
                format!("the document has no `{key}`"),
            ));
            None
        }
    }
}

/// A string or a list of strings, as several Sigma attributes accept.
pub(crate) fn string_list(
    node: &Node,
    what: &str,
    errors: &mut Vec<SigmaError>,
) -> Vec<(String, Span)> {
    let items: &[Node] = match &node.value {
        Value::Seq(items) => items,
        Value::Null => &[],
        _ => std::slice::from_ref(node),
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Seq(_) | Value::Map(_) => errors.push(SigmaError::new(
                ErrorKind::Structure,
                item.span,
                format!("`{what}` must hold plain values, not {}", item.kind_name()),
            )),
            _ => out.push((item.scalar_text().unwrap_or_default(), item.span)),
        }
    }
    out
}

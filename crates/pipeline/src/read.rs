//! Reading a processing pipeline file (pySigma's YAML format) into processing items, with the
//! position of everything for errors. Source: pySigma `sigma/processing/pipeline.py`
//! (`ProcessingPipeline.from_dict`, `ProcessingItem.from_dict`).

use std::path::{Path, PathBuf};

use ruleproof_sigma::detection::Scalar;
use ruleproof_sigma::source::read_source;
use ruleproof_sigma::yaml::{Limits, Node, Value, parse_documents};
use ruleproof_sigma::{ReadError, SourceFile, Span};

use crate::condition::{Conditions, FieldCondition, ItemCondition, RuleCondition};
use crate::transformation::Transformation;

/// Why a pipeline file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file is not a pipeline ruleproof can apply; `location` is `path:line:col`.
    #[error("{location}: {message}")]
    Invalid {
        /// `path:line:col` of the offending YAML node.
        location: String,
        /// What is wrong, in one sentence.
        message: String,
    },
}

pub(crate) fn invalid(
    source: &SourceFile,
    span: Span,
    message: impl Into<String>,
) -> PipelineError {
    PipelineError::Invalid {
        location: source.location(span),
        message: message.into(),
    }
}

/// One processing pipeline file, read and checked.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// `name:`, or the file name without its extension.
    pub name: String,
    /// `priority:` (default 0); pipelines apply lowest first.
    pub priority: i64,
    /// The file it was read from.
    pub path: PathBuf,
    pub(crate) source: SourceFile,
    /// `vars:`, each a list of values as text (a single value is a list of one).
    pub(crate) vars: Vec<(String, Vec<String>)>,
    pub(crate) items: Vec<ProcessingItem>,
    /// The first `postprocessing:` or `finalizers:` entry, which shape query text only.
    pub(crate) query_stage: Option<Span>,
}

/// One entry of `transformations:`: a transformation and the conditions that gate it.
#[derive(Clone, Debug)]
pub(crate) struct ProcessingItem {
    /// `id:`, or a generated one (`<pipeline>#<n>`) that conditions cannot name anyway.
    pub id: String,
    /// `type:` as written.
    pub kind: String,
    /// `path:line:col` of the entry, for notes and errors.
    pub location: String,
    pub transformation: Transformation,
    pub rule_conditions: Conditions<RuleCondition>,
    pub detection_item_conditions: Conditions<ItemCondition>,
    pub field_name_conditions: Conditions<FieldCondition>,
}

/// The keys of a pipeline file (pySigma refuses any other: "Unkown keys").
const PIPELINE_KEYS: [&str; 7] = [
    "name",
    "priority",
    "vars",
    "transformations",
    "postprocessing",
    "finalizers",
    "allowed_backends",
];

impl Pipeline {
    /// Reads and checks a pipeline file.
    ///
    /// # Errors
    /// An unreadable file, YAML that does not parse, and anything pySigma would refuse or that
    /// ruleproof does not support (an unknown or unsupported transformation or condition, a bad
    /// parameter), each at its `path:line:col`.
    pub fn load(path: &Path) -> Result<Pipeline, PipelineError> {
        let source = read_source(path, Limits::default().max_file_bytes)?;
        Pipeline::from_source(source)
    }

    /// Reads a pipeline from text already in memory (its path is only for messages).
    ///
    /// # Errors
    /// As [`Pipeline::load`], without the I/O.
    pub fn from_source(source: SourceFile) -> Result<Pipeline, PipelineError> {
        let docs = parse_documents(&source, &Limits::default())
            .map_err(|e| invalid(&source, e.span, e.message))?;
        let [node] = docs.as_slice() else {
            return Err(invalid(
                &source,
                Span::default(),
                "a processing pipeline file holds exactly one YAML document",
            ));
        };
        let Some(entries) = node.as_map() else {
            return Err(invalid(
                &source,
                node.span,
                format!(
                    "a processing pipeline must be a mapping, not {}",
                    node.kind_name()
                ),
            ));
        };
        for (key, _) in entries {
            let name = key.scalar_text().unwrap_or_default();
            if !PIPELINE_KEYS.contains(&name.as_str()) {
                return Err(invalid(
                    &source,
                    key.span,
                    format!("unknown key `{name}` in a processing pipeline"),
                ));
            }
        }
        let name = match node.get("name") {
            Some(n) => n
                .scalar_text()
                .ok_or_else(|| invalid(&source, n.span, "`name` must be a string"))?,
            None => source
                .path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let priority = match node.get("priority") {
            Some(Node {
                value: Value::Int(i),
                ..
            }) => *i,
            Some(n) => return Err(invalid(&source, n.span, "`priority` must be an integer")),
            None => 0,
        };
        let vars = read_vars(node.get("vars"), &source)?;
        let mut items = Vec::new();
        if let Some(list) = node.get("transformations") {
            for (i, entry) in list_of(list, "transformations", &source)?
                .iter()
                .enumerate()
            {
                items.push(read_item(entry, i, &name, &source)?);
            }
        }
        let mut query_stage = None;
        for key in ["postprocessing", "finalizers"] {
            if let Some(list) = node.get(key)
                && let Some(first) = list_of(list, key, &source)?.first()
            {
                query_stage.get_or_insert(first.span);
            }
        }
        Ok(Pipeline {
            name,
            priority,
            path: source.path().to_owned(),
            source,
            vars,
            items,
            query_stage,
        })
    }

    /// `path:line:col` of the first `postprocessing:` or `finalizers:` entry: stages that change
    /// a backend's query text, which `convert` cannot apply to its own output.
    pub fn query_stage(&self) -> Option<String> {
        self.query_stage.map(|span| self.source.location(span))
    }
}

fn list_of<'a>(
    node: &'a Node,
    what: &str,
    source: &SourceFile,
) -> Result<&'a [Node], PipelineError> {
    match &node.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(&[]),
        _ => Err(invalid(
            source,
            node.span,
            format!("`{what}` must be a list, not {}", node.kind_name()),
        )),
    }
}

fn read_vars(
    node: Option<&Node>,
    source: &SourceFile,
) -> Result<Vec<(String, Vec<String>)>, PipelineError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let Some(entries) = node.as_map() else {
        return Err(invalid(
            source,
            node.span,
            "`vars` must be a mapping of names to values",
        ));
    };
    let mut vars = Vec::new();
    for (key, value) in entries {
        let items: &[Node] = match &value.value {
            Value::Seq(items) => items,
            _ => std::slice::from_ref(value),
        };
        let mut values = Vec::new();
        for item in items {
            // pySigma: "Replacement variable … contains value which is not a string or number."
            match &item.value {
                Value::String(_) | Value::Int(_) | Value::Float(_) => {
                    values.push(item.scalar_text().unwrap_or_default());
                }
                _ => {
                    return Err(invalid(
                        source,
                        item.span,
                        "a variable's values must be strings or numbers",
                    ));
                }
            }
        }
        vars.push((key.scalar_text().unwrap_or_default(), values));
    }
    Ok(vars)
}

/// The keys of a processing item that are not the transformation's parameters.
const ITEM_KEYS: [&str; 14] = [
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "rule_cond_expr",
    "detection_item_conditions",
    "detection_item_cond_op",
    "detection_item_cond_not",
    "detection_item_cond_expr",
    "field_name_conditions",
    "field_name_cond_op",
    "field_name_cond_not",
    "field_name_cond_expr",
];

fn read_item(
    node: &Node,
    index: usize,
    pipeline: &str,
    source: &SourceFile,
) -> Result<ProcessingItem, PipelineError> {
    if node.as_map().is_none() {
        return Err(invalid(
            source,
            node.span,
            format!(
                "a transformation must be a mapping, not {}",
                node.kind_name()
            ),
        ));
    }
    for key in [
        "rule_cond_expr",
        "detection_item_cond_expr",
        "field_name_cond_expr",
    ] {
        if let Some((k, _)) = node.entry(key) {
            return Err(invalid(
                source,
                k.span,
                format!(
                    "`{key}` (condition expressions) is not supported; use `*_cond_op` and `*_cond_not`"
                ),
            ));
        }
    }
    let Some(kind_node) = node.get("type") else {
        return Err(invalid(
            source,
            node.span,
            "the transformation has no `type`",
        ));
    };
    let kind = kind_node
        .as_str()
        .ok_or_else(|| invalid(source, kind_node.span, "`type` must be a string"))?
        .to_owned();
    let id = match node.get("id") {
        Some(n) => n
            .scalar_text()
            .ok_or_else(|| invalid(source, n.span, "`id` must be a string"))?,
        None => format!("{pipeline}#{}", index + 1),
    };
    let mut params = Params::new(node, source);
    for key in ITEM_KEYS {
        params.skip(key);
    }
    let transformation = Transformation::read(&kind, kind_node.span, &mut params)
        .map_err(|error| params.misspelled(&kind).unwrap_or(error))?;
    params.finish(&kind)?;
    Ok(ProcessingItem {
        id,
        kind,
        location: source.location(node.span),
        transformation,
        rule_conditions: Conditions::read(node, "rule", source, RuleCondition::read)?,
        detection_item_conditions: Conditions::read(
            node,
            "detection_item",
            source,
            ItemCondition::read,
        )?,
        field_name_conditions: Conditions::read(node, "field_name", source, FieldCondition::read)?,
    })
}

/// The parameters of a transformation or condition: typed getters that remember which keys
/// were read, so [`Params::finish`] can refuse the rest (pySigma: "unexpected keyword argument").
pub(crate) struct Params<'a> {
    node: &'a Node,
    pub source: &'a SourceFile,
    read: Vec<String>,
}

impl<'a> Params<'a> {
    pub fn new(node: &'a Node, source: &'a SourceFile) -> Params<'a> {
        Params {
            node,
            source,
            read: Vec::new(),
        }
    }

    /// The whole mapping, for errors about it.
    pub fn span(&self) -> Span {
        self.node.span
    }

    pub fn skip(&mut self, key: &str) {
        self.read.push(key.to_owned());
    }

    pub fn get(&mut self, key: &str) -> Option<&'a Node> {
        self.read.push(key.to_owned());
        self.node.get(key)
    }

    pub fn error(&self, span: Span, message: impl Into<String>) -> PipelineError {
        invalid(self.source, span, message)
    }

    pub fn required(&mut self, key: &str, what: &str) -> Result<&'a Node, PipelineError> {
        let span = self.node.span;
        self.get(key)
            .ok_or_else(|| self.error(span, format!("{what} needs `{key}`")))
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>, PipelineError> {
        match self.get(key) {
            None
            | Some(Node {
                value: Value::Null, ..
            }) => Ok(None),
            Some(n) => match &n.value {
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(self.error(
                    n.span,
                    format!("`{key}` must be a string, not {}", n.kind_name()),
                )),
            },
        }
    }

    pub fn required_string(&mut self, key: &str, what: &str) -> Result<String, PipelineError> {
        let span = self.node.span;
        self.string(key)?
            .ok_or_else(|| self.error(span, format!("{what} needs `{key}`")))
    }

    pub fn bool(&mut self, key: &str, default: bool) -> Result<bool, PipelineError> {
        match self.get(key) {
            None => Ok(default),
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => Ok(*b),
            Some(n) => Err(self.error(n.span, format!("`{key}` must be true or false"))),
        }
    }

    /// A string or a list of strings.
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, PipelineError> {
        let Some(node) = self.get(key) else {
            return Ok(None);
        };
        let items: &[Node] = match &node.value {
            Value::Seq(items) => items,
            Value::Null => return Ok(None),
            _ => std::slice::from_ref(node),
        };
        items
            .iter()
            .map(|i| {
                i.scalar_text()
                    .filter(|_| !matches!(i.value, Value::Null))
                    .ok_or_else(|| self.error(i.span, format!("`{key}` must hold strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A plain value (string, number, boolean or null).
    pub fn scalar(&mut self, key: &str) -> Result<Option<Scalar>, PipelineError> {
        let Some(node) = self.get(key) else {
            return Ok(None);
        };
        scalar_of(node)
            .map(Some)
            .ok_or_else(|| self.error(node.span, format!("`{key}` must be a plain value")))
    }

    /// `op:`-style parameters: one of `allowed`, else `default`.
    pub fn choice(
        &mut self,
        key: &str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, PipelineError> {
        let span = self.node.get(key).map_or(self.node.span, |n| n.span);
        match self.string(key)? {
            None => Ok(default),
            Some(s) => allowed.iter().find(|a| **a == s).copied().ok_or_else(|| {
                self.error(
                    span,
                    format!("`{key}` must be one of {}, not `{s}`", allowed.join(", ")),
                )
            }),
        }
    }

    /// Refuses keys nobody read.
    pub fn finish(self, what: &str) -> Result<(), PipelineError> {
        match self.unread().next() {
            Some((key, name)) => Err(self.unknown(what, key.span, &name)),
            None => Ok(()),
        }
    }

    /// When reading failed, the error a misspelled parameter explains better: a key nobody
    /// read that is close to a parameter the reader asked for and did not find (a typo in
    /// `split_when_values` makes the reader miss it, and its complaint about the missing
    /// parameter hides the typo).
    pub fn misspelled(&self, what: &str) -> Option<PipelineError> {
        let missing = |name: &str| {
            self.read
                .iter()
                .any(|asked| self.node.get(asked).is_none() && close(asked, name))
        };
        let (key, name) = self.unread().find(|(_, name)| missing(name))?;
        Some(self.unknown(what, key.span, &name))
    }

    /// The keys of the mapping nobody read, with their text.
    fn unread(&self) -> impl Iterator<Item = (&'a Node, String)> + '_ {
        self.node
            .as_map()
            .unwrap_or_default()
            .iter()
            .map(|(key, _)| (key, key.scalar_text().unwrap_or_default()))
            .filter(|(_, name)| !self.read.contains(name))
    }

    /// "no parameter `name`", with the parameter the reader asked for that it is closest to.
    fn unknown(&self, what: &str, span: Span, name: &str) -> PipelineError {
        let meant = self
            .read
            .iter()
            .filter(|asked| self.node.get(asked).is_none() && close(asked, name))
            .min_by_key(|asked| strsim::damerau_levenshtein(asked, name));
        let hint = meant.map_or(String::new(), |meant| format!("; did you mean `{meant}`?"));
        invalid(
            self.source,
            span,
            format!("`{what}` has no parameter `{name}`{hint}"),
        )
    }
}

/// Whether `written` is close enough to the parameter `meant` to be a typo of it: at most two
/// edits, and fewer than half the name's length.
fn close(meant: &str, written: &str) -> bool {
    let edits = strsim::damerau_levenshtein(meant, written);
    edits <= 2 && edits * 2 < meant.len()
}

/// A YAML scalar as a Sigma value; `None` for lists and mappings.
pub(crate) fn scalar_of(node: &Node) -> Option<Scalar> {
    Some(match &node.value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Int(i) => Scalar::Int(*i),
        Value::Float(f) => Scalar::Float(*f),
        Value::String(s) => Scalar::String(s.clone()),
        Value::Seq(_) | Value::Map(_) => return None,
    })
}

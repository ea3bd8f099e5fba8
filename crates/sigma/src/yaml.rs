//! YAML documents as trees of nodes that remember their byte spans, parsed within resource limits.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::source::{SourceFile, Span};

mod block;
mod direct;

/// Limits that keep hostile input from exhausting memory, stack or time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes a file may expand to, aliases included.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 16 * 1024 * 1024,
            max_depth: 64,
            max_nodes: 250_000,
        }
    }
}

/// One YAML value and the bytes it was written in.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The parsed value.
    pub value: Value,
    /// The bytes of the value in its file.
    pub span: Span,
}

/// The shapes a YAML value can take. Mapping keys keep their order and their own spans.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A number with a fraction or exponent, or an integer too large for `i64`.
    Float(f64),
    /// A string scalar, quoted or plain, with escapes resolved.
    String(String),
    /// A block or flow list.
    Seq(Vec<Node>),
    /// A mapping, with keys in the order written.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a string scalar; `None` for every other shape, numbers included.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping; `None` for every other shape.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The elements of a list; `None` for every other shape.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under a mapping key (compared as text), if this node is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of a mapping entry.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.is_key(key))
            .map(|(k, v)| (k, v))
    }

    /// Whether this scalar reads as `key` (as [`Node::scalar_text`] writes it). Text keys, all
    /// that rules use, compare without building a string: lookups run for every key of every
    /// document.
    fn is_key(&self, key: &str) -> bool {
        match &self.value {
            Value::String(s) => s == key,
            _ => self.scalar_text().as_deref() == Some(key),
        }
    }

    /// A scalar written as text: strings as they are, numbers and booleans as YAML prints them.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some("null".to_owned()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// The shape with an article (`a string`, `a list`, …), for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, for schema validation and for events. Non-text keys become their text.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node at a JSON pointer (`/detection/selection/0`), and the key node when the last step is a key.
    pub fn pointer(&self, pointer: &str) -> Option<(Option<&Node>, &Node)> {
        let mut key = None;
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            let step = raw.replace("~1", "/").replace("~0", "~");
            match &node.value {
                Value::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.is_key(&step))?;
                    key = Some(k);
                    node = v;
                }
                Value::Seq(items) => {
                    node = items.get(step.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((key, node))
    }
}

/// A YAML syntax or limit error, at a position in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where in the file it is.
    pub span: Span,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses every document of a YAML stream. Empty documents (a trailing `---`) are dropped.
///
/// Plain rule YAML is read straight from the parser's events; anything else, and every file with
/// an error, through serde-saphyr (see `direct.rs`), which decides values, spans and messages.
///
/// # Errors
/// A syntax error, a duplicate key or a breached limit, with its position.
pub fn parse_documents(source: &SourceFile, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    match direct::parse(source, limits) {
        Some(nodes) => Ok(nodes),
        None => parse_with_serde(source, limits),
    }
}

/// [`parse_documents`] through serde-saphyr alone.
fn parse_with_serde(source: &SourceFile, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let docs: Vec<Spanned<RawValue>> =
        serde_saphyr::from_multiple_with_options(source.text(), options)
            .map_err(|e| convert_error(source, &e))?;
    Ok(docs
        .into_iter()
        .map(|d| into_node(source, d))
        .filter(|n| n.value != Value::Null)
        .collect())
}

fn convert_error(source: &SourceFile, error: &serde_saphyr::Error) -> YamlError {
    let span = error.location().map_or(Span::default(), |loc| {
        let offset = loc.span().byte_offset().map_or_else(
            || offset_of_line_col(source.text(), loc.line(), loc.column()),
            |o| usize::try_from(o).unwrap_or(usize::MAX),
        );
        Span::new(offset, offset)
    });
    YamlError {
        message: short_message(&error.to_string()),
        span,
    }
}

/// A serde-saphyr error about the file at `path` as `path:line:col: message` (or `path: message`
/// when the parser gives no position), for files read straight into a type (backtest
/// expectations, log-source maps, policy files) rather than through [`parse_documents`].
pub fn located_error(path: &std::path::Path, error: &serde_saphyr::Error) -> String {
    let message = short_message(&error.to_string());
    match error.location() {
        Some(at) => format!(
            "{}:{}:{}: {message}",
            path.display(),
            at.line(),
            at.column()
        ),
        None => format!("{}: {message}", path.display()),
    }
}

/// The parser's message without its own location prefix and source snippet, which we print ourselves.
fn short_message(full: &str) -> String {
    let first = full.lines().next().unwrap_or(full);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let without_location = match first.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map_or(first, |(_, message)| message),
        None => first,
    };
    let message = without_location
        .trim_end_matches(", set DuplicateKeyPolicy in Options if acceptable")
        .trim();
    if message.starts_with("budget breached") {
        format!("{message} (the file nests or expands too far)")
    } else {
        message.to_owned()
    }
}

fn offset_of_line_col(text: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            let skip: usize = l
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(char::len_utf8)
                .sum();
            return offset + skip;
        }
        offset += l.len();
    }
    text.len()
}

fn span_of(source: &SourceFile, location: &serde_saphyr::Location) -> Span {
    let span = location.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(start), Some(len)) => Span::new(
            usize::try_from(start).unwrap_or(usize::MAX),
            usize::try_from(start + len).unwrap_or(usize::MAX),
        ),
        _ => {
            let start = offset_of_line_col(source.text(), location.line(), location.column());
            Span::new(start, start)
        }
    }
}

fn into_node(source: &SourceFile, raw: Spanned<RawValue>) -> Node {
    let span = span_of(source, &raw.referenced);
    let plain = |typed: Value| {
        source
            .text()
            .get(span.start as usize..span.end as usize)
            .map_or(typed.clone(), |text| yaml11::resolve(text, typed))
    };
    let value = match raw.value {
        RawValue::Null => plain(Value::Null),
        RawValue::Bool(b) => plain(Value::Bool(b)),
        RawValue::Int(i) => plain(Value::Int(i)),
        RawValue::Float(f) => plain(Value::Float(f)),
        RawValue::String(s) => Value::String(s),
        RawValue::Seq(items) => {
            Value::Seq(items.into_iter().map(|i| into_node(source, i)).collect())
        }
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (into_node(source, k), into_node(source, v)))
                .collect(),
        ),
    };
    Node { value, span }
}

/// What the deserializer builds before spans are turned into byte ranges of our own.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<RawValue>, Spanned<RawValue>)>),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(u).map_or(RawValue::Float(u as f64), RawValue::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<RawValue, E> {
        Ok(RawValue::String(s))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::String(String::from_utf8_lossy(b).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(RawValue::Map(entries))
    }
}

/// Plain scalars typed as PyYAML types them (YAML 1.1's resolver as PyYAML implements it), since
/// pySigma reads rules with PyYAML: `y`, `n`, `0o17` and `1e3` are strings there, `010` is the
/// octal 8. serde-saphyr follows YAML 1.2 and its own extensions, so a scalar it typed as
/// anything but a string is typed again from its source text (docs/semantics.md, "YAML scalars").
mod yaml11 {
    use std::sync::LazyLock;

    use regex::Regex;

    use super::Value;

    /// PyYAML's implicit resolvers (`yaml/resolver.py`), anchored; sexagesimal forms left out
    /// (they are rare in rules and serde-saphyr already reads them as strings).
    static BOOL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        )
        .expect("a valid pattern")
    });
    static INT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$",
        )
        .expect("a valid pattern")
    });
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("a valid pattern")
    });

    /// The value PyYAML gives the plain scalar `text`, which serde-saphyr typed as `typed`.
    pub(super) fn resolve(text: &str, typed: Value) -> Value {
        if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
            return Value::Null;
        }
        if BOOL.is_match(text) {
            return Value::Bool(matches!(
                text,
                "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
            ));
        }
        if INT.is_match(text) {
            return int(text).map_or(typed, Value::Int);
        }
        if FLOAT.is_match(text) {
            return match typed {
                Value::Float(_) => typed,
                _ => text.replace('_', "").parse().map_or(typed, Value::Float),
            };
        }
        Value::String(text.to_owned())
    }

    /// An integer in PyYAML's bases: `0b` binary, `0x` hexadecimal, a leading `0` octal.
    fn int(text: &str) -> Option<i64> {
        let digits = text.replace('_', "");
        let (negative, digits) = match digits.as_bytes().first() {
            Some(b'-') => (true, &digits[1..]),
            Some(b'+') => (false, &digits[1..]),
            _ => (false, &digits[..]),
        };
        let magnitude = if let Some(binary) = digits.strip_prefix("0b") {
            i64::from_str_radix(binary, 2)
        } else if let Some(hex) = digits.strip_prefix("0x") {
            i64::from_str_radix(hex, 16)
        } else if digits.len() > 1 && digits.starts_with('0') {
            i64::from_str_radix(&digits[1..], 8)
        } else {
            digits.parse()
        }
        .ok()?;
        Some(if negative { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Whether the direct reading of `path` (when it takes the file) is what serde-saphyr reads,
    /// and whether the direct reading took it.
    fn check(path: &Path) -> bool {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let source = SourceFile::new(path, text);
        let limits = Limits::default();
        let Some(direct) = direct::parse(&source, &limits) else {
            return false;
        };
        match parse_with_serde(&source, &limits) {
            // Debug text, so that a NaN compares equal to itself.
            Ok(serde) => assert_eq!(
                format!("{direct:#?}"),
                format!("{serde:#?}"),
                "{}: the direct reading differs from serde-saphyr's",
                path.display()
            ),
            Err(e) => panic!(
                "{}: read directly, but serde-saphyr rejects it: {}",
                path.display(),
                e.message
            ),
        }
        true
    }

    /// The block reader's reading of `text` and the event parser's, when the block reader takes
    /// it: the same documents, value for value and span for span.
    fn check_block(name: &str, text: &str) -> bool {
        let limits = Limits::default();
        let mut block = direct::Builder::new(&limits);
        if block::read(text, &mut block).is_none() {
            return false;
        }
        let mut events = direct::Builder::new(&limits);
        let read = direct::read_events(text, &mut events);
        assert!(
            read.is_some(),
            "{name}: the block reader takes it, the event parser does not:\n{text}"
        );
        let (block, events) = (
            format!("{:#?}", block.finish()),
            format!("{:#?}", events.finish()),
        );
        if let Some((at, (b, e))) = block
            .lines()
            .zip(events.lines())
            .enumerate()
            .find(|(_, (b, e))| b != e)
        {
            let context: Vec<&str> = events.lines().skip(at.saturating_sub(8)).take(10).collect();
            panic!(
                "{name}: the block reader differs from the event parser at line {at} of their \
                 trees: `{}` against `{}`, after\n{}\nin\n{text}",
                b.trim(),
                e.trim(),
                context.join("\n")
            );
        }
        assert_eq!(block, events, "{name}");
        true
    }

    /// Files the block reader must take, and files it must leave to the event parser.
    #[test]
    fn block_reader_agrees_with_the_event_parser_on_the_tricky_cases() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml");
        let mut files = ruleproof_testkit::yaml_files(&dir);
        files.extend(ruleproof_testkit::yaml_files(&dir.join("../loading")));
        let mut taken = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if check_block(&name, &text) {
                taken.push(name);
            }
        }
        for name in ["block-reader.yml", "no-final-newline.yml", "multi.yml"] {
            assert!(
                taken.iter().any(|t| t == name),
                "{name} not taken: {taken:?}"
            );
        }
        // Multi-line, folded and flow scalars, quoted keys, tabs, anchors, byte-order marks,
        // syntax errors.
        for name in [
            "block-reader-left.yml",
            "strings.yml",
            "tab.yml",
            "anchors-tags-merge.yml",
            "bom.yml",
            "syntax-error.yml",
            "malformed.yml",
        ] {
            assert!(!taken.iter().any(|t| t == name), "{name} taken");
        }
    }

    #[test]
    fn block_reader_agrees_with_the_event_parser_on_every_corpus_file_and_mutations_of_them() {
        let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
            return;
        };
        let files = ruleproof_testkit::yaml_files(&root);
        let mut taken = 0;
        let mut mutants_taken = 0;
        // A fixed xorshift sequence: the same mutants on every run.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below.max(1) as u64) as usize
        };
        const PIECES: [&str; 28] = [
            " ", "  ", ":", ": ", "#", " #", "-", "- ", "'", "\"", "\n", "\n  ", "|", "\\",
            "---\n", "x", "...\n", "\n- ", "?", "&a ", "*a", "!", "[", "{", ">", ",", "%", "\\\"",
        ];
        for (n, file) in files.iter().enumerate() {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            let name = file.display().to_string();
            if check_block(&name, &text) {
                taken += 1;
            }
            if n % 4 != 0 {
                continue;
            }
            for _ in 0..6 {
                let mut mutant = text.clone();
                let mut at = random(mutant.len() + 1);
                while !mutant.is_char_boundary(at) {
                    at -= 1;
                }
                match random(3) {
                    0 => mutant.insert_str(at, PIECES[random(PIECES.len())]),
                    1 => {
                        let mut end = (at + 1 + random(3)).min(mutant.len());
                        while !mutant.is_char_boundary(end) {
                            end += 1;
                        }
                        mutant.replace_range(at..end, "");
                    }
                    _ => {
                        // A line moved in or out by one or two columns.
                        let start = mutant[..at].rfind('\n').map_or(0, |i| i + 1);
                        if random(2) == 0 {
                            mutant.insert_str(start, &" ".repeat(1 + random(2)));
                        } else if mutant[start..].starts_with(' ') {
                            mutant.remove(start);
                        }
                    }
                }
                if check_block(&format!("{name} (mutated)"), &mutant) {
                    mutants_taken += 1;
                }
            }
        }
        // Nearly every rule is plain block YAML; were the block reader to give up on many, the
        // loading path would be as slow as the event parser.
        assert!(
            taken * 100 >= files.len() * 95,
            "only {taken} of {} corpus files taken by the block reader",
            files.len()
        );
        assert!(mutants_taken > 1000, "only {mutants_taken} mutants taken");
    }

    #[test]
    fn direct_and_serde_paths_agree_on_the_tricky_cases() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml");
        let mut files = ruleproof_testkit::yaml_files(&dir);
        files.extend(ruleproof_testkit::yaml_files(&dir.join("../loading")));
        let direct: Vec<String> = files
            .iter()
            .filter(|f| check(f))
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // The cases serde-saphyr must keep (anchors, tags, duplicate and non-text keys,
        // directives, byte-order marks, syntax errors, numbers beyond plain integers) are
        // left to it; the plain ones are read directly.
        for taken in [
            "strings.yml",
            "empty.yml",
            "no-final-newline.yml",
            "multi.yml",
        ] {
            assert!(
                direct.iter().any(|d| d == taken),
                "{taken} read directly: {direct:?}"
            );
        }
        for left in [
            "numbers.yml",
            "anchors-tags-merge.yml",
            "duplicate-keys.yml",
            "duplicate-key.yml",
            "non-text-keys.yml",
            "documents.yml",
            "bom.yml",
            "syntax-error.yml",
            "malformed.yml",
        ] {
            assert!(
                !direct.iter().any(|d| d == left),
                "{left} left to serde-saphyr"
            );
        }
    }

    #[test]
    fn direct_and_serde_paths_agree_on_every_corpus_file() {
        let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
            return;
        };
        let files = ruleproof_testkit::yaml_files(&root);
        let direct = files.iter().filter(|f| check(f)).count();
        // Nearly every rule is plain YAML; were the direct reading to give up on many, the
        // loading path would be as slow as before.
        assert!(
            direct * 100 >= files.len() * 95,
            "only {direct} of {} corpus files read directly",
            files.len()
        );
    }
}

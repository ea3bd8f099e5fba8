//! Reading events: JSON Lines (or any concatenation of JSON values) from files or standard input,
//! gzip-compressed or not, and the shape EVTX converters write, flattened the way Sigma rules
//! name Windows fields.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::{Map, Value};

/// A record longer than this is reported as an error rather than buffered further.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: read error after line {line}: {source}")]
    Read {
        path: String,
        line: usize,
        source: std::io::Error,
    },
}

/// Why one record is not an event; the reader goes on with the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub line: usize,
    pub message: String,
}

/// One complete JSON value as text, and the line it starts on.
#[derive(Clone, Debug)]
pub struct RawRecord {
    pub line: usize,
    pub text: String,
}

/// An event ready to match, and the line of the input it came from.
#[derive(Clone, Debug)]
pub struct Event {
    pub line: usize,
    pub value: Value,
}

/// An input of events: a file (plain or gzip) or standard input (`-`).
pub struct EventSource {
    /// The path as given, for messages and expectations (`-` for standard input).
    pub name: String,
    /// The size of the file on disk, for progress; `None` for standard input.
    pub size: Option<u64>,
    reader: Box<dyn BufRead + Send>,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish()
    }
}

impl EventSource {
    /// Opens a path, or standard input for `-`; gzip is recognised by its magic bytes.
    pub fn open(path: &Path) -> Result<EventSource, EventError> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return Ok(EventSource::from_reader(name, None, std::io::stdin()));
        }
        let file = File::open(path).map_err(|source| EventError::Open {
            path: name.clone(),
            source,
        })?;
        let size = file.metadata().ok().map(|m| m.len());
        Ok(EventSource::from_reader(name, size, file))
    }

    /// Wraps any reader, decompressing it when it starts with the gzip magic bytes.
    pub fn from_reader(
        name: String,
        size: Option<u64>,
        reader: impl Read + Send + 'static,
    ) -> EventSource {
        let mut buffered = BufReader::with_capacity(256 * 1024, reader);
        let gzip = buffered
            .fill_buf()
            .map(|head| head.starts_with(&[0x1f, 0x8b]))
            .unwrap_or(false);
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        EventSource { name, size, reader }
    }

    /// Splits the input into records without parsing them, so parsing can run in parallel.
    pub fn records(self) -> Records {
        Records {
            name: self.name,
            reader: self.reader,
            line: 0,
            buffer: String::new(),
            pending: String::new(),
            pending_line: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            queue: std::collections::VecDeque::new(),
            bytes_read: 0,
        }
    }
}

/// The records of an input, in order: each a complete top-level JSON value (an object per line
/// in JSON Lines, or a pretty-printed value over several lines).
pub struct Records {
    name: String,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    buffer: String,
    pending: String,
    pending_line: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    queue: std::collections::VecDeque<Result<RawRecord, RecordError>>,
    bytes_read: u64,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("name", &self.name)
            .field("line", &self.line)
            .finish()
    }
}

impl Records {
    /// Bytes consumed so far (of the compressed stream for gzip files, roughly), for progress.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Splits one line, tracking nesting outside strings so a record ends where its value does.
    fn split_line(&mut self) {
        let line = std::mem::take(&mut self.buffer);
        let mut start = 0;
        for (i, b) in line.bytes().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                _ if self.depth == 0 && !matches!(b, b'{' | b'[') && !b.is_ascii_whitespace() => {
                    // A value that is not an object or array: the rest of the line is one record,
                    // which parsing will reject.
                    self.queue.push_back(Ok(RawRecord {
                        line: self.line,
                        text: line[i..].trim_end().to_owned(),
                    }));
                    self.buffer = line;
                    self.buffer.clear();
                    return;
                }
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if self.depth == 0 && self.pending.is_empty() {
                        start = i;
                        self.pending_line = self.line;
                    }
                    self.depth += 1;
                }
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        self.pending.push_str(&line[start..=i]);
                        let text = std::mem::take(&mut self.pending);
                        self.queue.push_back(Ok(RawRecord {
                            line: self.pending_line,
                            text,
                        }));
                        start = i + 1;
                    }
                }
                _ => {}
            }
        }
        if self.depth > 0 {
            self.pending.push_str(&line[start..]);
            if self.pending.len() > MAX_RECORD_BYTES {
                self.queue.push_back(Err(RecordError {
                    line: self.pending_line,
                    message: format!(
                        "a record is longer than {} MiB or never closes",
                        MAX_RECORD_BYTES / 1024 / 1024
                    ),
                }));
                self.pending.clear();
                self.depth = 0;
                self.in_string = false;
            }
        }
        self.buffer = line;
        self.buffer.clear();
    }
}

impl Iterator for Records {
    type Item = Result<Result<RawRecord, RecordError>, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.queue.pop_front() {
                return Some(Ok(record));
            }
            self.buffer.clear();
            match self.reader.read_line(&mut self.buffer) {
                Ok(0) => {
                    if !self.pending.is_empty() {
                        self.pending.clear();
                        self.depth = 0;
                        return Some(Ok(Err(RecordError {
                            line: self.pending_line,
                            message: "the input ends inside a JSON value".to_owned(),
                        })));
                    }
                    return None;
                }
                Ok(n) => {
                    self.bytes_read += n as u64;
                    self.line += 1;
                    self.split_line();
                }
                Err(source) => {
                    return Some(Err(EventError::Read {
                        path: self.name.clone(),
                        line: self.line,
                        source,
                    }));
                }
            }
        }
    }
}

/// Parses a record into events: an object is one event, an array holds several. EVTX-converter
/// shapes are flattened.
pub fn parse_record(record: &RawRecord) -> Result<Vec<Value>, RecordError> {
    let error = |message: String| RecordError {
        line: record.line,
        message,
    };
    let value: Value = serde_json::from_str(&record.text).map_err(|e| {
        let line = record.line + e.line().saturating_sub(1);
        RecordError {
            line,
            message: format!("invalid JSON at column {}: {e}", e.column()),
        }
    })?;
    match value {
        Value::Object(_) => Ok(vec![flatten_evtx(value)]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(_) => Ok(flatten_evtx(item)),
                _ => Err(error("an event must be a JSON object".to_owned())),
            })
            .collect(),
        _ => Err(error("an event must be a JSON object".to_owned())),
    }
}

/// Reads a whole input into events, for small inputs such as regression samples.
pub fn read_all(path: &Path) -> Result<(Vec<Event>, Vec<RecordError>), EventError> {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for record in EventSource::open(path)?.records() {
        match record? {
            Ok(raw) => match parse_record(&raw) {
                Ok(values) => events.extend(values.into_iter().map(|value| Event {
                    line: raw.line,
                    value,
                })),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }
    Ok((events, errors))
}

/// Flattens the JSON of an EVTX record (`{"Event": {"System": …, "EventData": …}}`) the way Sigma
/// rules name Windows fields: the EventData (or UserData) fields at the top level with spaces
/// removed from their names, plus `EventID`, `Channel`, `Provider_Name` and `Computer` from
/// System. Anything else is returned unchanged.
pub fn flatten_evtx(value: Value) -> Value {
    let Value::Object(mut outer) = value else {
        return value;
    };
    let is_evtx = outer.len() == 1
        && outer.get("Event").is_some_and(|e| {
            e.as_object().is_some_and(|e| {
                e.contains_key("System")
                    || e.contains_key("EventData")
                    || e.contains_key("UserData")
            })
        });
    if !is_evtx {
        return Value::Object(outer);
    }
    let Some(Value::Object(event)) = outer.remove("Event") else {
        return Value::Object(outer);
    };
    let mut flat = Map::new();
    if let Some(data) = event.get("EventData") {
        flatten_data(data, &mut flat);
    }
    if let Some(Value::Object(user)) = event.get("UserData") {
        // UserData holds one element named after the event; its children are the fields.
        for (name, element) in user {
            if is_attribute(name) {
                continue;
            }
            match element {
                Value::Object(_) => flatten_data(element, &mut flat),
                other => {
                    flat.insert(strip_spaces(name), text_of(other));
                }
            }
        }
    }
    if let Some(Value::Object(system)) = event.get("System") {
        if let Some(id) = system.get("EventID") {
            flat.insert("EventID".to_owned(), text_of(id));
        }
        for key in ["Channel", "Computer"] {
            if let Some(v) = system.get(key) {
                flat.insert(key.to_owned(), text_of(v));
            }
        }
        if let Some(name) = system.get("Provider").and_then(provider_name) {
            flat.insert("Provider_Name".to_owned(), name);
        }
    }
    Value::Object(flat)
}

/// EventData in the shapes converters write: a map of names to values (evtx_dump), or `Data`
/// entries carrying their name as an attribute (`{"@Name": …, "#text": …}`, xmltodict).
fn flatten_data(data: &Value, flat: &mut Map<String, Value>) {
    let Value::Object(map) = data else {
        return;
    };
    for (name, value) in map {
        if is_attribute(name) {
            continue;
        }
        if name == "Data" {
            let entries: &[Value] = match value {
                Value::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            let named = entries.iter().all(|e| attribute_name(e).is_some());
            if named && !entries.is_empty() {
                for entry in entries {
                    if let Some(field) = attribute_name(entry) {
                        flat.insert(strip_spaces(&field), text_of(entry));
                    }
                }
                continue;
            }
        }
        flat.insert(strip_spaces(name), text_of(value));
    }
}

/// The `Name` attribute of a `Data` element, in the spellings converters use.
fn attribute_name(entry: &Value) -> Option<String> {
    let map = entry.as_object()?;
    map.get("@Name")
        .or_else(|| map.get("#attributes").and_then(|a| a.get("Name")))
        .or_else(|| map.get("Name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn provider_name(provider: &Value) -> Option<Value> {
    let map = provider.as_object()?;
    map.get("#attributes")
        .and_then(|a| a.get("Name"))
        .or_else(|| map.get("@Name"))
        .or_else(|| map.get("Name"))
        .cloned()
}

/// An element's value: its text when it is an element with attributes, else itself.
fn text_of(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("#text") => {
            map.get("#text").cloned().unwrap_or(Value::Null)
        }
        Value::Object(map) if map.keys().all(|k| is_attribute(k)) => Value::Null,
        other => other.clone(),
    }
}

fn is_attribute(name: &str) -> bool {
    name == "#attributes" || name.starts_with('@') || name.starts_with("xmlns")
}

fn strip_spaces(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The files to read for each path: the path itself, or the event files under a directory
/// (`.json`, `.jsonl`, `.ndjson`, with or without `.gz`), sorted.
pub fn event_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_owned()];
    }
    let mut out = Vec::new();
    collect(path, &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            let name = path.to_string_lossy();
            let name = name.strip_suffix(".gz").unwrap_or(&name);
            if [".json", ".jsonl", ".ndjson"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                out.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records(text: &str) -> Vec<Result<RawRecord, RecordError>> {
        EventSource::from_reader("t".into(), None, std::io::Cursor::new(text.to_owned()))
            .records()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn splits_json_lines_pretty_values_and_arrays() {
        let text = "{\"a\": \"}{\"}\n\n{\n  \"b\": [1, {\"c\": 2}]\n}\n[{\"d\": 1}, {\"e\": 2}] {\"f\": 3}\n";
        let got: Vec<(usize, String)> = records(text)
            .into_iter()
            .map(|r| r.unwrap())
            .map(|r| (r.line, r.text))
            .collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], (1, "{\"a\": \"}{\"}".to_owned()));
        assert_eq!(got[1].0, 3);
        assert_eq!(got[2].0, 6);
        let events = parse_record(&RawRecord {
            line: 6,
            text: got[2].1.clone(),
        })
        .unwrap();
        assert_eq!(events, vec![json!({"d": 1}), json!({"e": 2})]);
    }

    #[test]
    fn reports_bad_records_and_goes_on() {
        let got = records("{\"a\": }\n42\n{\"ok\": true}\n{\"open\": 1\n");
        let parsed: Vec<Result<Vec<Value>, RecordError>> = got
            .into_iter()
            .map(|r| r.and_then(|r| parse_record(&r)))
            .collect();
        assert_eq!(parsed.len(), 4);
        assert!(parsed[0].as_ref().is_err_and(|e| e.line == 1));
        assert!(
            parsed[1]
                .as_ref()
                .is_err_and(|e| e.message.contains("must be a JSON object"))
        );
        assert_eq!(parsed[2], Ok(vec![json!({"ok": true})]));
        assert!(
            parsed[3]
                .as_ref()
                .is_err_and(|e| e.line == 4 && e.message.contains("ends inside"))
        );
    }

    #[test]
    fn reads_gzip_transparently() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"{\"a\": 1}\n{\"a\": 2}\n").unwrap();
        let bytes = encoder.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl.gz");
        std::fs::write(&path, bytes).unwrap();
        let (events, errors) = read_all(&path).unwrap();
        assert!(errors.is_empty());
        assert_eq!(
            events.iter().map(|e| e.value.clone()).collect::<Vec<_>>(),
            vec![json!({"a": 1}), json!({"a": 2})]
        );
        assert_eq!(event_files(dir.path()), vec![path]);
    }

    #[test]
    fn flattens_evtx_dump_output() {
        let event = json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770385F}"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "WKS-01",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": {"Image": "C:\\Windows\\cmd.exe", "Command Line": "cmd /c whoami"}
        }});
        assert_eq!(
            flatten_evtx(event),
            json!({
                "Image": "C:\\Windows\\cmd.exe",
                "CommandLine": "cmd /c whoami",
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "WKS-01",
                "Provider_Name": "Microsoft-Windows-Sysmon"
            })
        );
    }

    #[test]
    fn flattens_xmltodict_data_and_user_data() {
        let event = json!({"Event": {
            "System": {
                "Provider": {"@Name": "Microsoft-Windows-Security-Auditing"},
                "EventID": {"@Qualifiers": "", "#text": "4688"},
                "Channel": "Security"
            },
            "EventData": {"Data": [
                {"@Name": "NewProcessName", "#text": "C:\\x.exe"},
                {"@Name": "Subject User Name", "#text": "bob"}
            ]}
        }});
        assert_eq!(
            flatten_evtx(event),
            json!({
                "NewProcessName": "C:\\x.exe",
                "SubjectUserName": "bob",
                "EventID": "4688",
                "Channel": "Security",
                "Provider_Name": "Microsoft-Windows-Security-Auditing"
            })
        );
        let cleared = json!({"Event": {
            "System": {"EventID": 1102, "Channel": "Security"},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectUserName": "admin"}}
        }});
        assert_eq!(
            flatten_evtx(cleared),
            json!({"SubjectUserName": "admin", "EventID": 1102, "Channel": "Security"})
        );
        let plain = json!({"Event": "not evtx", "other": 1});
        assert_eq!(flatten_evtx(plain.clone()), plain);
    }
}

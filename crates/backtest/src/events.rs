//! Reading events: JSON Lines (or any concatenation of JSON values) from files or standard input,
//! gzip-compressed or not, and the shape EVTX converters write, flattened the way Sigma rules
//! name Windows fields.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use serde_json::{Map, Value};

/// The longest record, and the longest piece of a line, the reader holds in memory: 16 MiB.
/// Longer lines are read in pieces (a one-line array of any size streams); a longer record is
/// reported and skipped.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Why an input as a whole cannot be read (as opposed to one bad record, a [`RecordError`]):
/// reading that input stops.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The file could not be opened.
    #[error("{path}: cannot open: {source}")]
    Open {
        /// The path as given.
        path: String,
        /// The I/O error from opening it.
        source: std::io::Error,
    },
    /// Reading (or decompressing) failed part-way through the input.
    #[error("{path}: read error after line {line}: {source}")]
    Read {
        /// The path as given (`-` for standard input).
        path: String,
        /// The last line read completely, 1-based (0 when nothing was read).
        line: usize,
        /// The I/O or gzip error.
        source: std::io::Error,
    },
}

/// Why one record is not an event; the reader goes on with the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// The 1-based line of the input the problem is on (for invalid JSON, the line of the
    /// syntax error itself, not just where the record starts), or the EVTX record number; 0 when
    /// the error is about no one record, such as an EVTX chunk that does not parse.
    pub line: usize,
    /// What is wrong, for the user; one line, without the file name.
    pub message: String,
}

impl RecordError {
    /// `file:line: message`, or `file: message` for errors about no one line (an EVTX chunk).
    pub fn located(&self, file: &str) -> String {
        if self.line == 0 {
            format!("{file}: {}", self.message)
        } else {
            format!("{file}:{}: {}", self.line, self.message)
        }
    }
}

/// One complete JSON value as text, and the line it starts on.
#[derive(Clone, Debug)]
pub struct RawRecord {
    /// The 1-based line of the input the record starts on.
    pub line: usize,
    /// The 1-based byte column of the record's first byte on that line (1 for an EVTX record),
    /// so a JSON error inside an array element or after leading blanks names its real column.
    pub column: usize,
    /// The record's JSON text, unparsed (lines joined with `\n` when it spans several).
    pub text: String,
}

/// An event ready to match, and the line of the input it came from.
#[derive(Clone, Debug)]
pub struct Event {
    /// The 1-based line its record starts on (shared by all events of an array record).
    pub line: usize,
    /// The event as a JSON object, EVTX shapes already flattened (see [`flatten_evtx`]).
    pub value: Value,
}

/// An input of events: a file (plain or gzip) or standard input (`-`).
pub struct EventSource {
    /// The path as given, for messages and expectations (`-` for standard input).
    pub name: String,
    /// The size of the file on disk, for progress; `None` for standard input.
    pub size: Option<u64>,
    reader: Box<dyn BufRead + Send>,
    /// An EVTX file, read natively instead of `reader`.
    evtx: Option<File>,
}

/// What a record's position counts: a line of a JSON input, or an EVTX record number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// The 1-based line of a JSON input the record starts on.
    Line,
    /// The EVTX record number (`EventRecordID`).
    Record,
}

/// The UTF-8 encoding of U+FEFF, the byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// The magic bytes an EVTX file starts with.
const EVTX_MAGIC: &[u8] = b"ElfFile\0";
/// EVTX files are a 4 KiB header followed by 64 KiB chunks, so a chunk's number gives its offset.
const EVTX_HEADER_BYTES: u64 = 4096;
const EVTX_CHUNK_BYTES: u64 = 65536;
/// Records read ahead of the matcher from an EVTX file: bounded, so memory stays small.
const EVTX_READ_AHEAD: usize = 4096;

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish()
    }
}

impl EventSource {
    /// Opens a path, or standard input for `-`; gzip and EVTX are recognised by their magic
    /// bytes, not by the file's name.
    ///
    /// # Errors
    /// [`EventError::Open`] when the file cannot be opened.
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
        let open_error = |source| EventError::Open {
            path: name.clone(),
            source,
        };
        let mut head = [0u8; 8];
        let is_evtx = {
            use std::io::Seek;
            let mut file = &file;
            let read = file.read(&mut head).map_err(open_error)?;
            file.seek(std::io::SeekFrom::Start(0)).map_err(open_error)?;
            head[..read] == *EVTX_MAGIC
        };
        if is_evtx {
            return Ok(EventSource {
                name,
                size,
                reader: Box::new(std::io::empty()),
                evtx: Some(file),
            });
        }
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
        EventSource {
            name,
            size,
            reader,
            evtx: None,
        }
    }

    /// What the positions of this input's records count.
    pub fn unit(&self) -> Unit {
        if self.evtx.is_some() {
            Unit::Record
        } else {
            Unit::Line
        }
    }

    /// Splits the input into records without parsing them, so parsing can run in parallel.
    pub fn records(mut self) -> Records {
        let evtx = self.evtx.take().map(read_evtx);
        Records {
            evtx,
            name: self.name,
            reader: self.reader,
            line: 0,
            buffer: Vec::new(),
            pending: String::new(),
            pending_line: 0,
            pending_column: 1,
            stack: Vec::new(),
            array_line: None,
            resync: None,
            mid_line: false,
            carry: Vec::new(),
            line_bytes: 0,
            piece_offset: 0,
            skip_line: None,
            expect: Expect::Value,
            in_string: false,
            escaped: false,
            mode: Mode::Undecided,
            queue: std::collections::VecDeque::new(),
            bytes_read: 0,
        }
    }
}

/// How the reader splits an input, decided by its first complete record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// No record has completed yet.
    Undecided,
    /// The first record fit on its line: JSON Lines, where no record continues past its line,
    /// so a bad line costs that line only.
    Lines,
    /// The first record spanned lines: pretty-printed values (or arrays) one after another.
    Stream,
}

/// What may come next inside a record, tracked only as far as needed to tell, at the start of a
/// line, whether the line continues the open record or the record was cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A value (after `:` or `,` in an array, or at the top).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrEnd,
    /// A key or `}` (just after `{`).
    KeyOrEnd,
    /// A key (after `,` in an object).
    Key,
    /// `:` (after a key).
    Colon,
    /// `,` or the closing bracket (after a value).
    AfterValue,
}

/// The records of an input, in order: each a complete top-level JSON value (an object per line
/// in JSON Lines, or a pretty-printed value over several lines).
pub struct Records {
    /// Records of an EVTX file, read by a thread of their own.
    evtx: Option<std::sync::mpsc::Receiver<Result<RawRecord, RecordError>>>,
    name: String,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    buffer: Vec<u8>,
    /// The open record's text so far, when it spans lines.
    pending: String,
    pending_line: usize,
    /// The 1-based byte column the open record starts at on `pending_line`.
    pending_column: usize,
    /// The open containers of the current record (`{` or `[`).
    stack: Vec<u8>,
    /// The line a top-level array opened on, while it is open: its elements are records of
    /// their own, so an array of any size streams and a bad element costs that element only.
    array_line: Option<usize>,
    /// A record of a pretty-printed array that was cut off: the rest of it is skipped up to the
    /// line that starts the next element (or closes the array), then it is reported with every
    /// byte skipped. Holds the line it started on, why it was cut, and the bytes skipped so far.
    resync: Option<(usize, String, usize)>,
    /// The current line continues past the piece last read (a line longer than
    /// [`MAX_LINE_BYTES`] is read in pieces of at most that size).
    mid_line: bool,
    /// The bytes of a character the previous piece cut in two, to start the next piece.
    carry: Vec<u8>,
    /// Bytes of the current line read so far, its line break included.
    line_bytes: usize,
    /// Where in its line the piece in `buffer` starts, in bytes.
    piece_offset: usize,
    /// The rest of the current line is skipped: why (reported when the line ends, with every
    /// byte the line held), or `None` when the reason was already reported.
    skip_line: Option<Option<String>>,
    expect: Expect,
    in_string: bool,
    escaped: bool,
    mode: Mode,
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

/// A piece of a line as read into `buffer` (its line break removed): a whole line, or at most
/// [`MAX_LINE_BYTES`] of a longer one.
enum Line {
    End,
    Piece {
        /// The piece starts its line.
        starts: bool,
        /// The piece ends its line (or the input).
        ends: bool,
    },
}

impl Records {
    /// Bytes consumed so far (of the compressed stream for gzip files, roughly), for progress.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next piece of a line into `buffer`: up to the line break, or
    /// [`MAX_LINE_BYTES`] of a longer line, so memory stays bounded whatever the line's length.
    fn read_piece(&mut self) -> std::io::Result<Line> {
        self.buffer.clear();
        let carried = self.carry.len();
        self.buffer.append(&mut self.carry);
        let starts = !self.mid_line;
        let mut ends = false;
        let mut consumed = 0;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                ends = true;
                break;
            }
            let room = MAX_LINE_BYTES.saturating_sub(self.buffer.len()).max(1);
            let window = &available[..available.len().min(room)];
            let (chunk, done) = match memchr::memchr(b'\n', window) {
                Some(i) => (&window[..=i], true),
                None => (window, false),
            };
            let used = chunk.len();
            self.buffer.extend_from_slice(chunk);
            self.reader.consume(used);
            consumed += used;
            if done {
                ends = true;
                break;
            }
            if self.buffer.len() >= MAX_LINE_BYTES {
                break;
            }
        }
        self.bytes_read += consumed as u64;
        if consumed == 0 && self.buffer.is_empty() && !self.mid_line {
            return Ok(Line::End);
        }
        if starts {
            self.line += 1;
            self.line_bytes = 0;
        }
        self.piece_offset = self.line_bytes - carried;
        self.line_bytes += consumed;
        self.mid_line = !ends;
        if ends && self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        Ok(Line::Piece { starts, ends })
    }

    /// A line that is not valid UTF-8 (at 1-based byte `at` of the line): it is skipped, with
    /// the record open on it; a record that began on an earlier line is cut off.
    fn not_utf8(&mut self, at: usize, ends: bool) {
        let line = self.line;
        if let Some(resync) = &mut self.resync {
            resync.2 += self.line_bytes;
        } else if !self.stack.is_empty() && self.pending_line == line {
            self.reset();
        } else {
            self.cut_off(&format!("line {line} is not valid UTF-8"), 0);
        }
        self.queue.push_back(Err(RecordError {
            line,
            message: format!("the line is not valid UTF-8 (at byte {at} of the line); skipped"),
        }));
        if !ends {
            self.skip_line = Some(None);
        }
    }

    /// Reports the skipped rest of a line once it has ended.
    fn finish_line(&mut self) {
        if let Some(Some(why)) = self.skip_line.take() {
            self.queue.push_back(Err(RecordError {
                line: self.line,
                message: format!("{why}; skipped ({} bytes)", self.line_bytes),
            }));
        }
    }

    /// Whether `byte`, the first significant byte of a line, can continue the open record.
    fn continues(&self, byte: u8) -> bool {
        let value = matches!(
            byte,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        );
        let closer = match self.stack.last() {
            Some(b'{') => b'}',
            _ => b']',
        };
        match self.expect {
            Expect::Value => value,
            Expect::ValueOrEnd => value || byte == b']',
            Expect::KeyOrEnd => byte == b'"' || byte == b'}',
            Expect::Key => byte == b'"',
            Expect::Colon => byte == b':',
            Expect::AfterValue => byte == b',' || byte == closer,
        }
    }

    /// Drops the open record, reporting it with why it was cut off and how much was skipped.
    fn abandon(&mut self, why: &str) {
        if self.pending.is_empty() && self.stack.is_empty() && !self.in_string {
            return;
        }
        self.queue.push_back(Err(RecordError {
            line: self.pending_line,
            message: format!(
                "{why}; the record starting on this line was skipped ({} bytes)",
                self.pending.len()
            ),
        }));
        self.reset();
    }

    fn reset(&mut self) {
        self.pending.clear();
        self.stack.clear();
        // Inside a top-level array, a cut-off element may be followed by the next one, a
        // separator or the end.
        self.expect = if self.array_line.is_some() {
            Expect::ValueOrEnd
        } else {
            Expect::Value
        };
        self.in_string = false;
        self.escaped = false;
    }

    /// Cuts off the open record at the end of line `bytes_after` bytes before the line's end. An
    /// element of a pretty-printed array is not reported yet: the lines that continue it are
    /// skipped first (see [`Records::resync`]), so the message counts every byte it cost.
    fn cut_off(&mut self, why: &str, bytes_after: usize) {
        if self.array_line.is_none() || self.mode == Mode::Lines || self.stack.is_empty() {
            self.abandon(why);
            return;
        }
        let bytes = self.pending.len() + bytes_after;
        self.resync = Some((self.pending_line, why.to_owned(), bytes));
        self.reset();
    }

    /// Reports the element being skipped, if any: the next element (or the array's end) starts.
    fn end_resync(&mut self) {
        if let Some((line, why, bytes)) = self.resync.take() {
            self.queue.push_back(Err(RecordError {
                line,
                message: format!(
                    "{why}; the record starting on this line was skipped, up to the next \
                     element of the array ({bytes} bytes)"
                ),
            }));
        }
    }

    /// Whether `byte`, the first significant byte of a line, can continue the open top-level
    /// array (outside its elements).
    fn continues_array(&self, byte: u8) -> bool {
        match self.expect {
            Expect::AfterValue => byte == b',' || byte == b']',
            _ => matches!(
                byte,
                b'{' | b'[' | b']' | b',' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
            ),
        }
    }

    /// Splits a piece of a line into records, tracking nesting outside strings so a record ends
    /// where its value does, and resynchronising where an open record cannot go on. The elements
    /// of a top-level array are records of their own. `starts` and `ends` say whether the piece
    /// starts and ends its line.
    fn split_line(&mut self, line: &str, starts: bool, ends: bool) {
        if self.skip_line.is_some() {
            return;
        }
        let first = line.bytes().find(|b| !b.is_ascii_whitespace());
        if self.resync.is_some() {
            // Skipping the rest of a cut-off array element: up to a line that starts the next
            // element or closes the array.
            if starts && matches!(first, Some(b'{' | b'[' | b']')) {
                self.end_resync();
            } else {
                if let Some(resync) = &mut self.resync {
                    resync.2 += line.len() + usize::from(ends);
                }
                return;
            }
        }
        if let Some(first) = first.filter(|_| starts) {
            if !self.stack.is_empty() && !self.continues(first) {
                let line_number = self.line;
                self.abandon(&format!(
                    "the record is incomplete (line {line_number} starts a new value)"
                ));
            }
            if self.stack.is_empty()
                && let Some(opened) = self.array_line
                && !self.continues_array(first)
            {
                let line_number = self.line;
                self.queue.push_back(Err(RecordError {
                    line: opened,
                    message: format!(
                        "the array opened on this line is not closed (line {line_number} starts \
                         a new value); its complete elements were read"
                    ),
                }));
                self.array_line = None;
                self.expect = Expect::Value;
            }
        }
        let mut start = 0;
        // Bytes of a scalar array element already handed on as a record.
        let mut skip_to = 0;
        for (i, b) in line.bytes().enumerate() {
            if i < skip_to {
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.expect = if matches!(self.expect, Expect::KeyOrEnd | Expect::Key) {
                        Expect::Colon
                    } else {
                        Expect::AfterValue
                    };
                }
                continue;
            }
            if b.is_ascii_whitespace() {
                continue;
            }
            if self.stack.is_empty() {
                if self.array_line.is_some() {
                    match b {
                        b',' => {
                            self.expect = Expect::Value;
                            continue;
                        }
                        b']' => {
                            self.array_line = None;
                            self.expect = Expect::Value;
                            continue;
                        }
                        b'{' | b'[' => {}
                        _ => {
                            // A scalar element: a record of its own, which parsing rejects.
                            let end = scalar_end(line, i);
                            self.queue.push_back(Ok(RawRecord {
                                line: self.line,
                                column: self.piece_offset + i + 1,
                                text: line[i..end].trim_end().to_owned(),
                            }));
                            self.expect = Expect::AfterValue;
                            skip_to = end;
                            continue;
                        }
                    }
                } else if b == b'[' {
                    self.array_line = Some(self.line);
                    self.expect = Expect::ValueOrEnd;
                    continue;
                } else if b != b'{' {
                    // A value that is not an object or array: the rest of the line is one
                    // record, which parsing will reject.
                    self.queue.push_back(Ok(RawRecord {
                        line: self.line,
                        column: self.piece_offset + i + 1,
                        text: line[i..].trim_end().to_owned(),
                    }));
                    if !ends {
                        self.skip_line = Some(None);
                    }
                    return;
                }
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if self.stack.is_empty() {
                        start = i;
                        self.pending_line = self.line;
                        self.pending_column = self.piece_offset + i + 1;
                    }
                    self.stack.push(b);
                    self.expect = if b == b'{' {
                        Expect::KeyOrEnd
                    } else {
                        Expect::ValueOrEnd
                    };
                }
                b'}' | b']' => {
                    self.stack.pop();
                    self.expect = Expect::AfterValue;
                    if self.stack.is_empty() {
                        self.pending.push_str(&line[start..=i]);
                        let text = std::mem::take(&mut self.pending);
                        if self.mode == Mode::Undecided {
                            self.mode = if self.pending_line == self.line {
                                Mode::Lines
                            } else {
                                Mode::Stream
                            };
                        }
                        self.queue.push_back(if text.len() > MAX_LINE_BYTES {
                            // Closed in the piece after the one that reached the bound.
                            Err(RecordError {
                                line: self.pending_line,
                                message: format!(
                                    "the record is longer than {} MiB; skipped ({} bytes)",
                                    MAX_LINE_BYTES / 1024 / 1024,
                                    text.len()
                                ),
                            })
                        } else {
                            Ok(RawRecord {
                                line: self.pending_line,
                                column: self.pending_column,
                                text,
                            })
                        });
                        start = i + 1;
                        if self.array_line.is_none() {
                            self.expect = Expect::Value;
                        }
                    }
                }
                b':' => self.expect = Expect::Value,
                b',' => {
                    self.expect = if self.stack.last() == Some(&b'{') {
                        Expect::Key
                    } else {
                        Expect::Value
                    };
                }
                _ => self.expect = Expect::AfterValue,
            }
        }
        if self.stack.is_empty() {
            return;
        }
        self.pending.push_str(&line[start..]);
        if ends && self.in_string {
            // A JSON string cannot hold a raw line break, so the record was cut off here.
            let line_number = self.line;
            self.cut_off(&format!("a string is not closed on line {line_number}"), 1);
            return;
        }
        if ends && self.mode == Mode::Lines {
            self.abandon("the line ends inside a JSON value (JSON Lines: one record per line)");
            return;
        }
        if ends {
            self.pending.push('\n');
        }
        if self.pending.len() < MAX_LINE_BYTES {
            return;
        }
        let mib = MAX_LINE_BYTES / 1024 / 1024;
        if self.array_line.is_some() && self.mode == Mode::Stream {
            // The rest of the element is skipped up to the next one, however many lines it takes.
            self.cut_off(&format!("the record is longer than {mib} MiB"), 0);
        } else if self.pending_line == self.line {
            // The record started on this line: the line is skipped to its end and reported
            // with its length.
            self.reset();
            self.skip_line = Some(Some(format!("the line is longer than {mib} MiB")));
        } else {
            self.abandon(&format!(
                "the record is longer than {mib} MiB or never closes"
            ));
            if !ends {
                self.skip_line = Some(None);
            }
        }
    }
}

/// Where a scalar array element that starts at `from` ends: at the `,` or `]` after it outside
/// a string, or at the end of the line.
fn scalar_end(line: &str, from: usize) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in line.bytes().enumerate().skip(from) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' || b == b']' {
            return i;
        }
    }
    line.len()
}

impl Iterator for Records {
    type Item = Result<Result<RawRecord, RecordError>, EventError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(evtx) = &self.evtx {
            return evtx.recv().ok().map(Ok);
        }
        loop {
            if let Some(record) = self.queue.pop_front() {
                return Some(Ok(record));
            }
            match self.read_piece() {
                Ok(Line::End) => {
                    self.end_resync();
                    if !self.stack.is_empty() {
                        self.abandon("the input ends inside a JSON value");
                        continue;
                    }
                    if let Some(opened) = self.array_line.take() {
                        self.queue.push_back(Err(RecordError {
                            line: opened,
                            message: "the input ends inside this array (its complete elements \
                                      were read)"
                                .to_owned(),
                        }));
                        continue;
                    }
                    return None;
                }
                Ok(Line::Piece { starts, ends }) => {
                    if starts && self.line == 1 && self.buffer.starts_with(UTF8_BOM) {
                        // A byte-order mark may start UTF-8 JSON (RFC 8259, section 8.1, lets a
                        // parser ignore it); Windows tools write one.
                        self.buffer.drain(..UTF8_BOM.len());
                        self.piece_offset += UTF8_BOM.len();
                    }
                    let mut buffer = std::mem::take(&mut self.buffer);
                    let offset = self.piece_offset;
                    match std::str::from_utf8(&buffer) {
                        Ok(text) => self.split_line(text, starts, ends),
                        // A character cut by the end of the piece goes on in the next one.
                        Err(e) if !ends && e.error_len().is_none() => {
                            self.carry = buffer.split_off(e.valid_up_to());
                            let text = std::str::from_utf8(&buffer).unwrap_or_default();
                            self.split_line(text, starts, ends);
                        }
                        Err(e) => {
                            if self.skip_line.is_none() {
                                self.not_utf8(offset + e.valid_up_to() + 1, ends);
                            }
                        }
                    }
                    buffer.clear();
                    self.buffer = buffer;
                    if ends {
                        self.finish_line();
                    }
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

/// Reads an EVTX file with the `evtx` crate on a thread of its own, handing on each record as
/// its JSON (the shape `evtx_dump` writes, flattened later like any EVTX JSON) with its record
/// number as its position. A chunk that does not parse is reported with its offset and the
/// following chunks are read.
fn read_evtx(file: File) -> std::sync::mpsc::Receiver<Result<RawRecord, RecordError>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(EVTX_READ_AHEAD);
    // The parser reads whole chunks only; a file cut inside one would lose it without a word.
    let length = file.metadata().map_or(0, |m| m.len());
    let partial = length.saturating_sub(EVTX_HEADER_BYTES) % EVTX_CHUNK_BYTES;
    std::thread::spawn(move || {
        let mut parser = match evtx::EvtxParser::from_read_seek(BufReader::new(file)) {
            Ok(parser) => parser,
            Err(e) => {
                let _ = sender.send(Err(RecordError {
                    line: 0,
                    message: format!("not a readable EVTX file: {e}"),
                }));
                return;
            }
        };
        for record in parser.records_json() {
            let item = match record {
                Ok(record) => Ok(RawRecord {
                    line: usize::try_from(record.event_record_id).unwrap_or(usize::MAX),
                    column: 1,
                    text: record.data,
                }),
                Err(e) => Err(RecordError {
                    line: 0,
                    message: evtx_error_message(&e),
                }),
            };
            if sender.send(item).is_err() {
                return;
            }
        }
        if length > EVTX_HEADER_BYTES && partial > 0 {
            let offset = length - partial;
            let _ = sender.send(Err(RecordError {
                line: 0,
                message: format!(
                    "the file ends inside EVTX chunk {} (at byte offset {offset}, {partial} of its \
                     {EVTX_CHUNK_BYTES} bytes present); its records were not read",
                    (offset - EVTX_HEADER_BYTES) / EVTX_CHUNK_BYTES
                ),
            }));
        }
    });
    receiver
}

/// An EVTX error, with the byte offset of the chunk it is about.
fn evtx_error_message(error: &evtx::err::EvtxError) -> String {
    match error {
        evtx::err::EvtxError::FailedToParseChunk { chunk_id, source } => format!(
            "EVTX chunk {chunk_id} at byte offset {} does not parse ({source}); its records were skipped",
            EVTX_HEADER_BYTES + chunk_id * EVTX_CHUNK_BYTES
        ),
        other => format!("an EVTX record does not parse: {other}"),
    }
}

/// Parses a record into events: an object is one event, an array holds several. EVTX-converter
/// shapes are flattened.
///
/// # Errors
/// A [`RecordError`] when the text is not JSON, or is (or holds) something other than objects.
pub fn parse_record(record: &RawRecord) -> Result<Vec<Value>, RecordError> {
    let error = |message: String| RecordError {
        line: record.line,
        message,
    };
    let value: Value = serde_json::from_str(&record.text).map_err(|e| {
        let line = record.line + e.line().saturating_sub(1);
        // serde_json counts from the record's text; its first line starts mid-line when the
        // record is an array element or follows blanks.
        let column = if e.line() <= 1 {
            record.column + e.column().saturating_sub(1)
        } else {
            e.column()
        };
        // Its message ends with that record-relative position; the right one is given instead.
        let text = e.to_string();
        let reason = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(r, _)| r);
        RecordError {
            line,
            message: format!("invalid JSON at column {column}: {reason}"),
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

/// Reads a whole input into events, for small inputs such as regression samples. Bad records
/// do not stop reading: they are returned alongside the events.
///
/// # Errors
/// An [`EventError`] when the input cannot be opened or read.
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
        // The record's time, so that correlations can order EVTX events (the first of the
        // default timestamp fields; an EventData field of that name is kept).
        if let Some(time) = system.get("TimeCreated").and_then(system_time)
            && !flat.contains_key("TimeCreated")
        {
            flat.insert("TimeCreated".to_owned(), time);
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

/// `TimeCreated`'s `SystemTime` attribute, in evtx_dump's (`#attributes`) or xmltodict's
/// (`@SystemTime`) shape.
fn system_time(time: &Value) -> Option<Value> {
    let map = time.as_object()?;
    map.get("#attributes")
        .and_then(|a| a.get("SystemTime"))
        .or_else(|| map.get("@SystemTime"))
        .or_else(|| map.get("SystemTime"))
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

/// The files to read for a path: the path itself (whatever its name), or the event files under a
/// directory (`.json`, `.jsonl`, `.ndjson`, `.evtx`, with or without `.gz`) in walk order, and the entries
/// the walk had to leave out (symbolic-link loops, unreadable directories).
pub fn event_files(path: &Path) -> ruleproof_files::Walk {
    ruleproof_files::walk(path, &is_event_file)
}

/// Whether a file found in a directory of events is one to read.
fn is_event_file(path: &Path) -> bool {
    let name = path.to_string_lossy();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".json", ".jsonl", ".ndjson", ".evtx"]
        .iter()
        .any(|ext| name.ends_with(ext))
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

    fn records_of_bytes(bytes: Vec<u8>) -> Vec<Result<RawRecord, RecordError>> {
        EventSource::from_reader("t".into(), None, std::io::Cursor::new(bytes))
            .records()
            .map(|r| r.unwrap())
            .collect()
    }

    /// (line, text) of good records, (line, message) of bad ones, in order.
    fn outline(records: Vec<Result<RawRecord, RecordError>>) -> Vec<(usize, bool, String)> {
        records
            .into_iter()
            .map(|r| match r {
                Ok(r) => (r.line, true, r.text),
                Err(e) => (e.line, false, e.message),
            })
            .collect()
    }

    #[test]
    fn splits_pretty_values_and_arrays() {
        let text = "{\n  \"b\": [1, {\"c\": 2}],\n  \"s\": \"}{\"\n}\n[{\"d\": 1}, {\"e\": 2}] {\"f\": 3}\n[\n{\"g\": 1},\n{\"h\": [2]}\n]\n";
        let got: Vec<(usize, String)> = records(text)
            .into_iter()
            .map(|r| r.unwrap())
            .map(|r| (r.line, r.text))
            .collect();
        // A top-level array's elements are records of their own; nested arrays stay inside
        // their element.
        assert_eq!(
            got.iter()
                .map(|(l, t)| (*l, t.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (1, "{\n  \"b\": [1, {\"c\": 2}],\n  \"s\": \"}{\"\n}"),
                (5, "{\"d\": 1}"),
                (5, "{\"e\": 2}"),
                (5, "{\"f\": 3}"),
                (7, "{\"g\": 1}"),
                (8, "{\"h\": [2]}"),
            ]
        );
        // An array inside an array is one record of several events.
        let got = outline(records("[[{\"a\": 1}, {\"b\": 2}]]\n"));
        assert_eq!(got, vec![(1, true, "[{\"a\": 1}, {\"b\": 2}]".to_owned())]);
        let events = parse_record(&RawRecord {
            line: 1,
            column: 2,
            text: got[0].2.clone(),
        })
        .unwrap();
        assert_eq!(events, vec![json!({"a": 1}), json!({"b": 2})]);
    }

    #[test]
    fn a_bad_array_element_costs_that_element_only() {
        // One line: the bad element is a record of its own, which parsing rejects.
        let got = outline(records("[{\"a\": 1}, {\"b\": bad}, {\"c\": 3}, 4]\n"));
        assert_eq!(
            got,
            vec![
                (1, true, "{\"a\": 1}".to_owned()),
                (1, true, "{\"b\": bad}".to_owned()),
                (1, true, "{\"c\": 3}".to_owned()),
                (1, true, "4".to_owned()),
            ]
        );
        // Pretty-printed: a cut string loses its element, up to the line that starts the next
        // one, and the message counts every byte skipped.
        let text = "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": \"cut\n    \"x\": 2\n  },\n  {\n    \"c\": 3\n  }\n]\n";
        let got = outline(records(text));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        assert_eq!(lines, vec![(2, true), (5, false), (9, true)]);
        // From the element's `{`: `{`, `    "b": "cut`, `    "x": 2`, `  },` with their line
        // breaks.
        assert!(
            got[1].2.contains(
                "a string is not closed on line 6; the record starting on this line was \
                 skipped, up to the next element of the array (32 bytes)"
            ),
            "{}",
            got[1].2
        );
    }

    #[test]
    fn an_array_of_any_size_streams_element_by_element() {
        // More than the record bound in all, each element small.
        let element = format!("  {{\"pad\": \"{}\"}},\n", "x".repeat(1000));
        let count = MAX_LINE_BYTES / element.len() + 10;
        let mut text = String::from("[\n");
        for _ in 0..count {
            text.push_str(&element);
        }
        text.push_str("  {\"last\": true}\n]\n");
        let got = records(&text);
        assert_eq!(got.len(), count + 1);
        assert!(got.iter().all(Result::is_ok));
    }

    #[test]
    fn a_line_longer_than_the_bound_is_read_in_pieces() {
        // A one-line array over the bound: every element is read. The `é` of one element is cut
        // in two by the end of the first piece (`[`, 8 spaces, 1,525,200 elements of 11 bytes,
        // then `{"v":"` put it at bytes MAX - 1 and MAX).
        let element = "{\"v\":\"\u{e9}\"},";
        assert_eq!(element.len(), 11);
        let count = (MAX_LINE_BYTES - 16) / 11;
        assert_eq!(1 + 8 + 11 * count + 6, MAX_LINE_BYTES - 1);
        let mut text = String::from("[        ");
        for _ in 0..count + 2 {
            text.push_str(element);
        }
        text.push_str("{\"last\": true}]\n{\"next\": 1}\n");
        let got = records(&text);
        assert_eq!(got.len(), count + 4);
        assert!(got.iter().all(Result::is_ok));
        let cut = got[count].as_ref().unwrap();
        assert_eq!(cut.text, "{\"v\":\"\u{e9}\"}");
        assert_eq!(got[count + 3].as_ref().unwrap().line, 2);
        // Bytes that are not UTF-8 in a later piece: the line is skipped, and the message says
        // where in the line they are.
        let mut bytes = b"[".to_vec();
        bytes.resize(MAX_LINE_BYTES + 5, b' ');
        bytes.extend_from_slice(b"{\"a\": \"\xff\"}]\n{\"b\": 1}\n");
        let got = outline(records_of_bytes(bytes));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        // The array's `]` was in the skipped part, so it is still open at the end.
        assert_eq!(lines, vec![(1, false), (2, true), (1, false)]);
        let at = MAX_LINE_BYTES + 5 + 8;
        assert!(
            got[0]
                .2
                .contains(&format!("not valid UTF-8 (at byte {at} of the line)")),
            "{}",
            got[0].2
        );
    }

    #[test]
    fn an_array_left_open_is_reported_and_its_elements_kept() {
        let got = outline(records("[{\"a\": 1},\n{\"b\": 2}\n{\"c\": 3}\n"));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        // Line 3 cannot continue the array (no `,`): the array is reported as not closed, and
        // line 3 is read afresh.
        assert_eq!(lines, vec![(1, true), (2, true), (1, false), (3, true)]);
        assert!(
            got[2].2.contains("line 3 starts a new value"),
            "{}",
            got[2].2
        );
        let got = outline(records("[{\"a\": 1},\n{\"b\": 2},\n"));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        assert_eq!(lines, vec![(1, true), (2, true), (1, false)]);
        assert!(got[2].2.contains("ends inside this array"), "{}", got[2].2);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(b"{\"a\": 1}\n{\"b\": 2}\n");
        let got = outline(records_of_bytes(bytes));
        assert_eq!(
            got,
            vec![
                (1, true, "{\"a\": 1}".to_owned()),
                (2, true, "{\"b\": 2}".to_owned())
            ]
        );
    }

    #[test]
    fn a_broken_json_line_costs_that_line_only() {
        // The reproduction: an unterminated string on line 3.
        let text = "{\"DestinationHostname\":\"pool.minexmr.com\"}\n{\"DestinationHostname\":\"xmrpool.eu\"}\n{\"DestinationHostname\": \"broken\n{\"DestinationHostname\":\"a\"}\n{\"DestinationHostname\":\"b\"}\n";
        let got = outline(records(text));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        assert_eq!(
            lines,
            vec![(1, true), (2, true), (3, false), (4, true), (5, true)]
        );
        // An object left open (not inside a string) is cut off at its line too, in JSON Lines.
        let text = "{\"a\": 1}\n{\"b\": [1, 2,\n{\"c\": 3}\n{\"d\": 4}\n";
        let lines: Vec<(usize, bool)> = outline(records(text))
            .iter()
            .map(|(l, ok, _)| (*l, *ok))
            .collect();
        assert_eq!(lines, vec![(1, true), (2, false), (3, true), (4, true)]);
        // Even when the very first line is the broken one.
        let text = "{\"a\": 1\n{\"b\": 2}\n{\"c\": 3}\n";
        let lines: Vec<(usize, bool)> = outline(records(text))
            .iter()
            .map(|(l, ok, _)| (*l, *ok))
            .collect();
        assert_eq!(lines, vec![(1, false), (2, true), (3, true)]);
    }

    #[test]
    fn a_pretty_printed_stream_resynchronises_at_the_next_value() {
        let text = "{\n  \"a\": 1,\n  \"b\": \"cut\n}\n{\n  \"c\": 2\n}\n{\n  \"d\": 3\n{\n  \"e\": 4\n}\n";
        let got = outline(records(text));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        // The cut string loses its record; the stray `}` on line 4 is a bad record of its own;
        // `{"d": 3` is cut off where line 10 starts a new value.
        assert_eq!(
            lines,
            vec![(1, false), (4, true), (5, true), (8, false), (10, true)]
        );
        assert!(
            got[0].2.contains("string is not closed on line 3"),
            "{}",
            got[0].2
        );
        assert!(
            got[3].2.contains("line 10 starts a new value"),
            "{}",
            got[3].2
        );
        assert!(got[3].2.contains("bytes)"), "{}", got[3].2);
    }

    #[test]
    fn a_line_that_is_not_utf8_costs_that_line() {
        let mut bytes = b"{\"a\": 1}\n{\"b\": \"".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"\"}\n{\"c\": 3}\n");
        let got = outline(records_of_bytes(bytes));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        assert_eq!(lines, vec![(1, true), (2, false), (3, true)]);
        assert!(
            got[1].2.contains("not valid UTF-8 (at byte 8"),
            "{}",
            got[1].2
        );
    }

    #[test]
    fn a_line_over_the_bound_is_skipped_without_being_kept() {
        let mut bytes = b"{\"a\": 1}\n{\"big\": \"".to_vec();
        bytes.resize(bytes.len() + MAX_LINE_BYTES + 10, b'x');
        bytes.extend_from_slice(b"\"}\n{\"c\": 3}\n");
        // `{"big": "`, the filler, and `"}` with its newline.
        let long = 9 + MAX_LINE_BYTES + 10 + 3;
        let got = outline(records_of_bytes(bytes));
        let lines: Vec<(usize, bool)> = got.iter().map(|(l, ok, _)| (*l, *ok)).collect();
        assert_eq!(lines, vec![(1, true), (2, false), (3, true)]);
        assert!(
            got[1]
                .2
                .contains(&format!("longer than 16 MiB; skipped ({long} bytes)")),
            "{}",
            got[1].2
        );
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
        assert_eq!(event_files(dir.path()).files, vec![path]);
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
                "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00.123456Z"}},
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
                "Provider_Name": "Microsoft-Windows-Sysmon",
                "TimeCreated": "2024-05-01T10:00:00.123456Z"
            })
        );
    }

    #[test]
    fn flattens_xmltodict_data_and_user_data() {
        let event = json!({"Event": {
            "System": {
                "Provider": {"@Name": "Microsoft-Windows-Security-Auditing"},
                "EventID": {"@Qualifiers": "", "#text": "4688"},
                "Channel": "Security",
                "TimeCreated": {"@SystemTime": "2024-05-01 10:00:00"}
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
                "Provider_Name": "Microsoft-Windows-Security-Auditing",
                "TimeCreated": "2024-05-01 10:00:00"
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

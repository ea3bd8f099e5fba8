//! What scanning a string value found, remembered per thread: log values repeat (image paths,
//! users, channels, providers), and a value seen before costs a hash lookup instead of folding
//! and scanning it again.
//!
//! The atoms a field's scanners and the keyword scanner find in one value depend only on the
//! field and the value's bytes, so replaying them is the same as finding them again. Entries live
//! in one table and two arenas (no allocation per entry once they are warm), bounded by
//! [`MAX_ENTRIES`] and [`MAX_BYTES`]: when either would be exceeded the memo is emptied and fills
//! again with what the following events repeat.
//!
//! A value the memo has not seen costs more than scanning it alone (hashing, looking it up,
//! remembering it), so a thread whose recent values seldom repeat stops remembering for a
//! while: every [`WINDOW`] lookups it checks that at least [`MIN_HITS_PER_WINDOW`] of them were
//! found, else it scans the next [`PAUSE`] events' values as if there were no memo, then tries
//! again. Whether a value is remembered changes how fast its atoms are found, never which.

use std::hash::Hasher;

use hashbrown::HashTable;

use super::fxhash::FxHasher;

/// The most values remembered; past it the memo starts again.
const MAX_ENTRIES: usize = 1 << 15;

/// The most bytes of values remembered; past it the memo starts again.
const MAX_BYTES: usize = 2 << 20;

/// Longer values are scanned every time: they seldom repeat (command lines, script blocks),
/// and one would take a large share of the memo.
pub(super) const MAX_VALUE: usize = 1 << 10;

/// Lookups between two checks of how many were found.
const WINDOW: u32 = 4096;

/// Below this many found values in a window, remembering costs more than it saves: a new
/// value costs about as much again as scanning it, a remembered one saves most of its scan.
const MIN_HITS_PER_WINDOW: u32 = WINDOW / 2;

/// Events scanned without the memo after a window that found too few values.
const PAUSE: u32 = 8192;

/// The key of a value that no field scanner reads: only the keyword scanner's atoms are kept.
pub(super) const NO_FIELD: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(super) struct ValueMemo {
    /// The index the atoms are numbered by: a memo filled for another index is emptied.
    index: u64,
    table: HashTable<Entry>,
    /// Lookups and found values in the current window.
    lookups: u32,
    hits: u32,
    /// Events left to scan without the memo.
    paused: u32,
    bytes: Vec<u8>,
    atoms: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    hash: u64,
    slot: u32,
    /// Range of `bytes`: the value as the event holds it (before folding).
    value: (u32, u32),
    /// Range of `atoms`: the distinct atoms scanning the value found.
    atoms: (u32, u32),
}

impl ValueMemo {
    /// Empties the memo if it was filled for another index.
    pub(super) fn use_for(&mut self, index: u64) {
        if self.index != index {
            self.clear();
            self.index = index;
        }
    }

    fn clear(&mut self) {
        self.table.clear();
        self.bytes.clear();
        self.atoms.clear();
    }

    /// The hash of a value read as the field at `slot` (or [`NO_FIELD`]).
    pub(super) fn hash(slot: u32, value: &str) -> u64 {
        let mut hasher = FxHasher::default();
        hasher.write_u64(u64::from(slot));
        hasher.write(value.as_bytes());
        hasher.finish()
    }

    /// Whether this event's string values go through the memo; counts the event against a
    /// pause.
    pub(super) fn remembering(&mut self) -> bool {
        if self.paused == 0 {
            return true;
        }
        self.paused -= 1;
        false
    }

    /// The atoms remembered for the value read as the field at `slot`, if any; counted for
    /// the decision to pause.
    pub(super) fn lookup(&mut self, hash: u64, slot: u32, value: &str) -> Option<&[u32]> {
        self.lookups += 1;
        if self.lookups == WINDOW {
            if self.hits < MIN_HITS_PER_WINDOW {
                self.paused = PAUSE;
            }
            self.lookups = 0;
            self.hits = 0;
        }
        let (first, last) = self.find(hash, slot, value)?;
        self.hits += 1;
        Some(&self.atoms[first as usize..last as usize])
    }

    /// The range of `atoms` remembered for the value, if any.
    fn find(&self, hash: u64, slot: u32, value: &str) -> Option<(u32, u32)> {
        let entry = self.table.find(hash, |e| {
            e.slot == slot
                && self.bytes[e.value.0 as usize..e.value.1 as usize] == *value.as_bytes()
        })?;
        Some(entry.atoms)
    }

    /// Remembers the atoms found in the value (distinct; `value` at most [`MAX_VALUE`] bytes),
    /// unless it is remembered already (an event can hold a new value twice).
    pub(super) fn insert(&mut self, hash: u64, slot: u32, value: &str, atoms: &[u32]) {
        if self.table.len() == MAX_ENTRIES || self.bytes.len() + value.len() > MAX_BYTES {
            self.clear();
        } else if self.find(hash, slot, value).is_some() {
            return;
        }
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(value.as_bytes());
        let first = self.atoms.len() as u32;
        self.atoms.extend_from_slice(atoms);
        let entry = Entry {
            hash,
            slot,
            value: (start, self.bytes.len() as u32),
            atoms: (first, self.atoms.len() as u32),
        };
        self.table.insert_unique(hash, entry, |e| e.hash);
    }
}

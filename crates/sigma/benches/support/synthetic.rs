//! Deterministic events that resemble Sysmon, Windows Security and Linux logs, seeded with values
//! taken from the rules themselves so that some rules match and many nearly do. Shared by the
//! rule-set benchmark and the index property test through `#[path]`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ruleproof_sigma::detection::SearchBody;
use ruleproof_sigma::modifier::Modifier;
use ruleproof_sigma::ruleset::{RuleSetIndex, Scratch};
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, Limits, load_file};
use serde_json::{Map, Value};

/// `shared/corpus/sigmahq` next to the repository, found from whichever crate includes this file.
pub fn corpus_root() -> Option<PathBuf> {
    ruleproof_testkit::sigmahq_corpus()
}

/// A value a rule tests, as the generator can reproduce it.
#[derive(Clone, Debug)]
pub struct Seed {
    /// `None` for keyword searches.
    pub field: Option<String>,
    pub value: String,
    pub position: Position,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// One map of one search of a rule: the items that must all hold together.
pub type SeedGroup = Vec<Seed>;

/// The active corpus compiled, the seed groups of each rule, and how long loading took.
pub struct Corpus {
    pub rules: Vec<CompiledRule>,
    pub groups: Vec<SeedGroup>,
    pub load_time: Duration,
}

/// Loads and compiles the files, keeping the rules that compile (those needing placeholder
/// values do not) and the seeds their searches offer.
pub fn load(files: &[PathBuf]) -> Corpus {
    let started = Instant::now();
    let mut rules = Vec::new();
    let mut groups = Vec::new();
    for path in files {
        let Ok(loaded) = load_file(path, &Limits::default()) else {
            continue;
        };
        for document in &loaded.documents {
            let DocumentBody::Rule(rule) = &document.body else {
                continue;
            };
            let Ok(compiled) = CompiledRule::compile(rule, &CompileOptions::default()) else {
                continue;
            };
            rules.push(compiled);
            for search in &rule.detection.searches {
                match &search.body {
                    SearchBody::Maps(maps) => {
                        for map in maps {
                            let group: SeedGroup =
                                map.items.iter().filter_map(seed_of).flatten().collect();
                            if !group.is_empty() {
                                groups.push(group);
                            }
                        }
                    }
                    SearchBody::Keywords(item) => {
                        if let Some(seeds) = seed_of(item) {
                            groups.extend(seeds.into_iter().map(|s| vec![s]));
                        }
                    }
                }
            }
        }
    }
    Corpus {
        rules,
        groups,
        load_time: started.elapsed(),
    }
}

/// The values of an item the generator can write: plain strings under position modifiers, with
/// wildcards dropped; `None` for items it cannot reproduce (regexes, encodings, numbers…).
fn seed_of(item: &ruleproof_sigma::detection::Item) -> Option<Vec<Seed>> {
    let mut position = Position::Exact;
    for (modifier, _) in &item.modifiers {
        position = match modifier {
            Modifier::Contains => Position::Contains,
            Modifier::StartsWith => Position::Prefix,
            Modifier::EndsWith => Position::Suffix,
            Modifier::All | Modifier::Cased | Modifier::Windash => position,
            _ => return None,
        };
    }
    let seeds: Vec<Seed> = item
        .values
        .iter()
        .filter(|v| !matches!(v.value, ruleproof_sigma::detection::Scalar::Null))
        .map(|v| Seed {
            field: item.field.clone(),
            value: v.value.text().replace(['*', '?'], ""),
            position,
        })
        .collect();
    (!seeds.is_empty()).then_some(seeds)
}

/// SplitMix64: small, fast and the same everywhere, so corpora are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const USERS: [&str; 6] = [
    "NT AUTHORITY\\SYSTEM",
    "CORP\\alice",
    "CORP\\bob.smith",
    "NT AUTHORITY\\NETWORK SERVICE",
    "WKS-12\\Administrator",
    "CORP\\svc_backup",
];
const IMAGES: [&str; 12] = [
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Windows\\explorer.exe",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Windows\\System32\\conhost.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    "C:\\Windows\\System32\\backgroundTaskHost.exe",
    "C:\\Windows\\System32\\RuntimeBroker.exe",
    "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    "C:\\Windows\\System32\\SearchIndexer.exe",
    "C:\\Users\\alice\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe",
    "C:\\Windows\\System32\\taskhostw.exe",
    "C:\\Windows\\System32\\dllhost.exe",
];
const ARGS: [&str; 8] = [
    "-k netsvcs -p -s Schedule",
    "--type=renderer --field-trial-handle=1788,i,4213 --lang=en-US",
    "/processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
    "0xffffffff -ForceV1",
    "/n /f \"C:\\Users\\alice\\Documents\\Q3 report.docx\"",
    "-Embedding",
    "--no-sandbox --utility-sub-type=network.mojom.NetworkService",
    "",
];
const LINUX_BINS: [&str; 8] = [
    "/usr/bin/bash",
    "/usr/sbin/sshd",
    "/usr/bin/python3.11",
    "/usr/lib/systemd/systemd-journald",
    "/usr/bin/ls",
    "/usr/bin/cat",
    "/usr/sbin/cron",
    "/usr/bin/dockerd",
];
const FILES: [&str; 6] = [
    "C:\\Users\\alice\\AppData\\Local\\Temp\\~DF4A1B.tmp",
    "C:\\Windows\\Prefetch\\CHROME.EXE-5A3B2C1D.pf",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\mpcache.bin",
    "C:\\Users\\bob.smith\\Downloads\\invoice_2024.pdf",
    "C:\\Windows\\Temp\\MpCmdRun.log",
    "C:\\Users\\alice\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\report.lnk",
];
const KEYS: [&str; 4] = [
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDrive",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Office\\16.0\\Common",
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Features\\TamperProtection",
];
const HOSTS: [&str; 5] = [
    "www.google.com",
    "login.microsoftonline.com",
    "updates.example.org",
    "cdn.jsdelivr.net",
    "wpad.corp.local",
];

fn guid(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn time(rng: &mut Rng) -> String {
    format!(
        "2024-05-{:02} {:02}:{:02}:{:02}.{:03}",
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000)
    )
}

fn hashes(rng: &mut Rng) -> String {
    format!(
        "SHA1={:016X}{:016X}{:08X},MD5={:016X}{:016X},IMPHASH={:016X}{:016X}",
        rng.next(),
        rng.next(),
        rng.next() as u32,
        rng.next(),
        rng.next(),
        rng.next(),
        rng.next()
    )
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_owned(), value.into());
}

/// A benign event: Sysmon (process, network, file, registry, image load, DNS), Security 4624 or a
/// Linux process or auditd record, with the fields those logs carry.
pub fn benign(rng: &mut Rng) -> Map<String, Value> {
    let mut e = Map::new();
    let kind = rng.below(10);
    let image = *rng.pick(&IMAGES);
    if kind < 8 {
        put(&mut e, "Channel", "Microsoft-Windows-Sysmon/Operational");
        put(&mut e, "Provider_Name", "Microsoft-Windows-Sysmon");
        put(
            &mut e,
            "Computer",
            format!("WKS-{:02}.corp.local", rng.below(40)),
        );
        put(&mut e, "UtcTime", time(rng));
        put(&mut e, "ProcessGuid", guid(rng));
        put(&mut e, "ProcessId", (rng.below(60000) + 4) as u64);
        put(&mut e, "Image", image);
        put(&mut e, "User", *rng.pick(&USERS));
        put(&mut e, "RuleName", "-");
    }
    match kind {
        0..=2 => {
            put(&mut e, "EventID", 1);
            let args = *rng.pick(&ARGS);
            put(&mut e, "CommandLine", format!("\"{image}\" {args}"));
            put(&mut e, "CurrentDirectory", "C:\\Windows\\system32\\");
            put(&mut e, "LogonGuid", guid(rng));
            put(&mut e, "LogonId", format!("0x{:x}", rng.below(1 << 24)));
            put(&mut e, "TerminalSessionId", rng.below(3) as u64);
            put(&mut e, "IntegrityLevel", "Medium");
            put(&mut e, "Hashes", hashes(rng));
            put(&mut e, "ParentProcessGuid", guid(rng));
            put(&mut e, "ParentProcessId", (rng.below(60000) + 4) as u64);
            let parent = *rng.pick(&IMAGES);
            put(&mut e, "ParentImage", parent);
            put(&mut e, "ParentCommandLine", format!("\"{parent}\""));
            put(&mut e, "ParentUser", *rng.pick(&USERS));
            let name = image.rsplit('\\').next().unwrap_or(image);
            put(&mut e, "OriginalFileName", name.to_ascii_uppercase());
            put(&mut e, "Product", "Microsoft® Windows® Operating System");
            put(&mut e, "Company", "Microsoft Corporation");
            put(&mut e, "Description", "Host Process for Windows Services");
            put(
                &mut e,
                "FileVersion",
                "10.0.19041.1806 (WinBuild.160101.0800)",
            );
        }
        3 => {
            put(&mut e, "EventID", 3);
            put(&mut e, "Protocol", "tcp");
            put(&mut e, "Initiated", "true");
            put(&mut e, "SourceIsIpv6", "false");
            put(
                &mut e,
                "SourceIp",
                format!("10.0.{}.{}", rng.below(255), rng.below(255)),
            );
            put(&mut e, "SourcePort", (49152 + rng.below(16000)) as u64);
            put(
                &mut e,
                "DestinationIp",
                format!("142.250.{}.{}", rng.below(255), rng.below(255)),
            );
            put(&mut e, "DestinationHostname", *rng.pick(&HOSTS));
            put(&mut e, "DestinationPort", *rng.pick(&[443u64, 80, 53, 445]));
            put(&mut e, "DestinationPortName", "https");
        }
        4 => {
            put(&mut e, "EventID", 11);
            put(&mut e, "TargetFilename", *rng.pick(&FILES));
            put(&mut e, "CreationUtcTime", time(rng));
        }
        5 => {
            put(&mut e, "EventID", 13);
            put(&mut e, "EventType", "SetValue");
            put(&mut e, "TargetObject", *rng.pick(&KEYS));
            put(&mut e, "Details", format!("DWORD (0x{:08x})", rng.below(4)));
        }
        6 => {
            put(&mut e, "EventID", 7);
            put(&mut e, "ImageLoaded", "C:\\Windows\\System32\\combase.dll");
            put(&mut e, "Hashes", hashes(rng));
            put(&mut e, "Signed", "true");
            put(&mut e, "Signature", "Microsoft Windows");
            put(&mut e, "SignatureStatus", "Valid");
            put(&mut e, "OriginalFileName", "COMBASE.DLL");
        }
        7 => {
            put(&mut e, "EventID", 22);
            put(&mut e, "QueryName", *rng.pick(&HOSTS));
            put(&mut e, "QueryStatus", "0");
            put(
                &mut e,
                "QueryResults",
                "type:  5 www.google.com;::ffff:142.250.74.36;",
            );
        }
        8 => {
            put(&mut e, "EventID", 4624);
            put(&mut e, "Channel", "Security");
            put(
                &mut e,
                "Provider_Name",
                "Microsoft-Windows-Security-Auditing",
            );
            put(&mut e, "Computer", "DC-01.corp.local");
            put(&mut e, "SubjectUserSid", "S-1-5-18");
            put(&mut e, "SubjectUserName", "DC-01$");
            put(&mut e, "SubjectDomainName", "CORP");
            put(&mut e, "TargetUserName", "alice");
            put(&mut e, "TargetDomainName", "CORP");
            put(&mut e, "LogonType", *rng.pick(&[2u64, 3, 5, 10]));
            put(&mut e, "LogonProcessName", "Kerberos");
            put(&mut e, "AuthenticationPackageName", "Kerberos");
            put(&mut e, "WorkstationName", "-");
            put(
                &mut e,
                "IpAddress",
                format!("10.0.{}.{}", rng.below(255), rng.below(255)),
            );
            put(&mut e, "IpPort", "0");
            put(&mut e, "ProcessName", "-");
        }
        _ => {
            let bin = *rng.pick(&LINUX_BINS);
            put(&mut e, "host", "web-01");
            put(&mut e, "timestamp", time(rng));
            if rng.chance(50) {
                put(&mut e, "type", "EXECVE");
                put(&mut e, "argc", 2);
                put(&mut e, "a0", bin.rsplit('/').next().unwrap_or(bin));
                put(&mut e, "a1", "-la");
                put(&mut e, "auid", 1000);
                put(&mut e, "exe", bin);
                put(&mut e, "comm", bin.rsplit('/').next().unwrap_or(bin));
            } else {
                put(&mut e, "Image", bin);
                put(&mut e, "CommandLine", format!("{bin} --version"));
                put(&mut e, "ParentImage", "/usr/bin/bash");
                put(&mut e, "User", "www-data");
                put(&mut e, "CurrentDirectory", "/var/www");
                put(&mut e, "ProcessId", rng.below(40000) as u64);
                put(&mut e, "LogonId", 1000);
            }
        }
    }
    e
}

/// Writes a value that satisfies the seed, wrapped in realistic text and in random case.
fn realise(seed: &Seed, rng: &mut Rng) -> String {
    let before = if rng.chance(50) {
        "C:\\Users\\alice\\"
    } else {
        "x "
    };
    let after = if rng.chance(50) { " /q" } else { ".tmp" };
    let mut text = match seed.position {
        Position::Exact => seed.value.clone(),
        Position::Prefix => format!("{}{after}", seed.value),
        Position::Suffix => format!("{before}{}", seed.value),
        Position::Contains => format!("{before}{}{after}", seed.value),
    };
    if rng.chance(20) {
        text = text.to_uppercase();
    }
    text
}

/// Puts the values of one seed group (or a near miss of it) into the event.
pub fn inject(event: &mut Map<String, Value>, group: &SeedGroup, rng: &mut Rng, near_miss: bool) {
    for seed in group {
        let mut text = realise(seed, rng);
        if near_miss && rng.chance(50) {
            // Dropping one character keeps most of the literal: prefilters see a partial hit.
            let cut = text.char_indices().map(|(i, _)| i).nth(text.len() / 2);
            if let Some(cut) = cut {
                text.remove(cut);
            }
        }
        let field = seed
            .field
            .clone()
            .unwrap_or_else(|| "CommandLine".to_owned());
        // Some values arrive as numbers or lists, as real converters write them.
        let value = match (text.parse::<i64>(), rng.below(6)) {
            (Ok(n), 0 | 1) => Value::from(n),
            (_, 2) => Value::Array(vec![Value::from("other"), Value::from(text)]),
            _ => Value::from(text),
        };
        event.insert(field, value);
    }
}

/// A corpus of `count` events in which `percent` of events get the values of a random rule map
/// (some as near misses).
pub fn corpus(groups: &[SeedGroup], count: usize, percent: u64, seed: u64) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let mut event = benign(&mut rng);
            if !groups.is_empty() && rng.chance(percent) {
                let group = rng.pick(groups).clone();
                let near_miss = rng.chance(30);
                inject(&mut event, &group, &mut rng, near_miss);
                if rng.chance(30) {
                    let other = rng.pick(groups).clone();
                    inject(&mut event, &other, &mut rng, false);
                }
            }
            Value::Object(event)
        })
        .collect()
}

/// The events with a counter appended to every top-level string value, so no value occurs
/// twice in the corpus.
pub fn unique_values(events: &[Value]) -> Vec<Value> {
    let mut count = 0u64;
    events
        .iter()
        .map(|event| {
            let mut event = event.clone();
            if let Some(map) = event.as_object_mut() {
                for value in map.values_mut() {
                    if let Value::String(text) = value {
                        count += 1;
                        text.push_str(&format!(" {count:x}"));
                    }
                }
            }
            event
        })
        .collect()
}

/// Matches the events one after the other with one scratch, as `match` does on each thread, and
/// counts the matches: one pass of the one-thread benchmarks.
pub fn match_all(
    index: &RuleSetIndex,
    scratch: &mut Scratch,
    out: &mut Vec<usize>,
    events: &[Value],
) -> usize {
    let mut total = 0;
    for event in events {
        index.matching_rules_into(event, None, scratch, out);
        total += out.len();
    }
    total
}

//! The rule-set index gives exactly the verdicts of evaluating each rule alone: every active
//! SigmaHQ rule against generated events, many of them built from the rules' own values so that
//! rules match, nearly match, and meet their literals in the wrong field or case; and hostile
//! streams of events (the same strings in other fields, in arrays, at the memo's length bound,
//! with NUL bytes and non-ASCII case, numbers for strings, dotted keys, events that are not
//! objects) through one scratch, against hand-made rules of every atom kind and against the
//! corpus, with the memo of values (`ruleset/memo.rs`) driven through filling, emptying and
//! pausing.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::collections::HashMap;

use ruleproof_sigma::ruleset::RuleSetIndex;
use ruleproof_sigma::{
    CompileOptions, CompiledRule, DocumentBody, Limits, LogSource, SourceFile, load_source,
};
use serde_json::{Map, Value, json};

/// How many generated events each corpus check runs: each is checked against all ~3,700 rules one
/// by one, which in a debug build costs about 10 ms an event.
const EVENTS: usize = 1200;

fn compare(
    index: &RuleSetIndex,
    events: &[Value],
    route: Option<&ruleproof_sigma::ruleset::Route>,
) -> usize {
    compare_with(index, &mut index.scratch(), events, route)
}

/// [`compare`] with the caller's scratch, so a stream can continue where another left the memo.
/// Each distinct event is evaluated rule by rule once: streams repeat events to replay the memo.
fn compare_with(
    index: &RuleSetIndex,
    scratch: &mut ruleproof_sigma::ruleset::Scratch,
    events: &[Value],
    route: Option<&ruleproof_sigma::ruleset::Route>,
) -> usize {
    let mut out = Vec::new();
    let mut matches = 0;
    let mut verdicts: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let naive = verdicts.entry(event.to_string()).or_insert_with(|| {
            index
                .rules()
                .iter()
                .enumerate()
                .filter(|(r, rule)| {
                    route.is_none_or(|route| route.allows(*r)) && rule.matches(event)
                })
                .map(|(r, _)| r)
                .collect()
        });
        index.matching_rules_into(event, route, scratch, &mut out);
        assert_eq!(
            &out,
            naive,
            "event {i} disagrees: {event}\nindex: {:?}\nnaive: {:?}",
            out.iter()
                .map(|r| index.rules()[*r].meta.reference())
                .collect::<Vec<_>>(),
            naive
                .iter()
                .map(|r| index.rules()[*r].meta.reference())
                .collect::<Vec<_>>()
        );
        matches += naive.len();
    }
    matches
}

#[test]
fn index_agrees_with_each_rule_alone_on_the_sigmahq_corpus() {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let corpus = synthetic::load(&ruleproof_testkit::sigmahq_active_files(&root));
    assert!(corpus.rules.len() > 3000, "{} rules", corpus.rules.len());
    let index = RuleSetIndex::new(corpus.rules.clone());
    println!("{:?}", index.stats());

    // Most events carry the values of some rule map, a third of those as near misses.
    let events = synthetic::corpus(&corpus.groups, EVENTS, 70, 7);
    let matches = compare(&index, &events, None);
    println!("{EVENTS} events, {matches} matches");
    assert!(
        matches > EVENTS / 10,
        "too few matches ({matches}) to prove much"
    );

    let parallel = index.par_matching_rules(&events, None);
    let mut scratch = index.scratch();
    let mut out = Vec::new();
    for (event, verdict) in events.iter().zip(&parallel) {
        index.matching_rules_into(event, None, &mut scratch, &mut out);
        assert_eq!(&out, verdict, "parallel order differs");
    }

    let route = index.route(&LogSource {
        category: Some("process_creation".into()),
        product: Some("windows".into()),
        service: None,
    });
    assert!(route.count() < index.len());
    compare(&index, &events[..EVENTS / 4], Some(&route));
}

#[test]
fn index_agrees_on_events_with_values_in_the_wrong_places() {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let corpus = synthetic::load(&ruleproof_testkit::sigmahq_active_files(&root));
    let index = RuleSetIndex::new(corpus.rules.clone());
    // Every field gets values of random seeds regardless of the field they belong to, so the
    // literals of one field's atoms appear in others and under keyword searches.
    let mut rng = synthetic::Rng::new(99);
    let mut events = Vec::new();
    for _ in 0..EVENTS / 2 {
        let mut event = synthetic::benign(&mut rng);
        let keys: Vec<String> = event.keys().cloned().collect();
        for key in keys {
            if rng.chance(40) {
                let group = rng.pick(&corpus.groups);
                let seed = rng.pick(group);
                let mut moved = seed.clone();
                moved.field = Some(key.clone());
                let near_miss = rng.chance(20);
                synthetic::inject(&mut event, &vec![moved], &mut rng, near_miss);
            }
        }
        events.push(Value::Object(event));
    }
    compare(&index, &events, None);
}

/// A rule with this detection, compiled as `match` compiles it.
fn rule(detection: &str) -> CompiledRule {
    let yaml = format!("title: t\nlogsource:\n  product: windows\ndetection:\n{detection}");
    let loaded = load_source(SourceFile::new("t.yml", yaml), &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let Some(DocumentBody::Rule(rule)) = loaded.documents.first().map(|d| &d.body) else {
        panic!("not a rule: {detection}");
    };
    CompiledRule::compile(rule, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Literals of the hand-made rules: the generator writes them into every field, in every case.
const LITERALS: &[&str] = &[
    "\\cmd.exe",
    "c:\\windows\\",
    "whoami",
    "SYSTEM",
    "-enc",
    "IEX",
    "mimikatz",
    "sekurlsa",
    "a\0b",
    "ord\0",
    "straße",
    "ΣΟΣ",
    "σος",
    "İstanbul",
    "C:\\Windows\\X.exe",
    "C:\\tmp\\evil1.exe",
    "powershell -nop",
    "NT AUTHORITY",
    "xy",
    "deep",
    "4688",
    "Kelvin",
    "0",
    "MD5=0A1B2C3D4E5F60718293A4B5C6D7E8F9",
    "IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744",
    "x\0y",
    "-exec bypass -windowstyle hidden",
    "\\AppData\\Local\\Temp\\payload-stage-two.dll",
];

/// Rules of every atom kind: equals, contains, startswith, endswith, keywords (with a NUL,
/// non-ASCII, one byte), `|all`, `|cased`, wildcards, `re`, `exists`, `null`, numbers,
/// `fieldref`, dotted and nested field names, filters under `not`, long literals (sampled
/// grams), `windash`, an empty value.
const HAND_MADE: &[&str] = &[
    "  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n",
    "  sel:\n    Image|startswith: 'C:\\Windows\\'\n    CommandLine|contains: 'whoami'\n  condition: sel\n",
    "  sel:\n    User: SYSTEM\n  condition: sel\n",
    "  sel:\n    CommandLine|contains|all: ['-enc', 'IEX']\n  f:\n    User|startswith: 'NT AUTHORITY'\n  condition: sel and not f\n",
    "  kw:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: kw\n",
    "  kw:\n    - \"a\\0b\"\n  condition: kw\n",
    "  kw:\n    - \"ord\\0\"\n  condition: kw\n",
    "  kw:\n    - 'straße'\n    - 'σος'\n    - 'İstanbul'\n  condition: kw\n",
    "  kw:\n    '|all':\n      - 'mimikatz'\n      - 'whoami'\n  condition: kw\n",
    "  sel:\n    Image|cased: 'C:\\Windows\\X.exe'\n  condition: sel\n",
    "  sel:\n    Image: 'C:\\*\\evil?.exe'\n  condition: sel\n",
    "  sel:\n    CommandLine|re: '(?i)power[s]hell.*-nop'\n  condition: sel\n",
    "  sel:\n    Signature|exists: true\n  f:\n    Signature|exists: false\n  condition: sel or f\n",
    "  sel:\n    Image|endswith: '.exe'\n    Signature|exists: false\n  condition: sel\n",
    "  sel:\n    User: null\n    Image|contains: 'cmd'\n  condition: sel\n",
    "  sel:\n    EventID: 4688\n  condition: sel\n",
    "  sel:\n    Size|lt: 5\n  condition: sel\n",
    "  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n",
    "  sel:\n    a.b|startswith: 'xy'\n    a.c: 1\n  condition: sel\n",
    "  sel:\n    x.y.z|contains: 'deep'\n  condition: sel\n",
    "  sel:\n    a.b|endswith: 'deep'\n  condition: sel\n",
    "  sel:\n    Description|contains: 'straße'\n  f:\n    Description|contains: 'ΣΟΣ'\n  condition: sel and not f\n",
    "  sel:\n    Description|endswith: 'kelvin'\n  condition: sel\n",
    "  sel:\n    OriginalFileName: 'İstanbul'\n  condition: sel\n",
    "  sel:\n    Image|endswith: '.exe'\n  kw:\n    - '0'\n  condition: sel and kw\n",
    "  sel:\n    Hashes|contains:\n      - 'MD5=0A1B2C3D4E5F60718293A4B5C6D7E8F9'\n      - 'SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'\n  condition: sel\n",
    "  sel:\n    Hashes|endswith: 'IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744'\n  condition: sel\n",
    "  sel:\n    CommandLine|contains: \"x\\0y\"\n  condition: sel\n",
    "  sel:\n    CommandLine|windash|contains: '-exec bypass'\n  condition: sel\n",
    "  sel:\n    Note: ''\n  condition: sel\n",
    "  sel1:\n    Image|endswith: '\\cmd.exe'\n  sel2:\n    TargetFilename|endswith: '\\payload-stage-two.dll'\n  condition: 1 of sel*\n",
    "  sel:\n    User|contains: 'system'\n  f:\n    - 'mimikatz'\n  condition: sel and not f\n",
    "  sel:\n    TargetFilename|contains|all:\n      - '\\AppData\\Local\\Temp\\'\n      - 'payload'\n  condition: sel\n",
];

/// Rules whose keywords are all long, so the keyword scanner is sampled grams, not an
/// automaton, and reports occurrences by sampled position, not in text order. The literals with
/// a NUL come first (their atoms are numbered first), so an occurrence that runs over the NUL
/// after a value is reported before one inside the value at the same sampled position: the memo
/// once lost the latter's atom that way.
const LONG_KEYWORDS: &[&str] = &[
    "  kw:\n    - \"bypass -windowstyle hidden\\0\"\n  condition: kw\n",
    "  kw:\n    - \"payload-stage-two.dll\\0mimikatz\"\n  condition: kw\n",
    "  kw:\n    - '-exec bypass -windowstyle hidden'\n  condition: kw\n",
    "  kw:\n    - '\\AppData\\Local\\Temp\\payload-stage-two.dll'\n  condition: kw\n",
    "  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n",
];

/// Field names the generator writes: the rules' fields, fields no rule names, dotted top-level
/// keys, and roots of nested objects.
const FIELDS: &[&str] = &[
    "Image",
    "CommandLine",
    "User",
    "ParentImage",
    "EventID",
    "Signature",
    "Description",
    "OriginalFileName",
    "Hashes",
    "TargetFilename",
    "Size",
    "Note",
    "Other",
    "a.b",
    "a.c",
    "x.y.z",
    "a",
    "x",
    "x.y",
];

/// The memo's bound on the values it remembers (`ruleset/memo.rs`'s `MAX_VALUE`).
const MEMO_MAX_VALUE: usize = 1024;

/// Writes hostile values from a set of literals.
struct Adversary {
    rng: synthetic::Rng,
    literals: Vec<String>,
    /// The fields events are made of.
    fields: Vec<String>,
    /// Values made once and reused, so that later events replay what earlier ones remembered.
    pool: Vec<Value>,
    /// Appended to values that must be new to the memo.
    fresh: u64,
}

impl Adversary {
    fn new(seed: u64, literals: Vec<String>, fields: Vec<String>, pool_size: usize) -> Adversary {
        let mut adversary = Adversary {
            rng: synthetic::Rng::new(seed),
            literals,
            fields,
            pool: Vec::new(),
            fresh: 0,
        };
        adversary.pool = (0..pool_size).map(|_| adversary.value(0)).collect();
        adversary
    }

    /// A literal in another case, with non-ASCII letters that fold to (or near) its own.
    fn disguise(&mut self, literal: &str) -> String {
        let mut text = literal.to_owned();
        match self.rng.below(12) {
            0 => text = text.to_uppercase(),
            1 => text = text.to_lowercase(),
            2 => text = text.replace(['i', 'I'], "İ"),
            3 => text = text.replace("ss", "ß").replace('ß', "ẞ"),
            4 => text = text.replace(['σ', 'Σ'], "ς"),
            5 => text = text.replace('s', "ſ").replace('k', "\u{212a}"),
            6 => {
                let at = self.rng.below(text.len() + 1);
                if text.is_char_boundary(at) {
                    text.insert(at, '\0');
                }
            }
            7 => {
                let cut = text.char_indices().map(|(i, _)| i).nth(text.len() / 2);
                if let Some(cut) = cut {
                    text.remove(cut);
                }
            }
            _ => {}
        }
        text
    }

    /// A string holding literals, wrapped, or padded to the memo's bound (or one byte past it).
    fn text(&mut self) -> String {
        let literal = self.rng.pick(&self.literals).clone();
        let mut text = self.disguise(&literal);
        match self.rng.below(10) {
            0 => text = format!("C:\\Users\\alice\\{text}"),
            1 => text = format!("{text} /q"),
            2 => {
                let other = self.rng.pick(&self.literals).clone();
                text = format!("{text}\0{other}");
            }
            3 | 4 => {
                // Exactly at and one past the memo's bound, the literal at either end.
                let length = MEMO_MAX_VALUE + self.rng.below(2);
                let pad = "x".repeat(length.saturating_sub(text.len()));
                text = if self.rng.chance(50) {
                    format!("{pad}{text}")
                } else {
                    format!("{text}{pad}")
                };
            }
            _ => {}
        }
        text
    }

    /// A value of any shape: strings mostly, numbers for numeric text, arrays with nested
    /// arrays and objects, objects for roots of dotted names, null.
    fn value(&mut self, depth: usize) -> Value {
        let text = self.text();
        match self.rng.below(14) {
            0 => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => Value::from(self.rng.below(10) as u64),
            },
            1 => Value::Null,
            2 => Value::Bool(self.rng.chance(50)),
            3 | 4 if depth < 2 => {
                let mut items = vec![Value::from(text)];
                for _ in 0..self.rng.below(3) {
                    items.push(self.value(depth + 1));
                }
                Value::Array(items)
            }
            5 if depth < 2 => {
                let mut map = Map::new();
                for key in ["b", "c", "y", "z"] {
                    if self.rng.chance(50) {
                        map.insert(key.to_owned(), self.value(depth + 1));
                    }
                }
                Value::Object(map)
            }
            _ => Value::from(text),
        }
    }

    /// A value from the pool, or a new one; `fresh` ones carry a counter so the memo has never
    /// seen them.
    fn pick(&mut self, fresh: bool) -> Value {
        if fresh {
            self.fresh += 1;
            let value = self.value(0);
            let count = self.fresh;
            return match value {
                Value::String(text) => Value::from(format!("{count} {text}")),
                other => other,
            };
        }
        let at = self.rng.below(self.pool.len());
        self.pool[at].clone()
    }

    /// An event of `values` fields (some repeated from the pool, `fresh_percent` of them new);
    /// now and then an array or a scalar instead of an object.
    fn event(&mut self, values: usize, fresh_percent: u64) -> Value {
        if self.rng.chance(3) {
            let value = self.pick(false);
            return if self.rng.chance(50) {
                json!([value, self.pick(false)])
            } else {
                value
            };
        }
        let mut map = Map::new();
        for _ in 0..values {
            let field = self.rng.pick(&self.fields).clone();
            let fresh = self.rng.chance(fresh_percent);
            map.insert(field, self.pick(fresh));
        }
        Value::Object(map)
    }

    /// `count` events of many strings under keys no rule names, `fresh` of them new and
    /// `repeated` from the pool, with a rule's field from the pool: they fill the memo while
    /// enough values repeat for it to keep remembering. `long` new strings are 512 to 1,024
    /// bytes, to reach the memo's bound on bytes rather than on entries.
    fn fillers(&mut self, count: usize, fresh: usize, repeated: usize, long: bool) -> Vec<Value> {
        let strings: Vec<Value> = self
            .pool
            .iter()
            .filter(|v| v.is_string())
            .cloned()
            .collect();
        (0..count)
            .map(|_| {
                let mut map = Map::new();
                for i in 0..fresh {
                    self.fresh += 1;
                    let count = self.fresh;
                    let literal = self.rng.pick(&self.literals).clone();
                    let mut text = format!("{count} {}", self.disguise(&literal));
                    if long {
                        let length = 512 + self.rng.below(MEMO_MAX_VALUE - 512);
                        text.truncate(text.floor_char_boundary(length));
                        text.extend(std::iter::repeat_n('y', length.saturating_sub(text.len())));
                    }
                    map.insert(format!("F{i}"), Value::from(text));
                }
                for i in 0..repeated {
                    map.insert(format!("R{i}"), self.rng.pick(&strings).clone());
                }
                let field = self.rng.pick(&self.fields).clone();
                map.insert(field, self.pick(false));
                Value::Object(map)
            })
            .collect()
    }

    /// `count` events.
    fn events(&mut self, count: usize, values: usize, fresh_percent: u64) -> Vec<Value> {
        (0..count)
            .map(|_| self.event(values, fresh_percent))
            .collect()
    }
}

/// One scratch through a stream that takes the memo through every state: values that repeat
/// (replayed), values that never repeat (the memo pauses for 8,192 events, then starts again),
/// and a steady share of new values, short ones past 32,768 entries and long ones past 2 MiB
/// (the memo empties and fills again). Every event is checked against the rules alone.
fn memo_stream(rules: &[CompiledRule], seed: u64, pause: bool) -> usize {
    let index = RuleSetIndex::new(rules.to_vec());
    let mut scratch = index.scratch();
    let literals = LITERALS.iter().map(|l| (*l).to_owned()).collect();
    let fields = FIELDS.iter().map(|f| (*f).to_owned()).collect();
    let mut adversary = Adversary::new(seed, literals, fields, 80);
    let mut matches = 0;
    // Repeats.
    let events = adversary.events(1500, 6, 0);
    matches += compare_with(&index, &mut scratch, &events, None);
    if pause {
        // Fewer than half of 4,096 lookups found: a pause of 8,192 events, then remembering
        // again.
        let events = adversary.events(1000, 6, 90);
        matches += compare_with(&index, &mut scratch, &events, None);
        let events = adversary.events(8500, 3, 0);
        matches += compare_with(&index, &mut scratch, &events, None);
    }
    // Short new values past 32,768 entries, then long ones past 2 MiB, with enough repeats to
    // keep remembering; then the values of the first events again.
    let events = adversary.fillers(3200, 14, 16, false);
    matches += compare_with(&index, &mut scratch, &events, None);
    let events = adversary.fillers(800, 4, 5, true);
    matches += compare_with(&index, &mut scratch, &events, None);
    let events = adversary.events(1000, 6, 10);
    matches += compare_with(&index, &mut scratch, &events, None);
    matches
}

#[test]
fn hand_made_rules_of_every_atom_kind_agree_through_the_memo() {
    let rules: Vec<CompiledRule> = HAND_MADE.iter().map(|d| rule(d)).collect();
    let matches = memo_stream(&rules, 14, true);
    println!("hand-made: {matches} matches");
    assert!(matches > 5000, "too few matches ({matches}) to prove much");
    // Without keyword searches the index folds values for field scanners only.
    let fields_only: Vec<CompiledRule> = HAND_MADE
        .iter()
        .filter(|d| !d.contains("  kw:") && !d.contains("  f:\n    - "))
        .map(|d| rule(d))
        .collect();
    assert!(memo_stream(&fields_only, 15, false) > 1000);
    // Long keywords only: the keyword scanner samples grams.
    let long: Vec<CompiledRule> = LONG_KEYWORDS.iter().map(|d| rule(d)).collect();
    assert!(memo_stream(&long, 16, false) > 100);
}

#[test]
fn active_sigmahq_rules_agree_on_hostile_streams_through_the_memo() {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let corpus = synthetic::load(&ruleproof_testkit::sigmahq_active_files(&root));
    let index = RuleSetIndex::new(corpus.rules.clone());
    // The rules' own values, disguised, in the rules' own fields and in the hostile ones.
    let seeds = corpus.groups.iter().flatten();
    let mut literals: Vec<String> = seeds.clone().map(|s| s.value.clone()).collect();
    let mut fields: Vec<String> = seeds.filter_map(|s| s.field.clone()).collect();
    literals.sort_unstable();
    literals.dedup();
    fields.sort_unstable();
    fields.dedup();
    let mut rng = synthetic::Rng::new(7);
    let literals: Vec<String> = (0..400).map(|_| rng.pick(&literals).clone()).collect();
    let mut fields: Vec<String> = (0..40).map(|_| rng.pick(&fields).clone()).collect();
    fields.extend(FIELDS.iter().map(|f| (*f).to_owned()));
    let mut adversary = Adversary::new(17, literals, fields, 120);
    // Each distinct event costs the rules alone about 10 ms in a debug build: a few hundred,
    // repeated in a stream so that their values are replayed in other events and fields.
    let distinct = adversary.events(CORPUS_EVENTS, 6, 0);
    let stream: Vec<Value> = (0..CORPUS_EVENTS * 4)
        .map(|i| match i % 4 {
            0 => distinct[i / 4].clone(),
            _ => rng.pick(&distinct).clone(),
        })
        .collect();
    let mut scratch = index.scratch();
    let matches = compare_with(&index, &mut scratch, &stream, None);
    println!("{} events, {matches} matches", stream.len());
    assert!(matches > CORPUS_EVENTS / 2, "too few matches ({matches})");
    // The memo filled and emptied by values no rule names, then the same stream again.
    for event in adversary.fillers(800, 4, 5, true) {
        index.matching_rules_into(&event, None, &mut scratch, &mut Vec::new());
    }
    compare_with(&index, &mut scratch, &stream[..CORPUS_EVENTS], None);
}

/// Distinct events of the corpus stream.
const CORPUS_EVENTS: usize = 200;

//! Correlation throughput and memory: one million events, 100,000 distinct group values and a
//! one-hour `event_count` timespan, through the correlation engine alone (the detection verdict
//! is given). After the timed runs it prints, once, the most groups and the peak resident memory
//! seen, which stay bounded because windows are pruned as they slide.
//!
//! Run with `cargo bench -p ruleproof-sigma --bench correlation` (`cargo xtask bench` runs it).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ruleproof_sigma::correlation::{
    CorrelationEngine, CorrelationSet, EngineOptions, TimestampFields,
};
use ruleproof_sigma::{DocumentBody, Event, FieldPath, Limits, SourceFile, load_source};
use serde_json::Value;

const EVENTS: u64 = 1_000_000;
const GROUPS: u64 = 100_000;
/// Ten hours of events (one every 36 ms): each group is seen ten times, once an hour, so every
/// group's window keeps emptying and refilling as time passes.
const SPAN_MS: u64 = 10 * 3_600_000;

const RULES: &str = "title: Many failed logons
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [User]
    timespan: 1h
    condition: {gte: 1000}
---
title: Failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
";

/// An event with two fields, built without allocating, so the benchmark measures the engine.
struct Generated<'a> {
    time: Value,
    user: &'a Value,
}

impl Event for Generated<'_> {
    fn field(&self, path: &FieldPath) -> Option<&Value> {
        match path.name() {
            "ts" => Some(&self.time),
            "User" => Some(self.user),
            _ => None,
        }
    }

    fn any_scalar(&self, visit: &mut dyn FnMut(&Value) -> bool) -> bool {
        visit(&self.time) || visit(self.user)
    }
}

fn set() -> CorrelationSet {
    let loaded = load_source(
        SourceFile::new("bench.yml", RULES.to_owned()),
        &Limits::default(),
    );
    let DocumentBody::Correlation(correlation) = &loaded.documents[0].body else {
        panic!(
            "the benchmark's correlation does not load: {:?}",
            loaded.errors
        );
    };
    let rule = loaded.documents[1].meta();
    CorrelationSet::compile(&[correlation], &[rule]).expect("the correlation compiles")
}

/// Runs every event through a fresh engine; returns the alerts and the most groups held at once.
fn run(set: &CorrelationSet, users: &[Value]) -> (usize, usize) {
    let options = EngineOptions {
        timestamps: TimestampFields::only("ts"),
        ..EngineOptions::default()
    };
    let mut engine = CorrelationEngine::new(set, options);
    let mut out = Vec::new();
    let mut most = 0;
    let start = 1_714_557_600_000_u64;
    for i in 0..EVENTS {
        let event = Generated {
            time: Value::from(start + i * SPAN_MS / EVENTS),
            user: &users[(i % GROUPS) as usize],
        };
        engine
            .push(i, &event, &[0], &mut out)
            .expect("every event has a time");
        if i % 10_000 == 0 {
            most = most.max(engine.live_groups());
        }
    }
    engine.finish(&mut out);
    (out.len(), most)
}

/// Peak resident memory of this process (Linux `VmHWM`), for the printed figure.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn bench(c: &mut Criterion) {
    let set = set();
    let users: Vec<Value> = (0..GROUPS)
        .map(|g| Value::from(format!("user{g}")))
        .collect();
    let mut group = c.benchmark_group("correlation");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("event_count_1m_events_100k_groups_1h", |b| {
        b.iter(|| black_box(run(&set, &users)));
    });
    group.finish();
    let (alerts, most) = run(&set, &users);
    eprintln!(
        "correlation: {EVENTS} events, {GROUPS} group values, 1h: {alerts} alerts, at most {most} groups held, peak resident memory {}",
        peak_memory()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

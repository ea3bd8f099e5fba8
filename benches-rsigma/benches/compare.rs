//! ruleproof's rule-set index against rsigma's indexed engine (`rsigma-eval` 0.23) on the same
//! machine, rules and generated events: load time, single-thread events per second, and whether
//! the two agree on every verdict.
//!
//! Run from this directory: `cargo bench --bench compare -- --warm-up-time 1 --measurement-time 3
//! --sample-size 10`. Needs `../shared/corpus/sigmahq` next to the repository.

#[path = "../../crates/sigma/benches/support/synthetic.rs"]
mod synthetic;

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rsigma_eval::Engine;
use rsigma_eval::event::JsonEvent;
use ruleproof_sigma::ruleset::RuleSetIndex;
use serde_json::Value;

const EVENTS: usize = 20_000;

/// Loads every file into rsigma's engine; files it cannot parse or compile are counted.
fn load_rsigma(files: &[PathBuf]) -> (Engine, usize) {
    let mut engine = Engine::new();
    let mut failed = 0;
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            failed += 1;
            continue;
        };
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(collection) => {
                for rule in &collection.rules {
                    if engine.add_rule(rule).is_err() {
                        failed += 1;
                    }
                }
            }
            Err(_) => failed += 1,
        }
    }
    (engine, failed)
}

fn benches(c: &mut Criterion) {
    let Some(root) = synthetic::corpus_root() else {
        eprintln!("../shared/corpus/sigmahq is absent; nothing to compare");
        return;
    };
    let files = synthetic::active_files(&root);
    let started = Instant::now();
    let corpus = synthetic::load(&files);
    let index = RuleSetIndex::new(corpus.rules.clone());
    let ours_load = started.elapsed();
    let started = Instant::now();
    let (engine, rsigma_failed) = load_rsigma(&files);
    let theirs_load = started.elapsed();
    eprintln!(
        "load (one thread): ruleproof {} rules in {ours_load:?}; rsigma {} rules in {theirs_load:?} ({rsigma_failed} rules rejected)",
        index.len(),
        engine.rule_count()
    );

    let events: Vec<Value> = synthetic::corpus(&corpus.groups, EVENTS, 3, 42);

    // Verdicts: the set of matching rule ids per event, from both engines.
    let mut disagreements = 0;
    let mut shown = 0;
    let mut scratch = index.scratch();
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate() {
        index.matching_rules_into(event, None, &mut scratch, &mut out);
        let ours: BTreeSet<String> = out
            .iter()
            .map(|r| index.rules()[*r].meta.reference().to_owned())
            .collect();
        let theirs: BTreeSet<String> = engine
            .evaluate(&JsonEvent::borrow(event))
            .into_iter()
            .map(|m| m.header.rule_id.unwrap_or(m.header.rule_title))
            .collect();
        if ours != theirs {
            disagreements += 1;
            if shown < 5 {
                shown += 1;
                eprintln!(
                    "event {i}: only ruleproof {:?}, only rsigma {:?}",
                    ours.difference(&theirs).collect::<Vec<_>>(),
                    theirs.difference(&ours).collect::<Vec<_>>()
                );
            }
        }
    }
    eprintln!("verdicts differ on {disagreements} of {EVENTS} events");

    let mut group = c.benchmark_group("compare");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let label = format!("all-{}", index.len());
    group.bench_with_input(
        BenchmarkId::new("ruleproof", &label),
        &events,
        |b, events| {
            let mut scratch = index.scratch();
            let mut out = Vec::new();
            b.iter(|| {
                let mut total = 0;
                for event in events {
                    index.matching_rules_into(event, None, &mut scratch, &mut out);
                    total += out.len();
                }
                black_box(total)
            });
        },
    );
    group.bench_with_input(BenchmarkId::new("rsigma", &label), &events, |b, events| {
        b.iter(|| {
            let mut total = 0;
            for event in events {
                total += engine.evaluate(&JsonEvent::borrow(event)).len();
            }
            black_box(total)
        });
    });
    group.finish();
}

criterion_group!(compare, benches);
criterion_main!(compare);

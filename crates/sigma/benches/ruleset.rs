//! Rule-set throughput: events per second for 1, 100, 1,000 and all active SigmaHQ rules on one
//! thread and on all cores, the rule-by-rule baseline, and how long loading the corpus takes.
//!
//! Run with `cargo bench -p ruleproof-sigma --bench ruleset`; criterion's `--warm-up-time`,
//! `--measurement-time` and `--sample-size` shorten a run. Needs `../shared/corpus/sigmahq`.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use ruleproof_sigma::ruleset::RuleSetIndex;
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, Limits, load_file};
use serde_json::Value;

/// The `ruleproof` binary's allocator (`crates/cli/src/main.rs`), so the load figures are the
/// binary's: loading makes millions of small allocations on both cores.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events in the fixed corpus; 3% of them carry a rule's values, so most rules never match.
const EVENTS: usize = 20_000;
const SEEDED_PERCENT: u64 = 3;

/// Loads and compiles the files on all cores, as the command line does.
fn load_parallel(files: &[PathBuf]) -> Vec<CompiledRule> {
    files
        .par_iter()
        .flat_map_iter(|path| {
            let mut rules = Vec::new();
            if let Ok(loaded) = load_file(path, &Limits::default()) {
                for document in &loaded.documents {
                    if let DocumentBody::Rule(rule) = &document.body
                        && let Ok(compiled) =
                            CompiledRule::compile(rule, &CompileOptions::default())
                    {
                        rules.push(compiled);
                    }
                }
            }
            rules
        })
        .collect()
}

/// `count` rules spread evenly over the corpus, so small sets mix log sources like the whole.
fn sample(rules: &[CompiledRule], count: usize) -> Vec<CompiledRule> {
    if count >= rules.len() {
        return rules.to_vec();
    }
    let step = rules.len() as f64 / count as f64;
    (0..count)
        .map(|i| rules[(i as f64 * step) as usize].clone())
        .collect()
}

fn benches(c: &mut Criterion) {
    let Some(root) = synthetic::corpus_root() else {
        return;
    };
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let corpus = synthetic::load(&files);
    let events = synthetic::corpus(&corpus.groups, EVENTS, SEEDED_PERCENT, 42);
    let bytes: usize = events.iter().map(|e| e.to_string().len()).sum();
    let fields: usize = events
        .iter()
        .map(|e| e.as_object().map_or(0, |m| m.len()))
        .sum();
    let index = RuleSetIndex::new(corpus.rules.clone());
    let matched: usize = index
        .par_matching_rules(&events, None)
        .iter()
        .filter(|m| !m.is_empty())
        .count();
    eprintln!(
        "corpus: {} rules from {} files, {EVENTS} events ({} bytes and {:.1} fields on average), {matched} events match some rule; {:?}",
        corpus.rules.len(),
        files.len(),
        bytes / EVENTS,
        fields as f64 / EVENTS as f64,
        index.stats()
    );
    let started = Instant::now();
    let loaded = load_parallel(&files);
    let index_started = Instant::now();
    let _ = RuleSetIndex::new(loaded);
    eprintln!(
        "one load: {:?} reading and compiling on all cores, {:?} indexing",
        index_started - started,
        index_started.elapsed()
    );

    let sizes = [1, 100, 1000, corpus.rules.len()];
    let mut group = c.benchmark_group("ruleset");
    group.throughput(Throughput::Elements(EVENTS as u64));
    let single_thread = |b: &mut criterion::Bencher<'_>, index: &RuleSetIndex, events: &[Value]| {
        let mut scratch = index.scratch();
        let mut out = Vec::new();
        b.iter(|| black_box(synthetic::match_all(index, &mut scratch, &mut out, events)));
    };
    for &size in &sizes {
        let label = if size == corpus.rules.len() {
            format!("all-{size}")
        } else {
            size.to_string()
        };
        let index = RuleSetIndex::new(sample(&corpus.rules, size));
        group.bench_with_input(
            BenchmarkId::new("single-thread", &label),
            &events,
            |b, events| single_thread(b, &index, events),
        );
        if size == corpus.rules.len() {
            // The worst case for the index's memo of values (`ruleset/memo.rs`): the same
            // events with every string value made unique, so no value is ever seen twice.
            let unique = synthetic::unique_values(&events);
            group.bench_with_input(
                BenchmarkId::new("single-thread-unique-values", &label),
                &unique,
                |b, events| single_thread(b, &index, events),
            );
        }
        group.bench_with_input(
            BenchmarkId::new("all-cores", &label),
            &events,
            |b, events| b.iter(|| black_box(index.par_matching_rules(events, None))),
        );
    }
    // The rule-by-rule baseline on a tenth of the corpus: it is slow enough without more.
    let few: Vec<Value> = events[..EVENTS / 10].to_vec();
    group.throughput(Throughput::Elements(few.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("rule-by-rule", format!("all-{}", corpus.rules.len())),
        &few,
        |b, events| {
            b.iter(|| {
                let mut total = 0;
                for event in events {
                    total += corpus.rules.iter().filter(|r| r.matches(event)).count();
                }
                black_box(total)
            });
        },
    );
    group.finish();

    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.bench_function("corpus-all-cores", |b| {
        b.iter(|| black_box(RuleSetIndex::new(load_parallel(&files))))
    });
    group.bench_function("index-only", |b| {
        b.iter(|| black_box(RuleSetIndex::new(corpus.rules.clone())))
    });
    group.finish();
}

criterion_group!(ruleset, benches);
criterion_main!(ruleset);

//! ruleproof's rule-set index against rsigma's indexed engine (`rsigma-eval` 0.23, the newest
//! release that builds with Rust 1.95) on the same machine and rules, over two event mixes: the
//! generated, mostly non-matching events of `BENCHMARKS.md`, and SigmaHQ's `regression_data`
//! events repeated to 100,000 (match-heavy). Reports load time, single-thread events per second,
//! and whether the two engines agree on every verdict.
//!
//! Run from this directory: `cargo bench --bench compare -- --warm-up-time 1 --measurement-time 3
//! --sample-size 10`. Needs `../shared/corpus/sigmahq` next to the repository; the regression mix
//! needs `RULEPROOF_REGRESSION_DATA` naming a `regression_data` directory with the `.json`
//! conversions of its EVTX files (SigmaHQ/sigma's repository), and is skipped, with a message,
//! without it.

#[path = "support/engines.rs"]
mod engines;
#[path = "../../crates/sigma/benches/support/synthetic.rs"]
mod synthetic;

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use rsigma_eval::Engine;
use rsigma_eval::event::JsonEvent;
use ruleproof_sigma::ruleset::RuleSetIndex;
use serde_json::Value;

const EVENTS: usize = 20_000;
/// The regression events are repeated up to this many.
const REGRESSION_EVENTS: usize = 100_000;

/// SigmaHQ's regression events repeated to [`REGRESSION_EVENTS`].
fn regression_mix() -> Option<Vec<Value>> {
    let one_pass = engines::regression_events()?;
    Some(
        one_pass
            .iter()
            .cycle()
            .take(REGRESSION_EVENTS)
            .cloned()
            .collect(),
    )
}

fn benches(c: &mut Criterion) {
    let Some(root) = synthetic::corpus_root() else {
        eprintln!("../shared/corpus/sigmahq is absent; nothing to compare");
        return;
    };
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let started = Instant::now();
    let corpus = synthetic::load(&files);
    let index = RuleSetIndex::new(corpus.rules.clone());
    let ours_load = started.elapsed();
    let started = Instant::now();
    let (engine, rsigma_failed) = engines::load_rsigma(&files);
    let theirs_load = started.elapsed();
    eprintln!(
        "load (one thread): ruleproof {} rules in {ours_load:?}; rsigma {} rules in {theirs_load:?} ({rsigma_failed} rules rejected)",
        index.len(),
        engine.rule_count()
    );

    let synthetic_events: Vec<Value> = synthetic::corpus(&corpus.groups, EVENTS, 3, 42);
    let mut group = c.benchmark_group("compare");
    // One pass over a mix takes from a tenth of a second to seconds: flat sampling runs the same
    // number of passes in every sample (one, for the slow ones) instead of criterion's growing
    // counts, so `--sample-size 10` bounds the run at about eleven passes per engine and mix.
    group.sampling_mode(SamplingMode::Flat);
    compare_mix(&mut group, "synthetic", &synthetic_events, &index, &engine);
    if let Some(regression) = regression_mix() {
        compare_mix(&mut group, "regression", &regression, &index, &engine);
    }
    group.finish();
}

/// Checks that both engines give the same verdicts on the mix, then measures both on one thread.
fn compare_mix(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    mix: &str,
    events: &[Value],
    index: &RuleSetIndex,
    engine: &Engine,
) {
    // Verdicts: the set of matching rule ids per event, from both engines.
    let mut disagreements = 0;
    let mut shown = 0;
    let mut matches = 0;
    let mut scratch = index.scratch();
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate() {
        index.matching_rules_into(event, None, &mut scratch, &mut out);
        matches += out.len();
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
                    "{mix} event {i}: only ruleproof {:?}, only rsigma {:?}",
                    ours.difference(&theirs).collect::<Vec<_>>(),
                    theirs.difference(&ours).collect::<Vec<_>>()
                );
            }
        }
    }
    eprintln!(
        "{mix}: verdicts differ on {disagreements} of {} events; ruleproof finds {:.2} matches per event",
        events.len(),
        matches as f64 / events.len() as f64
    );

    group.throughput(Throughput::Elements(events.len() as u64));
    let label = format!("{mix}-all-{}", index.len());
    group.bench_with_input(
        BenchmarkId::new("ruleproof", &label),
        events,
        |b, events| {
            let mut scratch = index.scratch();
            let mut out = Vec::new();
            b.iter(|| black_box(synthetic::match_all(index, &mut scratch, &mut out, events)));
        },
    );
    group.bench_with_input(BenchmarkId::new("rsigma", &label), events, |b, events| {
        b.iter(|| {
            let mut total = 0;
            for event in events {
                total += engine.evaluate(&JsonEvent::borrow(event)).len();
            }
            black_box(total)
        });
    });
}

criterion_group!(compare, benches);
criterion_main!(compare);

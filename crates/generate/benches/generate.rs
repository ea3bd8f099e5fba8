//! Generation speed over the active SigmaHQ corpus (`BENCHMARKS.md`): every rule's positives and
//! near misses, each confirmed by the engine, rules in parallel on every core. Loading and
//! compiling the rules is outside the measurement.

use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use ruleproof_generate::generate;
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, Limits, Rule, load_file};

fn bench(c: &mut Criterion) {
    let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let options = CompileOptions::default();
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let rules: Vec<(Rule, CompiledRule)> = files
        .iter()
        .filter_map(|p| load_file(p, &Limits::default()).ok())
        .flat_map(|loaded| loaded.documents)
        .filter_map(|d| match d.body {
            DocumentBody::Rule(rule) => {
                let compiled = CompiledRule::compile(&rule, &options).ok()?;
                Some((rule, compiled))
            }
            _ => None,
        })
        .collect();
    eprintln!("{} rules", rules.len());
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.bench_function("active SigmaHQ corpus", |b| {
        b.iter(|| {
            rules
                .par_iter()
                .map(|(rule, compiled)| generate(rule, compiled, &options).events.len())
                .sum::<usize>()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Validation of the active SigmaHQ corpus: the whole `validate()` as `ruleproof validate`
//! runs it, and its main phases on their own (listing the files, reading and parsing YAML with
//! positions, compiling the schemas, validating documents against them) so the split is known.
//!
//! Run with `cargo bench -p ruleproof-validate --bench validate`; criterion's `--warm-up-time`,
//! `--measurement-time` and `--sample-size` shorten a run. Needs `../shared/corpus/sigmahq`;
//! without it the benchmarks are skipped.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use ruleproof_cases::ruleset::yaml_files;
use ruleproof_sigma::yaml::Node;
use ruleproof_sigma::{Limits, load_file};
use ruleproof_validate::{DocumentKind, Layout, LintConfig, Schemas, validate};

/// The schema a document is checked against, chosen the way `validate()` chooses it.
fn kind_of(node: &Node) -> DocumentKind {
    if node.get("correlation").is_some() {
        DocumentKind::Correlation
    } else if node.get("filter").is_some() {
        DocumentKind::Filter
    } else {
        DocumentKind::Rule
    }
}

fn benches(c: &mut Criterion) {
    let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let paths: Vec<PathBuf> = ruleproof_testkit::SIGMAHQ_ACTIVE_DIRS
        .iter()
        .map(|d| root.join(d))
        .collect();
    // The corpus is not a ruleproof repository: with no rules/ or test-cases/ of ours, the
    // test-case checks have nothing to do, as in `ruleproof validate <corpus dirs>`.
    let layout = Layout {
        root: root.clone(),
        rules_dir: root.join("no-rules-dir"),
        cases_dir: root.join("no-test-cases-dir"),
    };
    let config = LintConfig::default();
    let files: Vec<PathBuf> = paths.iter().flat_map(|p| yaml_files(p).files).collect();
    let nodes: Vec<std::sync::Arc<Node>> = files
        .par_iter()
        .filter_map(|path| load_file(path, &Limits::default()).ok())
        .flat_map_iter(|loaded| loaded.nodes)
        .collect();
    let validation = validate(
        &paths,
        &layout,
        &config,
        &ruleproof_sigma::CompileOptions::default(),
    );
    eprintln!(
        "corpus: {} files, {} documents, {} diagnostics, {} YAML documents",
        validation.files,
        validation.documents,
        validation.diagnostics.len(),
        nodes.len()
    );
    let schemas = Schemas::new();

    let mut group = c.benchmark_group("validate");
    group.bench_function("whole corpus (validate)", |b| {
        b.iter(|| {
            black_box(validate(
                &paths,
                &layout,
                &config,
                &ruleproof_sigma::CompileOptions::default(),
            ))
        });
    });
    group.bench_function("list files", |b| {
        b.iter(|| {
            black_box(
                paths
                    .iter()
                    .flat_map(|p| yaml_files(p).files)
                    .collect::<Vec<_>>(),
            )
        });
    });
    // Both cores, as in validate(), so the phases add up to the whole.
    group.bench_function("read and parse YAML with positions (load_file)", |b| {
        b.iter(|| {
            files
                .par_iter()
                .map(|path| {
                    load_file(path, &Limits::default())
                        .map(|loaded| loaded.nodes.len())
                        .unwrap_or_default()
                })
                .sum::<usize>()
        });
    });
    group.bench_function("compile the schemas", |b| {
        b.iter(|| black_box(Schemas::new()));
    });
    group.bench_function("schema validation (to_json and validate)", |b| {
        b.iter(|| {
            nodes
                .par_iter()
                .map(|node| schemas.validate(kind_of(node), &node.to_json()).len())
                .sum::<usize>()
        });
    });
    group.finish();
}

criterion_group!(validation, benches);
criterion_main!(validation);

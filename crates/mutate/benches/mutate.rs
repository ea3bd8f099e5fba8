//! Mutation-testing speed: the repository's seed rule against its fixtures, and a synthetic
//! repository of 100 rules with 20 cases each (`BENCHMARKS.md`). Loading the rules is outside
//! the measurement; the runner's baseline verdicts, mutant generation, compilation and
//! evaluation are inside it.

use std::fmt::Write;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ruleproof_cases::{Layout, RuleSet};
use ruleproof_mutate::mutate;
use ruleproof_sigma::CompileOptions;

/// Rules and test-case files of the synthetic repository: each rule has a selection of two
/// items (five image suffixes, two command-line fragments under `contains|all`) and a filter;
/// each of its 20 cases is a positive, a near miss, a filtered event or an unrelated one.
fn synthetic_repository(root: &Path, rules: usize) {
    let images = ["\\a.exe", "\\b.exe", "\\c.exe", "\\d.exe", "\\e.exe"];
    for r in 0..rules {
        let dir = root.join("rules");
        std::fs::create_dir_all(&dir).unwrap();
        let mut rule = format!(
            "title: Synthetic {r}\nid: 00000000-0000-4000-8000-{r:012}\nstatus: test\n\
             logsource:\n    product: windows\n    category: process_creation\ndetection:\n    selection:\n        Image|endswith:\n"
        );
        for image in images {
            let _ = writeln!(rule, "            - '{}{r}'", image.replace(".exe", ""));
        }
        let _ = write!(
            rule,
            "        CommandLine|contains|all:\n            - ' -tool{r} '\n            - ' -mode '\n    \
             filter:\n        User: 'NT AUTHORITY\\SYSTEM'\n    condition: selection and not filter\nlevel: medium\n"
        );
        std::fs::write(dir.join(format!("rule_{r}.yml")), rule).unwrap();

        let cases_dir = root.join("test-cases");
        std::fs::create_dir_all(&cases_dir).unwrap();
        let mut cases = format!("ruleproof: 1\nrule: 00000000-0000-4000-8000-{r:012}\ncases:\n");
        let mut case = |name: String, expect: &str, image: String, cli: String, user: &str| {
            let _ = write!(
                cases,
                "    - name: \"{name}\"\n      expect: {expect}\n      event:\n          Image: '{image}'\n          CommandLine: '{cli}'\n          User: '{user}'\n"
            );
        };
        for (i, image) in images.iter().enumerate() {
            let stem = image.replace(".exe", "");
            let path = format!("C:\\Tools{stem}{r}");
            let cli = format!("tool -tool{r} -mode x");
            case(
                format!("positive {i}"),
                "match",
                path.clone(),
                cli.clone(),
                "CORP\\alice",
            );
            case(
                format!("near miss {i}"),
                "no-match",
                format!("{path}x"),
                cli.clone(),
                "CORP\\alice",
            );
            case(
                format!("filtered {i}"),
                "no-match",
                path.clone(),
                cli,
                "NT AUTHORITY\\SYSTEM",
            );
            case(
                format!("unrelated {i}"),
                "no-match",
                path,
                format!("tool -tool{r} x"),
                "CORP\\alice",
            );
        }
        std::fs::write(cases_dir.join(format!("rule_{r}.yml")), cases).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let options = CompileOptions::default();
    let mut group = c.benchmark_group("mutate");
    group.sample_size(10);

    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let layout = Layout::at(&repository);
    let rules = RuleSet::load(&layout.rules_dir, &options);
    let seed = layout
        .cases_dir
        .join("linux/network_connection/net_connection_lnx_crypto_mining_indicators.yml");
    let report = mutate(&layout, &rules, std::slice::from_ref(&seed), &options);
    assert_eq!(report.rules.len(), 1);
    eprintln!(
        "seed rule: {} mutants, {} cases",
        report.rules[0].mutants.len(),
        report.rules[0].cases
    );
    group.bench_function("seed rule", |b| {
        b.iter(|| mutate(&layout, &rules, std::slice::from_ref(&seed), &options));
    });

    let dir = tempfile::tempdir().unwrap();
    synthetic_repository(dir.path(), 100);
    let layout = Layout::at(dir.path());
    let rules = RuleSet::load(&layout.rules_dir, &options);
    assert!(rules.diagnostics.is_empty(), "{:?}", rules.diagnostics);
    let report = mutate(
        &layout,
        &rules,
        std::slice::from_ref(&layout.cases_dir),
        &options,
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mutants: usize = report.rules.iter().map(|r| r.mutants.len()).sum();
    let cases: usize = report.rules.iter().map(|r| r.cases).sum();
    eprintln!(
        "synthetic: {} rules, {mutants} mutants, {cases} cases",
        report.rules.len()
    );
    group.bench_function("100 rules x 20 cases", |b| {
        b.iter(|| {
            mutate(
                &layout,
                &rules,
                std::slice::from_ref(&layout.cases_dir),
                &options,
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Loads and compiles the whole SigmaHQ corpus from `../shared`, proving the engine accepts every
//! active rule and rejects only what the specification removed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use ruleproof_sigma::{
    CompileOptions, CompiledFilter, CompiledRule, DocumentBody, ErrorKind, Limits, load_file,
};

/// The corpus, or `None` when `RULEPROOF_NO_CORPUS=1` says it is absent on purpose; a missing
/// corpus otherwise fails the test (`ruleproof_testkit::sigmahq_corpus`).
fn corpus_root() -> Option<PathBuf> {
    ruleproof_testkit::sigmahq_corpus()
}

#[derive(Default, Debug)]
struct Tally {
    files: usize,
    rules: usize,
    filters: usize,
    correlations: usize,
    /// Rejections by kind, with a few examples.
    rejected: BTreeMap<String, Vec<String>>,
}

impl Tally {
    fn reject(&mut self, what: String, detail: String) {
        self.rejected.entry(what).or_default().push(detail);
    }

    fn total_rejected(&self) -> usize {
        self.rejected.values().map(Vec::len).sum()
    }
}

fn run(dir: &str, options: &CompileOptions) -> Tally {
    let Some(root) = corpus_root() else {
        return Tally::default();
    };
    let files = ruleproof_testkit::yaml_files(&root.join(dir));
    let mut tally = Tally::default();
    for path in files {
        tally.files += 1;
        let loaded = match load_file(&path, &Limits::default()) {
            Ok(loaded) => loaded,
            Err(e) => {
                tally.reject("unreadable".into(), e.to_string());
                continue;
            }
        };
        for error in &loaded.errors {
            tally.reject(format!("{:?}", error.kind), error.render(&loaded.source));
        }
        for document in &loaded.documents {
            let result = match &document.body {
                // `validate` asks `check`, every other command `compile`: the same errors.
                DocumentBody::Rule(rule) => {
                    tally.rules += 1;
                    let compiled = CompiledRule::compile(rule, options).map(drop);
                    assert_eq!(
                        CompiledRule::check(rule, options),
                        compiled,
                        "{}: check and compile disagree",
                        path.display()
                    );
                    compiled
                }
                DocumentBody::Filter(filter) => {
                    tally.filters += 1;
                    let compiled = CompiledFilter::compile(filter, options).map(drop);
                    assert_eq!(
                        CompiledFilter::check(filter, options),
                        compiled,
                        "{}: check and compile disagree",
                        path.display()
                    );
                    compiled
                }
                DocumentBody::Correlation(_) => {
                    tally.correlations += 1;
                    Ok(())
                }
            };
            if let Err(errors) = result {
                for error in errors {
                    tally.reject(format!("{:?}", error.kind), error.render(&loaded.source));
                }
            }
        }
    }
    println!(
        "{dir}: {} files, {} rules, {} filters, {} correlations, {} rejections",
        tally.files,
        tally.rules,
        tally.filters,
        tally.correlations,
        tally.total_rejected()
    );
    for (kind, examples) in &tally.rejected {
        println!("  {kind}: {}", examples.len());
        for example in examples.iter().take(5) {
            println!("    {example}");
        }
    }
    tally
}

#[test]
fn every_active_rule_compiles() {
    if corpus_root().is_none() {
        return;
    }
    let options = CompileOptions::default();
    let mut placeholder_rejections = 0;
    for dir in ruleproof_testkit::SIGMAHQ_ACTIVE_DIRS {
        let tally = run(dir, &options);
        assert!(tally.rules > 0, "{dir} has no rules");
        for (kind, examples) in &tally.rejected {
            if kind == &format!("{:?}", ErrorKind::Placeholder) {
                placeholder_rejections += examples.len();
            } else {
                panic!("{dir}: unexpected {kind} rejections: {examples:#?}");
            }
        }
    }
    // Two active rules use `|expand` today; without values they are rejected with the
    // placeholder error, as the specification demands.
    assert!(
        placeholder_rejections <= 4,
        "{placeholder_rejections} placeholder rejections"
    );
}

#[test]
fn placeholder_rules_compile_with_values() {
    let Some(root) = corpus_root() else {
        return;
    };
    // Any value list will do: the test proves every placeholder is substituted.
    let files = ruleproof_testkit::yaml_files(&root.join("rules-placeholder"));
    let mut placeholders = HashMap::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for piece in text.split('%').skip(1).step_by(2) {
            if !piece.is_empty()
                && piece
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                placeholders.insert(piece.to_owned(), vec!["example".to_owned()]);
            }
        }
    }
    let options = CompileOptions {
        placeholders: Some(placeholders),
    };
    let tally = run("rules-placeholder", &options);
    assert_eq!(tally.total_rejected(), 0, "{:#?}", tally.rejected);
}

#[test]
fn deprecated_and_unsupported_reject_only_removed_constructs() {
    if corpus_root().is_none() {
        return;
    }
    for dir in ["deprecated", "unsupported"] {
        let tally = run(dir, &CompileOptions::default());
        // Besides removed constructs, rules that use `|expand` are rejected for want of
        // placeholder values, exactly as active rules are.
        let allowed = [
            format!("{:?}", ErrorKind::Unsupported),
            format!("{:?}", ErrorKind::Placeholder),
        ];
        for (kind, examples) in &tally.rejected {
            assert!(
                allowed.contains(kind),
                "{dir}: unexpected {kind} rejections: {examples:#?}"
            );
        }
    }
}

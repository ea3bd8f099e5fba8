//! Converts every `linux` and `windows` rule of the SigmaHQ corpus (in `../shared`, beside the
//! workspace) with the ASIM pipeline: no rule may panic the converter, failures are counted by
//! reason, and every converted query must be valid as far as the local parser can tell. A query
//! the parser refuses only because it uses something outside the locally evaluable subset
//! (`datetime_part`, a column on the right of `=~`) is counted apart from a syntax error, which
//! fails the test.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ruleproof_cases::ruleset::yaml_files;
use ruleproof_kql::{Query, builtin_pipeline, convert_document};
use ruleproof_pipeline::Pipelines;
use ruleproof_sigma::{CompileOptions, DocumentBody, Limits, load_file};

#[test]
fn corpus_converts_without_panics() {
    // A missing corpus fails here, unless RULEPROOF_NO_CORPUS=1 says it is absent on purpose.
    let Some(corpus) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let corpus = corpus.join("rules");
    let pipeline = Pipelines::resolve(vec![
        builtin_pipeline("asim").unwrap_or_else(|| panic!("the asim pipeline")),
    ]);
    let options = CompileOptions::default();
    let mut converted = 0usize;
    let mut parsed = 0usize;
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut not_evaluable: BTreeMap<String, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    let mut broken = Vec::new();
    for product in ["linux", "windows"] {
        for file in yaml_files(&corpus.join(product)).files {
            let Ok(loaded) = load_file(&file, &Limits::default()) else {
                *failures.entry("unreadable file".to_owned()).or_default() += 1;
                continue;
            };
            if !loaded.errors.is_empty() && loaded.documents.is_empty() {
                *failures.entry("does not load".to_owned()).or_default() += 1;
            }
            for document in &loaded.documents {
                if matches!(document.body, DocumentBody::Filter(_)) {
                    continue;
                }
                let result = catch_unwind(AssertUnwindSafe(|| {
                    convert_document(document, &pipeline, &options)
                }));
                let query = match result {
                    Err(_) => {
                        panics.push(file.display().to_string());
                        continue;
                    }
                    Ok(Err(e)) => {
                        *failures.entry(e.reason.label().to_owned()).or_default() += 1;
                        continue;
                    }
                    Ok(Ok(query)) => query,
                };
                converted += 1;
                match Query::parse(&query) {
                    Ok(_) => parsed += 1,
                    Err(e) if e.message.starts_with("not supported for local evaluation") => {
                        // The construct named in quotes is what the evaluator lacks.
                        let what = e.message.split('\'').nth(1).unwrap_or("?").to_owned();
                        *not_evaluable.entry(what).or_default() += 1;
                    }
                    Err(e) => broken.push(format!("{}: {e}\n{query}", file.display())),
                }
            }
        }
    }
    println!("converted: {converted}; parsed locally: {parsed}");
    for (reason, count) in &failures {
        println!("not converted, {reason}: {count}");
    }
    for (what, count) in &not_evaluable {
        println!("converted, not evaluable locally because of `{what}`: {count}");
    }
    assert!(
        panics.is_empty(),
        "the converter panicked on: {}",
        panics.join(", ")
    );
    assert!(
        broken.is_empty(),
        "{} converted queries are syntactically broken:\n{}",
        broken.len(),
        broken.join("\n\n")
    );
    assert!(converted > 0, "no corpus rule converted");
}

//! Over the active SigmaHQ corpus (`../shared/corpus/sigmahq`: `rules`, `rules-emerging-threats`,
//! `rules-threat-hunting`, `rules-compliance`), `generate` finds an engine-confirmed positive for
//! at least 99% of the rules that can match at all. The rules without one are listed with the
//! reason. The corpus must be present: without it the test fails
//! (`ruleproof_testkit::sigmahq_corpus`).

use std::path::Path;

use rayon::prelude::*;
use ruleproof_generate::generate;
use ruleproof_sigma::{CompileOptions, CompiledRule, DocumentBody, Limits, load_file};

/// One rule's outcome: `None` when a positive was found, else the reasons.
fn outcome(path: &Path) -> Vec<(String, Option<String>)> {
    let Ok(loaded) = load_file(path, &Limits::default()) else {
        return Vec::new();
    };
    let options = CompileOptions::default();
    let mut out = Vec::new();
    for document in loaded.documents {
        let DocumentBody::Rule(rule) = document.body else {
            continue;
        };
        // A rule the engine does not compile cannot match; it is not counted.
        let Ok(compiled) = CompiledRule::compile(&rule, &options) else {
            continue;
        };
        let events = generate(&rule, &compiled, &options);
        let name = format!("{} ({})", path.display(), rule.meta.title);
        if events.has_positive() {
            out.push((name, None));
        } else if !events.unsatisfied.is_empty()
            && events.unsatisfied.iter().all(|u| u.contradictory)
        {
            // Provably contradictory: the rule cannot match at all.
            out.push((name, Some("contradictory".to_owned())));
        } else {
            let reasons: Vec<String> = events
                .unsatisfied
                .iter()
                .map(|u| format!("{}: {}", u.target, u.reason))
                .collect();
            out.push((name, Some(reasons.join("; "))));
        }
    }
    out
}

#[test]
fn generate_finds_a_positive_for_99_percent_of_the_active_corpus() {
    let Some(root) = ruleproof_testkit::sigmahq_corpus() else {
        return;
    };
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let outcomes: Vec<(String, Option<String>)> =
        files.par_iter().flat_map(|p| outcome(p)).collect();
    let contradictory = outcomes
        .iter()
        .filter(|(_, r)| r.as_deref() == Some("contradictory"))
        .count();
    let matchable = outcomes.len() - contradictory;
    let missing: Vec<&(String, Option<String>)> = outcomes
        .iter()
        .filter(|(_, r)| r.as_deref().is_some_and(|r| r != "contradictory"))
        .collect();
    let found = matchable - missing.len();
    let listing: Vec<String> = missing
        .iter()
        .map(|(name, reason)| format!("{name}: {}", reason.as_deref().unwrap_or_default()))
        .collect();
    eprintln!(
        "{found} of {matchable} matchable rules have a confirmed positive ({contradictory} contradictory); without one:\n{}",
        listing.join("\n")
    );
    assert!(matchable > 3000, "only {matchable} rules compiled");
    assert!(
        found * 100 >= matchable * 99,
        "{found} of {matchable} rules have a confirmed positive (< 99%); without one:\n{}",
        listing.join("\n")
    );
}

//! What both side-by-side benchmarks share: SigmaHQ's regression events and rsigma's engine
//! loaded the way its documentation advises.

#![allow(dead_code)]

use std::path::PathBuf;

use rsigma_eval::Engine;
use serde_json::Value;

/// SigmaHQ's regression events, one of each: every `.json` under `RULEPROOF_REGRESSION_DATA`,
/// flattened as `ruleproof match` reads them, in path order; `None`, with a message, when the
/// variable is unset or names no events.
pub fn regression_events() -> Option<Vec<Value>> {
    let Some(root) = std::env::var_os("RULEPROOF_REGRESSION_DATA") else {
        eprintln!("RULEPROOF_REGRESSION_DATA is not set; the regression mix is skipped");
        return None;
    };
    let files: Vec<PathBuf> = ruleproof_backtest::events::event_files(&PathBuf::from(&root))
        .files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    let mut one_pass = Vec::new();
    for path in &files {
        match ruleproof_backtest::events::read_all(path) {
            Ok((events, _)) => one_pass.extend(events.into_iter().map(|e| e.value)),
            Err(e) => eprintln!("{}: {e}", path.display()),
        }
    }
    if one_pass.is_empty() {
        eprintln!("no events under {}", PathBuf::from(&root).display());
        return None;
    }
    eprintln!(
        "regression events: {} from {} files",
        one_pass.len(),
        files.len()
    );
    Some(one_pass)
}

/// Loads every file into rsigma's engine as its documentation advises for many rules: every rule
/// parsed first, then one `Engine::add_rules` batch, which builds the candidate index and bloom
/// filters once over all of them. (Adding rules one by one with `add_rule`, as this benchmark did
/// before, leaves the substring-indexed rules added since the index's last doubling rebuild, at
/// 2,048 rules, in a fallback list that is a candidate for every event: an unfair comparison.)
/// Files it cannot read or parse and rules it cannot compile are counted.
pub fn load_rsigma(files: &[PathBuf]) -> (Engine, usize) {
    let mut failed = 0;
    let mut rules = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            failed += 1;
            continue;
        };
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(collection) => rules.extend(collection.rules),
            Err(_) => failed += 1,
        }
    }
    let mut engine = Engine::new();
    failed += engine.add_rules(&rules).len();
    (engine, failed)
}

//! One engine over SigmaHQ's regression events, for an instruction count under callgrind: wall
//! time on a shared machine says little, instructions per event do not depend on its load.
//!
//! ```sh
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --instr-atstart=no --toggle-collect='*instructions::measure*' \
//!     target/release/deps/instructions-* ruleproof|rsigma regression|synthetic [PASSES] &
//! # when it prints "loaded", within 3 s:
//! callgrind_control -i on
//! ```
//!
//! (Loading the rules fully instrumented would take most of the run; instrumentation is
//! switched on once they are loaded, and the pause after "loaded" leaves time for it.)
//!
//! Loads all active SigmaHQ rules into one engine (ruleproof's `RuleSetIndex`, or rsigma's
//! default `Engine` loaded as `compare.rs` loads it), runs one pass over the events outside
//! `measure` (so the regex caches' first-use set-up is not counted), then `PASSES` passes
//! (default 1) inside it, and prints the events and matches measured. Divide the instructions
//! callgrind attributes to `measure` by the events. The events: SigmaHQ's regression events
//! (238, one of each; needs `RULEPROOF_REGRESSION_DATA`, like the regression mix of
//! `compare.rs`), or the first 2,000 of the synthetic mix of `BENCHMARKS.md`.

#[path = "support/engines.rs"]
mod engines;
#[path = "../../crates/sigma/benches/support/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::process::ExitCode;

use rsigma_eval::event::JsonEvent;
use ruleproof_sigma::ruleset::RuleSetIndex;
use serde_json::Value;

/// The first events of the synthetic mix (seed 42, 3 % seeded, as in the ruleset benchmark).
const SYNTHETIC_EVENTS: usize = 2_000;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; the engine is the first other argument.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let passes: usize = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(1);
    let Some(root) = synthetic::corpus_root() else {
        eprintln!("needs ../shared/corpus/sigmahq");
        return ExitCode::from(2);
    };
    let files = ruleproof_testkit::sigmahq_active_files(&root);
    let corpus = synthetic::load(&files);
    let events = match args.get(1).map(String::as_str) {
        Some("regression") => match engines::regression_events() {
            Some(events) => events,
            None => return ExitCode::from(2),
        },
        Some("synthetic") => synthetic::corpus(&corpus.groups, SYNTHETIC_EVENTS, 3, 42),
        _ => {
            eprintln!("usage: instructions ruleproof|rsigma regression|synthetic [PASSES]");
            return ExitCode::from(2);
        }
    };
    let loaded = || {
        eprintln!("loaded");
        std::thread::sleep(std::time::Duration::from_secs(3));
    };
    let matches = match args.first().map(String::as_str) {
        Some("ruleproof") => {
            let index = RuleSetIndex::new(corpus.rules);
            loaded();
            let mut scratch = index.scratch();
            let mut out = Vec::new();
            let mut run = |event: &Value| {
                index.matching_rules_into(event, None, &mut scratch, &mut out);
                out.len()
            };
            warm_up(&events, &mut run);
            measure(&events, passes, &mut run)
        }
        Some("rsigma") => {
            let (engine, _) = engines::load_rsigma(&files);
            loaded();
            let mut run = |event: &Value| engine.evaluate(&JsonEvent::borrow(event)).len();
            warm_up(&events, &mut run);
            measure(&events, passes, &mut run)
        }
        _ => {
            eprintln!("usage: instructions ruleproof|rsigma regression|synthetic [PASSES]");
            return ExitCode::from(2);
        }
    };
    println!(
        "measured {} events ({passes} passes over {}), {matches} matches",
        events.len() * passes,
        events.len()
    );
    ExitCode::SUCCESS
}

#[inline(never)]
fn warm_up(events: &[Value], run: &mut dyn FnMut(&Value) -> usize) -> usize {
    events.iter().map(|e| black_box(run(e))).sum()
}

#[inline(never)]
fn measure(events: &[Value], passes: usize, run: &mut dyn FnMut(&Value) -> usize) -> usize {
    let mut matches = 0;
    for _ in 0..passes {
        matches += events.iter().map(|e| black_box(run(e))).sum::<usize>();
    }
    matches
}
